"""Pooling (NCHW): ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``.

Kernels loop only over the ``kh * kw`` window positions, each step touching one strided
slab of the whole batch (the same scheme as ``im2col`` in ``conv.py``). Each op's vjp and jvp
rules are the other op of an adjoint pair, so every order of derivative works:

* max pooling: ``MaxPool2d`` -> ``_MaxPoolScatter`` (gradient to the argmax) <-> ``_MaxPoolGather``;
  the argmax is a constant of the graph (max pooling is piecewise linear);
* average pooling: ``AvgPool2d`` <-> ``_AvgPoolAdjoint`` (both linear);
* adaptive average pooling: ``_Separable(Ah, Aw)`` (y = Ah @ x @ Aw^T), whose adjoint is
  ``_Separable(Ah^T, Aw^T)``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import xp_of
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._buffers import Scratch, fresh
from ._checks import as_input, check_int
from .conv import _pad, _pair, _slab, conv_output_size

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _positions(kh: int, kw: int, geo: tuple, oh: int, ow: int):
    """Yield (k, rows, cols) for every window position k = i * kw + j."""
    sh, sw, _, _, dh, dw = geo
    for i in range(kh):
        rows = _slab(i, dh, sh, oh)
        for j in range(kw):
            yield i * kw + j, rows, _slab(j, dw, sw, ow)


def _padded_zeros(xp: Any, shape: tuple, geo: tuple, ksize: tuple, ohw: tuple, dtype: Any, tmp: Scratch) -> Any:
    """Zeros covering every window's slab: the result itself (``fresh``) when that is the input
    shape, else a padded buffer of ``tmp`` for ``_crop``."""
    n, c, h, w = shape
    sh, sw, ph, pw, dh, dw = geo
    hp = max(h + 2 * ph, (ksize[0] - 1) * dh + sh * (ohw[0] - 1) + 1)
    wp = max(w + 2 * pw, (ksize[1] - 1) * dw + sw * (ohw[1] - 1) + 1)
    if (hp, wp) == (h, w):
        return fresh(xp, tuple(shape), dtype, zero=True)
    return tmp.take(xp, (n, c, hp, wp), dtype, zero=True)


def _crop(xp: Any, a: Any, shape: tuple, geo: tuple) -> Any:
    h, w = shape[2], shape[3]
    ph, pw = geo[2], geo[3]
    if a.shape[2] == h and a.shape[3] == w:
        return a
    out = fresh(xp, tuple(shape), a.dtype)
    xp.copyto(out, a[:, :, ph:ph + h, pw:pw + w])
    return out


def _disjoint(ksize: tuple, geo: tuple) -> bool:
    """True when no two windows share an input pixel."""
    sh, sw, _, _, dh, dw = geo
    return sh >= dh * (ksize[0] - 1) + 1 and sw >= dw * (ksize[1] - 1) + 1


# ----- max pooling -----
def _lowest(dtype: Any) -> Any:
    """The padding value of max pooling: -inf, or the smallest value of an integer/bool dtype."""
    if dtype.kind == "f":
        return -np.inf
    return np.iinfo(dtype).min if dtype.kind in "iu" else False


class MaxPool2d(Op):
    """y[n, c, p] = max over the window of p; remembers the (first) argmax position per output.

    vjp: ``_MaxPoolScatter`` (gy to the argmax); jvp: ``_MaxPoolGather`` (the tangent at the
    argmax). The argmax is a constant: max pooling is piecewise linear."""

    def __init__(self, ksize, geo, ohw):
        self.ksize = ksize
        self.geo = geo
        self.ohw = ohw
        self.argmax = None

    def forward(self, x):
        xp = xp_of(x)
        kh, kw = self.ksize
        tmp = Scratch()
        xpad = _pad(x, self.geo[2], self.geo[3], tmp, _lowest(x.dtype))
        n, c = x.shape[:2]
        shape = (n, c) + tuple(self.ohw)
        y = fresh(xp, shape, x.dtype)
        itype = xp.uint8 if kh * kw < 256 else xp.int32
        idx = fresh(xp, shape, itype, zero=True)  # kept by this op and its gradient ops
        step = tmp.take(xp, shape, itype)
        better = tmp.take(xp, shape, bool)
        for k, rows, cols in _positions(kh, kw, self.geo, *self.ohw):
            v = xpad[:, :, rows, cols]
            if k == 0:
                xp.copyto(y, v)
                continue
            xp.greater(v, y, out=better)  # strict: ties keep the first index, as PyTorch does
            # idx = where(better, k, idx) in plain arithmetic (masked writes are slow): k > idx
            xp.subtract(k, idx, out=step)
            step *= better
            idx += step
            xp.maximum(y, v, out=y)  # propagates NaN
        tmp.release()
        self.argmax = idx
        return y

    def vjp(self, ns, gy, y, x):
        return ns.call(_MaxPoolScatter(self.argmax, self.ksize, self.geo, tuple(x.shape)), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(_MaxPoolGather(self.argmax, self.ksize, self.geo), ts[0])


class _MaxPoolScatter(Op):
    """gy (N, C, OH, OW) -> gx (N, C, H, W): each gy value goes to its window's argmax;
    adjoint ``_MaxPoolGather``."""

    def __init__(self, argmax, ksize, geo, x_shape):
        self.argmax = argmax
        self.ksize = ksize
        self.geo = geo
        self.x_shape = x_shape

    def forward(self, gy):
        xp = xp_of(gy)
        ohw = gy.shape[2:]
        idx = self.argmax
        kh, kw = self.ksize
        tmp = Scratch()
        n, c, h, w = self.x_shape
        if self.geo[2:] == (0, 0, 1, 1) and (ohw[0] * kh, ohw[1] * kw) == (h, w) and _disjoint(self.ksize, self.geo):
            out = fresh(xp, tuple(self.x_shape), gy.dtype)  # the windows tile the input exactly
        else:
            out = _padded_zeros(xp, self.x_shape, self.geo, self.ksize, ohw, gy.dtype, tmp)
        if _disjoint(self.ksize, self.geo):
            for k, rows, cols in _positions(kh, kw, self.geo, *ohw):
                xp.multiply(gy, idx == k, out=out[:, :, rows, cols])
        else:
            for k, rows, cols in _positions(kh, kw, self.geo, *ohw):
                out[:, :, rows, cols] += gy * (idx == k)
        out = _crop(xp, out, self.x_shape, self.geo)
        tmp.release()
        return out

    def vjp(self, ns, ggx, y, gy):
        return ns.call(_MaxPoolGather(self.argmax, self.ksize, self.geo), ggx)

    def jvp(self, ns, ts, y, gy):
        return ns.call(_MaxPoolScatter(self.argmax, self.ksize, self.geo, self.x_shape), ts[0])


class _MaxPoolGather(Op):
    """gx (N, C, H, W) -> (N, C, OH, OW): the value at each window's argmax; adjoint
    ``_MaxPoolScatter``."""

    def __init__(self, argmax, ksize, geo):
        self.argmax = argmax
        self.ksize = ksize
        self.geo = geo

    def forward(self, gx):
        xp = xp_of(gx)
        idx = self.argmax
        out = fresh(xp, idx.shape, gx.dtype, zero=True)
        tmp = Scratch()
        gpad = _pad(gx, self.geo[2], self.geo[3], tmp)
        for k, rows, cols in _positions(*self.ksize, self.geo, *idx.shape[2:]):
            xp.copyto(out, gpad[:, :, rows, cols], where=idx == k)
        tmp.release()
        return out

    def vjp(self, ns, gy, y, gx):
        return ns.call(_MaxPoolScatter(self.argmax, self.ksize, self.geo, tuple(gx.shape)), gy)

    def jvp(self, ns, ts, y, gx):
        return ns.call(_MaxPoolGather(self.argmax, self.ksize, self.geo), ts[0])


# ----- average pooling -----
def _window_counts(size: int, k: int, s: int, p: int, n: int) -> np.ndarray:
    """How many non-padding input positions each of the ``n`` windows covers along one axis."""
    start = np.arange(n) * s - p
    return (np.minimum(start + k, size) - np.maximum(start, 0)).astype(np.float64)


class AvgPool2d(Op):
    """y = (sum over the window) * scale, scale a number or an (OH, OW) array; linear, adjoint
    ``_AvgPoolAdjoint``."""

    def __init__(self, ksize, geo, ohw, scale):
        self.ksize = ksize
        self.geo = geo
        self.ohw = ohw
        self.scale = scale

    def forward(self, x):
        xp = xp_of(x)
        if x.dtype.kind != "f":  # an average of integers is a float (as numpy.mean)
            x = x.astype(np.float64)
        tmp = Scratch()
        xpad = _pad(x, self.geo[2], self.geo[3], tmp)
        y = fresh(xp, x.shape[:2] + tuple(self.ohw), x.dtype)
        for k, rows, cols in _positions(*self.ksize, self.geo, *self.ohw):
            if k == 0:
                xp.copyto(y, xpad[:, :, rows, cols])
            else:
                y += xpad[:, :, rows, cols]
        tmp.release()
        y *= _as_scale(self.scale, x)
        return y

    def vjp(self, ns, gy, y, x):
        return ns.call(_AvgPoolAdjoint(self.ksize, self.geo, self.scale, tuple(x.shape)), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(AvgPool2d(self.ksize, self.geo, self.ohw, self.scale), ts[0])


class _AvgPoolAdjoint(Op):
    """gy (N, C, OH, OW) -> (N, C, H, W): spread gy * scale over each window; adjoint ``AvgPool2d``."""

    def __init__(self, ksize, geo, scale, x_shape):
        self.ksize = ksize
        self.geo = geo
        self.scale = scale
        self.x_shape = x_shape

    def forward(self, gy):
        xp = xp_of(gy)
        ohw = gy.shape[2:]
        g = gy * _as_scale(self.scale, gy)
        tmp = Scratch()
        out = _padded_zeros(xp, self.x_shape, self.geo, self.ksize, ohw, gy.dtype, tmp)
        for _, rows, cols in _positions(*self.ksize, self.geo, *ohw):
            out[:, :, rows, cols] += g
        out = _crop(xp, out, self.x_shape, self.geo)
        tmp.release()
        return out

    def vjp(self, ns, ggx, y, gy):
        return ns.call(AvgPool2d(self.ksize, self.geo, tuple(gy.shape[2:]), self.scale), ggx)

    def jvp(self, ns, ts, y, gy):
        return ns.call(_AvgPoolAdjoint(self.ksize, self.geo, self.scale, self.x_shape), ts[0])


def _as_scale(scale: Any, like: Any) -> Any:
    if isinstance(scale, float):
        return scale
    xp = xp_of(like)
    return xp.asarray(scale, dtype=like.dtype)


# ----- adaptive average pooling -----
def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) averaging matrix: row i averages [floor(i*size/out), ceil((i+1)*size/out))."""
    a = np.zeros((out, size))
    for i in range(out):
        lo = (i * size) // out
        hi = -((-(i + 1) * size) // out)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


class _Separable(Op):
    """y[n, c] = Ah @ x[n, c] @ Aw^T; linear, adjoint ``_Separable(Ah^T, Aw^T)``."""

    def __init__(self, ah, aw):
        self.ah = ah
        self.aw = aw

    def forward(self, x):
        xp = xp_of(x)
        if x.dtype.kind != "f":  # averaging weights in an integer dtype would truncate to 0
            x = x.astype(np.float64)
        ah = xp.asarray(self.ah, dtype=x.dtype)
        awt = xp.asarray(self.aw.T, dtype=x.dtype)
        n, c, h, w = x.shape
        t = xp.matmul(x.reshape(n * c * h, w), awt).reshape(n * c, h, -1)  # (NC, H, OW)
        return xp.matmul(ah, t).reshape(n, c, ah.shape[0], awt.shape[1])

    def vjp(self, ns, gy, y, x):
        return ns.call(_Separable(self.ah.T, self.aw.T), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(_Separable(self.ah, self.aw), ts[0])


# ----- table entries: sample inputs and PyTorch equivalents -----
def _distinct(rng: Any, shape: tuple) -> np.ndarray:
    """Values at least 0.05 apart (no ties, no kink within a finite-difference step)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0.0, 0.05, n)).reshape(shape)


def _max_pool_samples(rng: Any) -> list:
    return [(_distinct(rng, (2, 2, 5, 6)), 2, None, 0, 1),
            (_distinct(rng, (1, 5, 5, 3)).transpose(0, 3, 1, 2), 3, 2, 1, 1),  # non-contiguous
            (_distinct(rng, (1, 2, 7, 6)), (3, 2), (2, 1), (1, 1), (2, 1)),
            (_distinct(rng, (1, 1, 5, 5)), 3, 1, 1, 1)]  # overlapping windows


def _avg_pool_samples(rng: Any) -> list:
    return [(rng.standard_normal((2, 2, 5, 6)), 2, None, 0, True),
            (rng.standard_normal((1, 5, 5, 3)).transpose(0, 3, 1, 2), 3, 2, 1, False),
            (rng.standard_normal((1, 2, 6, 5)), (3, 2), (1, 2), (1, 1), True)]


def _adaptive_samples(rng: Any) -> list:
    return [(rng.standard_normal((2, 2, 5, 7)), (2, 3)),
            (rng.standard_normal((1, 7, 6, 3)).transpose(0, 3, 1, 2), 4),
            (rng.standard_normal((1, 2, 5, 4)), (None, 3))]


# ----- public functions -----
def _pool_geometry(op: str, x: Variable, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> tuple:
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")
    kh, kw = _pair(kernel_size, "kernel_size", op)
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride", op)
    ph, pw = _pair(padding, "padding", op)
    dh, dw = _pair(dilation, "dilation", op)
    if min(kh, kw, sh, sw, dh, dw) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive, got kernel {(kh, kw)}, "
                         f"stride {(sh, sw)}, dilation {(dh, dw)}")
    if ph < 0 or pw < 0 or 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"{op}: padding {(ph, pw)} must be between 0 and half the kernel size {(kh, kw)}")
    h, w = x.shape[2:]
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eh > h + 2 * ph or ew > w + 2 * pw:
        raise ValueError(f"{op}: kernel {(kh, kw)} (dilated {(eh, ew)}) is larger than the padded input "
                         f"{(h + 2 * ph, w + 2 * pw)} (input shape {x.shape})")
    geo = (sh, sw, ph, pw, dh, dw)
    ohw = (conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw))
    return (kh, kw), geo, ohw


@declare(MaxPool2d, _MaxPoolScatter, _MaxPoolGather, samples=_max_pool_samples,
         torch=lambda t, x, k, s, p, d: t.nn.functional.max_pool2d(x, k, s, p, d))
def max_pool2d(x: Operand, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1) -> Variable:
    """Max pooling over (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.

    Padding counts as -inf. The gradient goes to the first maximal element of each window
    (as in PyTorch); differentiable to any order (the argmax is held constant).
    """
    x = as_input("max_pool2d", x)
    ksize, geo, ohw = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation)
    return MaxPool2d(ksize, geo, ohw)(x)


@declare(AvgPool2d, _AvgPoolAdjoint, samples=_avg_pool_samples,
         torch=lambda t, x, k, s, p, cip: t.nn.functional.avg_pool2d(x, k, s, p, False, cip))
def avg_pool2d(x: Operand, kernel_size: Any, stride: Any = None, padding: Any = 0,
               count_include_pad: bool = True) -> Variable:
    """Average pooling over (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.

    Padding counts as zeros; with ``count_include_pad=False`` each window is divided by the
    number of real (non-padding) elements it covers. Linear, so differentiable to any order.
    """
    x = as_input("avg_pool2d", x)
    ksize, geo, ohw = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1)
    if count_include_pad or not (geo[2] or geo[3]):
        scale: Any = 1.0 / (ksize[0] * ksize[1])
    else:
        h, w = x.shape[2:]
        ch = _window_counts(h, ksize[0], geo[0], geo[2], ohw[0])
        cw = _window_counts(w, ksize[1], geo[1], geo[3], ohw[1])
        scale = 1.0 / np.outer(ch, cw)
    return AvgPool2d(ksize, geo, ohw, scale)(x)


@declare(_Separable, samples=_adaptive_samples,
         torch=lambda t, x, size: t.nn.functional.adaptive_avg_pool2d(x, size))
def adaptive_avg_pool2d(x: Operand, output_size: Any) -> Variable:
    """Average pooling of (N, C, H, W) to (N, C, OH, OW) with PyTorch's adaptive windows:
    output row i averages input rows [floor(i*H/OH), ceil((i+1)*H/OH)). ``output_size`` is an
    int, a pair, or a pair with ``None`` (keep that size). Linear, differentiable to any order.
    """
    x = as_input("adaptive_avg_pool2d", x)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    h, w = x.shape[2:]
    if output_size is None or isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    try:
        oh, ow = output_size
    except (TypeError, ValueError):
        raise TypeError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}") from None
    oh = h if oh is None else check_int("adaptive_avg_pool2d", "output_size", oh)
    ow = w if ow is None else check_int("adaptive_avg_pool2d", "output_size", ow)
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output size {(oh, ow)} must be positive (input shape {x.shape})")
    if (oh, ow) == (h, w):
        return x
    return _Separable(_adaptive_matrix(h, oh), _adaptive_matrix(w, ow))(x)
