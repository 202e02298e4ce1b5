"""Elementwise arithmetic: add, sub, mul, div, neg, pow, with Python-number fast paths.

Binary ops broadcast like NumPy; their backward reduces each gradient back to its input's
shape with ``sum_to``. An operand that is a Python ``int``/``float`` takes a scalar op
(``MulScalar(c)`` ...) that keeps the other operand's dtype, as NumPy does.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import xp_of
from ..core.function import Function
from .broadcast import sum_to, sum_to_array

__all__ = ["add", "sub", "rsub", "mul", "div", "rdiv", "neg", "pow", "rpow",
           "add_scalar", "sub_scalar", "mul_scalar", "div_scalar"]

_float = float
_int = int


def _unbroadcast(gx: Any, x: Any) -> Any:
    return gx if gx.shape == x.shape else sum_to(gx, x.shape)


def _unbroadcast_data(gx: Any, x: Any) -> Any:
    """``_unbroadcast`` on arrays (``x`` is the input Variable)."""
    shape = x._data.shape
    return gx if gx.shape == shape else sum_to_array(gx, shape)


# ----- dtypes: a 0-d operand does not promote an n-d one (PyTorch's rule) -----
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def match_0d(a: Any, b: Any) -> tuple:
    """``(a, b)`` with a 0-d operand cast to the dtype of an n-d one when its kind (bool <
    integer < float < complex) is not higher: float32 (n-d) with a float64 0-d array, a NumPy
    float64 scalar or a bool stays float32, as in PyTorch (NumPy would give float64). Binary
    ops call it when the two dtypes differ."""
    if a.ndim == 0:
        if b.ndim and _CATEGORY.get(a.dtype.kind, 9) <= _CATEGORY.get(b.dtype.kind, 9):
            return a.astype(b.dtype), b
    elif b.ndim == 0 and _CATEGORY.get(b.dtype.kind, 9) <= _CATEGORY.get(a.dtype.kind, 9):
        return a, b.astype(a.dtype)
    return a, b


def like_grad(a: Any, gy: Any) -> Any:
    """An input array ``a`` about to be multiplied into the gradient ``gy``: a 0-d ``a`` of
    another dtype takes ``gy``'s, so the gradient keeps its dtype (as ``match_0d`` in forward)."""
    return a if a.dtype is gy.dtype or a.ndim else a.astype(gy.dtype)


# ----- Variable (op) Variable -----
class Add(Function):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 + x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return _unbroadcast(gy, x0), _unbroadcast(gy, x1)

    def backward_data(self, gy):
        x0, x1 = self.inputs
        return _unbroadcast_data(gy, x0), _unbroadcast_data(gy, x1)


class Sub(Function):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 - x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return _unbroadcast(gy, x0), _unbroadcast(-gy, x1)

    def backward_data(self, gy):
        x0, x1 = self.inputs
        return _unbroadcast_data(gy, x0), _unbroadcast_data(-gy, x1)


class Mul(Function):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return _unbroadcast(gy * x1, x0), _unbroadcast(gy * x0, x1)

    def backward_data(self, gy):
        x0, x1 = self.inputs
        a, b = x0._data, x1._data
        if a.dtype is not b.dtype:  # a 0-d operand of another dtype takes the gradient's
            a, b = like_grad(a, gy), like_grad(b, gy)
        return _unbroadcast_data(gy * b, x0), _unbroadcast_data(gy * a, x1)


class Div(Function):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1
        return _unbroadcast(gx0, x0), _unbroadcast(-gx0 * x0 / x1, x1)

    def backward_data(self, gy):
        x0, x1 = self.inputs
        a, b = x0._data, x1._data
        if a.dtype is not b.dtype:
            a, b = like_grad(a, gy), like_grad(b, gy)
        gx0 = gy / b
        return _unbroadcast_data(gx0, x0), _unbroadcast_data(-gx0 * a / b, x1)


class Pow(Function):
    """``x0 ** x1`` with a Variable exponent. Gradients follow PyTorch at the edges: the base
    gets 0 where the exponent is 0, and the exponent gets 0 where the base is 0 and the
    exponent is >= 0 (so ``relu(x) ** p`` has finite gradients)."""

    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 ** x1

    def backward(self, gy):
        from .indexing import MaskedFill
        from .math import log

        x0, x1 = self.inputs
        y = self.outputs[0]()
        if y is None:
            y = x0 ** x1
        a, b = x0._data, x1._data
        g0 = gy * x1 * x0 ** (x1 - 1)
        zero_exp = b == 0
        if zero_exp.any():
            g0 = MaskedFill(zero_exp, 0.0)(g0)
        zero_base = (a == 0) & (b >= 0)
        if zero_base.any():  # log of 1 instead of log(0): value 0 and no 0 * inf in any order
            logx0 = log(MaskedFill(zero_base, 1.0)(x0))
        else:
            logx0 = log(x0)
        return _unbroadcast(g0, x0), _unbroadcast(gy * y * logx0, x1)

    def backward_data(self, gy):
        x0, x1 = self.inputs
        a, b = like_grad(x0._data, gy), like_grad(x1._data, gy)
        xp = xp_of(gy)
        with np.errstate(divide="ignore", invalid="ignore"):
            g0 = gy * b * a ** (b - 1)
            zero_exp = b == 0
            if zero_exp.any():
                g0 = xp.where(zero_exp, 0, g0).astype(g0.dtype, copy=False)
            zero_base = (a == 0) & (b >= 0)
            y = self.output_data()
            if zero_base.any():
                logx0 = xp.log(xp.where(zero_base, 1, a))
            else:
                logx0 = xp.log(a)
            g1 = gy * y * logx0
        return _unbroadcast_data(g0, x0), _unbroadcast_data(g1, x1)


