"""Elementwise arithmetic: add, sub, mul, div, neg, pow, with Python-number fast paths.

Binary ops broadcast like NumPy; their backward reduces each gradient back to its input's
shape with ``sum_to``. An operand that is a Python ``int``/``float`` takes a scalar op
(``MulScalar(c)`` ...) that keeps the other operand's dtype, as NumPy does.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..backend import xp_of
from ..core.function import Function
from ..core.op import Op, declare, register_function

if TYPE_CHECKING:
    from ..core.variable import Operand, Variable

__all__ = ["add", "sub", "rsub", "mul", "div", "rdiv", "neg", "pow", "rpow",
           "add_scalar", "sub_scalar", "mul_scalar", "div_scalar"]

_float = float
_int = int


def _unbroadcast(ns: Any, g: Any, x: Any) -> Any:
    """``g`` summed down to the shape of ``x`` (arrays or Variables alike)."""
    shape = x.shape
    return g if g.shape == shape else ns.sum_to(g, shape)


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
class Add(Op):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 + x1

    def vjp(self, ns, gy, y, x0, x1):
        return _unbroadcast(ns, gy, x0), _unbroadcast(ns, gy, x1)

    def jvp(self, ns, ts, y, x0, x1):
        return ts[0] + ts[1]


class Sub(Op):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 - x1

    def vjp(self, ns, gy, y, x0, x1):
        return _unbroadcast(ns, gy, x0), _unbroadcast(ns, -gy, x1)

    def jvp(self, ns, ts, y, x0, x1):
        return ts[0] - ts[1]


class Mul(Op):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 * x1

    def vjp(self, ns, gy, y, x0, x1):
        if x0.dtype is not x1.dtype:  # a 0-d operand of another dtype takes the gradient's
            x0, x1 = like_grad(x0, gy), like_grad(x1, gy)
        return _unbroadcast(ns, gy * x1, x0), _unbroadcast(ns, gy * x0, x1)

    def jvp(self, ns, ts, y, x0, x1):
        return ts[0] * x1 + x0 * ts[1]


class Div(Op):
    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 / x1

    def vjp(self, ns, gy, y, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = like_grad(x0, gy), like_grad(x1, gy)
        g0 = gy / x1
        return _unbroadcast(ns, g0, x0), _unbroadcast(ns, -g0 * x0 / x1, x1)

    def jvp(self, ns, ts, y, x0, x1):
        return (ts[0] - ts[1] * y) / x1


class Pow(Op):
    """``x0 ** x1`` with a Variable exponent. Gradients follow PyTorch at the edges: the base
    gets 0 where the exponent is 0, and the exponent gets 0 where the base is 0 and the
    exponent is >= 0 (so ``relu(x) ** p`` has finite gradients)."""

    __slots__ = ()

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return x0 ** x1

    @staticmethod
    def _partials(ns, y, x0, x1):
        """``(d y/d x0, d y/d x1)`` elementwise, with the edge cases above."""
        a, b = ns.data(x0), ns.data(x1)
        with np.errstate(divide="ignore", invalid="ignore"):
            d0 = x1 * x0 ** (x1 - 1)
            zero_exp = b == 0
            if zero_exp.any():
                d0 = ns.fill(d0, zero_exp, 0.0)
            zero_base = (a == 0) & (b >= 0)
            if zero_base.any():  # log of 1 instead of log(0): value 0 and no 0 * inf in any order
                x0 = ns.fill(x0, zero_base, 1.0)
            d1 = y * ns.log(x0)
        return d0, d1

    def vjp(self, ns, gy, y, x0, x1):
        x0, x1 = like_grad(x0, gy), like_grad(x1, gy)
        d0, d1 = self._partials(ns, y, x0, x1)
        return _unbroadcast(ns, gy * d0, x0), _unbroadcast(ns, gy * d1, x1)

    def jvp(self, ns, ts, y, x0, x1):
        d0, d1 = self._partials(ns, y, x0, x1)
        return ts[0] * d0 + ts[1] * d1


class Neg(Op):
    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return -x

    def vjp(self, ns, gy, y, x):
        return -gy


# ----- Variable (op) Python number -----
class AddScalar(Op):
    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def vjp(self, ns, gy, y, x):
        return gy


class MulScalar(Op):
    """``x * c`` for a constant ``c``: a Python number, or an array (a mask, a sign pattern)
    that gets no gradient."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x * self.c

    def vjp(self, ns, gy, y, x):
        c = self.c
        if c.__class__ is float or c.__class__ is int:
            return gy * c
        return ns.scale(gy, c)


