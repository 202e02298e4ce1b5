"""``chainrule mlp``: train an MLP on scikit-learn's handwritten digits and print test accuracy."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .args import Parser, UsageError, image_file, input_file, integer, output_file, real

SUMMARY = "train an MLP on the handwritten digits data set"
DESCRIPTION = __doc__.split(":", 1)[1].strip()


def add_arguments(p: Parser) -> None:
    p.flag("epochs", type=integer(0), default=20,
           help="training epochs (default 20; 0 with --load evaluates the checkpoint)")
    p.flag("batch-size", type=integer(1), default=64, help="mini-batch size (default 64)")
    p.flag("hidden-size", type=integer(1), default=256, help="width of the two hidden layers (default 256)")
    p.flag("learning-rate", type=real(0, strict_low=True), default=0.1, help="SGD learning rate (default 0.1)")
    p.flag("seed", type=integer(0), default=0, help="random seed for the weights and the shuffling (default 0)")
    p.flag("plot", metavar="FILE.png", type=image_file(),
           help="draw the training curves: loss and test accuracy per epoch")
    p.flag("load", metavar="FILE", type=input_file(), help="start from the weights in FILE (written by --save)")
    p.flag("save", metavar="FILE", type=output_file(), help="write the trained weights to FILE (safetensors)")
    p.flag("quiet", action="store_true", help="no progress bar (the per-epoch loss lines stay)")
    p.flag("distributed", action="store_true",
           help="data-parallel over the ranks of `mpiexec -n K` (-batch-size per rank; see docs/distributed.md)")


def build_parser() -> Parser:
    p = Parser(prog="chainrule mlp", description=DESCRIPTION)
    add_arguments(p)
    return p


def run(a: argparse.Namespace) -> int:
    if getattr(a, "distributed", False):
        from chainrule.distributed.programs import run_mlp

        return run_mlp(a)
    import chainrule as cr
    import chainrule.functions as F
    from chainrule import data, models, optim

    from .checkpoint import load_checkpoint, save_checkpoint
    from .digits import evaluate, finish, train_epoch
    from .progress import EpochProgress

    if a.plot and a.epochs == 0:
        raise UsageError("--plot draws the training curves: it needs -epochs 1 or more")
    rng = np.random.default_rng(a.seed)
    model = models.MLP([a.hidden_size, a.hidden_size, 10], activation=F.relu, rng=rng)
    if a.load:  # before the data: a wrong checkpoint is refused at once
        with cr.no_grad():
            model(np.zeros((1, 64), np.float32))  # create the lazily initialised weights, then overwrite them
        load_checkpoint(model, a.load)
    train, test = data.digits("train"), data.digits("test")
    xt, tt = test.arrays
    opt = optim.SGD(lr=a.learning_rate)
    loader = data.DataLoader(train, batch_size=a.batch_size, shuffle=True, rng=rng)
    progress = EpochProgress("mlp", a.epochs, quiet=a.quiet, loss_format=".4f")
    accuracies = []
    for epoch in progress:
        t0 = time.perf_counter()
        total, n = train_epoch(model, opt, loader)
        ms = (time.perf_counter() - t0) * 1e3
        if a.plot:
            accuracies.append(evaluate(model, xt, tt))
        progress.report(epoch, total / max(n, 1), f"{ms:6.1f} ms")
    accuracy = evaluate(model, xt, tt)
    if a.save:
        save_checkpoint(model, a.save)
        print(f"weights written to {a.save}", file=sys.stderr)
    finish(a, progress.losses, accuracies, accuracy, "chainrule mlp on digits")
    return 0
