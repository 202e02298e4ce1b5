"""Reductions: sum, mean, var, max, min, logsumexp (and PyTorch-style ``sum_dim``/``mean_dim``).

``axis`` is ``None`` (every axis), an int or a tuple of ints; negative axes count from the
end. ``keepdims=True`` keeps each reduced axis with size 1. The result has the input's shape
with the reduced axes removed (or set to 1). Every op here is differentiable to any order.

Tie rule of ``max``/``min``: the gradient is split equally among the elements that attain
the extreme value (as PyTorch's ``amax``/``amin`` do); e.g. ``max([1, 3, 3])`` sends half
of the incoming gradient to each 3.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import xp_of
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._checks import as_input, check_axis, check_int

__all__ = ["sum", "mean", "var", "max", "min", "logsumexp", "sum_dim", "mean_dim", "normalize_axis"]

_int = int
_nan = float("nan")
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


def _kept(gy: Any, shape: tuple, axes: tuple | None, keepdims: bool, ns: Any) -> Any:
    """A reduced ``gy`` with its reduced axes back as size 1 (so it broadcasts against the input)."""
    if keepdims:
        return gy
    return ns.reshape(gy, _kept_shape(shape, axes))


class Sum(Op):
    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def vjp(self, ns, gy, y, x):
        shape = x.shape
        if self.axis is not None and not self.keepdims:  # a 0-d total broadcasts as it is
            gy = ns.reshape(gy, _kept_shape(shape, self.axis))
        return ns.broadcast_to(gy, shape)

    def jvp(self, ns, ts, y, x):
        return ns.sum(ts[0], self.axis, self.keepdims)


class Mean(Op):
    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def vjp(self, ns, gy, y, x):
        shape = x.shape
        n = _count(shape, self.axis)
        if self.axis is not None and not self.keepdims:
            gy = ns.reshape(gy, _kept_shape(shape, self.axis))
        return ns.broadcast_to(gy * (1.0 / n if n else _nan), shape)

    def jvp(self, ns, ts, y, x):
        return ns.mean(ts[0], self.axis, self.keepdims)


class Var(Op):
    def __init__(self, axis: tuple | None, keepdims: bool, ddof: int):
        self.axis = axis
        self.keepdims = keepdims
        self.ddof = ddof

    def forward(self, x):
        return xp_of(x).var(x, axis=self.axis, keepdims=self.keepdims, ddof=self.ddof)

    def _scale(self, shape: tuple) -> float:
        d = _count(shape, self.axis) - self.ddof
        return 2.0 / d if d > 0 else _nan

    def vjp(self, ns, gy, y, x):
        g = _kept(gy, x.shape, self.axis, self.keepdims, ns) * self._scale(x.shape)
        return (x - ns.mean(x, self.axis, True)) * g

    def jvp(self, ns, ts, y, x):
        centered = x - ns.mean(x, self.axis, True)  # scaled before the sum: a 0-d sum stays an array
        return ns.sum(centered * (ts[0] * self._scale(x.shape)), self.axis, self.keepdims)


class _Extreme(Op):
    """Shared rules of ``Max``/``Min``: ties share the gradient equally."""

    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis = axis
        self.keepdims = keepdims

    def _weights(self, ns: Any, y: Any, x: Any) -> Any:
        """Constant weights: ``1 / ties`` where ``x`` attains the extreme of its slice, else 0."""
        xd = ns.data(x)
        yd = ns.data(y)
        if not self.keepdims:
            yd = yd.reshape(_kept_shape(xd.shape, self.axis))
        mask = (xd == yd).astype(xd.dtype)
        return mask / xp_of(xd).maximum(mask.sum(axis=self.axis, keepdims=True), 1)

    def vjp(self, ns, gy, y, x):
        g = ns.broadcast_to(_kept(gy, x.shape, self.axis, self.keepdims, ns), x.shape)
        return ns.scale(g, self._weights(ns, y, x))

    def jvp(self, ns, ts, y, x):
        return ns.sum(ns.scale(ts[0], self._weights(ns, y, x)), self.axis, self.keepdims)


class Max(_Extreme):
    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)


class Min(_Extreme):
    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


class LogSumExp(Op):
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

    def _softmax(self, ns: Any, y: Any, x: Any) -> Any:
        return ns.exp(x - _kept(y, x.shape, self.axis, self.keepdims, ns))

    def vjp(self, ns, gy, y, x):
        return _kept(gy, x.shape, self.axis, self.keepdims, ns) * self._softmax(ns, y, x)

    def jvp(self, ns, ts, y, x):
        return ns.sum(self._softmax(ns, y, x) * ts[0], self.axis, self.keepdims)


def _prepare(op: str, x: Any, axis: Any) -> tuple[Variable, Any]:
    x = x if x.__class__ is Variable else as_input(op, x)
    return x, (None if axis is None else normalize_axis(op, axis, x.shape))


# ----- sample inputs and PyTorch equivalents of the op table -----
def _dims(x: Any, axis: Any) -> Any:
    """A torch ``dim`` argument for ``axis`` (every axis when None)."""
    return tuple(range(x.ndim)) if axis is None else axis


def _reduce_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 4)), None), (rng.standard_normal((2, 3, 4)), (0, 2), True),
            (rng.standard_normal((4, 3)).T, -1), (rng.standard_normal((3, 4))[:, ::2], 0, True),
            (rng.standard_normal(()), None), (rng.standard_normal((0, 3)), 0)]


def _distinct_samples(rng: Any) -> list:
    """Inputs whose extremes are unique (no ties: the gradient is smooth there)."""
    def distinct(*shape: int) -> Any:
        n = int(np.prod(shape))
        return (rng.permutation(n) + rng.uniform(0.1, 0.3, n)).reshape(shape) / n
    return [(distinct(3, 4), None), (distinct(2, 3, 4), (0, 2), True), (distinct(4, 3).T, -1),
            (distinct(3, 6)[:, ::2], 0, True)]


# ----- public functions -----
@declare(Sum, samples=_reduce_samples,
         torch=lambda t, x, axis=None, keepdims=False: t.sum(x, _dims(x, axis), keepdim=keepdims))
def sum(x: Operand, axis: Any = None, keepdims: bool = False) -> Variable:
    """Sum over ``axis`` (None: all). ``(…) -> (…)`` with the reduced axes dropped or kept as 1."""
    x, axes = _prepare("sum", x, axis)
    return Sum(axes, bool(keepdims))(x)


@declare(Mean, samples=lambda rng: _reduce_samples(rng)[:-1],
         torch=lambda t, x, axis=None, keepdims=False: t.mean(x, _dims(x, axis), keepdim=keepdims))
def mean(x: Operand, axis: Any = None, keepdims: bool = False) -> Variable:
    """Arithmetic mean over ``axis`` (None: all)."""
    x, axes = _prepare("mean", x, axis)
    return Mean(axes, bool(keepdims))(x)


@declare(Var, samples=lambda rng: [(rng.standard_normal((3, 4)), None), (rng.standard_normal((2, 3, 4)), (0, 2), True),
                                   (rng.standard_normal((4, 3)).T, -1, False, 1)],
         torch=lambda t, x, axis=None, keepdims=False, ddof=0: t.var(x, _dims(x, axis), correction=ddof,
                                                                      keepdim=keepdims))
def var(x: Operand, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Variable:
    """Variance over ``axis``: ``sum((x - mean)**2) / (n - ddof)`` (``ddof=0``: population, 1: sample)."""
    x, axes = _prepare("var", x, axis)
    ddof = check_int("var", "ddof", ddof)
    return Var(axes, bool(keepdims), ddof)(x)


@declare(Max, samples=_distinct_samples,
         torch=lambda t, x, axis=None, keepdims=False: t.amax(x, _dims(x, axis), keepdim=keepdims))
def max(x: Operand, axis: Any = None, keepdims: bool = False) -> Variable:
    """Maximum over ``axis``; the gradient is split equally among tied maxima."""
    x, axes = _prepare("max", x, axis)
    if x.size == 0:
        raise ValueError(f"max: cannot reduce an empty variable (shape {x.shape})")
    return Max(axes, bool(keepdims))(x)


@declare(Min, samples=_distinct_samples,
         torch=lambda t, x, axis=None, keepdims=False: t.amin(x, _dims(x, axis), keepdim=keepdims))
def min(x: Operand, axis: Any = None, keepdims: bool = False) -> Variable:
    """Minimum over ``axis``; the gradient is split equally among tied minima."""
    x, axes = _prepare("min", x, axis)
    if x.size == 0:
        raise ValueError(f"min: cannot reduce an empty variable (shape {x.shape})")
    return Min(axes, bool(keepdims))(x)


@declare(LogSumExp, samples=lambda rng: _reduce_samples(rng)[:4],
         torch=lambda t, x, axis=None, keepdims=False: t.logsumexp(x, _dims(x, axis), keepdim=keepdims))
def logsumexp(x: Operand, axis: Any = None, keepdims: bool = False) -> Variable:
    """``log(sum(exp(x), axis))`` computed stably (shifted by the maximum); gradient: softmax."""
    x, axes = _prepare("logsumexp", x, axis)
    if x.size == 0:
        raise ValueError(f"logsumexp: cannot reduce an empty variable (shape {x.shape})")
    return LogSumExp(axes, bool(keepdims))(x)


@declare(Sum, samples=lambda rng: [(rng.standard_normal((2, 3, 4)), 1), (rng.standard_normal((4, 3)).T, (0, 1), True)],
         torch=lambda t, x, dim, keepdim=False: t.sum(x, dim, keepdim=keepdim))
def sum_dim(x: Operand, dim: Any, keepdim: bool = False) -> Variable:
    """``sum`` over ``dim`` (the reference ``SumDim`` spelling)."""
    x, axes = _prepare("sum_dim", x, dim)
    return Sum(axes, bool(keepdim))(x)


@declare(Mean, samples=lambda rng: [(rng.standard_normal((2, 3, 4)), 1), (rng.standard_normal((4, 3)).T, (0, 1), True)],
         torch=lambda t, x, dim, keepdim=False: t.mean(x, dim, keepdim=keepdim))
def mean_dim(x: Operand, dim: Any, keepdim: bool = False) -> Variable:
    """``mean`` over ``dim`` (the reference ``MeanDim`` spelling)."""
    x, axes = _prepare("mean_dim", x, dim)
    return Mean(axes, bool(keepdim))(x)
