"""Neural-network activations: softmax, log_softmax, gelu, silu, leaky_relu, elu, softplus, dropout, erf.

Every op is a fused ``Function`` whose backward is written in differentiable ops, so
gradients of any order work. Shapes are preserved (``softmax(x, axis)`` normalises along
``axis``).
"""
from __future__ import annotations

import math as _pymath
from typing import Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.config import get_config
from ..core.function import Function
from . import math as _m

__all__ = ["softmax", "log_softmax", "gelu", "silu", "swish", "leaky_relu", "elu", "softplus", "dropout",
           "erf"]

_SQRT2 = _pymath.sqrt(2.0)
_TWO_OVER_SQRT_PI = 2.0 / _pymath.sqrt(_pymath.pi)
_INV_SQRT_2PI = 1.0 / _pymath.sqrt(2.0 * _pymath.pi)
_TANH_C = _pymath.sqrt(2.0 / _pymath.pi)
_TANH_K = 0.044715


# ----- erf -----
def _erf_series(x: Any, xp: Any) -> Any:
    """erf for |x| < 3: (2/sqrt(pi)) exp(-x^2) sum 2^n x^(2n+1) / (2n+1)!! (all terms positive)."""
    x2 = x * x
    term = x.copy()
    total = x.copy()
    for n in range(48):
        term *= (2.0 * x2) / (2 * n + 3)
        total += term
    return _TWO_OVER_SQRT_PI * xp.exp(-x2) * total


def _erfc_cf(x: Any, xp: Any) -> Any:
    """erfc for x >= 3 by the Laplace continued fraction (32 levels, double accuracy)."""
    f = x.copy()
    for k in range(32, 0, -1):
        f = x + (0.5 * k) / f
    return xp.exp(-x * x) / (_pymath.sqrt(_pymath.pi) * f)


def _erf_array(x: Any) -> Any:
    """Elementwise erf of an array: SciPy/CuPy special functions when present, else our own."""
    xp = xp_of(x)
    if xp is np:
        try:
            from scipy.special import erf as sp_erf
        except ImportError:
            sp_erf = None
        if sp_erf is not None:
            return sp_erf(x)
    else:
        try:
            from cupyx.scipy.special import erf as cp_erf  # type: ignore
            return cp_erf(x)
        except ImportError:
            pass
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    xf = x.astype(np.float64)
    a = xp.abs(xf)
    out = xp.empty_like(xf)
    small = a < 3.0
    out[small] = _erf_series(a[small], xp)
    big = ~small
    out[big] = 1.0 - _erfc_cf(a[big], xp)
    return (xp.sign(xf) * out).astype(dtype, copy=False)


