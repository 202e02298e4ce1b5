"""Cost per op as the graph grows: a chain of small elementwise ops, forward + backward.

A chain of ``n`` ops (``y = y * 1.0001 + 0.0001`` repeated, 16 float64 elements) is built and
differentiated, and the graph freed, at n = 1,000, 10,000 and 100,000 ops (and 1,000,000 with
``--million``), chainrule against PyTorch when it is installed. At each length the two take
turns (``--rounds``, a pause between turns: ``_harness.py``); a turn runs chains worth about
``--ops-per-turn`` ops. Prints microseconds per op (median over rounds, min-max), each point's
ratio to chainrule's 1,000-op figure, and chainrule / PyTorch at each length (median of
per-round ratios). Target (issue 12): chainrule within 1.3x of its 1,000-op cost per op.

    python benchmarks/chain_length.py [--million] [--rounds 5] [--pause 0.3] [--blas-unset]
"""
from __future__ import annotations

import argparse

import numpy as np

import _harness as harness

LENGTHS = (1_000, 10_000, 100_000)
MILLION = 1_000_000


def chainrule_chain(n_ops: int) -> None:
    import chainrule as cr

    y = x = cr.Variable(np.ones(16))
    for _ in range(n_ops // 2):
        y = y * 1.0001 + 0.0001
    y.sum().backward()
    assert x.grad is not None


def torch_chain(n_ops: int) -> None:
    import torch

    y = x = torch.ones(16, dtype=torch.float64, requires_grad=True)
    for _ in range(n_ops // 2):
        y = y * 1.0001 + 0.0001
    y.sum().backward()
    assert x.grad is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--million", action="store_true", help="add the 1,000,000-op chain (about 1.2 GB of memory and 1-2 minutes)")
    ap.add_argument("--lengths", type=lambda s: [int(v) for v in s.split(",")],
                    help="comma-separated chain lengths in ops instead of the defaults (the first is the reference)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ops-per-turn", type=int, default=100_000,
                    help="a turn runs max(1, this // n) chains of n ops")
    args = harness.parse_args(ap)
    lengths = args.lengths or [*LENGTHS, *((MILLION,) if args.million else ())]
    peers = {"chainrule": chainrule_chain, "pytorch": torch_chain}
    per_op, ratio_to_torch = {}, {}
    for n in lengths:
        def maker(fn, n=n):
            def make():
                fn(min(n, 1_000))  # imports and warm-up
                calls = max(1, args.ops_per_turn // n)
                return harness.timed(lambda: fn(n), calls)
            return make

        turns = harness.available({name: maker(fn) for name, fn in peers.items()}, width=10)
        res = harness.race(turns, args.rounds, args.pause)
        per_op[n] = {name: tuple(v * 1e6 / n for v in res.spread(name)) for name in turns}
        if "pytorch" in turns:
            ratio_to_torch[n] = res.ratio("chainrule", "pytorch")
        peers = {name: peers[name] for name in turns}  # report a skipped peer once
    harness.print_header(args.rounds, args.pause)
    ref = per_op[lengths[0]]["chainrule"][0]
    names = list(per_op[lengths[0]])
    head = "".join(f" {name + ' us/op':>22s} {'/ cr@' + format(lengths[0], ','):>10s}" for name in names)
    print(f"{'ops':>10s}{head} {'chainrule / pytorch':>22s}")
    for n in lengths:
        row = "".join(f" {harness.fmt_spread(per_op[n][name]):>22s} {per_op[n][name][0] / ref:9.2f}x" for name in names)
        vs = f" {harness.fmt_spread(ratio_to_torch[n]) + 'x':>22s}" if n in ratio_to_torch else ""
        print(f"{n:>10,d}{row}{vs}")
    worst = max(per_op[n]["chainrule"][0] / ref for n in lengths)
    print(f"target chainrule within 1.3x of its {lengths[0]:,}-op cost per op: {'met' if worst <= 1.3 else 'NOT met'}"
          f" (worst {worst:.2f}x)")


if __name__ == "__main__":
    main()
