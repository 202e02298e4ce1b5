"""Optimizers with per-element step sizes: Adam, AdamW, AdaGrad, RMSprop.

Every update works in preallocated arrays shaped like the parameter (``out=``), so 0-d and
non-contiguous parameters behave like any other.
"""
from __future__ import annotations

import math
from typing import Any

from ..backend import xp_of
from .base import Optimizer

__all__ = ["Adam", "AdamW", "AdaGrad", "RMSprop"]


def _betas(name: str, beta1: float, beta2: float, betas: Any) -> tuple:
    if betas is not None:
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    for b in (beta1, beta2):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: betas must be in [0, 1), got {(beta1, beta2)}")
    return float(beta1), float(beta2)


class Adam(Optimizer):
    """The reference's Adam (``t`` counts steps from 1)::

        g = g + weight_decay * p     (L2 penalty as PyTorch's Adam; 0 by default)
        m += (1 - beta1) * (g - m);  v += (1 - beta2) * (g*g - v)
        lr_t = alpha * sqrt(1 - beta2**t) / (1 - beta1**t)
        p -= lr_t * m / (sqrt(v) + eps)

    ``alpha`` is also reachable as ``lr`` (what LR schedules change); ``betas=(beta1, beta2)``
    is PyTorch's spelling (also as a parameter-group option).
    """

    hyper_names = ("alpha", "beta1", "beta2", "eps", "weight_decay")
    slots = ("m", "v")
    aliases = {"betas": ("beta1", "beta2")}

    def __init__(self, params: Any = None, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, lr: float | None = None, betas: Any = None, weight_decay: float = 0.0):
        super().__init__(params, alpha if lr is None else lr)
        self.beta1, self.beta2 = _betas(type(self).__name__, beta1, beta2, betas)
        self.eps = float(eps)
        if weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got {weight_decay}")
        self.weight_decay = float(weight_decay)
        self._lr_t = 0.0

    @property
    def alpha(self) -> float:
        return self.lr

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.lr = float(value)

    @property
    def betas(self) -> tuple:
        return (self.beta1, self.beta2)

    def _prepare(self) -> None:
        t = self.t
        self._lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)

    def _moments(self, g: Any, st: list) -> Any:
        """Update m and v in place; return the Adam step ``lr_t * m / (sqrt(v) + eps)``."""
        m, v = st[1], st[2]
        xp = xp_of(v)
        a = xp.subtract(g, m, out=xp.empty_like(m))  # m += (1 - beta1) * (g - m)
        a *= 1.0 - self.beta1
        m += a
        b = xp.multiply(g, g, out=xp.empty_like(v))  # v += (1 - beta2) * (g*g - v)
        b -= v
        b *= 1.0 - self.beta2
        v += b
        den = xp.sqrt(v, out=b)        # lr_t * m / (sqrt(v) + eps), in the two scratch arrays
        den += self.eps
        step = xp.multiply(m, self._lr_t, out=a)
        step /= den
        return step

    def _update(self, p: Any, g: Any, st: list) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        d = p.data
        d -= self._moments(g, st)
        p._version += 1


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr_t * m / (sqrt(v) + eps) + alpha * weight_decay * p``
    (the decay uses the parameter before the step and ``alpha`` without bias correction;
    PyTorch's AdamW)."""

    def __init__(self, params: Any = None, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01, *, lr: float | None = None, betas: Any = None):
        super().__init__(params, alpha, beta1, beta2, eps, lr=lr, betas=betas, weight_decay=weight_decay)

    def _update(self, p: Any, g: Any, st: list) -> None:
        step = self._moments(g, st)
        d = p.data
        if self.weight_decay:
            d -= (self.lr * self.weight_decay) * d
        d -= step
        p._version += 1


class AdaGrad(Optimizer):
    """``h += g*g; p -= lr * g / (sqrt(h) + eps)``."""

    hyper_names = ("lr", "eps")
    slots = ("h",)

    def __init__(self, params: Any = None, lr: float = 0.01, eps: float = 1e-10):
        super().__init__(params, lr)
        self.eps = float(eps)

    def _update(self, p: Any, g: Any, st: list) -> None:
        h = st[1]
        xp = xp_of(h)
        h += g * g
        den = xp.sqrt(h, out=xp.empty_like(h))
        den += self.eps
        step = xp.multiply(g, self.lr, out=xp.empty_like(h))
        step /= den
        d = p.data
        d -= step
        p._version += 1


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
        xp = xp_of(v)
        v *= self.alpha
        v += (1.0 - self.alpha) * (g * g)
        den = xp.sqrt(v, out=xp.empty_like(v))
        den += self.eps
        step = xp.multiply(g, self.lr, out=xp.empty_like(v))
        step /= den
        d = p.data
        d -= step
        p._version += 1
