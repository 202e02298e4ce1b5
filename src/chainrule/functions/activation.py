"""Neural-network activations: softmax, log_softmax, gelu, silu, leaky_relu, elu, softplus, dropout, erf.

Every op is declared once (``core/op.py``): a forward on arrays and one vjp rule that runs on
arrays in first-order passes and on Variables for higher orders. ``gelu`` and ``silu`` are
``Composite``s: ``x * Phi(x)`` (Phi from ``erf``), its tanh form, and ``x * sigmoid(x)`` define
them; fused kernels keep ``Phi``, ``tanh`` or ``sigmoid`` from the forward for the first-order
rule. The logistic is math.py's ``Sigmoid``. Shapes are preserved (``softmax(x, axis)``
normalises along ``axis``).
"""
from __future__ import annotations

import math as _pymath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.composite import Composite
from ..core.config import get_config
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from .math import Sigmoid, _sigmoid
from ._checks import as_input, check_axis

__all__ = ["softmax", "log_softmax", "gelu", "silu", "swish", "leaky_relu", "elu", "softplus", "dropout",
           "erf"]

_SQRT2 = _pymath.sqrt(2.0)
_INV_SQRT2 = 1.0 / _SQRT2
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


class Erf(Op):
    elementwise = True

    def forward(self, x):
        return _erf_array(x)

    def vjp(self, ns, gy, y, x):
        return gy * (ns.exp(-(x * x)) * _TWO_OVER_SQRT_PI)


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


class Softmax(Op):
    """``softmax(x, axis)``; its Jacobian ``diag(y) - y y^T`` is symmetric: jvp = vjp."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        try:
            return _softmax_array(x, self.axis)
        except TypeError:  # bools have no subtract: as float64, at no cost otherwise
            if x.dtype.kind != "b":
                raise
            return _softmax_array(x.astype(np.float64), self.axis)

    def vjp(self, ns, gy, y, x):
        gx = y * gy
        return gx - y * gx.sum(axis=self.axis, keepdims=True)

    def jvp(self, ns, ts, y, x):
        return self.vjp(ns, ts[0], y, x)


class LogSoftmax(Op):
    """``x - logsumexp(x, axis)``; the softmax the rules need is ``exp(y)``."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        try:
            return _log_softmax_array(x, self.axis)
        except TypeError:  # as in Softmax
            if x.dtype.kind != "b":
                raise
            return _log_softmax_array(x.astype(np.float64), self.axis)

    def vjp(self, ns, gy, y, x):
        return gy - ns.exp(y) * gy.sum(axis=self.axis, keepdims=True)

    def jvp(self, ns, ts, y, x):
        t = ts[0]
        return t - (ns.exp(y) * t).sum(axis=self.axis, keepdims=True)


# ----- smooth activations -----
class GeluErf(Composite):
    """``x * Phi(x)``, ``Phi(x) = (1 + erf(x / sqrt2)) / 2``. The fused kernel computes Phi as
    ``erfc(-x / sqrt2) / 2`` (accurate in both tails) and keeps it for the first-order rule."""

    elementwise = True

    def reference(self, ns, x):
        return x * ((ns.call(Erf(), x * _INV_SQRT2) + 1.0) * 0.5)

    def forward(self, x):
        self.cdf = cdf = _normal_cdf(x)
        return x * cdf

    def fast_vjp(self, gy, y, x):
        return _gelu_erf_grad(x, self.cdf, gy)


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


class GeluTanh(Composite):
    """``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``; the kernel keeps the tanh for the
    first-order rule."""

    elementwise = True

    def reference(self, ns, x):
        t = ns.tanh((x + x * x * x * _TANH_K) * _TANH_C)
        return x * ((t + 1.0) * 0.5)

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

    def fast_vjp(self, gy, y, x):
        x = _as_float(x)
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


class Silu(Composite):
    """``x * sigmoid(x)`` (math.py's logistic); the kernel keeps the sigmoid for the rule."""

    elementwise = True

    def reference(self, ns, x):
        return x * ns.call(Sigmoid(), x)

    def forward(self, x):
        self.s = s = _sigmoid(x if x.dtype.kind != "b" else x.astype(np.float64))
        return x * s

    def fast_vjp(self, gy, y, x):
        s = self.s
        d = 1.0 - s  # s (1 + x (1 - s))
        d = d * x
        d += 1.0
        d *= s
        return gy * d


class Softplus(Op):
    elementwise = True

    def forward(self, x):
        return xp_of(x).logaddexp(0.0, x)

    def vjp(self, ns, gy, y, x):
        return gy * ns.call(Sigmoid(), x)


# ----- piecewise activations -----
class LeakyRelu(Op):
    """The forward keeps the slope mask ``coef`` (1 or ``slope``), a constant of the rule."""

    elementwise = True

    def __init__(self, slope: float):
        self.slope = slope

    def forward(self, x):
        xp = xp_of(x)
        self.coef = xp.where(x > 0, 1.0, self.slope).astype(x.dtype, copy=False)
        return x * self.coef

    def vjp(self, ns, gy, y, x):
        return ns.scale(gy, self.coef)


