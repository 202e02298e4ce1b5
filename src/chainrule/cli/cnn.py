"""``chainrule cnn``: train a small CNN on scikit-learn's handwritten digits and print test accuracy."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .args import Parser, UsageError, image_file, input_file, integer, output_file, real

SUMMARY = "train a small CNN on the handwritten digits data set"
DESCRIPTION = (__doc__.split(":", 1)[1].strip()
               + " The model is models.CNN, trained with Adam and a cosine decay of the learning rate.")


def add_arguments(p: Parser) -> None:
    p.flag("epochs", type=integer(0), default=20,
           help="training epochs (default 20; 0 with --load evaluates the checkpoint)")
    p.flag("batch-size", type=integer(1), default=32, help="mini-batch size (default 32)")
    p.flag("learning-rate", type=real(0, strict_low=True), default=2e-3,
           help="Adam's initial learning rate (default 0.002)")
    p.flag("seed", type=integer(0), default=0, help="random seed for the weights and the shuffling (default 0)")
    p.flag("plot", metavar="FILE.png", type=image_file(),
           help="draw the training curves: loss and test accuracy per epoch")
    p.flag("load", metavar="FILE", type=input_file(), help="start from the weights in FILE (written by --save)")
    p.flag("save", metavar="FILE", type=output_file(), help="write the trained weights to FILE (safetensors)")
    p.flag("quiet", action="store_true", help="no progress bar (the per-epoch loss lines stay)")
    from chainrule.distributed.programs import refuse_flag

    refuse_flag(p, "cnn")  # --distributed: refused with the reason


def build_parser() -> Parser:
    p = Parser(prog="chainrule cnn", description=DESCRIPTION)
    add_arguments(p)
    return p


def images(x: np.ndarray) -> np.ndarray:
    """Flat digits (N, 64) -> images (N, 1, 8, 8)."""
    return x.reshape(-1, 1, 8, 8)


def run(a: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule import data, models, optim

    from .checkpoint import load_checkpoint, save_checkpoint
    from .digits import evaluate, finish, train_epoch
    from .progress import EpochProgress

    if a.plot and a.epochs == 0:
        raise UsageError("--plot draws the training curves: it needs -epochs 1 or more")
    rng = np.random.default_rng(a.seed)
    model = models.CNN(rng=rng)
    if a.load:  # before the data: a wrong checkpoint is refused at once
        with cr.no_grad():
            model(np.zeros((1, 1, 8, 8), np.float32))  # create the lazily initialised weights, then overwrite them
        load_checkpoint(model, a.load)
    train, test = data.digits("train"), data.digits("test")
    xt, tt = test.arrays
    opt = optim.Adam(lr=a.learning_rate)
    schedule = optim.CosineLR(opt, t_max=max(a.epochs, 1))
    loader = data.DataLoader(train, batch_size=a.batch_size, shuffle=True, rng=rng)
    progress = EpochProgress("cnn", a.epochs, quiet=a.quiet, loss_format=".4f")
    accuracies = []
    for epoch in progress:
        t0 = time.perf_counter()
        total, n = train_epoch(model, opt, loader, images)
        schedule.step()
        ms = (time.perf_counter() - t0) * 1e3
        if a.plot:
            accuracies.append(evaluate(model, xt, tt, images))
        progress.report(epoch, total / max(n, 1), f"{ms:7.1f} ms")
    accuracy = evaluate(model, xt, tt, images)
    if a.save:
        save_checkpoint(model, a.save)
        print(f"weights written to {a.save}", file=sys.stderr)
    finish(a, progress.losses, accuracies, accuracy, "chainrule cnn on digits")
    return 0
