"""The `chainrule lstm` program with default flags against the same program in PyTorch, one run.

Both train the reference's LSTM (8 linear maps x2f..h2u, SGD, truncated BPTT every 30 batches of
30 steps) on the 1000-point noisy sine curve for 100 epochs in float64, and report total
training time and the last epoch's mean loss. Targets: chainrule's final loss < 0.005 and its
time at most PyTorch's.

    python benchmarks/lstm.py [--epochs 100] [--rounds 3] [--pause 0.3] [--blas-unset]

The two programs take turns (``--rounds`` times each, a pause between turns: ``_harness.py``);
the median time over rounds is reported with its range, and the ratio as the median of the
per-round ratios. Each program trains one epoch first, untimed, as a warm-up.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import _harness as harness


def chainrule_program():
    """Returns run(epochs) -> (seconds, last epoch's mean loss)."""
    import io

    from chainrule.cli.lstm import build_parser, train

    def run(epochs: int) -> tuple:
        a = build_parser().parse_args(["-epochs", str(epochs), "--quiet"])
        t0 = time.perf_counter()
        _, losses = train(a, log=io.StringIO())
        return time.perf_counter() - t0, losses[-1]

    return run


def torch_program():
    """Returns run(epochs) -> (seconds, last epoch's mean loss)."""
    import torch

    N, B, H, BPTT, LR, NOISE = 1000, 30, 100, 30, 0.01, 0.05
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    xs = np.linspace(0, 2 * math.pi, N)
    ys = np.sin(xs) + rng.uniform(-NOISE, NOISE, N)
    data, label = ys[:-1], ys[1:]

    class LSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.x = torch.nn.ModuleDict({k: torch.nn.Linear(1, H) for k in "fiou"})
            self.h = torch.nn.ModuleDict({k: torch.nn.Linear(H, H, bias=False) for k in "fiou"})
            self.out = torch.nn.Linear(H, 1)
            self.hs = self.c = None

        def forward(self, x):
            g = {k: self.x[k](x) + (self.h[k](self.hs) if self.hs is not None else 0) for k in "fiou"}
            f, i, o = torch.sigmoid(g["f"]), torch.sigmoid(g["i"]), torch.sigmoid(g["o"])
            u = torch.tanh(g["u"])
            self.c = i * u if self.c is None else f * self.c + i * u
            self.hs = o * torch.tanh(self.c)
            return self.out(self.hs)

    def run(epochs: int) -> tuple:
        torch.manual_seed(0)
        m = LSTM().double()
        opt = torch.optim.SGD(m.parameters(), lr=LR)
        n_batches = len(data) // B
        t0 = time.perf_counter()
        last = float("nan")
        for _ in range(epochs):
            m.hs = m.c = None
            loss, count, total = 0, 0, 0.0
            for k in range(n_batches):
                x = torch.tensor(data[k * B:(k + 1) * B]).reshape(B, 1)
                t = torch.tensor(label[k * B:(k + 1) * B]).reshape(B, 1)
                step = torch.mean((m(x) - t) ** 2)
                loss = loss + step
                total += step.item()
                count += 1
                if count % BPTT == 0 or count == n_batches:
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    loss = 0
                    m.hs, m.c = m.hs.detach(), m.c.detach()
            last = total / count
        return time.perf_counter() - t0, last

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = harness.parse_args(ap)
    final: dict = {}

    def maker(name, program):
        def warmed():
            run = program()
            run(1)

            def turn() -> float:
                seconds, final[name] = run(args.epochs)
                return seconds
            return turn
        return warmed

    makers = dict(chainrule=chainrule_program, pytorch=torch_program)
    turns = harness.available({name: maker(name, p) for name, p in makers.items()}, width=10)
    res = harness.race(turns, args.rounds, args.pause)
    harness.print_header(args.rounds, args.pause)
    harness.print_figures(res, "s total", 1.0, width=10, notes={n: f"final epoch loss {v:.6f}" for n, v in final.items()})
    harness.print_ratios(res, "chainrule", ("pytorch",), width=10)
    print(f"target final loss < 0.005: {'met' if final['chainrule'] < 0.005 else 'NOT met'}")


if __name__ == "__main__":
    main()
