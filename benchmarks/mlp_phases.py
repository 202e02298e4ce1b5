"""Where an MLP training step spends its time: chainrule against NumPy by hand, phase by phase.

Times forward, loss, cleargrads, backward and update of one batch (64 x 64 inputs, 10 classes)
for both, alternating every iteration, and prints the medians in microseconds. With a small
``--width`` the arithmetic is negligible and the difference is chainrule's Python overhead.

    python benchmarks/mlp_phases.py [--width 8] [--iters 20000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    import chainrule as cr
    import chainrule.functions as F
    from chainrule import models, optim

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--iters", type=int, default=20000)
    args = ap.parse_args()
    h = args.width
    r = np.random.default_rng(1)
    init = []
    for i, o in [(64, h), (h, h), (h, 10)]:
        init += [(r.standard_normal((i, o)) * np.sqrt(2 / i)).astype(np.float32), np.zeros(o, np.float32)]
    xb = r.standard_normal((64, 64)).astype(np.float32)
    yb = r.integers(0, 10, 64)
    model = models.MLP([h, h, 10], activation=F.relu)
    with cr.no_grad():
        model(xb[:1])
    for p, w in zip(model.params(), init):
        p.data = w.copy()
    opt = optim.SGD(lr=0.1)
    W1, b1, W2, b2, W3, b3 = params = [w.copy() for w in init]
    pc = time.perf_counter
    ours = {k: [] for k in ("forward", "loss", "cleargrads", "backward", "update")}
    hand = {k: [] for k in ("forward", "loss", "cleargrads", "backward", "update")}
    for _ in range(args.iters):
        t0 = pc()
        y = model(xb)
        t1 = pc()
        loss = F.softmax_cross_entropy(y, yb)
        t2 = pc()
        model.cleargrads()
        t3 = pc()
        loss.backward()
        t4 = pc()
        opt.update(model)
        t5 = pc()
        for k, a, b in zip(ours, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
            ours[k].append(b - a)
        t0 = pc()
        h1 = xb @ W1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2 + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3 + b3
        t1 = pc()
        z = z - z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        p[np.arange(64), yb] -= 1
        p /= 64
        t2 = t3 = pc()
        g3, gb3 = a2.T @ p, p.sum(0)
        d2 = (p @ W3.T) * (h2 > 0)
        g2, gb2 = a1.T @ d2, d2.sum(0)
        d1 = (d2 @ W2.T) * (h1 > 0)
        g1, gb1 = xb.T @ d1, d1.sum(0)
        t4 = pc()
        for w, g in zip(params, (g1, gb1, g2, gb2, g3, gb3)):
            w -= 0.1 * g
        t5 = pc()
        for k, a, b in zip(hand, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
            hand[k].append(b - a)

    def med(v: list) -> float:
        return sorted(v)[len(v) // 2] * 1e6

    print(f"width {h}: median microseconds per batch")
    print(f"{'phase':12s} {'chainrule':>10s} {'by hand':>10s} {'extra':>8s}")
    for k in ours:
        print(f"{k:12s} {med(ours[k]):10.1f} {med(hand[k]):10.1f} {med(ours[k]) - med(hand[k]):8.1f}")
    tot_o, tot_h = sum(med(v) for v in ours.values()), sum(med(v) for v in hand.values())
    print(f"{'total':12s} {tot_o:10.1f} {tot_h:10.1f} {tot_o - tot_h:8.1f}")


if __name__ == "__main__":
    main()
