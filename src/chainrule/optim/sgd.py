"""Plain and momentum gradient descent."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Optimizer

__all__ = ["SGD", "Momentum"]

_SCRATCH_MIN_BYTES = 1 << 16


class SGD(Optimizer):
    """``p -= lr * g``."""

    hyper_names = ("lr",)

    def __init__(self, params: Any = None, lr: float = 0.01):
        super().__init__(params, lr)

    def _step(self, params: list) -> None:
        if self.hooks or self._pending is not None:
            return super()._step(params)
        # fast path: no state, no hooks. For large host arrays ``lr * g`` goes into a reused
        # scratch array (a view of it), which stays in cache, instead of a fresh temporary.
        self._last = params
        self.t += 1
        lr = self.lr
        for p in params:
            g = p.grad
            if g is not None:
                g = g.data
                if g.nbytes >= _SCRATCH_MIN_BYTES and g.__class__ is np.ndarray:
                    t = self._scratch(g)
                    np.multiply(g, lr, out=t)
                    p.data -= t
                else:
                    p.data -= lr * g

    def _scratch(self, g: np.ndarray) -> np.ndarray:
        """A (g.shape, g.dtype) view of this optimizer's scratch array for ``g.dtype``."""
        bufs = self.__dict__.setdefault("_bufs", {})
        buf = bufs.get(g.dtype)
        if buf is None or buf.size < g.size:
            buf = bufs[g.dtype] = np.empty(g.size, dtype=g.dtype)
        return buf[:g.size].reshape(g.shape)

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
