"""Optimizers with per-element step sizes: Adam, AdamW, AdaGrad, RMSprop."""
from __future__ import annotations

import math
from typing import Any

from ..backend import xp_of
from .base import Optimizer

__all__ = ["Adam", "AdamW", "AdaGrad", "RMSprop"]


class Adam(Optimizer):
    """The reference's Adam (``t`` counts steps from 1)::

        m += (1 - beta1) * (g - m);  v += (1 - beta2) * (g*g - v)
        lr_t = alpha * sqrt(1 - beta2**t) / (1 - beta1**t)
        p -= lr_t * m / (sqrt(v) + eps)

    ``alpha`` is also reachable as ``lr`` (what LR schedules change).
    """

    hyper_names = ("alpha", "beta1", "beta2", "eps")
    slots = ("m", "v")

    def __init__(self, params: Any = None, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, lr: float | None = None):
        super().__init__(params, alpha if lr is None else lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self._lr_t = 0.0

    @property
    def alpha(self) -> float:
        return self.lr

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.lr = float(value)

    def _prepare(self) -> None:
        t = self.t
        self._lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)

    def _moments(self, g: Any, st: list) -> Any:
        """Update m and v in place; return the Adam step ``lr_t * m / (sqrt(v) + eps)``."""
        m, v = st[1], st[2]
        xp = xp_of(v)
        a = g - m                      # m += (1 - beta1) * (g - m)
        a *= 1.0 - self.beta1
        m += a
        b = g * g                      # v += (1 - beta2) * (g*g - v)
        b -= v
        b *= 1.0 - self.beta2
        v += b
        den = xp.sqrt(v, out=b)        # lr_t * m / (sqrt(v) + eps), in the two scratch arrays
        den += self.eps
        step = xp.multiply(m, self._lr_t, out=a)
        step /= den
        return step

    def _update(self, p: Any, g: Any, st: list) -> None:
        p.data -= self._moments(g, st)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr_t * m / (sqrt(v) + eps) + alpha * weight_decay * p``
    (the decay uses the parameter before the step and ``alpha`` without bias correction)."""

    hyper_names = ("alpha", "beta1", "beta2", "eps", "weight_decay")

    def __init__(self, params: Any = None, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01, *, lr: float | None = None):
        super().__init__(params, alpha, beta1, beta2, eps, lr=lr)
        self.weight_decay = float(weight_decay)

    def _update(self, p: Any, g: Any, st: list) -> None:
        step = self._moments(g, st)
        if self.weight_decay:
            p.data -= (self.lr * self.weight_decay) * p.data
        p.data -= step


class AdaGrad(Optimizer):
    """``h += g*g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper_names = ("lr", "eps")
    slots = ("h",)

    def __init__(self, params: Any = None, lr: float = 0.01, eps: float = 1e-10):
        super().__init__(params, lr)
        self.eps = float(eps)

    def _update(self, p: Any, g: Any, st: list) -> None:
        h = st[1]
        h += g * g
        den = xp_of(h).sqrt(h)
        den += self.eps
        step = self.lr * g
        step /= den
        p.data -= step


class RMSprop(Optimizer):
    """``v = alpha * v + (1 - alpha) * g*g; p -= lr * g / (sqrt(v) + eps)`` (PyTorch's names)."""

    hyper_names = ("lr", "alpha", "eps")
    slots = ("v",)

    def __init__(self, params: Any = None, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr)
        self.alpha = float(alpha)
        self.eps = float(eps)

    def _update(self, p: Any, g: Any, st: list) -> None:
        v = st[1]
        v *= self.alpha
        v += (1.0 - self.alpha) * (g * g)
        den = xp_of(v).sqrt(v)
        den += self.eps
        step = self.lr * g
        step /= den
        p.data -= step
