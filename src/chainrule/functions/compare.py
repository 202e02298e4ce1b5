"""Non-differentiable elementwise ops: comparisons, logical ops, argmax/argmin, sign.

Each takes Variables, arrays or Python numbers (binary ops broadcast like NumPy) and returns
a new leaf Variable with no graph behind it: comparisons and logical ops give ``bool``,
``argmax``/``argmin`` give int64 indices, ``sign`` keeps the input's dtype. These back the
``Variable`` operators ``==, !=, <, <=, >, >=``.

They are in the op table (``declare`` with ``orders=0``: not differentiable) with no ``Op``
class: their results are never recorded, so neither reverse nor forward mode sees them (no
gradient, no tangent), and a comparison costs no graph node.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import xp_of
from ..core.op import declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from .arithmetic import match_0d
from .reduction import normalize_axis

__all__ = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
           "logical_and", "logical_or", "logical_not", "argmax", "argmin", "sign"]

_ndarray = np.ndarray
_generic = np.generic
_new = Variable._new
_scalars = (int, float, bool)


def _data(op: str, x: Any) -> Any:
    """The array (or Python number) behind ``x``; rejects non-numeric input."""
    c = x.__class__
    if c is Variable:
        return x.data
    if c in _scalars:
        return x
    if c is _ndarray or isinstance(x, _generic):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{op}: non-numeric data of dtype {x.dtype} (shape {np.shape(x)})")
        return x
    if isinstance(x, Variable):
        return x.data
    if hasattr(x, "__array_priority__") and hasattr(x, "dtype"):
        return x  # a device array (CuPy)
    if isinstance(x, (list, tuple)):
        try:
            a = np.asarray(x)
        except (TypeError, ValueError):
            a = None
        if a is not None and a.dtype.kind in "biuf":
            return a
    raise TypeError(f"{op}: expected a Variable, an array or a number, got {type(x).__name__}")


def _wrap(r: Any) -> Variable:
    if r.__class__ is not _ndarray and (isinstance(r, _generic) or r.__class__ is bool):
        r = np.asarray(r)
    return _new(r)


def _binary(op: str, ufunc_name: str, x0: Any, x1: Any) -> Variable:
    a = _data(op, x0)
    b = _data(op, x1)
    if a.__class__ in _scalars:
        xp = xp_of(b)
    else:
        xp = xp_of(a)
        if b.__class__ not in _scalars and a.dtype is not b.dtype:
            a, b = match_0d(a, b)  # float32 == float64 0-d compares in float32, as PyTorch
    try:
        r = getattr(xp, ufunc_name)(a, b)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{op}: {e} (input shapes {np.shape(a)}, {np.shape(b)})") from None
    return _wrap(r)


# ----- sample inputs and PyTorch equivalents for the op table (not differentiable: orders=0) -----
def _binary_samples(rng: Any) -> list:
    def ints(*shape: int) -> Any:
        return rng.integers(-2, 3, shape).astype(np.float64)  # small integers: plenty of ties
    return [(ints(3, 4), ints(3, 4)), (ints(3, 1), ints(4)), (ints(2, 3), 0.0), (ints(), ints(2, 3)),
            (ints(4, 3).T, ints(3, 2)[:, :1])]


def _unary_samples(rng: Any) -> list:
    return [(rng.integers(-2, 3, (3, 4)).astype(np.float64),), (rng.standard_normal(()),),
            (np.array([-1.5, 0.0, 2.0]),)]


def _arg_samples(rng: Any) -> list:
    x = rng.standard_normal((3, 4, 2))
    return [(x, None, False), (x, 1, False), (x, -1, True), (x.T, 0, False)]


# No ``torch=`` in these entries: the table's PyTorch check also compares gradients, which
# bool/int outputs do not have; tests/functions/test_compare.py checks every sample's values
# against PyTorch instead.
_declare_binary = declare(samples=_binary_samples, orders=0)
_declare_unary = declare(samples=_unary_samples, orders=0)
_declare_arg = declare(samples=_arg_samples, orders=0)


@_declare_binary
def equal(x0: Operand, x1: Operand) -> Variable:
    """``x0 == x1`` elementwise (bool, broadcasting)."""
    return _binary("equal", "equal", x0, x1)


@_declare_binary
def not_equal(x0: Operand, x1: Operand) -> Variable:
    """``x0 != x1`` elementwise (bool, broadcasting)."""
    return _binary("not_equal", "not_equal", x0, x1)


@_declare_binary
def less(x0: Operand, x1: Operand) -> Variable:
    """``x0 < x1`` elementwise (bool, broadcasting)."""
    return _binary("less", "less", x0, x1)


@_declare_binary
def less_equal(x0: Operand, x1: Operand) -> Variable:
    """``x0 <= x1`` elementwise (bool, broadcasting)."""
    return _binary("less_equal", "less_equal", x0, x1)


@_declare_binary
def greater(x0: Operand, x1: Operand) -> Variable:
    """``x0 > x1`` elementwise (bool, broadcasting)."""
    return _binary("greater", "greater", x0, x1)


@_declare_binary
def greater_equal(x0: Operand, x1: Operand) -> Variable:
    """``x0 >= x1`` elementwise (bool, broadcasting)."""
    return _binary("greater_equal", "greater_equal", x0, x1)


@_declare_binary
def logical_and(x0: Operand, x1: Operand) -> Variable:
    """Elementwise logical AND (nonzero is true; bool, broadcasting)."""
    return _binary("logical_and", "logical_and", x0, x1)


@_declare_binary
def logical_or(x0: Operand, x1: Operand) -> Variable:
    """Elementwise logical OR (nonzero is true; bool, broadcasting)."""
    return _binary("logical_or", "logical_or", x0, x1)


@_declare_unary
def logical_not(x: Operand) -> Variable:
    """Elementwise logical NOT (bool)."""
    a = _data("logical_not", x)
    return _wrap(xp_of(a).logical_not(a))


def _arg(op: str, x: Any, axis: Any, keepdims: bool) -> Variable:
    a = _data(op, x)
    if a.__class__ in _scalars:
        a = np.asarray(a)
    shape = tuple(a.shape)
    if a.size == 0:
        raise ValueError(f"{op}: cannot reduce an empty variable (shape {shape})")
    if axis is not None:
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"{op}: axis must be an int or None, got {axis!r} (shape {shape})")
        axes = normalize_axis(op, axis, shape)
        axis = axes[0] if axes is not None else None
    xp = xp_of(a)
    r = getattr(xp, op)(a, axis=axis, keepdims=bool(keepdims))
    r = _wrap(r)
    if r.data.dtype != np.int64:
        r = _new(r.data.astype(np.int64))
    return r


@_declare_arg
def argmax(x: Operand, axis: int | None = None, keepdims: bool = False) -> Variable:
    """Index (int64) of the first maximum along ``axis`` (None: into the flattened array)."""
    return _arg("argmax", x, axis, keepdims)


@_declare_arg
def argmin(x: Operand, axis: int | None = None, keepdims: bool = False) -> Variable:
    """Index (int64) of the first minimum along ``axis`` (None: into the flattened array)."""
    return _arg("argmin", x, axis, keepdims)


@_declare_unary
def sign(x: Operand) -> Variable:
    """Elementwise sign (-1, 0 or 1, same dtype); not differentiable (a new leaf)."""
    a = _data("sign", x)
    if a.__class__ in _scalars:
        a = np.asarray(a, dtype=np.float64)
    return _wrap(xp_of(a).sign(a))
