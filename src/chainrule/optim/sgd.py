"""Plain and momentum gradient descent."""
from __future__ import annotations

from typing import Any

from .base import Optimizer

__all__ = ["SGD", "Momentum"]


class SGD(Optimizer):
    """``p -= lr * g``."""

    hyper_names = ("lr",)

    def __init__(self, params: Any = None, lr: float = 0.01):
        super().__init__(params, lr)

    def _step(self, params: list) -> None:
        if self.hooks or self._pending is not None:
            return super()._step(params)
        # fast path: no state, no hooks
        self._last = params
        self.t += 1
        lr = self.lr
        for p in params:
            g = p.grad
            if g is not None:
                p.data -= lr * g.data

    def _update(self, p: Any, g: Any, st: list) -> None:
        p.data -= self.lr * g


class Momentum(Optimizer):
    """The reference's rule: ``v = momentum * v - lr * g; p += v`` (``v`` starts at zero)."""

    hyper_names = ("lr", "momentum")
    slots = ("v",)

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(params, lr)
        self.momentum = float(momentum)

    def _update(self, p: Any, g: Any, st: list) -> None:
        v = st[1]
        v *= self.momentum
        v -= self.lr * g
        p.data += v
