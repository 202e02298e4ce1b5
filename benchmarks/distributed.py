"""Data-parallel scaling of a compute-bound MLP step: 1 rank against 2 (chainrule.distributed).

The step: a 784-1024-1024-10 float32 ReLU MLP, softmax cross-entropy, backward, and
``DistributedOptimizer(SGD)`` (gradients averaged over the ranks in ~25 MB float32 buckets),
on the same per-rank batch for both runs. Every rank runs with one BLAS thread
(``OPENBLAS_NUM_THREADS=1``...), so K ranks use K cores. Runs of 1 and 2 ranks alternate for
``--rounds`` rounds with a pause between; each figure is the median over rounds (min-max).

Printed: milliseconds per step, throughput (examples/s over all ranks), scaling efficiency
(throughput on 2 ranks / twice that on 1), the allreduce time per step and its share of the
step, and the allreduce bandwidth (algorithm and ring "bus" bandwidth) the 2-rank run reached
on the model's gradient buffer, the figure docs/distributed.md projects to more nodes from.
Ranks on one machine average in a shared-memory window (``distributed/shm.py``; the time per
step then includes copying the gradients in); ``CHAINRULE_SHM_ALLREDUCE=0`` measures MPI's
own allreduce instead.

    python benchmarks/distributed.py [--batch 128] [--steps 30] [--rounds 5] [--hidden 1024]
                                     [--ranks 2] [--pause 1.0]

Needs ``pip install 'chainrule[distributed]'`` (mpi4py and the MPICH wheel's mpiexec).
Run it on a quiet machine with at least ``--ranks`` free cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


# ----- one rank (run under mpiexec) -----
def worker(a: argparse.Namespace) -> None:
    import chainrule.distributed as dist
    import chainrule.functions as F
    from chainrule import models, optim

    comm = dist.init(backend="mpi")
    rng = np.random.default_rng(100 + comm.rank)
    x = rng.standard_normal((a.batch, 784)).astype(np.float32)
    t = rng.integers(0, 10, a.batch)
    model = models.MLP([a.hidden, a.hidden, 10], activation=F.relu, rng=0, dtype=np.float32)
    model(x[:1])
    dist.broadcast_params(model, comm=comm)
    opt = dist.DistributedOptimizer(optim.SGD(lr=1e-3), comm)
    comm_seconds = [0.0]
    send = comm.allreduce

    def timed(collective):  # what the averager calls: per bucket, or once in shared memory
        def call(*args):
            t0 = time.perf_counter()
            collective(*args)
            comm_seconds[0] += time.perf_counter() - t0
        return call

    comm.allreduce = timed(send)
    if hasattr(comm, "allreduce_staged"):  # (includes copying the gradients in)
        comm.allreduce_staged = timed(comm.allreduce_staged)

    def step() -> None:
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update(model)

    for _ in range(a.warmup):
        step()
    comm.barrier()
    comm_seconds[0] = 0.0
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    comm.barrier()
    elapsed = time.perf_counter() - t0
    allreduce = comm_seconds[0] / a.steps

    # the allreduce alone, on one buffer the size of the gradients
    nbytes = sum(p.data.nbytes for p in model.params())
    buf = np.zeros(nbytes // 4, dtype=np.float32)
    for _ in range(3):
        send(buf)
    comm.barrier()
    t1 = time.perf_counter()
    for _ in range(a.steps):
        send(buf)
    bare = (time.perf_counter() - t1) / a.steps
    worst = comm.allreduce_object(elapsed, "max")
    if comm.rank == 0:
        print(json.dumps({"ranks": comm.size, "step_s": worst / a.steps, "allreduce_s": allreduce,
                          "bare_allreduce_s": bare, "bytes": nbytes}), flush=True)


# ----- the launcher -----
def mpiexec() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        sys.exit("benchmarks/distributed.py needs mpiexec: pip install 'chainrule[distributed]'")
    return found


def run(ranks: int, a: argparse.Namespace) -> dict:
    cmd = [mpiexec(), "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker",
           "--batch", str(a.batch), "--steps", str(a.steps), "--warmup", str(a.warmup), "--hidden", str(a.hidden)]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ONE_THREAD}, timeout=a.timeout)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def spread(values: list, scale: float = 1.0, digits: int = 2) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):.{digits}f} ({min(v):.{digits}f}-{max(v):.{digits}f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128, help="examples per rank per step (default 128)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating 1-rank and K-rank runs (default 5)")
    ap.add_argument("--hidden", type=int, default=1024, help="width of the two hidden layers (default 1024)")
    ap.add_argument("--ranks", type=int, default=2, help="K, the ranks of the parallel run (default 2)")
    ap.add_argument("--pause", type=float, default=1.0, help="idle seconds between runs (default 1.0)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds one run may take (default 600)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a)
        return
    k = a.ranks
    print(f"MLP 784-{a.hidden}-{a.hidden}-10 float32, batch {a.batch} per rank, {a.steps} steps per run, "
          f"{a.rounds} rounds of 1 and {k} ranks, one BLAS thread per rank, {os.cpu_count()} CPUs")
    one, many = [], []
    for i in range(a.rounds):
        order = [(1, one), (k, many)] if i % 2 == 0 else [(k, many), (1, one)]
        for ranks, out in order:
            time.sleep(a.pause)
            out.append(run(ranks, a))
    eff = [(k * a.batch / m["step_s"]) / (k * (a.batch / o["step_s"])) for o, m in zip(one, many)]
    share = [m["allreduce_s"] / m["step_s"] for m in many]
    nbytes = many[0]["bytes"]
    algbw = [nbytes / m["bare_allreduce_s"] / 1e9 for m in many]
    busbw = [b * 2 * (k - 1) / k for b in algbw]
    print(f"1 rank : {spread([o['step_s'] for o in one], 1e3)} ms/step, "
          f"{spread([a.batch / o['step_s'] for o in one], 1, 0)} examples/s")
    print(f"{k} ranks: {spread([m['step_s'] for m in many], 1e3)} ms/step, "
          f"{spread([k * a.batch / m['step_s'] for m in many], 1, 0)} examples/s")
    print(f"scaling efficiency on {k} ranks: {spread(eff, 100, 1)} %")
    print(f"allreduce of the gradients ({nbytes / 1e6:.1f} MB float32): "
          f"{spread([m['allreduce_s'] for m in many], 1e3)} ms/step, {spread(share, 100, 1)} % of the step")
    print(f"bare allreduce of {nbytes / 1e6:.1f} MB: {spread([m['bare_allreduce_s'] for m in many], 1e3)} ms, "
          f"algorithm bandwidth {spread(algbw)} GB/s, ring bus bandwidth {spread(busbw)} GB/s")


if __name__ == "__main__":
    main()
