"""Programs that tests/distributed runs under ``mpiexec -n K python mpi_worker.py MODE OUT``.

Never imported by pytest (it imports mpi4py through ``dist.init``).

- ``train``: float64 MLP with Adam, per-rank batch B over a ShardSampler, lazy model broadcast
  after its first call; each rank writes its parameters to ``OUT/rank{r}.npz``.
- ``raise``: rank 1 raises while the others wait in an allreduce.
- ``timeout``: rank 1 sleeps past the collective timeout while the others wait in an allreduce.
- ``sampler``: each rank writes its indices of two epochs to ``OUT/rank{r}.npz``.
- ``save``: dist.save from rank 0, then every rank loads the file.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import chainrule.distributed as dist
import chainrule.functions as F
from chainrule import models, optim

# the data and schedule of the ``train`` mode; the test builds its one-process reference from these
N, D, C, B, EPOCHS, SEED = 96, 6, 3, 8, 2, 3


def make_data() -> tuple:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((N, D))
    t = rng.integers(0, C, N)
    return x, t


def make_model() -> models.MLP:
    return models.MLP([10, 8, C], activation=F.relu, rng=5)


def train(out: str, comm) -> None:
    x, t = make_data()
    model = make_model()
    dist.broadcast_params(model)  # lazy: runs at the first update
    opt = dist.DistributedOptimizer(optim.Adam(lr=0.01), comm)
    sampler = dist.ShardSampler(N, comm, shuffle=True, seed=SEED)
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        index = np.fromiter(sampler, dtype=np.int64)
        for k in range(0, len(index), B):
            i = index[k:k + B]
            loss = F.softmax_cross_entropy(model(x[i]), t[i])
            model.cleargrads()
            loss.backward()
            opt.update(model)
    np.savez(os.path.join(out, f"rank{comm.rank}.npz"), **{n: p.data for n, p in model.named_params()})


def main() -> None:
    mode, out = sys.argv[1], sys.argv[2]
    timeout = float(os.environ.get("CHAINRULE_TEST_TIMEOUT", "60"))
    comm = dist.init(backend="mpi", timeout=timeout)
    if mode == "train":
        train(out, comm)
    elif mode == "raise":
        if comm.rank == 1:
            time.sleep(0.2)
            raise ValueError("boom on purpose")
        buf = np.zeros(4)
        comm.allreduce(buf)
        time.sleep(30)  # not reached: the job is aborted
    elif mode == "timeout":
        if comm.rank == 1:
            time.sleep(30)
        comm.allreduce(np.zeros(4))
    elif mode == "sampler":
        n = int(os.environ["CHAINRULE_TEST_N"])
        drop_last = os.environ.get("CHAINRULE_TEST_DROP_LAST") == "1"
        s = dist.ShardSampler(n, comm, seed=1, drop_last=drop_last)
        np.savez(os.path.join(out, f"rank{comm.rank}.npz"), e0=np.array(list(s), dtype=np.int64),
                 e1=np.array(list(s), dtype=np.int64), length=len(s))
    elif mode == "save":
        import chainrule as cr

        model = models.MLP([4, 2], rng=comm.rank)  # different on each rank until the broadcast
        model(np.zeros((1, 3)))
        dist.broadcast_params(model)
        path = os.path.join(out, "model.safetensors")
        dist.save(model, path)
        state = cr.load(path)
        same = all(np.array_equal(state[n], p.data) for n, p in model.named_params())
        np.savez(os.path.join(out, f"rank{comm.rank}.npz"), same=same,
                 w=model.named_params()[0][1].data)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
