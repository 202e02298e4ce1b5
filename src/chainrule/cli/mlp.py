"""``chainrule mlp``: train an MLP on scikit-learn's handwritten digits and print test accuracy."""
from __future__ import annotations

import sys
import time
from typing import Sequence

import numpy as np

from .args import Parser, positive


def build_parser() -> Parser:
    p = Parser(prog="chainrule mlp", description=__doc__.split(":", 1)[1].strip())
    p.flag("epochs", type=positive(int), default=20, help="training epochs (default 20)")
    p.flag("batch-size", type=positive(int), default=64, help="mini-batch size (default 64)")
    p.flag("hidden-size", type=positive(int), default=256, help="width of the two hidden layers (default 256)")
    p.flag("learning-rate", type=positive(float), default=0.1, help="SGD learning rate (default 0.1)")
    p.flag("seed", type=int, default=0, help="random seed (default 0)")
    return p


def evaluate(model, x: np.ndarray, t: np.ndarray) -> float:
    import chainrule as cr

    with cr.no_grad(), cr.test_mode():
        y = model(x)
    return float((y.numpy().argmax(axis=1) == t).mean())


def main(argv: Sequence[str]) -> int:
    import chainrule.functions as F
    from chainrule import data, models, optim

    from . import UsageError

    a = build_parser().parse_args(argv)
    try:
        train = data.digits("train")
        test = data.digits("test")
    except ImportError as e:
        raise UsageError(str(e)) from None
    rng = np.random.default_rng(a.seed)
    model = models.MLP([a.hidden_size, a.hidden_size, 10], activation=F.relu, rng=rng)
    opt = optim.SGD(lr=a.learning_rate)
    loader = data.DataLoader(train, batch_size=a.batch_size, shuffle=True, rng=rng)
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        total, n = 0.0, 0
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update(model)
            total += loss.item() * len(x)
            n += len(x)
        ms = (time.perf_counter() - t0) * 1e3
        print(f"epoch {epoch + 1:3d}  loss {total / n:.4f}  {ms:6.1f} ms", file=sys.stderr)
    xt, tt = test.arrays
    print(f"test accuracy {evaluate(model, xt, tt):.4f}")
    return 0
