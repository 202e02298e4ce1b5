"""Per-op overhead: a chain of small elementwise ops (16 float64 elements), forward + backward.

Runs chainrule and its peers (PyTorch, HIPS autograd, DeZero, plain NumPy forward) in one
process and prints microseconds per op and the ratios that the targets are stated in:
chainrule forward+backward <= 0.8x PyTorch, chainrule forward under no_grad <= 3x NumPy.

    python benchmarks/overhead.py [--reps 30]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

N_OPS = 200  # loop iterations; each is two ops (mul, add): 400 graph nodes


def interleaved_medians(fns: dict, reps: int) -> dict:
    """Median microseconds per op of each function, timed round-robin so that load changes on a
    shared machine hit every contestant alike."""
    for fn in fns.values():
        fn()
        fn()
    times: dict = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: sorted(ts)[len(ts) // 2] / (2 * N_OPS) * 1e6 for name, ts in times.items()}


def numpy_forward():
    x = np.ones(16)
    for _ in range(N_OPS):
        x = x * 1.0001 + 0.0001


def chainrule_chain():
    import chainrule as cr

    x = cr.Variable(np.ones(16))
    y = x
    for _ in range(N_OPS):
        y = y * 1.0001 + 0.0001
    y.sum().backward()


def chainrule_no_grad_forward():
    import chainrule as cr

    x = cr.Variable(np.ones(16))
    with cr.no_grad():
        for _ in range(N_OPS):
            x = x * 1.0001 + 0.0001


def torch_chain():
    import torch

    x = torch.ones(16, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(N_OPS):
        y = y * 1.0001 + 0.0001
    y.sum().backward()


def hips_chain():
    import autograd
    import autograd.numpy as anp

    def f(x):
        for _ in range(N_OPS):
            x = x * 1.0001 + 0.0001
        return anp.sum(x)

    autograd.grad(f)(np.ones(16))


def dezero_chain():
    if not hasattr(np, "int"):
        np.int = int  # dezero 0.0.13 predates NumPy 1.24
    import dezero

    x = dezero.Variable(np.ones(16))
    y = x
    for _ in range(N_OPS):
        y = y * 1.0001 + 0.0001
    dezero.functions.sum(y).backward()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    runs = {
        "numpy forward only": numpy_forward,
        "chainrule no_grad forward": chainrule_no_grad_forward,
        "chainrule fwd+bwd": chainrule_chain,
        "pytorch fwd+bwd": torch_chain,
        "hips autograd fwd+bwd": hips_chain,
        "dezero fwd+bwd": dezero_chain,
    }
    available = {}
    for name, fn in runs.items():
        try:
            fn()
            available[name] = fn
        except ImportError as e:
            print(f"{name:28s}  skipped ({e.name} not installed)")
    res = interleaved_medians(available, args.reps)
    for name, us in res.items():
        print(f"{name:28s} {us:8.2f} us/op")
    print()
    cr_t = res["chainrule fwd+bwd"]
    for peer in ("pytorch fwd+bwd", "hips autograd fwd+bwd", "dezero fwd+bwd"):
        if peer in res:
            print(f"chainrule / {peer:24s} {cr_t / res[peer]:6.2f}x")
    print(f"chainrule no_grad / numpy forward      {res['chainrule no_grad forward'] / res['numpy forward only']:6.2f}x")
    if "pytorch fwd+bwd" in res:
        ok = cr_t <= 0.8 * res["pytorch fwd+bwd"]
        print(f"target fwd+bwd <= 0.8x PyTorch: {'met' if ok else 'NOT met'}")
    ok = res["chainrule no_grad forward"] <= 3 * res["numpy forward only"]
    print(f"target no_grad forward <= 3x NumPy: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
