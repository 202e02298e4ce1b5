"""Elementwise math: square, sqrt, rsqrt, exp, log, sin, cos, tan, tanh, sigmoid, relu, abs,
clip, maximum, minimum, and cast.

Every op maps an array to an array of the same shape (``maximum``/``minimum`` broadcast their
two operands like NumPy) and keeps the input's float dtype. All are differentiable to any
order, except ``cast`` to an integer/bool dtype (the result is a new leaf).

Gradient conventions at kinks: ``relu'(0) = 0``, ``abs'(0) = 0``; ``clip`` passes the gradient
where ``lo <= x <= hi`` (bounds inclusive); ``maximum``/``minimum`` split the gradient equally
between the two operands where they are equal (as PyTorch does).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import xp_of
from ..core.function import Function
from ..core.variable import Variable
from .arithmetic import Mul, MulScalar, binary, match_0d
from .broadcast import sum_to
from ._checks import as_input

__all__ = ["square", "sqrt", "rsqrt", "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid",
           "relu", "abs", "clip", "maximum", "minimum", "cast"]

_float = float
_int = int
_new = Variable._new


# ----- smooth unary ops -----
class Square(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0] * 2.0


class Sqrt(Function):
    def forward(self, x):
        return xp_of(x).sqrt(x)

    def backward(self, gy):
        y = self.outputs[0]()
        if y is None:
            y = sqrt(self.inputs[0])
        return gy / y * 0.5


class Rsqrt(Function):
    """``1 / sqrt(x)``."""

    def forward(self, x):
        return 1 / xp_of(x).sqrt(x)

    def backward(self, gy):
        x = self.inputs[0]
        y = self.outputs[0]()
        if y is None:
            y = rsqrt(x)
        return gy * y / x * -0.5


class Exp(Function):
    def forward(self, x):
        return xp_of(x).exp(x)

    def backward(self, gy):
        y = self.outputs[0]()
        if y is None:
            y = Exp()(self.inputs[0])
        return Mul()(gy, y)

    def backward_data(self, gy):
        return gy * self.output_data()


class Log(Function):
    def forward(self, x):
        return xp_of(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]

    def backward_data(self, gy):
        return gy / self.inputs[0].data


class Sin(Function):
    def forward(self, x):
        return xp_of(x).sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])

    def backward_data(self, gy):
        return gy * xp_of(gy).cos(self.inputs[0].data)


class Cos(Function):
    def forward(self, x):
        return xp_of(x).cos(x)

    def backward(self, gy):
        return -(gy * sin(self.inputs[0]))

    def backward_data(self, gy):
        return -(gy * xp_of(gy).sin(self.inputs[0].data))


class Tan(Function):
    def forward(self, x):
        return xp_of(x).tan(x)

    def backward(self, gy):
        y = self.outputs[0]()
        if y is None:
            y = tan(self.inputs[0])
        return gy * (y * y + 1.0)


def _tanh_grad(y: Any, gy: Any) -> Any:
    """``gy * (1 - y**2)`` on arrays."""
    t = gy * y
    t *= y
    return gy - t


def _sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))`` on arrays: for x < -709 exp overflows to inf and the result is 0,
    the correctly rounded limit; elsewhere the quotient keeps full relative precision."""
    xp = xp_of(x)
    if xp is np:
        with np.errstate(over="ignore"):
            t = np.exp(-x)
    else:
        t = xp.exp(-x)
    if t.ndim == 0:
        return 1 / (1 + t)
    t += 1
    return xp.reciprocal(t, out=t)


def _sigmoid_grad(y: Any, gy: Any) -> Any:
    """``gy * y * (1 - y)`` on arrays."""
    t = 1 - y
    t *= y
    t *= gy
    return t


class Tanh(Function):
    def forward(self, x):
        return xp_of(x).tanh(x)

    def backward(self, gy):
        y = self.outputs[0]()
        if y is None:
            y = Tanh()(self.inputs[0])
        return TanhGrad()(y, gy)

    def backward_data(self, gy):
        return _tanh_grad(self.output_data(), gy)


