"""Gradient hooks run by an optimizer before its update (``opt.add_hook(ClipGrad(1.0))``), and
``clip_grad_norm`` for a hand-written loop.

A hook is any callable ``hook(params, grads) -> grads``: ``params`` are the parameters that
have a gradient, ``grads`` their gradient arrays; it returns the gradients to apply (new
arrays; it never mutates its input). The optimizer then sets each parameter's ``grad`` to the
gradient it applied, so ``p.grad`` after ``step()`` is what the update used (the reference's
hooks and PyTorch's ``clip_grad_norm_`` change the gradient in place).
"""
from __future__ import annotations

import math
from typing import Any

from ..backend import xp_of
from .base import as_param_list

__all__ = ["WeightDecay", "ClipGrad", "clip_grad_norm"]


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


def _total_norm(grads: list, norm_type: float) -> float:
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        return max(float(xp_of(g).abs(g).max()) if g.size else 0.0 for g in grads)
    if norm_type == 2.0:
        return math.sqrt(sum(float((g * g).sum()) for g in grads))
    return sum(float((xp_of(g).abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)


class ClipGrad:
    """Global-norm clipping: when ``||g||`` over all gradients exceeds ``max_norm``, every
    gradient is scaled by ``max_norm / (||g|| + 1e-6)``."""

    def __init__(self, max_norm: float):
        if not max_norm > 0:
            raise ValueError(f"ClipGrad: max_norm must be > 0, got {max_norm}")
        self.max_norm = float(max_norm)

    def __call__(self, params: list, grads: list) -> list:
        rate = self.max_norm / (_total_norm(grads, 2.0) + 1e-6)
        if rate >= 1.0:
            return grads
        return [g * rate for g in grads]

    def __repr__(self) -> str:
        return f"ClipGrad({self.max_norm!r})"


def clip_grad_norm(params: Any, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale the gradients of ``params`` (Variables, a model, or one Variable) so that their
    global ``norm_type``-norm is at most ``max_norm``; returns the norm before clipping.

    PyTorch's ``clip_grad_norm_``: the factor is ``min(1, max_norm / (norm + 1e-6))``;
    parameters without a gradient are skipped; ``norm_type`` may be ``float("inf")``. Each
    ``p.grad`` is changed in place (its ``data`` replaced by the scaled array).
    """
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm: max_norm must be >= 0, got {max_norm}")
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm: norm_type must be > 0, got {norm_type}")
    ps = [params] if hasattr(params, "grad") and hasattr(params, "data") else as_param_list(params)
    grad_vars = []
    seen: set = set()
    for p in ps:
        gv = p.grad
        if gv is not None and id(gv) not in seen:
            seen.add(id(gv))
            grad_vars.append(gv)
    total = _total_norm([gv.data for gv in grad_vars], norm_type)
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for gv in grad_vars:
            gv.data = gv.data * coef
    return total
