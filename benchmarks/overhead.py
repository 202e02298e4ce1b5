"""Per-op overhead: a chain of small elementwise ops (16 float64 elements), forward + backward.

Runs chainrule and its peers (PyTorch, HIPS autograd, DeZero, plain NumPy forward) in one
process, in interleaved turns with a pause between turns (``_harness.py``), and prints
microseconds per op and the ratios that the targets are stated in: chainrule forward+backward
<= 0.8x PyTorch, chainrule forward under no_grad <= 3x NumPy.

    python benchmarks/overhead.py [--rounds 7] [--calls 20] [--pause 0.3] [--blas-unset]
"""
from __future__ import annotations

import argparse

import numpy as np

import _harness as harness

N_OPS = 200  # loop iterations; each is two ops (mul, add): 400 graph nodes


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
    ap.add_argument("--rounds", type=int, default=7, help="turns each contender takes")
    ap.add_argument("--calls", type=int, default=20, help="timed chains per turn (their median is the turn's figure)")
    args = harness.parse_args(ap)
    runs = {
        "numpy forward only": numpy_forward,
        "chainrule no_grad forward": chainrule_no_grad_forward,
        "chainrule fwd+bwd": chainrule_chain,
        "pytorch fwd+bwd": torch_chain,
        "hips autograd fwd+bwd": hips_chain,
        "dezero fwd+bwd": dezero_chain,
    }

    def maker(fn):
        def make():
            fn()
            fn()  # imports and warm-up
            return harness.timed(fn, args.calls)
        return make

    turns = harness.available({name: maker(fn) for name, fn in runs.items()}, width=28)
    res = harness.race(turns, args.rounds, args.pause)
    harness.print_header(args.rounds, args.pause)
    per_op = 1e6 / (2 * N_OPS)
    harness.print_figures(res, "us/op", per_op, width=28)
    print()
    harness.print_ratios(res, "chainrule fwd+bwd", ("pytorch fwd+bwd", "hips autograd fwd+bwd", "dezero fwd+bwd"), width=24)
    harness.print_ratios(res, "chainrule no_grad forward", ("numpy forward only",), width=24)
    if "pytorch fwd+bwd" in res.figures:
        ok = res.ratio("chainrule fwd+bwd", "pytorch fwd+bwd")[0] <= 0.8
        print(f"target fwd+bwd <= 0.8x PyTorch (median ratio): {'met' if ok else 'NOT met'}")
    ok = res.ratio("chainrule no_grad forward", "numpy forward only")[0] <= 3
    print(f"target no_grad forward <= 3x NumPy (median ratio): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
