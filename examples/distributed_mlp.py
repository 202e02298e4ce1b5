"""Data-parallel training of an MLP on the handwritten digits with chainrule.distributed.

Every rank builds the same model, trains on its share of the data (ShardSampler) and averages
its gradients with the others' before each Adam update (DistributedOptimizer); rank 0 reports
and saves. K ranks at --batch-size B per rank train as one process at batch K*B.

    mpiexec -n 2 python examples/distributed_mlp.py [--epochs 10] [--batch-size 32] [--save mlp.safetensors]
    python examples/distributed_mlp.py            # a world of one process, the same code

Needs ``pip install 'chainrule[distributed,data]'``; see docs/distributed.md for clusters and GPUs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
import chainrule.functions as F
from chainrule import data, models, optim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32, help="examples per rank per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", metavar="FILE", help="write the trained weights (rank 0, atomically)")
    args = ap.parse_args()

    comm = dist.init()  # an exception on any rank now ends the whole job, with its rank
    train, test = data.digits("train"), data.digits("test")

    # the same seed on every rank; broadcast_params makes sure of it (after the first call, since
    # the MLP creates its weights lazily from the first batch)
    model = models.MLP([args.hidden, args.hidden, 10], activation=F.relu, rng=args.seed)
    dist.broadcast_params(model, comm=comm)
    opt = dist.DistributedOptimizer(optim.Adam(lr=args.lr), comm)
    sampler = dist.ShardSampler(len(train), comm, shuffle=True, seed=args.seed)
    loader = data.DataLoader(train, batch_size=args.batch_size, sampler=sampler)  # set_epoch each pass

    sums = np.zeros(2)
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        total, n = 0.0, 0
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update(model)  # gradients averaged over the ranks, then Adam
            total += loss.item() * len(x)
            n += len(x)
        sums[:] = total, n
        comm.allreduce(sums)
        if comm.rank == 0:
            print(f"epoch {epoch + 1:3d}  loss {sums[0] / sums[1]:.4f}  "
                  f"{(time.perf_counter() - t0) * 1e3:7.1f} ms  ({comm.size} ranks)")

    xt, tt = test.arrays
    with cr.no_grad(), cr.test_mode():
        accuracy = float((model(xt).numpy().argmax(axis=1) == tt).mean())
    if args.save:
        dist.save(model, args.save, comm=comm)  # rank 0 writes, every rank waits for it
    if comm.rank == 0:
        print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
