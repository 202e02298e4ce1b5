"""Where an MLP training step spends its time: chainrule against NumPy by hand, phase by phase.

Times forward, loss, cleargrads, backward and update of one batch (64 x 64 inputs, 10 classes)
for both, in interleaved turns of ``--iters / --rounds`` steps with a pause between turns
(``_harness.py``), and prints microseconds per phase (median over rounds, min-max). With a
small ``--width`` the arithmetic is negligible and the difference is chainrule's Python overhead.

    python benchmarks/mlp_phases.py [--width 8] [--iters 20000] [--rounds 10] [--pause 0.3] [--blas-unset]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import _harness as harness

PHASES = ("forward", "loss", "cleargrads", "backward", "update")


def chainrule_turn(init: list, xb: np.ndarray, yb: np.ndarray, h: int, iters: int):
    """A turn of ``iters`` chainrule steps; yields {phase: [seconds per step]}."""
    import chainrule as cr
    import chainrule.functions as F
    from chainrule import models, optim

    model = models.MLP([h, h, 10], activation=F.relu)
    with cr.no_grad():
        model(xb[:1])
    for p, w in zip(model.params(), init):
        p.data = w.copy()
    opt = optim.SGD(lr=0.1)
    pc = time.perf_counter

    def turn() -> dict:
        ours: dict = {k: [] for k in PHASES}
        for _ in range(iters):
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
            for k, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                ours[k].append(b - a)
        return ours
    return turn


def by_hand_turn(init: list, xb: np.ndarray, yb: np.ndarray, iters: int):
    """A turn of ``iters`` steps of the same MLP in NumPy by hand; yields {phase: [seconds]}."""
    W1, b1, W2, b2, W3, b3 = params = [w.copy() for w in init]
    pc = time.perf_counter

    def turn() -> dict:
        hand: dict = {k: [] for k in PHASES}
        for _ in range(iters):
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
            for k, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                hand[k].append(b - a)
        return hand
    return turn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--iters", type=int, default=20000, help="steps per contender, over all rounds")
    ap.add_argument("--rounds", type=int, default=10)
    args = harness.parse_args(ap)
    h = args.width
    r = np.random.default_rng(1)
    init = []
    for i, o in [(64, h), (h, h), (h, 10)]:
        init += [(r.standard_normal((i, o)) * np.sqrt(2 / i)).astype(np.float32), np.zeros(o, np.float32)]
    xb = r.standard_normal((64, 64)).astype(np.float32)
    yb = r.integers(0, 10, 64)
    per_turn = max(1, args.iters // args.rounds)
    turns = {"chainrule": chainrule_turn(init, xb, yb, h, per_turn), "by hand": by_hand_turn(init, xb, yb, per_turn)}
    res = harness.race(turns, args.rounds, args.pause, warmup=1)
    harness.print_header(args.rounds, args.pause)
    print(f"width {h}: microseconds per batch, median over rounds (min-max)")
    print(f"{'phase':12s} {'chainrule':>22s} {'by hand':>22s} {'extra':>8s}")
    for k in PHASES:
        ours, hand = res.spread("chainrule", k), res.spread("by hand", k)
        print(f"{k:12s} {harness.fmt_spread(ours, 1e6, 1):>22s} {harness.fmt_spread(hand, 1e6, 1):>22s} "
              f"{(ours[0] - hand[0]) * 1e6:8.1f}")
    tot_o = sum(res.median("chainrule", k) for k in PHASES) * 1e6
    tot_h = sum(res.median("by hand", k) for k in PHASES) * 1e6
    print(f"{'total':12s} {tot_o:22.1f} {tot_h:22.1f} {tot_o - tot_h:8.1f}")


if __name__ == "__main__":
    main()
