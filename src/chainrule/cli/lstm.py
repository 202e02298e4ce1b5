"""``chainrule lstm``: the reference program — an LSTM learns a noisy sine curve with truncated BPTT,
then predicts a cosine curve. Per-epoch loss and a progress bar go to stderr, the prediction as
``x,y`` CSV to stdout."""
from __future__ import annotations

import sys
import time
from typing import Sequence

import numpy as np

from .args import Parser, non_negative, positive


def build_parser() -> Parser:
    p = Parser(prog="chainrule lstm", description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.flag("N", type=positive(int), default=1000, help="number of points of the sine curve (default 1000)")
    p.flag("epochs", type=positive(int), default=100, help="training epochs (default 100)")
    p.flag("batch-size", type=positive(int), default=30, help="time steps per batch (default 30)")
    p.flag("hidden-size", type=positive(int), default=100, help="LSTM hidden size (default 100)")
    p.flag("bptt-length", type=positive(int), default=30, help="batches per truncated-BPTT segment (default 30)")
    p.flag("learning-rate", type=positive(float), default=0.01, help="SGD learning rate (default 0.01)")
    p.flag("noise", type=non_negative(float), default=0.05, help="uniform noise amplitude (default 0.05)")
    p.flag("seed", type=int, default=0, help="random seed for the noise and the weights (default 0)")
    p.flag("plot", metavar="FILE.png", help="save a picture of prediction vs truth and of the loss curve")
    p.flag("load", metavar="FILE", help="start from the weights in FILE (a checkpoint written by --save)")
    p.flag("save", metavar="FILE", help="write the trained weights to FILE (safetensors)")
    p.flag("quiet", action="store_true", help="no progress bar")
    return p


def train(a, log=None) -> tuple:
    """Train as the reference program does; returns (model, per-epoch mean losses).
    Progress and per-epoch losses go to ``log`` (default: stderr)."""
    from tqdm import tqdm

    import chainrule.functions as F
    from chainrule import data, models, optim

    log = sys.stderr if log is None else log
    rng = np.random.default_rng(a.seed)
    dataset = data.sine_curve(N=a.N, noise=a.noise, rng=rng)
    loader = data.SeqDataLoader(dataset, batch_size=a.batch_size)
    n_batches = len(loader)
    if n_batches == 0:
        from . import UsageError

        raise UsageError(f"-N {a.N} gives no full batch of -batch-size {a.batch_size}")
    model = models.LSTM(a.hidden_size, 1, rng=rng)
    if a.load:
        load_checkpoint(model, a.load)
    opt = optim.SGD(lr=a.learning_rate)
    losses = []
    bar = tqdm(range(a.epochs), desc="lstm", unit="epoch", file=log, disable=a.quiet, leave=False)
    for epoch in bar:
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
        losses.append(total / count)
        msg = f"epoch {epoch + 1:4d}  loss {losses[-1]:.6f}"
        if a.quiet:
            print(msg, file=log)
        else:
            bar.write(msg, file=log)
            bar.set_postfix(loss=f"{losses[-1]:.5f}")
    bar.close()
    return model, losses


def load_checkpoint(model, path: str) -> None:
    """Load weights into ``model``; a missing, corrupt or mismatched file is a usage error."""
    import chainrule as cr

    from . import UsageError

    try:
        cr.load(path, into=model)
    except (OSError, ValueError, TypeError) as e:
        raise UsageError(f"cannot load the checkpoint: {e}") from None


def predict_cos(model, n: int) -> tuple:
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


def plot(path: str, theta, ys, losses) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from . import UsageError

        raise UsageError("--plot needs matplotlib: pip install 'chainrule[plot]'") from None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(theta, np.cos(theta + (theta[1] - theta[0])), label="truth: next cos value", lw=2, alpha=0.6)
    ax1.plot(theta, ys, label="LSTM prediction", lw=1)
    ax1.set_xlabel("theta")
    ax1.set_title("prediction on a cosine curve")
    ax1.legend()
    ax2.plot(np.arange(1, len(losses) + 1), losses)
    ax2.set_yscale("log")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("mean squared error")
    ax2.set_title("training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str]) -> int:
    a = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    model, losses = train(a)
    elapsed = time.perf_counter() - t0
    theta, ys = predict_cos(model, a.N)
    out = sys.stdout
    out.write("x,y\n")
    out.write("".join(f"{t:.6f},{y:.6f}\n" for t, y in zip(theta, ys)))
    print(f"final loss {losses[-1]:.6f}, trained in {elapsed:.2f} s", file=sys.stderr)
    if a.save:
        import chainrule as cr

        try:
            cr.save(model, a.save)
        except OSError as e:
            from . import UsageError

            raise UsageError(f"cannot save {a.save}: {e}") from None
        print(f"weights written to {a.save}", file=sys.stderr)
    if a.plot:
        plot(a.plot, theta, ys, losses)
        print(f"plot written to {a.plot}", file=sys.stderr)
    return 0
