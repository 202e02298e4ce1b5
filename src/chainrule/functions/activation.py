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
from ..core.variable import Variable
from . import math as _m
from ._checks import as_input, check_axis

__all__ = ["softmax", "log_softmax", "gelu", "silu", "swish", "leaky_relu", "elu", "softplus", "dropout",
           "erf"]

_SQRT2 = _pymath.sqrt(2.0)
_TWO_OVER_SQRT_PI = 2.0 / _pymath.sqrt(_pymath.pi)
_INV_SQRT_2PI = 1.0 / _pymath.sqrt(2.0 * _pymath.pi)
_TANH_C = _pymath.sqrt(2.0 / _pymath.pi)
_TANH_K = 0.044715


# ----- erf -----
# erf and the normal CDF from NumPy alone: a polynomial for |z| <= 1 and a rational tail for
# |z| > 1, each a few in-place passes. The coefficients were fitted for this file: least
# squares on 200 Chebyshev-spaced points in 50-digit arithmetic (mpmath), weighted for
# relative error, the rational one re-weighted by its denominator for six rounds (degrees:
# 11 and 9/9 for float64, 6 and 4/4 for float32, on t = z**2 in [0, 1] and u in [0, 1]).
# float64: within about 1e-15 relative of the true erf (tests/functions/test_erf.py checks a
# dense grid against math.erf); float32: within a few ulp, computed in float32.
#   |z| <= 1:  erf(z) = z * P(z**2)
#   |z| >  1:  erfc(|z|) = exp(-z**2) / |z| * N(u) / D(u),  u = 1 / z**2
_ERF_SMALL = {
    "d": (1.1283791670955126, -0.37612638903183515, 0.1128379167094405, -0.026866170643090832,
          0.005223977605955977, -0.0008548325921832884, 0.00012055293361789941,
          -1.4924708324571507e-05, 1.6447084274239356e-06, -1.6205964194101388e-07,
          1.3709519207384055e-08, -7.77682913736281e-10),
    "f": (1.1283791656893225, -0.3761262556739925, 0.11283582247992896, -0.026853691099714645,
          0.005188098889400459, -0.0008008189323165635, 7.847259126965687e-05),
}
_ERFC_TAIL = {
    "d": ((0.5641895835477562, 17.967829925279975, 214.61372940979265, 1233.909257310003,
           3655.1682210923195, 5560.870224682828, 4103.739355816381, 1292.3506616502802,
           131.575177462201, 1.823842377330836),
          (1.0, 32.347149343477305, 395.8165058215622, 2362.570105648659, 7417.128071485145,
           12352.431108495099, 10512.17034985726, 4175.662455480959, 643.1175636202427,
           24.513538275516844)),
    "f": ((0.5641895778333481, 4.338353034745391, 8.347834606467357, 3.8981217778062094,
           0.2013379810959826),
          (1.0, 8.189526219045037, 18.14121598509477, 11.704052278856658, 1.5416866042713997)),
}


def _horner(t: Any, coefs: tuple) -> Any:
    """``sum(coefs[k] * t**k)`` with in-place passes (a new array of ``t``'s dtype)."""
    p = t * coefs[-1]
    for c in coefs[-2:0:-1]:
        p += c
        p *= t
    p += coefs[0]
    return p


def _compute_dtype(x: Any) -> Any:
    """float32 arithmetic for float16/float32 input, float64 for everything else."""
    return x.dtype if x.dtype.char in "fd" else np.dtype(np.float32 if x.dtype.char == "e" else np.float64)


def _erfc_tail(a: Any, kind: str, w: Any = None, s: float = 1.0) -> Any:
    """erfc(a) for an array of a >= 1 (a may be inf). ``a * a`` is taken as ``s * w * w``
    when ``w`` is given (``a = |x| / sqrt2`` from ``w = |x|``, ``s = 0.5``), so the rounding
    of ``a`` itself does not reach the exponential. Overwrites ``a`` and ``w`` (the callers'
    scratch arrays): every large temporary is a fresh mapping and page faults, so few are made."""
    xp = xp_of(a)
    num, den = _ERFC_TAIL[kind]
    xp.minimum(a, 90.0, out=a)  # erfc(27) underflows in every float dtype
    if w is None:
        w = a.copy()
    else:
        xp.minimum(w, 90.0, out=w)
    u = a * a
    xp.reciprocal(u, out=u)
    r = _horner(u, num)
    r /= _horner(u, den)
    r /= a
    if kind == "f":  # float32: the rounding of w*w costs at most a few ulp here
        w *= w
        w *= -s
        with np.errstate(under="ignore"):
            r *= xp.exp(w, out=w)
        return r
    # exp(-s*w*w) without the rounding error of w*w (which exp would multiply by w*w):
    # w = hi + lo with hi on a 1/64 grid, so s*hi*hi is exact, and exp(-s w^2) = exp(-s hi^2) exp(-s lo (w + hi))
    hi = w * 64.0
    xp.floor(hi, out=hi)
    hi *= 1.0 / 64.0
    lo = w - hi
    w += hi
    lo *= w
    hi *= hi
    hi *= -s
    lo *= -s
    with np.errstate(under="ignore"):
        r *= xp.exp(hi, out=hi)
        r *= xp.exp(lo, out=lo)
    return r


