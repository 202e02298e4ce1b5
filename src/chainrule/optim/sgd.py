"""Plain and momentum gradient descent."""
from __future__ import annotations

from typing import Any

from .base import Optimizer

__all__ = ["SGD", "Momentum"]


class SGD(Optimizer):
    """``p -= lr * g``; with PyTorch's options (each 0/False by default, as in PyTorch)::

        g = g + weight_decay * p
        buf = momentum * buf + g          (buf starts at zero, so the first buf is g)
        g = g + momentum * buf if nesterov else buf
        p -= lr * g

    ``Momentum`` is the reference's formulation of the same heavy-ball rule.
    """

    hyper_names = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got {momentum} and {weight_decay}")
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        super().__init__(params, lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        uses_momentum = self.momentum > 0 or any(g.get("momentum", 0) for g in self.param_groups)
        self.slots = ("momentum_buffer",) if uses_momentum else ()
        self._plain = not (uses_momentum or self.weight_decay
                           or any(g.get("weight_decay", 0) for g in self.param_groups))

    def _step(self, params: list, groups: list | None = None) -> None:
        if self.hooks or self._pending is not None or groups is not None or not self._plain:
            return super()._step(params, groups)
        # fast path: no state, no hooks, one group
        self._last = params
        self.t += 1
        lr = self.lr
        for p in params:
            g = p.grad
            if g is not None and p._requires_grad:  # (the slots behind .requires_grad and .data)
                d = p._data
                d -= lr * g._data
                p._version += 1

    def _update(self, p: Any, g: Any, st: list) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            buf = st[1]
            buf *= self.momentum
            buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        d = p.data
        d -= self.lr * g
        p._version += 1


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
        d = p.data
        d += v
        p._version += 1
