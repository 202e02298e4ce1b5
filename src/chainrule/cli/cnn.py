"""``chainrule cnn``: train a small CNN on scikit-learn's handwritten digits and print test accuracy."""
from __future__ import annotations

import sys
from typing import Sequence

from .args import Parser, positive


def main(argv: Sequence[str]) -> int:
    from ..models import train_cnn_digits
    from . import UsageError

    p = Parser(prog="chainrule cnn", description=__doc__.split(":", 1)[1].strip())
    p.flag("epochs", type=positive(int), default=20, help="training epochs (default 20)")
    p.flag("batch-size", type=positive(int), default=32, help="mini-batch size (default 32)")
    p.flag("learning-rate", type=positive(float), default=2e-3, help="Adam learning rate (default 0.002)")
    p.flag("seed", type=int, default=0, help="random seed (default 0)")
    a = p.parse_args(argv)

    def log(epoch: int, loss: float, seconds: float) -> None:
        print(f"epoch {epoch:3d}  loss {loss:.4f}  {seconds * 1e3:7.1f} ms", file=sys.stderr)

    try:
        _, acc = train_cnn_digits(epochs=a.epochs, batch_size=a.batch_size, lr=a.learning_rate, seed=a.seed, log=log)
    except ImportError as e:
        raise UsageError(str(e)) from None
    print(f"test accuracy {acc:.4f}")
    return 0
