"""What the digits programs share (``mlp``, ``cnn`` and ``mlp --distributed``): one training
epoch, the test accuracy, and the end of a run (checkpoint, training curves, accuracy line)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

Prepare = Callable[[np.ndarray], np.ndarray]
"""Turns a batch of flat digits (N, 64) into the model's input (e.g. images (N, 1, 8, 8))."""


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def train_epoch(model: Any, opt: Any, loader: Iterable, prepare: Prepare = _identity) -> tuple[float, int]:
    """One pass of softmax cross-entropy training over ``loader``: (sum of the batch losses
    weighted by batch size, number of examples)."""
    import chainrule.functions as F

    total, n = 0.0, 0
    for x, t in loader:
        loss = F.softmax_cross_entropy(model(prepare(x)), t)
        model.cleargrads()
        loss.backward()
        opt.update(model)
        total += loss.item() * len(x)
        n += len(x)
    return total, n


def evaluate(model: Any, x: np.ndarray, t: np.ndarray, prepare: Prepare = _identity) -> float:
    """Accuracy of ``model`` on flat digits ``x`` (N, 64) with labels ``t`` (N,)."""
    import chainrule as cr

    with cr.no_grad(), cr.test_mode():
        y = model(prepare(x))
    return float((y.numpy().argmax(axis=1) == t).mean())


def finish(a: argparse.Namespace, losses: list, accuracies: list, accuracy: float, title: str) -> None:
    """Draw the training curves (``--plot``) and print the test accuracy (after any checkpoint
    was written: files first, so ``| head`` loses none)."""
    if getattr(a, "plot", None):
        from .plots import training_curves

        training_curves(a.plot, losses, accuracies, title)
        print(f"plot written to {a.plot}", file=sys.stderr)
    print(f"test accuracy {accuracy:.4f}")
