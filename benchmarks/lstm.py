"""The `chainrule lstm` program with default flags against the same program in PyTorch, one run.

Both train the reference's LSTM (8 linear maps x2f..h2u, SGD, truncated BPTT every 30 batches of
30 steps) on the 1000-point noisy sine curve for 100 epochs in float64, and report total
training time and the last epoch's mean loss. Targets: chainrule's final loss < 0.005 and its
time at most PyTorch's.

    python benchmarks/lstm.py [--epochs 100] [--rounds 3]

The two programs take turns (``--rounds`` times each) and the median time is reported, so load
changes on a shared machine hit both alike.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np


def run_chainrule(epochs: int) -> tuple:
    import io

    from chainrule.cli.lstm import build_parser, train

    a = build_parser().parse_args(["-epochs", str(epochs), "--quiet"])
    t0 = time.perf_counter()
    _, losses = train(a, log=io.StringIO())
    return time.perf_counter() - t0, losses[-1]


def run_torch(epochs: int) -> tuple:
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

    m = LSTM().double()
    opt = torch.optim.SGD(m.parameters(), lr=LR)
    n_batches = len(data) // B
    t0 = time.perf_counter()
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs: dict = {}
    for _ in range(args.rounds):
        for name, fn in (("chainrule", run_chainrule), ("pytorch", run_torch)):
            try:
                runs.setdefault(name, []).append(fn(args.epochs))
            except ImportError as e:
                runs.pop(name, None)
                print(f"{name:10s} skipped ({e.name} not installed)")
                break
    res = {}
    for name, rs in runs.items():
        times = sorted(t for t, _ in rs)
        res[name] = (times[len(times) // 2], rs[-1][1])
        print(f"{name:10s} {res[name][0]:7.2f} s total (median of {len(rs)})   final epoch loss {res[name][1]:.6f}")
    if "pytorch" in res:
        print(f"time ratio chainrule / pytorch: {res['chainrule'][0] / res['pytorch'][0]:.2f}x")
    print(f"target final loss < 0.005: {'met' if res['chainrule'][1] < 0.005 else 'NOT met'}")


if __name__ == "__main__":
    main()