class RSubScalar(Op):
    """``c - x``."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c - x

    def vjp(self, ns, gy, y, x):
        return -gy


class DivScalar(Op):
    """``x / c``."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x / self.c

    def vjp(self, ns, gy, y, x):
        return gy / self.c


class RDivScalar(Op):
    """``c / x``."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c / x

    def vjp(self, ns, gy, y, x):
        return gy * (-self.c) / (x * x)


class PowScalar(Op):
    """``x ** c`` for a number ``c``."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def vjp(self, ns, gy, y, x):
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


class RPowScalar(Op):
    """``c ** x`` for a number ``c``. The gradient is ``c ** x * log(c)`` (NaN for c < 0, as
    PyTorch has it); for c == 0 it is 0 where x >= 0 and -inf where x < 0."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c ** x

    def vjp(self, ns, gy, y, x):
        c = self.c
        if c == 0:
            a = ns.data(x)
            return ns.scale(gy, xp_of(a).where(a >= 0, 0.0, -math.inf).astype(a.dtype, copy=False))
        with np.errstate(invalid="ignore"):
            return gy * y * _log_number(c)


# ----- public functions -----
def binary(x0: Operand, x1: Operand, op: type, scalar_right: Any, scalar_left: Any) -> Any:
    """``op()(x0, x1)``; when an operand is a number, ``scalar_right(x1)(x0)`` or
    ``scalar_left(x0)(x1)`` instead (no broadcasting bookkeeping, the array operand's dtype kept).
    A NumPy real scalar (``np.sqrt(d)``, ``np.float32(2)``) counts as a number, as in CuPy and
    PyTorch: on any device, with the 0-d operand rule's dtype (the array's)."""
    c = x1.__class__
    if c is _float or c is _int:
        return scalar_right(x1)(x0)
    c0 = x0.__class__
    if c0 is _float or c0 is _int:
        return scalar_left(x0)(x1)
    if c in _NUMPY_REALS:
        return scalar_right(cast(np.generic, x1).item())(x0)
    if c0 in _NUMPY_REALS:
        return scalar_left(cast(np.generic, x0).item())(x1)
    return op()(x0, x1)


_NUMPY_REALS = frozenset(np.dtype(k).type for k in ("float16", "float32", "float64", "longdouble", "int8", "int16",
                                                    "int32", "int64", "uint8", "uint16", "uint32", "uint64"))


def _sub_scalar(c: Any) -> Function:
    return AddScalar(-c)


# ----- sample inputs for the op table (tests/test_ops_table.py) -----
def _binary_samples(rng: Any, positive: bool = False) -> list:
    """Operand pairs: same shape, broadcasting both ways, 0-d with n-d, a number on either side."""
    def r(*shape):
        a = rng.standard_normal(shape)
        return rng.uniform(0.5, 2.0, shape) if positive else a
    return [(r(3, 4), r(3, 4)), (r(3, 1), r(4)), (r(), r(2, 3)), (r(2, 3), 1.5), (-0.75, r(2, 3)),
            (r(2, 3)[:, ::2], r(2, 2).T[:, :1])]


def _unary_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 4)),), (rng.standard_normal(()),), (rng.standard_normal((4, 3)).T,)]


def _scalar_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 4)), 1.5), (rng.standard_normal(()), -2.0)]


def _nonzero_samples(rng: Any) -> list:
    """Operands kept away from 0 (divisors)."""
    return [tuple(a if isinstance(a, float) else np.sign(a) * (np.abs(a) + 0.5) for a in case)
            for case in _binary_samples(rng)]


def _pow_samples(rng: Any) -> list:
    base = rng.uniform(0.5, 2.0, (3, 4))
    return [(base, rng.standard_normal((3, 4))), (base, rng.standard_normal(4)), (base, 3),
            (base, 0.5), (base, 2), (1.5, rng.standard_normal((3, 4))), (rng.uniform(0.5, 2.0, ()), base)]


# ----- public functions -----
@declare(Add, AddScalar, samples=_binary_samples, torch=lambda t, a, b: a + b)
def add(x0: Operand, x1: Operand) -> Variable:
    """``x0 + x1`` with broadcasting."""
    return binary(x0, x1, Add, AddScalar, AddScalar)


@declare(Sub, AddScalar, RSubScalar, samples=_binary_samples, torch=lambda t, a, b: a - b)
def sub(x0: Operand, x1: Operand) -> Variable:
    """``x0 - x1`` with broadcasting."""
    return binary(x0, x1, Sub, _sub_scalar, RSubScalar)


@declare(Sub, samples=_binary_samples, torch=lambda t, a, b: b - a)
def rsub(x0: Operand, x1: Operand) -> Variable:
    """``x1 - x0`` (the reflected form of ``sub``)."""
    return sub(x1, x0)


@declare(Mul, MulScalar, samples=_binary_samples, torch=lambda t, a, b: a * b)
def mul(x0: Operand, x1: Operand) -> Variable:
    """``x0 * x1`` with broadcasting."""
    return binary(x0, x1, Mul, MulScalar, MulScalar)


@declare(Div, DivScalar, RDivScalar, samples=_nonzero_samples, torch=lambda t, a, b: a / b)
def div(x0: Operand, x1: Operand) -> Variable:
    """``x0 / x1`` with broadcasting."""
    return binary(x0, x1, Div, DivScalar, RDivScalar)


@declare(Div, samples=_nonzero_samples, torch=lambda t, a, b: b / a)
def rdiv(x0: Operand, x1: Operand) -> Variable:
    """``x1 / x0`` (the reflected form of ``div``)."""
    return div(x1, x0)


@declare(Neg, samples=_unary_samples, torch=lambda t, x: -x)
def neg(x: Operand) -> Variable:
    """``-x``."""
    return Neg()(x)


@declare(Pow, PowScalar, RPowScalar, samples=_pow_samples, torch=lambda t, a, b: a ** b)
def pow(x: Operand, c: Operand) -> Variable:
    """``x ** c``; ``c`` a number or a Variable/array (then differentiable in ``c`` too)."""
    return binary(x, c, Pow, PowScalar, RPowScalar)


@declare(Pow, samples=lambda rng: [(rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (3, 4))),
                                   (rng.standard_normal(3), 2.0)],
         torch=lambda t, x, c: c ** x)
def rpow(x: Operand, c: Operand) -> Variable:
    """``c ** x`` (the reflected form of ``pow``)."""
    return pow(c, x)


@declare(AddScalar, samples=_scalar_samples, torch=lambda t, x, c: x + c)
def add_scalar(x: Operand, c: float) -> Variable:
    """``x + c`` for a number ``c`` (keeps ``x``'s dtype)."""
    return AddScalar(c)(x)


@declare(AddScalar, samples=_scalar_samples, torch=lambda t, x, c: x - c)
def sub_scalar(x: Operand, c: float) -> Variable:
    """``x - c`` for a number ``c``."""
    return AddScalar(-c)(x)


@declare(MulScalar, samples=_scalar_samples, torch=lambda t, x, c: x * c)
def mul_scalar(x: Operand, c: Operand) -> Variable:
    """``x * c`` for a constant ``c``: a number, or an array that gets no gradient."""
    return MulScalar(c)(x)


@declare(DivScalar, samples=_scalar_samples, torch=lambda t, x, c: x / c)
def div_scalar(x: Operand, c: float) -> Variable:
    """``x / c`` for a number ``c``."""
    return DivScalar(c)(x)


def _fill(x: Any, mask: Any, value: float) -> Any:
    """``x`` with ``value`` where the constant boolean array ``mask`` is true (for rules)."""
    from .indexing import MaskedFill  # indexing imports this module

    return MaskedFill(mask, value)(x)


register_function("scale", mul_scalar)
register_function("fill", _fill)