def _small_erf(z: Any, kind: str) -> Any:
    """z * P(z**2): erf(z) for |z| <= 1; harmless (overwritten) elsewhere."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = _horner(z * z, _ERF_SMALL[kind])
        p *= z
    return p


def _as_float(x: Any) -> Any:
    """``x`` itself when it is a floating array, else ``x`` as float64 (ints, bools)."""
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _erf_array(x: Any) -> Any:
    """Elementwise erf of an array (NumPy or CuPy), in float32 for float16/float32 input and
    float64 otherwise; the result has the input's float dtype (float64 for integers)."""
    if x.ndim == 0:
        return _erf_array(x.reshape(1)).reshape(())
    dt = _compute_dtype(x)
    xp = xp_of(x)
    z = x.astype(dt) if x.dtype != dt else x.copy()
    kind = dt.char
    a = xp.abs(z)
    big = a > 1.0
    if not big.any():
        return _finish(_small_erf(z, kind), x)
    # Both formulas on the whole array (the polynomial on z clipped to [-1, 1], the tail on
    # |z| >= 1), merged by a multiply with the mask: plain SIMD passes, much cheaper than
    # boolean indexing, np.where or masked copies.
    e = _erfc_tail(xp.maximum(a, 1.0, out=a), kind)
    xp.subtract(1.0, e, out=e)
    xp.copysign(e, z, out=e)  # erf(z) for |z| > 1
    y = _small_erf(xp.clip(z, -1.0, 1.0, out=z), kind)
    _merge(y, e, big)
    return _finish(y, x)


def _merge(small: Any, tail: Any, big: Any) -> None:
    """``small`` becomes ``tail`` where ``big`` and stays itself elsewhere, exactly (both finite)."""
    tail *= big
    xp_of(big).logical_not(big, out=big)
    small *= big
    small += tail


def _finish(y: Any, x: Any) -> Any:
    return y if y.dtype == x.dtype or x.dtype.kind != "f" else y.astype(x.dtype)


def _normal_cdf(x: Any) -> Any:
    """Phi(x) = erfc(-x / sqrt2) / 2, accurate in both tails (no ``1 + erf`` cancellation)."""
    if x.ndim == 0:
        return _normal_cdf(x.reshape(1)).reshape(())
    dt = _compute_dtype(x)
    xp = xp_of(x)
    z = x * dt.type(1.0 / _SQRT2)
    if z.dtype != dt:
        z = z.astype(dt)
    kind = dt.char
    a = xp.abs(z)
    big = a > 1.0
    if not big.any():
        cdf = _small_erf(z, kind)
        cdf *= 0.5
        cdf += 0.5
        return _finish(cdf, x)
    # as in _erf_array: both formulas on the whole array, merged by multiplying with masks
    tail = _erfc_tail(xp.maximum(a, 1.0, out=a), kind, xp.abs(x if x.dtype == dt else x.astype(dt)), 0.5)
    tail *= 0.5  # Phi(-|x|): Phi for x < 0, 1 - Phi for x > 0
    flip = tail * -2.0
    flip += 1.0
    flip *= z > 0
    tail += flip  # tail + (1 - 2 tail) = 1 - tail where x > 0, tail itself elsewhere
    cdf = _small_erf(xp.clip(z, -1.0, 1.0, out=z), kind)
    cdf *= 0.5
    cdf += 0.5
    _merge(cdf, tail, big)
    return _finish(cdf, x)


