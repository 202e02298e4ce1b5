"""One CNN training step (forward + backward + SGD) on a (64, 1, 28, 28) float32 batch.

conv3x3(1->16, pad 1)-ReLU-maxpool2 -> conv3x3(16->32, pad 1)-ReLU-maxpool2 -> Linear(1568->10)
-> softmax cross-entropy, exactly the step of ``shared/bench/cnn_peers.py``. chainrule, PyTorch
and DeZero run side by side in one process on the same data and weights, in interleaved turns
with a pause between turns (``_harness.py``: without it PyTorch's turn ran against NumPy's
spinning OpenBLAS threads); prints ms/step (median over rounds, min-max), the first-step loss of
each (they must agree) and the ratios to PyTorch (median of per-round ratios).
Target: chainrule at most 2x PyTorch.

    python benchmarks/cnn.py [--steps 30] [--rounds 5] [--pause 0.3] [--blas-unset]
"""
from __future__ import annotations

import argparse

import numpy as np

import _harness as harness

rng = np.random.default_rng(0)
X = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
Y = rng.integers(0, 10, 64)
W1 = (rng.standard_normal((16, 1, 3, 3)) * 0.3).astype(np.float32)
W2 = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
W3 = (rng.standard_normal((32 * 7 * 7, 10)) * 0.02).astype(np.float32)
LR = 0.01


def run_chainrule():
    import chainrule as cr
    import chainrule.functions as F
    from chainrule import optim

    w1, w2, w3 = (cr.Variable(w.copy()) for w in (W1, W2, W3))
    opt = optim.SGD(params=[w1, w2, w3], lr=LR)

    def step():
        h = F.max_pool2d(F.relu(F.conv2d(X, w1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, padding=1)), 2)
        loss = F.softmax_cross_entropy(h.reshape(64, -1) @ w3, Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def run_torch():
    import torch
    import torch.nn.functional as TF

    w1, w2, w3 = (torch.tensor(w, requires_grad=True) for w in (W1, W2, W3))
    x, y = torch.tensor(X), torch.tensor(Y)

    def step():
        h = TF.max_pool2d(TF.relu(TF.conv2d(x, w1, padding=1)), 2)
        h = TF.max_pool2d(TF.relu(TF.conv2d(h, w2, padding=1)), 2)
        loss = TF.cross_entropy(h.reshape(64, -1) @ w3, y)
        for w in (w1, w2, w3):
            w.grad = None
        loss.backward()
        with torch.no_grad():
            for w in (w1, w2, w3):
                w -= LR * w.grad
        return float(loss.item())

    return step


def run_dezero():
    if not hasattr(np, "int"):
        np.int = int  # dezero 0.0.13 predates NumPy 1.24
    import dezero
    import dezero.functions as DF

    w1, w2, w3 = (dezero.Parameter(w.copy()) for w in (W1, W2, W3))

    def step():
        h = DF.pooling(DF.relu(DF.conv2d(X, w1, pad=1)), 2, 2)
        h = DF.pooling(DF.relu(DF.conv2d(h, w2, pad=1)), 2, 2)
        loss = DF.softmax_cross_entropy(DF.matmul(DF.reshape(h, (64, -1)), w3), Y)
        for w in (w1, w2, w3):
            w.cleargrad()
        loss.backward()
        for w in (w1, w2, w3):
            w.data -= LR * w.grad.data
        return float(loss.data)

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30, help="timed steps per library, over all rounds")
    ap.add_argument("--rounds", type=int, default=5, help="the libraries take turns this many times")
    args = harness.parse_args(ap)
    first = {}

    def maker(name, make):
        def warmed():
            step = make()
            first[name] = step()  # warm-up step; its loss must agree across libraries
            step()
            return harness.timed(step, max(1, args.steps // args.rounds))
        return warmed

    makers = dict(chainrule=run_chainrule, pytorch=run_torch, dezero=run_dezero)
    turns = harness.available({name: maker(name, make) for name, make in makers.items()}, width=10)
    res = harness.race(turns, args.rounds, args.pause)
    harness.print_header(args.rounds, args.pause)
    harness.print_figures(res, "ms/step", 1e3, width=10, notes={n: f"first-step loss {v:.5f}" for n, v in first.items()})
    if "pytorch" in res.figures:
        print()
        harness.print_ratios(res, "chainrule", ("pytorch",), width=10)
        harness.print_ratios(res, "dezero", ("pytorch",), width=10)
        ok = res.ratio("chainrule", "pytorch")[0] <= 2
        print(f"target chainrule <= 2x pytorch (median ratio): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
