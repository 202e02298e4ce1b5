"""Run under ``mpiexec -n K python shm_worker.py MODE OUT`` by test_shm_allreduce.py (never
imported by pytest: it imports mpi4py).

- ``compare``: ``comm.allreduce`` (the shared-memory path for large host arrays) against MPI's
  own Allreduce on arrays of many sizes, dtypes and layouts; writes ``OUT/rank{r}.npz``.
- ``hierarchy``: the two-level path on one machine, the ranks split into "nodes" of two; the
  same comparison.
- ``off``: with CHAINRULE_SHM_ALLREDUCE=0 set by the test, the shared path is not set up.
- ``train``: ``train_wide`` (gradients large enough to be averaged in the shared window, with
  hooks that change ``p.grad`` in place) on each rank's shard; writes the parameters.
"""
from __future__ import annotations

import os
import sys

import numpy as np

import chainrule.distributed as dist
import chainrule.functions as F
from chainrule import models, optim
from chainrule.distributed.shm import MIN_BYTES, SharedAllreduce

CASES = [(5, "float64"), (MIN_BYTES // 8, "float64"), (100_003, "float32"), (300_001, "float64"),
         (40_000, "int64"), (20_000, "complex128"), (1_000_000, "float32"), (70_000, "float32")]


def arrays(rank: int) -> list:
    rng = np.random.default_rng(rank)
    return [(rng.standard_normal(n) * 100).astype(dt) if dt != "int64" else rng.integers(-99, 99, n)
            for n, dt in CASES]


def compare(out: str, comm) -> None:
    MPI = comm._MPI
    got = {}
    for i, a in enumerate(arrays(comm.rank)):
        want = a.copy()
        comm._comm.Allreduce(MPI.IN_PLACE, want, op=MPI.SUM)
        b = a.copy()
        comm.allreduce(b)
        got[f"got{i}"], got[f"want{i}"] = b, want
    # a strided (non-contiguous) array goes through a contiguous copy and back
    s = np.arange(2 * 50_000, dtype=np.float64)[::2] * (comm.rank + 1)
    comm.allreduce(s)
    got["strided"] = s
    got["shared"] = np.array(comm._shared is not None)
    np.savez(os.path.join(out, f"rank{comm.rank}.npz"), **got)


def hierarchy(out: str, comm) -> None:
    MPI, world = comm._MPI, comm._comm
    node = world.Split(color=comm.rank // 2, key=comm.rank)
    cross = world.Split(color=node.Get_rank(), key=comm.rank)
    shared = SharedAllreduce(MPI, node, cross)
    got = {}
    for i, a in enumerate(arrays(comm.rank)):
        want = a.copy()
        world.Allreduce(MPI.IN_PLACE, want, op=MPI.SUM)
        b = a.copy()
        assert shared(b)
        got[f"got{i}"], got[f"want{i}"] = b, want
    shared.close()
    np.savez(os.path.join(out, f"rank{comm.rank}.npz"), **got)


def off(out: str, comm) -> None:
    a = np.ones(1_000_000)
    comm.allreduce(a)
    np.savez(os.path.join(out, f"rank{comm.rank}.npz"), a=a, shared=np.array(comm._shared is not None))


N, D, C, B, EPOCHS = 64, 6, 3, 8, 2


def train_wide(comm, sampler_comm, batch: int) -> tuple:
    """Adam with gradient clipping and weight decay (hooks that write ``p.grad`` in place) on a
    float64 MLP of 9,347 parameters (75 KB of gradients: above ``MIN_BYTES``)."""
    rng = np.random.default_rng(11)
    x, t = rng.standard_normal((N, D)), rng.integers(0, C, N)
    model = models.MLP([128, 64, C], activation=F.relu, rng=5)
    model(x[:1])
    opt = dist.DistributedOptimizer(optim.Adam(lr=0.01), comm)
    opt.add_hook(optim.ClipGrad(0.5))
    opt.add_hook(optim.WeightDecay(1e-3))
    sampler = dist.ShardSampler(N, sampler_comm, shuffle=True, seed=3)
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        index = np.fromiter(sampler, dtype=np.int64)
        for k in range(0, len(index), batch):
            i = index[k:k + batch]
            loss = F.softmax_cross_entropy(model(x[i]), t[i])
            model.cleargrads()
            loss.backward()
            opt.update(model)
    return {n: p.data for n, p in model.named_params()}, opt._averager.staged


def train(out: str, comm) -> None:
    params, staged = train_wide(comm, comm, B)
    np.savez(os.path.join(out, f"rank{comm.rank}.npz"), staged=np.array(staged), **params)


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    world = dist.init(backend="mpi", timeout=60)
    {"compare": compare, "hierarchy": hierarchy, "off": off, "train": train}[mode](out, world)