class TanhGrad(Function):
    """``gy * (1 - y**2)`` from the tanh output ``y``: one node for the whole backward."""

    def forward(self, y, gy):
        return _tanh_grad(y, gy)

    def backward(self, g):
        y, gy = self.inputs
        return g * gy * y * -2.0, TanhGrad()(y, g)


class Sigmoid(Function):
    def forward(self, x):
        try:
            return _sigmoid(x)
        except TypeError:  # bool input (no negative for bools): as float64, at no cost otherwise
            if x.dtype.kind != "b":
                raise
            return _sigmoid(x.astype(np.float64))

    def backward(self, gy):
        y = self.outputs[0]()
        if y is None:
            y = Sigmoid()(self.inputs[0])
        return SigmoidGrad()(y, gy)

    def backward_data(self, gy):
        return _sigmoid_grad(self.output_data(), gy)


class SigmoidGrad(Function):
    """``gy * y * (1 - y)`` from the sigmoid output ``y``."""

    def forward(self, y, gy):
        return _sigmoid_grad(y, gy)

    def backward(self, g):
        y, gy = self.inputs
        return g * gy * (1.0 - y * 2.0), SigmoidGrad()(y, g)


# ----- piecewise ops: the gradient is the incoming one times a constant mask -----
class ReLU(Function):
    def forward(self, x):
        return xp_of(x).maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0].data
        return MulScalar(x > 0)(gy)

    def backward_data(self, gy):
        return gy * (self.inputs[0].data > 0)


