"""The GEMMs of one MLP 64-256-256-10 training step (batch 64, float32) in the usual layout,
activations (N, features), against the transposed layout that ``F.relu_mlp`` keeps,
(features, N). The two layouts take turns (``--rounds``, a pause between turns: ``_harness.py``);
a turn times each GEMM over ``--number`` calls. Prints microseconds per GEMM and the totals
(median over rounds, min-max) and the ratio of the totals (median of per-round ratios).

    python benchmarks/gemm_layouts.py [--rounds 7] [--number 200] [--pause 0.3] [--blas-unset]
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np

import _harness as harness


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--number", type=int, default=200, help="calls of each GEMM per turn")
    args = harness.parse_args(ap)
    r = np.random.default_rng(0)
    f32 = np.float32
    x = r.standard_normal((64, 64)).astype(f32)
    W1, W2, W3 = (r.standard_normal(s).astype(f32) for s in ((64, 256), (256, 256), (256, 10)))
    a1, a2, g1, g2 = (r.standard_normal((64, 256)).astype(f32) for _ in range(4))
    gz = r.standard_normal((64, 10)).astype(f32)
    xT, a1T, a2T, g1T, g2T = (np.ascontiguousarray(v.T) for v in (x, a1, a2, g1, g2))
    usual = {"x @ W1": lambda: x @ W1, "a1 @ W2": lambda: a1 @ W2, "a2 @ W3": lambda: a2 @ W3,
             "gW3": lambda: a2.T @ gz, "ga2": lambda: gz @ W3.T, "gW2": lambda: a1.T @ g2,
             "ga1": lambda: g2 @ W2.T, "gW1": lambda: x.T @ g1}
    dot = np.dot
    transposed = {"x @ W1": lambda: dot(W1.T, xT), "a1 @ W2": lambda: dot(W2.T, a1T), "a2 @ W3": lambda: dot(a2T.T, W3),
                  "gW3": lambda: dot(a2T, gz), "ga2": lambda: dot(W3, gz.T), "gW2": lambda: dot(a1T, g2T.T),
                  "ga1": lambda: dot(W2, g2T), "gW1": lambda: dot(xT, g1T.T)}
    def layout_turn(gemms: dict):
        def turn() -> dict:
            per_call = {name: timeit.timeit(fn, number=args.number) / args.number for name, fn in gemms.items()}
            per_call["total"] = sum(per_call.values())
            return per_call
        return turn

    turns = {"usual": layout_turn(usual), "transposed": layout_turn(transposed)}
    res = harness.race(turns, args.rounds, args.pause, warmup=1)
    harness.print_header(args.rounds, args.pause)
    print(f"{'GEMM':8s} {'usual':>22s} {'transposed':>22s}   (us, median over rounds (min-max))")
    for name in [*usual, "total"]:
        print(f"{name:8s} {harness.fmt_spread(res.spread('usual', name), 1e6, 1):>22s} "
              f"{harness.fmt_spread(res.spread('transposed', name), 1e6, 1):>22s}")
    print(f"transposed / usual, totals: {harness.fmt_spread(res.ratio('transposed', 'usual', 'total'), digits=3)}x")


if __name__ == "__main__":
    main()
