"""Reductions: sum, mean, var, max, min, logsumexp (and PyTorch-style ``sum_dim``/``mean_dim``).

``axis`` is ``None`` (every axis), an int or a tuple of ints; negative axes count from the
end. ``keepdims=True`` keeps each reduced axis with size 1. The result has the input's shape
with the reduced axes removed (or set to 1). Every op here is differentiable to any order.

Tie rule of ``max``/``min``: the gradient is split equally among the elements that attain
the extreme value (as PyTorch's ``amax``/``amin`` do); e.g. ``max([1, 3, 3])`` sends half
of the incoming gradient to each 3.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import xp_of
from ..core.function import Function
from ..core.variable import Variable
from ._checks import as_input, check_axis, check_int

__all__ = ["sum", "mean", "var", "max", "min", "logsumexp", "sum_dim", "mean_dim", "normalize_axis"]

_int = int
_ONES: dict = {}


def blas_sum(a: Any, axis: int) -> Any:
    """Sum of a 2-D array over ``axis`` (0 or 1). For float32/float64 NumPy arrays it is one
    BLAS product with a cached read-only ones vector: NumPy reduces short rows one at a time,
    several times slower. Other arrays use ``sum``."""
    if a.__class__ is not np.ndarray or a.dtype.char not in "fd":
        return a.sum(axis=axis)
    n = a.shape[axis]
    key = (n, a.dtype.char)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, a.dtype)
        ones.flags.writeable = False
    return np.dot(ones, a) if axis == 0 else np.dot(a, ones)


def normalize_axis(op: str, axis: Any, shape: tuple) -> tuple | None:
    """``axis`` as a sorted tuple of non-negative ints for an array of ``shape`` (None stays None).

    Raises ``ValueError`` for an axis out of range or repeated, ``TypeError`` for a non-integer
    axis; the message names ``op``, the axis and the shape.
    """
    if axis is None:
        return None
    ndim = len(shape)
    if axis.__class__ is _int:
        if -ndim <= axis < ndim:
            return (axis % ndim,)
        raise ValueError(f"{op}: axis {axis} is out of range for shape {tuple(shape)} (ndim {ndim})")
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = [check_axis(op, a, ndim, shape) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r} (shape {tuple(shape)})")
    return tuple(sorted(out))


def _kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _count(shape: tuple, axes: tuple | None) -> int:
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


class ExpandReduced(Function):
    """Spread a reduced gradient back over the reduced axes: ``(kept) -> shape``, times ``scale``.

    The adjoint of ``Sum(axes, keepdims)`` (with ``scale``: of a scaled sum such as a mean).
    """

    def __init__(self, axes: tuple | None, shape: tuple, keepdims: bool, scale: float | None = None):
        self.axes = axes
        self.shape = shape
        self.keepdims = keepdims
        self.scale = scale

    def forward(self, g):
        if self.scale is not None:
            g = g * self.scale
        if not self.keepdims:
            g = g.reshape(_kept_shape(self.shape, self.axes))
        return xp_of(g).broadcast_to(g, self.shape)

    def backward(self, gy):
        g = Sum(self.axes, self.keepdims)(gy)
        return g if self.scale is None else g * self.scale


def _expand(gy: Variable, axes: tuple | None, shape: tuple, keepdims: bool,
            scale: float | None = None) -> Variable:
    if gy.shape == shape and scale is None:
        return gy
    return ExpandReduced(axes, shape, keepdims, scale)(gy)


class Sum(Function):
    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return _expand(gy, self.axis, x.shape, self.keepdims)

    def backward_data(self, gy):
        return ExpandReduced(self.axis, self.inputs[0].data.shape, self.keepdims).forward(gy)


class Mean(Function):
    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].shape
        n = _count(shape, self.axis)
        return ExpandReduced(self.axis, shape, self.keepdims, 1.0 / n if n else float("nan"))(gy)

    def backward_data(self, gy):
        shape = self.inputs[0].data.shape
        n = _count(shape, self.axis)
        return ExpandReduced(self.axis, shape, self.keepdims, 1.0 / n if n else float("nan")).forward(gy)


class Var(Function):
    def __init__(self, axis: tuple | None, keepdims: bool, ddof: int):
        self.axis = axis
        self.keepdims = keepdims
        self.ddof = ddof

    def forward(self, x):
        return xp_of(x).var(x, axis=self.axis, keepdims=self.keepdims, ddof=self.ddof)

    def backward(self, gy):
        x = self.inputs[0]
        d = _count(x.shape, self.axis) - self.ddof
        centered = x - Mean(self.axis, True)(x)
        scale = 2.0 / d if d > 0 else float("nan")
        return centered * ExpandReduced(self.axis, x.shape, self.keepdims, scale)(gy)


class _Extreme(Function):
    """Shared backward of ``Max``/``Min``: ties share the gradient equally."""

    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def backward(self, gy):
        x = self.inputs[0]
        xd = x.data
        y = self.outputs[0]()
        yd = self.forward(xd) if y is None else y.data
        if not self.keepdims:
            yd = yd.reshape(_kept_shape(xd.shape, self.axis))
        mask = (xd == yd).astype(xd.dtype)
        count = mask.sum(axis=self.axis, keepdims=True)
        xp = xp_of(xd)
        weights = mask / xp.maximum(count, 1)
        return _expand(gy, self.axis, xd.shape, self.keepdims) * Variable._new(weights)


class Max(_Extreme):
    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)


class Min(_Extreme):
    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


class LogSumExp(Function):
    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        xp = xp_of(x)
        m = x.max(axis=self.axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=self.axis, keepdims=True)) + m
        if not self.keepdims:
            y = y.reshape(tuple(s for i, s in enumerate(x.shape)
                                if self.axis is not None and i not in self.axis))
        return y

    def backward(self, gy):
        x = self.inputs[0]
        y = self.outputs[0]()
        if y is None:
            y = LogSumExp(self.axis, self.keepdims)(x)
        shape = x.shape
        softmax = _exp(x - _expand(y, self.axis, shape, self.keepdims))
        return _expand(gy, self.axis, shape, self.keepdims) * softmax


def _exp(x: Variable) -> Variable:
    from .math import exp

    return exp(x)


def _prepare(op: str, x: Any, axis: Any) -> tuple:
    x = x if x.__class__ is Variable else as_input(op, x)
    return x, (None if axis is None else normalize_axis(op, axis, x.shape))


# ----- public functions -----
def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Sum over ``axis`` (None: all). ``(…) -> (…)`` with the reduced axes dropped or kept as 1."""
    x, axes = _prepare("sum", x, axis)
    return Sum(axes, bool(keepdims))(x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Arithmetic mean over ``axis`` (None: all)."""
    x, axes = _prepare("mean", x, axis)
    return Mean(axes, bool(keepdims))(x)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Variable:
    """Variance over ``axis``: ``sum((x - mean)**2) / (n - ddof)`` (``ddof=0``: population, 1: sample)."""
    x, axes = _prepare("var", x, axis)
    ddof = check_int("var", "ddof", ddof)
    return Var(axes, bool(keepdims), ddof)(x)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Maximum over ``axis``; the gradient is split equally among tied maxima."""
    x, axes = _prepare("max", x, axis)
    if x.size == 0:
        raise ValueError(f"max: cannot reduce an empty variable (shape {x.shape})")
    return Max(axes, bool(keepdims))(x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Minimum over ``axis``; the gradient is split equally among tied minima."""
    x, axes = _prepare("min", x, axis)
    if x.size == 0:
        raise ValueError(f"min: cannot reduce an empty variable (shape {x.shape})")
    return Min(axes, bool(keepdims))(x)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """``log(sum(exp(x), axis))`` computed stably (shifted by the maximum); gradient: softmax."""
    x, axes = _prepare("logsumexp", x, axis)
    if x.size == 0:
        raise ValueError(f"logsumexp: cannot reduce an empty variable (shape {x.shape})")
    return LogSumExp(axes, bool(keepdims))(x)


def sum_dim(x: Any, dim: Any, keepdim: bool = False) -> Variable:
    """``sum`` over ``dim`` (the reference ``SumDim`` spelling)."""
    x, axes = _prepare("sum_dim", x, dim)
    return Sum(axes, bool(keepdim))(x)


def mean_dim(x: Any, dim: Any, keepdim: bool = False) -> Variable:
    """``mean`` over ``dim`` (the reference ``MeanDim`` spelling)."""
    x, axes = _prepare("mean_dim", x, dim)
    return Mean(axes, bool(keepdim))(x)

