"""``chainrule lstm``: the reference program — an LSTM learns a noisy sine curve with truncated BPTT,
then predicts a cosine curve. Per-epoch loss (and a progress bar on a terminal) go to stderr,
the prediction as ``x,y`` CSV to stdout."""
from __future__ import annotations

import argparse
import sys
import time
from typing import IO, Any

import numpy as np

from .args import Parser, UsageError, image_file, input_file, integer, output_file, real

SUMMARY = "train an LSTM on a noisy sine curve (the reference program)"
DESCRIPTION = ("The reference program: an LSTM learns a noisy sine curve with truncated backpropagation "
               "through time, then predicts a cosine curve. Per-epoch loss (and a progress bar on a terminal) "
               "go to stderr, the prediction as x,y CSV to stdout.")


def add_arguments(p: Parser) -> None:
    p.flag("N", type=integer(1), default=1000, help="number of points of the sine curve (default 1000)")
    p.flag("epochs", type=integer(1), default=100, help="training epochs (default 100)")
    p.flag("batch-size", type=integer(1), default=30, help="time steps per batch (default 30)")
    p.flag("hidden-size", type=integer(1), default=100, help="LSTM hidden size (default 100)")
    p.flag("bptt-length", type=integer(1), default=30, help="batches per truncated-BPTT segment (default 30)")
    p.flag("learning-rate", type=real(0, strict_low=True), default=0.01, help="SGD learning rate (default 0.01)")
    p.flag("noise", type=real(0), default=0.05, help="uniform noise amplitude (default 0.05)")
    p.flag("seed", type=integer(0), default=0, help="random seed for the noise and the weights (default 0)")
    p.flag("plot", metavar="FILE.png", type=image_file(),
           help="draw prediction vs truth and the loss curve (any format matplotlib writes: .png, .pdf, .svg, ...)")
    p.flag("load", metavar="FILE", type=input_file(), help="start from the weights in FILE (written by --save)")
    p.flag("save", metavar="FILE", type=output_file(), help="write the trained weights to FILE (safetensors)")
    p.flag("quiet", action="store_true", help="no progress bar (the per-epoch loss lines stay)")
    from chainrule.distributed.programs import refuse_flag

    refuse_flag(p, "lstm")  # --distributed: refused with the reason


def build_parser() -> Parser:
    p = Parser(prog="chainrule lstm", description=DESCRIPTION)
    add_arguments(p)
    return p


def train(a: argparse.Namespace, log: IO[str] | None = None) -> tuple[Any, list[float]]:
    """Train as the reference program does; returns (model, per-epoch mean losses).
    Progress and per-epoch losses go to ``log`` (default: stderr)."""
    import chainrule.functions as F
    from chainrule import data, models, optim

    from .checkpoint import load_checkpoint
    from .progress import EpochProgress

    if (a.N - 1) // a.batch_size == 0:
        raise UsageError(f"-N {a.N} gives no full batch of -batch-size {a.batch_size} "
                         f"(the curve has N - 1 = {a.N - 1} training steps)")
    rng = np.random.default_rng(a.seed)
    dataset = data.sine_curve(N=a.N, noise=a.noise, rng=rng)
    loader = data.SeqDataLoader(dataset, batch_size=a.batch_size)
    n_batches = len(loader)
    model = models.LSTM(a.hidden_size, 1, rng=rng)
    if a.load:
        load_checkpoint(model, a.load)
    opt = optim.SGD(lr=a.learning_rate)
    progress = EpochProgress("lstm", a.epochs, quiet=a.quiet, file=log)
    for epoch in progress:
        model.reset_state()
        loss, count, total = None, 0, 0.0
        for x, t in loader:
            step_loss = F.mean_squared_error(model(x), t)
            loss = step_loss if loss is None else loss + step_loss
            total += step_loss.item()
            count += 1
            if count % a.bptt_length == 0 or count == n_batches:
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                opt.update(model)
        progress.report(epoch, total / count)
    return model, progress.losses


def predict_cos(model: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Feed cos(theta) one step at a time; returns (theta, predictions of the next value)."""
    import chainrule as cr

    theta = np.linspace(0, 4 * np.pi, n)
    xs = np.cos(theta)
    ys = np.empty(n)
    with cr.no_grad():
        model.reset_state()
        for i, v in enumerate(xs):
            ys[i] = model(np.array([[v]])).item()
    return theta, ys


def run(a: argparse.Namespace) -> int:
    from .checkpoint import save_checkpoint

    t0 = time.perf_counter()
    model, losses = train(a)
    elapsed = time.perf_counter() - t0
    theta, ys = predict_cos(model, a.N)
    print(f"final loss {losses[-1]:.6f}, trained in {elapsed:.2f} s", file=sys.stderr)
    # files first: a reader that closes stdout early (`| head`) must not cost the checkpoint
    if a.save:
        save_checkpoint(model, a.save)
        print(f"weights written to {a.save}", file=sys.stderr)
    if a.plot:
        from .plots import lstm_prediction

        lstm_prediction(a.plot, theta, ys, losses)
        print(f"plot written to {a.plot}", file=sys.stderr)
    sys.stdout.write("x,y\n" + "".join(f"{t:.6f},{y:.6f}\n" for t, y in zip(theta, ys)))
    return 0
