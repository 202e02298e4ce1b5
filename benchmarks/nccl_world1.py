"""The NCCL code path of chainrule.distributed on one GPU: a world of one process.

Trains the same MLP twice on the same CuPy batches, once with ``dist.DistributedOptimizer``
over ``dist.init(backend="nccl")`` and once with the bare optimizer, and checks the two end
equal (the mean over one rank is the gradient itself); then times an in-place NCCL allreduce
of one 25 MB float32 bucket.

    python benchmarks/nccl_world1.py        # needs CuPy with NCCL, mpi4py and a GPU
"""
from __future__ import annotations

import time

import numpy as np

import chainrule.distributed as dist
import chainrule.functions as F
from chainrule import models, optim
from chainrule.backend import get_backend


def train(comm: object | None, steps: int = 20) -> list:
    be = get_backend("cuda")
    rng = np.random.default_rng(0)
    model = models.MLP([64, 64, 10], activation=F.relu, rng=0)
    base = optim.Adam(lr=1e-3)
    opt = dist.DistributedOptimizer(base, comm) if comm is not None else base
    for _ in range(steps):
        x = be.asarray(rng.standard_normal((32, 20)))
        t = be.asarray(rng.integers(0, 10, 32))
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update(model)
    return [be.to_numpy(p.data) for p in model.params()]


def main() -> None:
    import cupy

    comm = dist.init(backend="nccl")
    print(f"backend {comm.backend}  rank {comm.rank}  size {comm.size}  local_rank {comm.local_rank}")
    got, want = train(comm), train(None)
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(got, want))
    print(f"DistributedOptimizer(Adam) over NCCL vs bare Adam, 20 float64 steps: max |diff| {worst:.3e}")
    assert worst == 0.0, "a world of one must train exactly as one process"
    host = np.arange(4.0)
    comm.allreduce(host)
    print(f"host array over MPI allreduce: {host.tolist()}")
    buf = cupy.ones(25 * 2 ** 20 // 4, dtype=cupy.float32)
    times = []
    for _ in range(20):
        cupy.cuda.Device().synchronize()
        t0 = time.perf_counter()
        comm.allreduce(buf)
        comm.wait()
        cupy.cuda.Device().synchronize()
        times.append(time.perf_counter() - t0)
    assert float(buf[0]) == 1.0
    print(f"25 MB float32 NCCL allreduce (world of 1): median {np.median(times) * 1e3:.3f} ms "
          f"(min {min(times) * 1e3:.3f}, max {max(times) * 1e3:.3f})")


if __name__ == "__main__":
    main()
