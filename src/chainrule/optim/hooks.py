"""Gradient hooks run by an optimizer before its update: ``opt.add_hook(ClipGrad(1.0))``.

A hook is any callable ``hook(params, grads) -> grads``: ``params`` are the parameters that
have a gradient, ``grads`` their gradient arrays; it returns new arrays (never mutating them).
"""
from __future__ import annotations

import math

__all__ = ["WeightDecay", "ClipGrad"]


class WeightDecay:
    """L2 regularisation: ``g + rate * p`` for every parameter."""

    def __init__(self, rate: float):
        if rate < 0:
            raise ValueError(f"WeightDecay: rate must be >= 0, got {rate}")
        self.rate = float(rate)

    def __call__(self, params: list, grads: list) -> list:
        r = self.rate
        return [g + r * p.data for p, g in zip(params, grads)]

    def __repr__(self) -> str:
        return f"WeightDecay({self.rate!r})"


class ClipGrad:
    """Global-norm clipping: when ``||g||`` over all gradients exceeds ``max_norm``, every
    gradient is scaled by ``max_norm / (||g|| + 1e-6)``."""

    def __init__(self, max_norm: float):
        if not max_norm > 0:
            raise ValueError(f"ClipGrad: max_norm must be > 0, got {max_norm}")
        self.max_norm = float(max_norm)

    def __call__(self, params: list, grads: list) -> list:
        total = 0.0
        for g in grads:
            total += float((g * g).sum())
        rate = self.max_norm / (math.sqrt(total) + 1e-6)
        if rate >= 1.0:
            return grads
        return [g * rate for g in grads]

    def __repr__(self) -> str:
        return f"ClipGrad({self.max_norm!r})"