class Elu(Op):
    """Where ``x <= 0`` the derivative ``alpha exp(x)`` is ``y + alpha``."""

    elementwise = True

    def __init__(self, alpha: float):
        self.alpha = alpha

    def forward(self, x):
        xp = xp_of(x)
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0.0))).astype(x.dtype, copy=False)

    def vjp(self, ns, gy, y, x):
        return gy * ns.fill(y + self.alpha, ns.data(x) > 0, 1.0)


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


class Dropout(Op):
    """``x * mask`` with the scaled keep-mask a constant of the op."""

    elementwise = True

    def __init__(self, mask: Any):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def vjp(self, ns, gy, y, x):
        return ns.scale(gy, self.mask)


# ----- sample inputs for the op table (tests/test_ops_table.py) -----
def _normal(rng: Any) -> list:
    """A matrix, a 0-d array, a transposed (non-contiguous) matrix and an empty array."""
    return [(rng.standard_normal((3, 4)),), (rng.standard_normal(()),), (rng.standard_normal((4, 3)).T,),
            (rng.standard_normal((0, 3)),)]


def _off_zero(rng: Any, shape: tuple) -> Any:
    """Normal values moved away from the kink at 0."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


def _axis_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 4)), -1), (rng.standard_normal((3, 4)), 0),
            (rng.standard_normal((2, 3, 2)), 1), (rng.standard_normal((5, 4))[:, ::2], -1),
            (rng.standard_normal((4, 3)).T, 0), (rng.standard_normal((0, 3)), -1)]


def _gelu_samples(rng: Any) -> list:
    xs = _normal(rng) + [(np.array([[-9.0, -3.2, -0.3], [0.4, 3.7, 8.0]]),)]
    return xs + [(x, "tanh") for (x,) in xs]


def _kinked(value: float) -> Any:
    def samples(rng: Any) -> list:
        return [(_off_zero(rng, (3, 4)), value), (_off_zero(rng, ()), value), (_off_zero(rng, (4, 3)).T, value),
                (rng.standard_normal((0, 2)), value)]
    return samples


# ----- public functions -----
@declare(Erf, samples=_normal, torch=lambda t, x: t.special.erf(x))
def erf(x: Operand) -> Variable:
    """The error function, elementwise; derivative ``2/sqrt(pi) exp(-x^2)``."""
    return Erf()(x)


@declare(Softmax, samples=_axis_samples, torch=lambda t, x, axis: t.softmax(x, axis))
def softmax(x: Operand, axis: int = -1) -> Variable:
    """``exp(x) / sum(exp(x), axis)``, max-shifted for stability; same shape as ``x``."""
    x = x if x.__class__ is Variable else as_input("softmax", x)
    return Softmax(check_axis("softmax", axis, x.ndim, x.shape))(x)


@declare(LogSoftmax, samples=_axis_samples, torch=lambda t, x, axis: t.log_softmax(x, axis))
def log_softmax(x: Operand, axis: int = -1) -> Variable:
    """``x - logsumexp(x, axis)``, computed stably; same shape as ``x``."""
    x = x if x.__class__ is Variable else as_input("log_softmax", x)
    return LogSoftmax(check_axis("log_softmax", axis, x.ndim, x.shape))(x)


@declare(GeluErf, GeluTanh, samples=_gelu_samples,
         torch=lambda t, x, approximate="none": t.nn.functional.gelu(x, approximate=approximate))
def gelu(x: Operand, approximate: str = "none") -> Variable:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` uses the tanh form."""
    if approximate == "none":
        return GeluErf()(x)
    if approximate == "tanh":
        return GeluTanh()(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@declare(Silu, samples=_normal, torch=lambda t, x: t.nn.functional.silu(x))
def silu(x: Operand) -> Variable:
    """``x * sigmoid(x)`` (a.k.a. swish)."""
    return Silu()(x)


swish = declare(Silu, samples=lambda rng: [(rng.standard_normal((2, 3)),)],
                torch=lambda t, x: t.nn.functional.silu(x), name="swish")(silu)


@declare(Softplus, samples=_normal, torch=lambda t, x: t.nn.functional.softplus(x))
def softplus(x: Operand) -> Variable:
    """``log(1 + exp(x))``, computed without overflow; derivative ``sigmoid(x)``."""
    return Softplus()(x)


@declare(LeakyRelu, samples=_kinked(0.1), torch=lambda t, x, slope: t.nn.functional.leaky_relu(x, slope))
def leaky_relu(x: Operand, slope: float = 0.01) -> Variable:
    """``x`` where ``x > 0``, else ``slope * x``."""
    return LeakyRelu(float(slope))(x)


@declare(Elu, samples=_kinked(0.7), torch=lambda t, x, alpha: t.nn.functional.elu(x, alpha))
def elu(x: Operand, alpha: float = 1.0) -> Variable:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return Elu(float(alpha))(x)


# dropout is random: no PyTorch equivalent draws the same mask (the seeded rng makes the
# samples repeatable for the finite differences)
@declare(Dropout, samples=lambda rng: [(rng.standard_normal((3, 4)), 0.5, True, 1),
                                       (rng.standard_normal((4, 3)).T, 0.25, True, 2)], torch=None)
def dropout(x: Operand, p: float = 0.5, training: bool | None = None, rng: Any = None) -> Variable:
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
