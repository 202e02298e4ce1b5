"""Normalisation: batch_norm (train/test mode, running statistics), layer_norm, rms_norm.

Written as compositions of declared ops (mean, subtract, multiply, ``** -0.5``): their
derivatives of every order and their JVPs are those of the ops they compose (no rule of their
own to keep), and the op table checks them from the sample inputs below.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..backend import xp_of
from ..core.config import get_config
from ..core.op import declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._checks import as_input

__all__ = ["batch_norm", "layer_norm", "rms_norm"]


def _array(a: Any) -> Any:
    return a.data if isinstance(a, Variable) else a


def _check_param(name: str, what: str, p: Any, shape: tuple, x_shape: tuple) -> None:
    if p is not None and tuple(p.shape) != shape:
        raise ValueError(f"{name}: {what} has shape {tuple(p.shape)}, expected {shape} for input shape {x_shape}")


def _batch_norm_samples(rng: Any) -> list:
    c = 3
    g, b = rng.standard_normal(c), rng.standard_normal(c)
    return [(rng.standard_normal((5, c)) * 2 + 1, g, b, None, None, True),
            (rng.standard_normal((4, c, 5)), g, b, None, None, True, 0.1, 1e-3),
            (rng.standard_normal((2, 2, c, 3)).transpose(0, 2, 3, 1), g, None, None, None, True),  # non-contiguous
            (rng.standard_normal((4, c)), None, None, None, None, True)]


def _torch_batch_norm(t: Any, x: Any, gamma: Any = None, beta: Any = None, rm: Any = None, rv: Any = None,
                      training: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    return t.nn.functional.batch_norm(x, rm, rv, gamma, beta, training=training, momentum=momentum, eps=eps)


@declare(samples=_batch_norm_samples, torch=_torch_batch_norm)
def batch_norm(x: Operand, gamma: Operand | None = None, beta: Operand | None = None, running_mean: Any = None, running_var: Any = None,
               training: bool | None = None, momentum: float = 0.1, eps: float = 1e-5) -> Variable:
    """Batch normalisation over every axis but the channel axis 1.

    ``x``: (N, C), (N, C, L) or (N, C, H, W); ``gamma``, ``beta``, ``running_mean``,
    ``running_var``: (C,). In training (``training=None`` follows ``chainrule.is_train()``) the
    batch statistics are used and the running statistics, when given, are updated in place:
    ``r = (1 - momentum) r + momentum * stat`` (unbiased variance, as PyTorch). In test mode the
    running statistics are used (the batch's if none are given).
    """
    x = as_input("batch_norm", x)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"batch_norm: input must be 2-D, 3-D or 4-D with channels on axis 1, got shape {x.shape}")
    c = x.shape[1]
    for what, p in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var)):
        _check_param("batch_norm", what, p, (c,), x.shape)
    if training is None:
        training = get_config().train
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (c,) + (1,) * (x.ndim - 2)
    if training or running_mean is None or running_var is None:
        n = x.size // c
        if training and n <= 1:
            raise ValueError(f"batch_norm: need more than one value per channel in training, got input shape {x.shape}")
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        xhat = xc * (var + eps) ** -0.5
        if training and running_mean is not None:
            rm = _array(running_mean)
            rm *= 1.0 - momentum
            rm += momentum * mean.data.reshape(c)
        if training and running_var is not None:
            rv = _array(running_var)
            rv *= 1.0 - momentum
            rv += (momentum * n / (n - 1)) * var.data.reshape(c)
    else:
        rm = _array(running_mean).reshape(bshape).astype(x.dtype, copy=False)
        rv = _array(running_var).reshape(bshape).astype(x.dtype, copy=False)
        xhat = (x - rm) * (1.0 / xp_of(rv).sqrt(rv + eps))
    if gamma is not None:
        xhat = xhat * (gamma if x.ndim == 2 else as_input("batch_norm", gamma).reshape(bshape))
    if beta is not None:
        xhat = xhat + (beta if x.ndim == 2 else as_input("batch_norm", beta).reshape(bshape))
    return xhat


def _norm_axes(name: str, x: Variable, gamma: Any, normalized_shape: Any) -> tuple:
    if normalized_shape is None:
        normalized_shape = tuple(gamma.shape) if gamma is not None else (x.shape[-1],)
    elif isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or k > x.ndim or tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ValueError(f"{name}: normalized shape {normalized_shape} does not match the trailing axes "
                         f"of input shape {x.shape}")
    return tuple(range(x.ndim - k, x.ndim)), normalized_shape


def _layer_norm_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5)),
            (rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 1e-3),
            (rng.standard_normal((4, 5)).T, None, None, 1e-5, 4),  # non-contiguous, no affine
            (rng.standard_normal((2, 6))[:, ::2], rng.standard_normal(3), None)]


def _torch_layer_norm(t: Any, x: Any, gamma: Any = None, beta: Any = None, eps: float = 1e-5,
                      normalized_shape: Any = None) -> Any:
    if normalized_shape is None:
        normalized_shape = tuple(gamma.shape) if gamma is not None else (x.shape[-1],)
    elif isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return t.nn.functional.layer_norm(x, normalized_shape, gamma, beta, eps)


@declare(samples=_layer_norm_samples, torch=_torch_layer_norm)
def layer_norm(x: Operand, gamma: Operand | None = None, beta: Operand | None = None, eps: float = 1e-5,
               normalized_shape: int | Sequence[int] | None = None) -> Variable:
    """Normalise over the trailing axes (``normalized_shape``; default ``gamma.shape`` or the last axis).

    ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` with biased variance; ``gamma``/``beta``
    have ``normalized_shape``.
    """
    x = as_input("layer_norm", x)
    axes, shape = _norm_axes("layer_norm", x, gamma, normalized_shape)
    _check_param("layer_norm", "gamma", gamma, shape, x.shape)
    _check_param("layer_norm", "beta", beta, shape, x.shape)
    xc = x - x.mean(axis=axes, keepdims=True)
    y = xc * ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** -0.5
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def _rms_norm_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 5)), rng.standard_normal(5)),
            (rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), 1e-3),
            (rng.standard_normal((4, 5)).T, None, 1e-6, 4)]  # non-contiguous, no gain


def _torch_rms_norm(t: Any, x: Any, gamma: Any = None, eps: float = 1e-6, normalized_shape: Any = None) -> Any:
    if normalized_shape is None:
        normalized_shape = tuple(gamma.shape) if gamma is not None else (x.shape[-1],)
    elif isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return t.nn.functional.rms_norm(x, normalized_shape, gamma, eps)


@declare(samples=_rms_norm_samples, torch=_torch_rms_norm)
def rms_norm(x: Operand, gamma: Operand | None = None, eps: float = 1e-6,
             normalized_shape: int | Sequence[int] | None = None) -> Variable:
    """``x / sqrt(mean(x**2) + eps) * gamma`` over the trailing axes (default ``gamma.shape`` or the last axis)."""
    x = as_input("rms_norm", x)
    axes, shape = _norm_axes("rms_norm", x, gamma, normalized_shape)
    _check_param("rms_norm", "gamma", gamma, shape, x.shape)
    y = x * ((x * x).mean(axis=axes, keepdims=True) + eps) ** -0.5
    if gamma is not None:
        y = y * gamma
    return y
