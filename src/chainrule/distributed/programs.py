"""The data-parallel side of the ``chainrule`` programs: ``mpiexec -n K chainrule mlp --distributed``.

``run_mlp(args)`` is ``chainrule mlp`` with each rank training on its shard of the digits
(``-batch-size`` per rank: K times that per step in all), the gradients averaged over ranks,
and rank 0 alone printing, plotting and saving. ``refuse_flag`` gives the programs that are not
data-parallel a ``--distributed`` flag that explains why.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

__all__ = ["run_mlp", "refuse_flag", "NOT_DATA_PARALLEL"]

NOT_DATA_PARALLEL = {
    "lstm": "the lstm program is not data-parallel by nature: it trains on one sequence with truncated "
            "back-propagation through time, each mini-batch starting from the hidden state the previous one "
            "left, so its steps form one chain that cannot be split over processes",
    "cnn": "the cnn program is not wired for it: `chainrule mlp --distributed` is the data-parallel program, "
           "and any model, models.CNN included, trains data-parallel with chainrule.distributed "
           "(see docs/distributed.md and examples/distributed_mlp.py)",
}


def refuse_flag(parser: Any, program: str) -> None:
    """Add ``--distributed`` to ``parser`` as a flag that is refused with the reason why ``program``
    does not run data-parallel."""
    reason = NOT_DATA_PARALLEL[program]

    class Refuse(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            from ..cli.args import UsageError

            raise UsageError(f"--distributed: {reason}")

    parser.add_argument("-distributed", "--distributed", nargs=0, action=Refuse,
                        help=f"not available: {reason.split(':')[0]}")


def _rank_failed(comm: Any, e: BaseException) -> None:
    """End the whole job when one rank fails: the others would wait in their next collective."""
    message = str(e) or type(e).__name__
    comm.abort(1, f"chainrule mlp: rank {comm.rank} of {comm.size}: error: {message}; aborting the job")


def run_mlp(a: argparse.Namespace) -> int:
    """``chainrule mlp --distributed``: collective, one call per rank of ``mpiexec``."""
    from ..cli.args import UsageError
    from . import init

    try:
        comm = init()
    except ImportError as e:
        raise UsageError(str(e)) from None
    if comm.size == 1:
        print("chainrule mlp: --distributed in a world of one process (start it with mpiexec -n K to use K)",
              file=sys.stderr)
    try:
        return _train_mlp(a, comm)
    except BaseException as e:  # noqa: BLE001 - every failure must end every rank
        if comm.size == 1:
            raise
        _rank_failed(comm, e)
        raise  # pragma: no cover - abort does not return


def _train_mlp(a: argparse.Namespace, comm: Any) -> int:
    import chainrule.functions as F
    from chainrule import data, models, optim

    from ..cli.checkpoint import load_checkpoint
    from ..cli.digits import evaluate, finish, train_epoch
    from ..cli.progress import EpochProgress
    from . import DistributedOptimizer, ShardSampler, broadcast_params
    from .checkpoint import save as save_on_root

    root = comm.rank == 0
    if getattr(a, "plot", None) and a.epochs == 0:
        from ..cli.args import UsageError

        raise UsageError("--plot draws the training curves: it needs -epochs 1 or more")
    model = models.MLP([a.hidden_size, a.hidden_size, 10], activation=F.relu, rng=np.random.default_rng(a.seed))
    if getattr(a, "load", None):  # every rank reads the same file
        model(np.zeros((1, 64), np.float32))
        load_checkpoint(model, a.load)
    broadcast_params(model, comm=comm)  # lazy: after the first forward pass
    train, test = data.digits("train"), data.digits("test")
    xt, tt = test.arrays
    opt = DistributedOptimizer(optim.SGD(lr=a.learning_rate), comm)
    sampler = ShardSampler(len(train), comm, shuffle=True, seed=a.seed)
    loader = data.DataLoader(train, batch_size=a.batch_size, sampler=sampler)
    progress = EpochProgress("mlp", a.epochs, quiet=getattr(a, "quiet", False) or not root, loss_format=".4f")
    accuracies = []
    sums = np.zeros(2)
    for epoch in progress:
        t0 = time.perf_counter()
        sums[:] = train_epoch(model, opt, loader)
        comm.allreduce(sums)  # the epoch's mean loss over every rank's examples
        ms = (time.perf_counter() - t0) * 1e3
        if getattr(a, "plot", None):
            accuracies.append(evaluate(model, xt, tt))
        if root:
            progress.report(epoch, sums[0] / max(sums[1], 1), f"{ms:6.1f} ms  {comm.size} ranks")
    accuracy = evaluate(model, xt, tt)
    if getattr(a, "save", None):
        save_on_root(model, a.save, comm)
        if root:
            print(f"weights written to {a.save}", file=sys.stderr)
    if root:
        finish(a, progress.losses, accuracies, accuracy, f"chainrule mlp on digits, {comm.size} ranks")
    return 0