class Neg(Function):
    __slots__ = ()

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy

    def backward_data(self, gy):
        return -gy


# ----- Variable (op) Python number -----
class AddScalar(Function):
    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return gy

    def backward_data(self, gy):
        return gy


class MulScalar(Function):
    """``x * c`` for a constant ``c``: a Python number, or an array (a mask, a sign pattern)
    that gets no gradient."""

    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return MulScalar(self.c)(gy)

    def backward_data(self, gy):
        return gy * self.c


class RSubScalar(Function):
    __slots__ = ("c",)

    """``c - x``."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c - x

    def backward(self, gy):
        return -gy

    def backward_data(self, gy):
        return -gy


class DivScalar(Function):
    __slots__ = ("c",)

    """``x / c``."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x / self.c

    def backward(self, gy):
        return gy / self.c

    def backward_data(self, gy):
        return gy / self.c


class RDivScalar(Function):
    __slots__ = ("c",)

    """``c / x``."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c / x

    def backward(self, gy):
        x, = self.inputs
        return gy * (-self.c) / (x * x)


class PowScalar(Function):
    __slots__ = ("c",)

    """``x ** c`` for a number ``c``."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        x, = self.inputs
        c = self.c
        if c == 0:
            return gy * 0.0
        if c == 1:
            return gy
        if c == 2:
            return gy * x * 2.0
        return gy * c * x ** (c - 1)


def _log_number(c: Any) -> float:
    """``log(c)`` of a Python number as PyTorch takes it: -inf at 0, NaN below 0."""
    if c > 0:
        return math.log(c)
    return -math.inf if c == 0 else math.nan


class RPowScalar(Function):
    __slots__ = ("c",)

    """``c ** x`` for a number ``c``. The gradient is ``c ** x * log(c)`` (NaN for c < 0, as
    PyTorch has it); for c == 0 it is 0 where x >= 0 and -inf where x < 0."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c ** x

    def backward(self, gy):
        c = self.c
        if c == 0:
            x = self.inputs[0].data
            return MulScalar(xp_of(x).where(x >= 0, 0.0, -math.inf).astype(x.dtype, copy=False))(gy)
        y = self.outputs[0]()
        if y is None:
            y = rpow(self.inputs[0], c)
        return gy * y * _log_number(c)

    def backward_data(self, gy):
        c = self.c
        x = self.inputs[0].data
        if c == 0:
            return gy * xp_of(x).where(x >= 0, 0.0, -math.inf).astype(x.dtype, copy=False)
        with np.errstate(invalid="ignore"):
            return gy * self.output_data() * _log_number(c)


# ----- public functions -----
def binary(x0: Any, x1: Any, op: type, scalar_right: Any, scalar_left: Any) -> Any:
    """``op()(x0, x1)``; when an operand is a Python number, ``scalar_right(x1)(x0)`` or
    ``scalar_left(x0)(x1)`` instead (no broadcasting bookkeeping, the array operand's dtype kept)."""
    c = x1.__class__
    if c is _float or c is _int:
        return scalar_right(x1)(x0)
    c = x0.__class__
    if c is _float or c is _int:
        return scalar_left(x0)(x1)
    return op()(x0, x1)


def _sub_scalar(c: Any) -> Function:
    return AddScalar(-c)


def add(x0: Any, x1: Any) -> Any:
    """``x0 + x1`` with broadcasting."""
    return binary(x0, x1, Add, AddScalar, AddScalar)


def sub(x0: Any, x1: Any) -> Any:
    """``x0 - x1`` with broadcasting."""
    return binary(x0, x1, Sub, _sub_scalar, RSubScalar)


def rsub(x0: Any, x1: Any) -> Any:
    """``x1 - x0`` (the reflected form of ``sub``)."""
    return sub(x1, x0)


def mul(x0: Any, x1: Any) -> Any:
    """``x0 * x1`` with broadcasting."""
    return binary(x0, x1, Mul, MulScalar, MulScalar)


def div(x0: Any, x1: Any) -> Any:
    """``x0 / x1`` with broadcasting."""
    return binary(x0, x1, Div, DivScalar, RDivScalar)


def rdiv(x0: Any, x1: Any) -> Any:
    """``x1 / x0`` (the reflected form of ``div``)."""
    return div(x1, x0)


def neg(x: Any) -> Any:
    """``-x``."""
    return Neg()(x)


def pow(x: Any, c: Any) -> Any:
    """``x ** c``; ``c`` a number or a Variable/array (then differentiable in ``c`` too)."""
    return binary(x, c, Pow, PowScalar, RPowScalar)


def rpow(x: Any, c: Any) -> Any:
    """``c ** x`` (the reflected form of ``pow``)."""
    return pow(c, x)


def add_scalar(x: Any, c: float) -> Any:
    return AddScalar(c)(x)


def sub_scalar(x: Any, c: float) -> Any:
    return AddScalar(-c)(x)


def mul_scalar(x: Any, c: float) -> Any:
    return MulScalar(c)(x)


def div_scalar(x: Any, c: float) -> Any:
    return DivScalar(c)(x)