class Erf(Function):
    def forward(self, x):
        return _erf_array(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * (_m.exp(-(x * x)) * _TWO_OVER_SQRT_PI)


def erf(x: Any) -> Any:
    """The error function, elementwise; derivative ``2/sqrt(pi) exp(-x^2)``."""
    return Erf()(x)


# ----- softmax family -----
def _softmax_array(x: Any, axis: int) -> Any:
    xp = xp_of(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax_array(x: Any, axis: int) -> Any:
    xp = xp_of(x)
    s = x - x.max(axis=axis, keepdims=True)
    return s - xp.log(xp.exp(s).sum(axis=axis, keepdims=True))


class Softmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return _softmax_array(x, self.axis)

    def backward(self, gy):
        y = self.outputs[0]()
        if y is None:
            y = softmax(self.inputs[0], self.axis)
        gx = y * gy
        return gx - y * gx.sum(axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return _log_softmax_array(x, self.axis)

    def backward(self, gy):
        return gy - softmax(self.inputs[0], self.axis) * gy.sum(axis=self.axis, keepdims=True)


def _check_axis(name: str, x: Any, axis: int) -> int:
    nd = len(x.shape)
    if not isinstance(axis, (int, np.integer)) or not -nd <= axis < max(nd, 1):
        raise ValueError(f"{name}: axis {axis!r} is out of range for shape {tuple(x.shape)}")
    return int(axis)


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x), axis)``, max-shifted for stability; same shape as ``x``."""
    return Softmax(_check_axis("softmax", x, axis))(x)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x, axis)``, computed stably; same shape as ``x``."""
    return LogSoftmax(_check_axis("log_softmax", x, axis))(x)


# ----- smooth activations -----
class GeluErf(Function):
    """``x * Phi(x)`` with the exact normal CDF ``Phi(x) = (1 + erf(x/sqrt2)) / 2``."""

    def forward(self, x):
        self.cdf = cdf = 0.5 * (1.0 + _erf_array(x * (1.0 / _SQRT2)))
        return x * cdf

    def backward(self, gy):
        return GeluErfGrad(self.cdf)(self.inputs[0], gy)


class GeluErfGrad(Function):
    """``gy * (Phi(x) + x phi(x))``, the gradient of GeluErf, reusing its cached ``Phi(x)``."""

    def __init__(self, cdf):
        self.cdf = cdf

    def forward(self, x, gy):
        xp = xp_of(x)
        return gy * (self.cdf + x * (xp.exp(-0.5 * x * x) * _INV_SQRT_2PI))

    def backward(self, ggx):
        x, gy = self.inputs
        pdf = _m.exp(x * x * -0.5) * _INV_SQRT_2PI
        cdf = (erf(x * (1.0 / _SQRT2)) + 1.0) * 0.5
        return ggx * gy * pdf * (2.0 - x * x), ggx * (cdf + x * pdf)


class GeluTanh(Function):
    """``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""

    def forward(self, x):
        xp = xp_of(x)
        return 0.5 * x * (1.0 + xp.tanh(_TANH_C * (x + _TANH_K * x * x * x)))

    def backward(self, gy):
        x, = self.inputs
        x2 = x * x
        t = _m.tanh((x + x2 * x * _TANH_K) * _TANH_C)
        dt = (1.0 - t * t) * ((x2 * (3.0 * _TANH_K) + 1.0) * _TANH_C)
        return gy * ((t + 1.0) * 0.5 + x * dt * 0.5)


def gelu(x: Any, approximate: str = "none") -> Any:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` uses the tanh form."""
    if approximate == "none":
        return GeluErf()(x)
    if approximate == "tanh":
        return GeluTanh()(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _sigmoid_array(x: Any) -> Any:
    xp = xp_of(x)
    return 0.5 * (xp.tanh(0.5 * x) + 1.0)  # overflow-free logistic


class Silu(Function):
    def forward(self, x):
        return x * _sigmoid_array(x)

    def backward(self, gy):
        x, = self.inputs
        s = _m.sigmoid(x)
        return gy * (s + x * s * (1.0 - s))


def silu(x: Any) -> Any:
    """``x * sigmoid(x)`` (a.k.a. swish)."""
    return Silu()(x)


swish = silu


class Softplus(Function):
    def forward(self, x):
        return xp_of(x).logaddexp(0.0, x)

    def backward(self, gy):
        return gy * _m.sigmoid(self.inputs[0])


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed without overflow; derivative ``sigmoid(x)``."""
    return Softplus()(x)


# ----- piecewise activations -----
class LeakyRelu(Function):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        xp = xp_of(x)
        self.coef = xp.where(x > 0, 1.0, self.slope).astype(x.dtype, copy=False)
        return x * self.coef

    def backward(self, gy):
        return gy * self.coef


def leaky_relu(x: Any, slope: float = 0.01) -> Any:
    """``x`` where ``x > 0``, else ``slope * x``."""
    return LeakyRelu(float(slope))(x)


class Elu(Function):
    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = xp_of(x)
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0.0))).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, = self.inputs
        pos = (x.data > 0).astype(x.dtype)
        neg_part = _m.exp(x * (1.0 - pos)) * (1.0 - pos) * self.alpha  # alpha*exp(min(x,0)) where x <= 0
        return gy * (neg_part + pos)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return Elu(float(alpha))(x)


# ----- dropout -----
_default_rng: Any = None


def _uniform(shape: tuple, x: Any, rng: Any) -> Any:
    global _default_rng
    if rng is None:
        xp = xp_of(x)
        if xp is not np:
            return xp.random.random(shape, dtype=xp.float32)
        if _default_rng is None:
            from ..random import default_generator  # the one ``manual_seed`` reseeds in place
            _default_rng = default_generator()
        return _default_rng.random(shape, dtype=np.float32)
    from ..random import get_rng

    u = get_rng(rng).random(shape)
    b = backend_of(x)
    return u if b.xp is np else b.asarray(u)


class Dropout(Function):
    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Any, p: float = 0.5, training: bool | None = None, rng: Any = None) -> Any:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1/(1-p)``.

    ``training=None`` follows ``chainrule.is_train()``; in test mode (or ``p == 0``) it is the
    identity. ``rng``: an int seed, a NumPy Generator or a chainrule random source.
    """
    from ..core.variable import as_variable

    if not 0.0 <= p < 1.0:
        if p == 1.0:
            x = as_variable(x)
            if training if training is not None else get_config().train:
                return x * 0.0
            return x
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = as_variable(x)
    if training is None:
        training = get_config().train
    if not training or p == 0.0:
        return x
    keep = _uniform(x.shape, x.data, rng) >= p
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return Dropout(mask)(x)