class Erf(Function):
    def forward(self, x):
        return _erf_array(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * (_m.exp(-(x * x)) * _TWO_OVER_SQRT_PI)

    def backward_data(self, gy):
        x = _as_float(self.inputs[0].data)
        d = x * x
        d *= -1.0
        d = xp_of(x).exp(d)
        d *= _TWO_OVER_SQRT_PI
        return gy * d


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
        try:
            return _softmax_array(x, self.axis)
        except TypeError:  # bools have no subtract: as float64, at no cost otherwise
            if x.dtype.kind != "b":
                raise
            return _softmax_array(x.astype(np.float64), self.axis)

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
        try:
            return _log_softmax_array(x, self.axis)
        except TypeError:  # as in Softmax
            if x.dtype.kind != "b":
                raise
            return _log_softmax_array(x.astype(np.float64), self.axis)

    def backward(self, gy):
        return gy - softmax(self.inputs[0], self.axis) * gy.sum(axis=self.axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x), axis)``, max-shifted for stability; same shape as ``x``."""
    x = x if x.__class__ is Variable else as_input("softmax", x)
    return Softmax(check_axis("softmax", axis, x.ndim, x.shape))(x)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x, axis)``, computed stably; same shape as ``x``."""
    x = x if x.__class__ is Variable else as_input("log_softmax", x)
    return LogSoftmax(check_axis("log_softmax", axis, x.ndim, x.shape))(x)


# ----- smooth activations -----
class GeluErf(Function):
    """``x * Phi(x)`` with the exact normal CDF ``Phi(x) = erfc(-x / sqrt2) / 2``."""

    def forward(self, x):
        self.cdf = cdf = _normal_cdf(x)
        return x * cdf

    def backward(self, gy):
        return GeluErfGrad(self.cdf)(self.inputs[0], gy)

    def backward_data(self, gy):
        return _gelu_erf_grad(self.inputs[0].data, self.cdf, gy)


def _gelu_erf_grad(x: Any, cdf: Any, gy: Any) -> Any:
    """``gy * (Phi(x) + x phi(x))`` on arrays."""
    x = _as_float(x)
    t = x * x
    t *= -0.5
    t = xp_of(x).exp(t, out=t) if t.ndim else xp_of(x).exp(t)
    t *= x
    t *= _INV_SQRT_2PI
    t += cdf
    return gy * t


class GeluErfGrad(Function):
    """``gy * (Phi(x) + x phi(x))``, the gradient of GeluErf, reusing its cached ``Phi(x)``."""

    def __init__(self, cdf):
        self.cdf = cdf

    def forward(self, x, gy):
        return _gelu_erf_grad(x, self.cdf, gy)

    def backward(self, ggx):
        x, gy = self.inputs
        pdf = _m.exp(x * x * -0.5) * _INV_SQRT_2PI
        cdf = (erf(x * (1.0 / _SQRT2)) + 1.0) * 0.5
        return ggx * gy * pdf * (2.0 - x * x), ggx * (cdf + x * pdf)


class GeluTanh(Function):
    """``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``; keeps the tanh for the gradient."""

    def forward(self, x):
        xp = xp_of(x)
        x = _as_float(x)
        t = x * x
        t *= _TANH_K
        t += 1.0
        t *= x
        t *= _TANH_C
        t = xp.tanh(t, out=t) if t.ndim else xp.tanh(t)
        self.t = t
        y = t + 1.0
        y *= 0.5
        return y * x

    def backward(self, gy):
        x, = self.inputs
        x2 = x * x
        t = _m.tanh((x + x2 * x * _TANH_K) * _TANH_C)
        dt = (1.0 - t * t) * ((x2 * (3.0 * _TANH_K) + 1.0) * _TANH_C)
        return gy * ((t + 1.0) * 0.5 + x * dt * 0.5)

    def backward_data(self, gy):
        x = _as_float(self.inputs[0].data)
        t = self.t
        d = x * x  # 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2)
        d *= 3.0 * _TANH_K
        d += 1.0
        d *= x
        d *= 0.5 * _TANH_C
        d = d * (1.0 - t * t)
        d += 0.5
        d += 0.5 * t
        return gy * d


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
    if not 0.0 <= p < 1.0:
        if p == 1.0:
            x = as_input("dropout", x)
            if training if training is not None else get_config().train:
                return x * 0.0
            return x
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = as_input("dropout", x)
    if training is None:
        training = get_config().train
    if not training or p == 0.0:
        return x
    keep = _uniform(x.shape, x.data, rng) >= p
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return Dropout(mask)(x)
