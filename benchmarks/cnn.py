"""One CNN training step (forward + backward + SGD) on a (64, 1, 28, 28) float32 batch.

conv3x3(1->16, pad 1)-ReLU-maxpool2 -> conv3x3(16->32, pad 1)-ReLU-maxpool2 -> Linear(1568->10)
-> softmax cross-entropy, exactly the step of ``shared/bench/cnn_peers.py``. chainrule, PyTorch
and DeZero run side by side in one process on the same data and weights, taking turns; prints
the median ms/step, the first-step loss of each (they must agree) and the ratio to PyTorch.
Target: chainrule at most 2x PyTorch.

    python benchmarks/cnn.py [--steps 30] [--rounds 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

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
    ap.add_argument("--steps", type=int, default=30, help="timed steps per library (median reported)")
    ap.add_argument("--rounds", type=int, default=5, help="the libraries take turns this many times")
    args = ap.parse_args()
    steps, first = {}, {}
    for name, make in dict(chainrule=run_chainrule, pytorch=run_torch, dezero=run_dezero).items():
        try:
            steps[name] = make()
        except ImportError as e:
            print(f"{name:10s} skipped ({e.name} not installed)")
            continue
        first[name] = steps[name]()  # warm-up step; its loss must agree across libraries
        steps[name]()
    # take turns, so that a change of machine load hits every library alike
    times: dict = {name: [] for name in steps}
    per_round = max(1, args.steps // args.rounds)
    for _ in range(args.rounds):
        for name, step in steps.items():
            for _ in range(per_round):
                t = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t)
    res = {name: sorted(ts)[len(ts) // 2] * 1e3 for name, ts in times.items()}
    for name, ms in res.items():
        print(f"{name:10s} {ms:8.2f} ms/step   first-step loss {first[name]:.5f}")
    if "pytorch" in res:
        print()
        for name in ("chainrule", "dezero"):
            if name in res:
                print(f"{name} / pytorch {res[name] / res['pytorch']:5.2f}x")
        print(f"target chainrule <= 2x pytorch: {'met' if res['chainrule'] <= 2 * res['pytorch'] else 'NOT met'}")


if __name__ == "__main__":
    main()
