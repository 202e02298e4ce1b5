"""The GEMMs of one MLP 64-256-256-10 training step (batch 64, float32) in the usual layout,
activations (N, features), against the transposed layout that ``F.relu_mlp`` keeps,
(features, N). Prints microseconds per GEMM (best of repeats) and the totals.

    python benchmarks/gemm_layouts.py
"""
from __future__ import annotations

import timeit

import numpy as np


def main() -> None:
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
    totals = {}
    print(f"{'GEMM':8s} {'usual':>8s} {'transposed':>11s}   (us)")
    for name in usual:
        ts = [min(timeit.repeat(fn, number=200, repeat=7)) / 200 * 1e6 for fn in (usual[name], transposed[name])]
        for k, t in zip(("usual", "transposed"), ts):
            totals[k] = totals.get(k, 0.0) + t
        print(f"{name:8s} {ts[0]:8.1f} {ts[1]:11.1f}")
    print(f"{'total':8s} {totals['usual']:8.1f} {totals['transposed']:11.1f}   "
          f"(transposed / usual {totals['transposed'] / totals['usual']:.2f}x)")


if __name__ == "__main__":
    main()