class Abs(Function):
    def forward(self, x):
        return xp_of(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return MulScalar(xp_of(x).sign(x))(gy)


class Clip(Function):
    def __init__(self, lo: Any, hi: Any):
        self.lo = lo
        self.hi = hi

    def forward(self, x):
        return xp_of(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        x = self.inputs[0].data
        lo, hi = self.lo, self.hi
        if lo is None:
            mask = x <= hi
        elif hi is None:
            mask = x >= lo
        else:
            mask = (x >= lo) & (x <= hi)
        return MulScalar(mask)(gy)


def _split_mask(a: Any, b: Any, upper: bool, dtype: Any) -> Any:
    """1 where ``a`` wins (a > b for maximum, a < b for minimum), 0.5 on ties, 0 elsewhere."""
    win = (a > b) if upper else (a < b)
    return win.astype(dtype) + (a == b).astype(dtype) * 0.5


class _Extremum(Function):
    """``maximum``/``minimum`` of two broadcasting operands; ties split the gradient 1/2, 1/2."""

    upper = True

    def backward(self, gy):
        x0, x1 = self.inputs
        m0 = _split_mask(x0.data, x1.data, self.upper, gy.dtype)
        g0 = MulScalar(m0)(gy)
        g1 = MulScalar(1 - m0)(gy)
        if x0.shape != gy.shape:
            g0 = sum_to(g0, x0.shape)
        if x1.shape != gy.shape:
            g1 = sum_to(g1, x1.shape)
        return g0, g1


class Maximum(_Extremum):
    upper = True

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return xp_of(x0).maximum(x0, x1)


class Minimum(_Extremum):
    upper = False

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return xp_of(x0).minimum(x0, x1)


class _ExtremumScalar(Function):
    """``maximum``/``minimum`` with a Python number ``c`` (keeps the Variable's dtype)."""

    upper = True

    def __init__(self, c: Any):
        self.c = c

    def forward(self, x):
        xp = xp_of(x)
        return xp.maximum(x, self.c) if self.upper else xp.minimum(x, self.c)

    def backward(self, gy):
        x = self.inputs[0].data
        return MulScalar(_split_mask(x, self.c, self.upper, x.dtype))(gy)


class MaximumScalar(_ExtremumScalar):
    upper = True


class MinimumScalar(_ExtremumScalar):
    upper = False


class Cast(Function):
    """Float-to-float dtype conversion; the gradient is cast back to the input's dtype."""

    def __init__(self, dtype: Any):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return Cast(self.inputs[0].dtype)(gy)


# ----- public functions -----
def square(x: Any) -> Variable:
    """``x * x``, elementwise."""
    return Square()(x)


def sqrt(x: Any) -> Variable:
    """Elementwise square root."""
    return Sqrt()(x)


def rsqrt(x: Any) -> Variable:
    """Elementwise ``1 / sqrt(x)``."""
    return Rsqrt()(x)


def exp(x: Any) -> Variable:
    """Elementwise ``e ** x``."""
    return Exp()(x)


def log(x: Any) -> Variable:
    """Elementwise natural logarithm."""
    return Log()(x)


def sin(x: Any) -> Variable:
    """Elementwise sine."""
    return Sin()(x)


def cos(x: Any) -> Variable:
    """Elementwise cosine."""
    return Cos()(x)


def tan(x: Any) -> Variable:
    """Elementwise tangent."""
    return Tan()(x)


def tanh(x: Any) -> Variable:
    """Elementwise hyperbolic tangent."""
    return Tanh()(x)


def sigmoid(x: Any) -> Variable:
    """Elementwise logistic ``1 / (1 + exp(-x))``, stable for any ``x`` (no overflow)."""
    return Sigmoid()(x)


def relu(x: Any) -> Variable:
    """Elementwise ``max(x, 0)``; gradient 0 at ``x == 0``."""
    return ReLU()(x)


def abs(x: Any) -> Variable:
    """Elementwise ``|x|``; gradient ``sign(x)`` (0 at 0)."""
    return Abs()(x)


def _bound(name: str, v: Any, x: Variable) -> Any:
    if v is None or v.__class__ is _float or v.__class__ is _int:
        return v
    if isinstance(v, Variable):
        v = v.data
    if isinstance(v, (np.ndarray, np.generic)) or hasattr(v, "__array_priority__"):
        if v.ndim == 0 and v.dtype.kind in "biuf":
            return v.item()  # a 0-d bound is a number: it keeps x's dtype (PyTorch's rule)
        return v
    raise TypeError(f"clip: {name} must be a number, an array or None, got {type(v).__name__} "
                    f"(input shape {x.shape})")


def clip(x: Any, lo: Any = None, hi: Any = None) -> Variable:
    """Clamp ``x`` to ``[lo, hi]`` (either bound may be None; bounds are constants).

    The gradient passes where ``lo <= x <= hi`` and is 0 elsewhere.
    """
    x = x if x.__class__ is Variable else as_input("clip", x)
    if lo is None and hi is None:
        raise ValueError(f"clip: at least one of lo and hi must be given (input shape {x.shape})")
    return Clip(_bound("lo", lo, x), _bound("hi", hi, x))(x)


def maximum(x0: Any, x1: Any) -> Variable:
    """Elementwise maximum with broadcasting; on ties each operand gets half the gradient."""
    return binary(x0, x1, Maximum, MaximumScalar, MaximumScalar)


def minimum(x0: Any, x1: Any) -> Variable:
    """Elementwise minimum with broadcasting; on ties each operand gets half the gradient."""
    return binary(x0, x1, Minimum, MinimumScalar, MinimumScalar)


def cast(x: Any, dtype: Any) -> Variable:
    """``x`` converted to ``dtype``.

    Between floating dtypes the result is differentiable (the gradient is cast back). A cast
    from or to an integer/bool dtype gives a new leaf: no gradient flows through it.
    """
    x = x if x.__class__ is Variable else as_input("cast", x)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"cast: {dtype!r} is not a dtype (input shape {x.shape})") from None
    if dt.kind not in "biuf":
        raise TypeError(f"cast: cannot cast to non-numeric dtype {dt} (input shape {x.shape})")
    src = x.data.dtype
    if dt == src:
        return x
    if src.kind == "f" and dt.kind == "f":
        return Cast(dt)(x)
    return _new(x.data.astype(dt))
