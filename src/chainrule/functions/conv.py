"""Convolution (NCHW): ``conv2d``, ``conv_transpose2d`` and the ``im2col``/``col2im`` pair.

Array kernels loop only over the ``kh * kw`` kernel positions; each step copies (im2col) or
adds (col2im) one strided slab of the whole batch. Internally the columns are channel-major,
``(C, kh, kw, N, OH, OW)``, i.e. one ``(C*kh*kw, N*OH*OW)`` matrix, so a convolution and each
of its gradients is a single GEMM (BLAS) plus one transposing copy; the public ``im2col``
returns the batch-major view ``(N, C, kh, kw, OH, OW)``. Large temporaries come from a
``_buffers.Scratch`` (reused across steps by ownership, no fresh page faults); results are new.

Three ops close the convolution family under differentiation (their rules call each other):

* ``Conv2d(x, w[, b])``; vjp: ``ConvTranspose2d(gy, w)``, ``Conv2dGradW(x, gy)``, bias sum;
* ``ConvTranspose2d(x, w[, b])``; vjp: ``Conv2d(gy, w)``, ``Conv2dGradW(gy, x)``, bias sum;
* ``Conv2dGradW(x, gy)`` (bilinear); vjp: ``ConvTranspose2d(gy, ggw)``, ``Conv2d(x, ggw)``;

so every order of derivative is again a convolution; each jvp is the op itself on the
tangents (bilinear: one term per input). ``Im2col`` and ``Col2im`` are each other's adjoint.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..backend import xp_of
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._buffers import Scratch, fresh
from ._checks import as_input, check_int

__all__ = ["conv2d", "conv_transpose2d", "im2col", "col2im", "conv_output_size", "im2col_array",
           "col2im_array"]

_int = int


# ----- geometry helpers -----
def _pair(v: Any, name: str, op: str) -> tuple:
    """``v`` (an int or a pair of ints) as a pair of Python ints."""
    if v.__class__ is _int:
        return (v, v)
    if isinstance(v, np.integer):
        return (_int(v), _int(v))
    try:
        a, b = v
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
    return (check_int(op, name, a), check_int(op, name, b))


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution/pooling window sliding over ``size`` (floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _slab(k: int, d: int, s: int, n: int) -> slice:
    """The padded-input slice read by kernel position ``k`` for ``n`` outputs."""
    start = k * d
    return slice(start, start + s * (n - 1) + 1, s)


# ----- array kernels -----
# Temporaries come from a ``Scratch`` (``tmp``) that the caller releases once the kernel is
# done; arrays handed out (results, public im2col columns) are ``fresh``.
def _pad(x: Any, ph: int, pw: int, tmp: Scratch, value: float = 0.0) -> Any:
    """x (N, C, H, W) padded by (ph, pw) on each side with ``value`` (x itself when no padding);
    the padded copy belongs to ``tmp``."""
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    out = tmp.take(xp_of(x), (n, c, h + 2 * ph, w + 2 * pw), x.dtype, zero=not value)
    if value:
        out.fill(value)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _cm_cols(tmp: Scratch, keep: Scratch | None, x: Any, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
             dh: int, dw: int, oh: int, ow: int) -> Any:
    """Channel-major columns of ``x`` (N, C, H, W): a C-contiguous (C, kh, kw, N, OH, OW) array,
    i.e. the (C*kh*kw, N*OH*OW) matrix that one GEMM multiplies by the weight.

    ``cols[c, i, j, n, y, x] = xpad[n, c, y*sh + i*dh, x*sw + j*dw]``. The columns belong to
    ``keep`` (``fresh`` when None: handed out); the padded copy to ``tmp``.
    """
    n, c, h, w = x.shape
    xp = xp_of(x)
    shape = (c, kh, kw, n, oh, ow)
    if kh == 1 and kw == 1 and (sh, sw, ph, pw) == (1, 1, 0, 0) and (oh, ow) == (h, w):
        if n == 1:
            return x.reshape(shape)
        cols = fresh(xp, shape, x.dtype) if keep is None else keep.take(xp, shape, x.dtype)
        xp.copyto(cols[:, 0, 0], x.transpose(1, 0, 2, 3))
        return cols
    # one pass: transpose to (C, N, ...) and pad, so every slab below is a plain strided copy
    xt = tmp.take(xp, (c, n, h + 2 * ph, w + 2 * pw), x.dtype, zero=bool(ph or pw))
    xt[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    cols = fresh(xp, shape, x.dtype) if keep is None else keep.take(xp, shape, x.dtype)
    for i in range(kh):
        rows = _slab(i, dh, sh, oh)
        for j in range(kw):
            cols[:, i, j] = xt[:, :, rows, _slab(j, dw, sw, ow)]
    return cols


def _cm_col2im(tmp: Scratch, cols: Any, h: int, w: int, sh: int, sw: int, ph: int, pw: int, dh: int,
               dw: int) -> Any:
    """Adjoint of ``_cm_cols``: scatter-add (C, kh, kw, N, OH, OW) columns into a new (N, C, h, w) array."""
    c, kh, kw, n, oh, ow = cols.shape
    xp = xp_of(cols)
    out = fresh(xp, (n, c, h, w), cols.dtype)
    if kh == 1 and kw == 1 and (sh, sw, ph, pw) == (1, 1, 0, 0) and (oh, ow) == (h, w):
        xp.copyto(out, cols.reshape(c, n, h, w).transpose(1, 0, 2, 3))
        return out
    # the padded buffer must hold every slab, even where the windows do not reach its end
    hp = max(h + 2 * ph, (kh - 1) * dh + sh * (oh - 1) + 1)
    wp = max(w + 2 * pw, (kw - 1) * dw + sw * (ow - 1) + 1)
    acc = tmp.take(xp, (c, n, hp, wp), cols.dtype, zero=True)
    for i in range(kh):
        rows = _slab(i, dh, sh, oh)
        for j in range(kw):
            acc[:, :, rows, _slab(j, dw, sw, ow)] += cols[:, i, j]
    xp.copyto(out, acc[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3))
    return out


def _out_hw(shape: tuple, kh: int, kw: int, geo: tuple) -> tuple:
    sh, sw, ph, pw, dh, dw = geo
    return conv_output_size(shape[2], kh, sh, ph, dh), conv_output_size(shape[3], kw, sw, pw, dw)


def im2col_array(x: Any, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int) -> Any:
    """Columns of ``x`` (N, C, H, W) with shape (N, C, kh, kw, OH, OW) (a transposed view):
    ``cols[n, c, i, j, y, x] = xpad[n, c, y*sh + i*dh, x*sw + j*dw]``."""
    geo = (sh, sw, ph, pw, dh, dw)
    tmp = Scratch()
    cols = _cm_cols(tmp, None, x, kh, kw, *geo, *_out_hw(x.shape, kh, kw, geo))
    tmp.release()
    return cols.transpose(3, 0, 1, 2, 4, 5)


def col2im_array(cols: Any, h: int, w: int, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int) -> Any:
    """Adjoint of ``im2col_array``: scatter-add ``cols`` (N, C, kh, kw, OH, OW) into (N, C, h, w)."""
    tmp = Scratch()
    out = _cm_col2im(tmp, cols.transpose(1, 2, 3, 0, 4, 5), h, w, sh, sw, ph, pw, dh, dw)
    tmp.release()
    return out


def _cm_grad(gy: Any, tmp: Scratch) -> Any:
    """(N, O, OH, OW) -> contiguous (O, N*OH*OW), belonging to ``tmp`` (or a view of ``gy``)."""
    n, o = gy.shape[0], gy.shape[1]
    if n == 1:
        return gy.reshape(o, -1)
    xp = xp_of(gy)
    out = tmp.take(xp, (o, n) + gy.shape[2:], gy.dtype)
    xp.copyto(out, gy.transpose(1, 0, 2, 3))
    return out.reshape(o, -1)


def _gemm(xp: Any, a: Any, b: Any, groups: int, tmp: Scratch) -> Any:
    """Per group g: a[g] @ b[g] for a (G, M, K) and b (G, K, P), as one (G*M, P) array of ``tmp``."""
    g, m = a.shape[0], a.shape[1]
    out = tmp.take(xp, (g, m, b.shape[2]), xp.result_type(a, b))
    for i in range(groups):
        xp.matmul(a[i], b[i], out=out[i])
    return out.reshape(g * m, -1)


def _conv_array(x: Any, w: Any, geo: tuple, groups: int, oh: int | None, ow: int | None, b: Any,
                keep: Scratch) -> tuple:
    """``conv2d`` on arrays; returns (y, channel-major cols belonging to ``keep``).
    ``geo`` = (sh, sw, ph, pw, dh, dw)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    if oh is None or ow is None:
        oh, ow = _out_hw(x.shape, kh, kw, geo)
    xp = xp_of(x)
    tmp = Scratch()
    sh, sw, ph, pw, dh, dw = geo
    cols = _cm_cols(tmp, keep, x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    k = cg * kh * kw
    y = _gemm(xp, w.reshape(groups, o // groups, k), cols.reshape(groups, k, -1), groups, tmp)
    # (O, N*OH*OW) -> (N, O, OH, OW), adding the bias in the same pass
    out = fresh(xp, (n, o, oh, ow), y.dtype)
    y = y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
    if b is None:
        xp.copyto(out, y)
    else:
        xp.add(y, b.reshape(1, o, 1, 1), out=out)
    tmp.release()
    return out, cols


def _conv_transpose_array(x: Any, w: Any, geo: tuple, groups: int, h: int, wd: int, xm: Any = None) -> Any:
    """Adjoint of ``_conv_array`` in its input: x (N, O, OH, OW), w (O, Cg, kh, kw) -> (N, Cg*groups, h, wd).

    ``xm`` may hold ``_cm_grad(x)`` already."""
    n, o, oh, ow = x.shape
    _, cg, kh, kw = w.shape
    k = cg * kh * kw
    tmp = Scratch()
    if xm is None:
        xm = _cm_grad(x, tmp)
    gcols = _gemm(xp_of(x), w.reshape(groups, o // groups, k).transpose(0, 2, 1),
                  xm.reshape(groups, o // groups, -1), groups, tmp)
    out = _cm_col2im(tmp, gcols.reshape(cg * groups, kh, kw, n, oh, ow), h, wd, *geo)
    tmp.release()
    return out


def _conv_grad_w_array(x: Any, gy: Any, kh: int, kw: int, geo: tuple, groups: int, cols: Any = None,
                       gm: Any = None) -> Any:
    """d<gy, conv2d(x, w)>/dw: x (N, C, H, W), gy (N, O, OH, OW) -> (O, C/groups, kh, kw).

    ``cols`` may hold ``_cm_cols(x)`` and ``gm`` ``_cm_grad(gy)`` already."""
    n, o, oh, ow = gy.shape
    c = x.shape[1]
    tmp = Scratch()
    if cols is None:
        sh, sw, ph, pw, dh, dw = geo
        cols = _cm_cols(tmp, tmp, x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    if gm is None:
        gm = _cm_grad(gy, tmp)
    cg = c // groups
    k = cg * kh * kw
    xp = xp_of(x)
    cm = cols.reshape(groups, k, -1)
    gm = gm.reshape(groups, o // groups, -1)
    gw = xp.empty((groups, o // groups, k), dtype=xp.result_type(x, gy))
    for g in range(groups):
        xp.matmul(gm[g], cm[g].T, out=gw[g])
    tmp.release()
    return gw.reshape(o, cg, kh, kw)


# ----- bias helpers (an adjoint pair) -----
class _ChannelSum(Op):
    """(N, C, H, W) -> (C,): the bias gradient; adjoint ``_ChannelBroadcast``."""

    def forward(self, x):
        return x.sum(axis=(0, 2, 3))

    def vjp(self, ns, gy, y, x):
        return ns.call(_ChannelBroadcast(tuple(x.shape)), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(_ChannelSum(), ts[0])


class _ChannelBroadcast(Op):
    """(C,) -> (N, C, H, W), adjoint of ``_ChannelSum``."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, b):
        return xp_of(b).broadcast_to(b.reshape(1, -1, 1, 1), self.shape)

    def vjp(self, ns, gy, y, b):
        return ns.call(_ChannelSum(), gy)

    def jvp(self, ns, ts, y, b):
        return ns.call(_ChannelBroadcast(self.shape), ts[0])


# ----- differentiable convolution ops -----
# Conv2d, ConvTranspose2d and Conv2dGradW close the family under differentiation: each rule
# is the other ops of the family, so every order of derivative is again a convolution.
def _plus(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def _bilinear_jvp(ns: Any, need: tuple, ts: tuple, y: Any, x: Any, w: Any, b: Any,
                  apply: Any) -> Any:
    """The tangent of ``y = apply(x, w) (+ b over channels)``, bilinear in (x, w):
    ``apply(tx, w) + apply(x, tw) (+ tb)``, skipping the inputs ``need`` marks as constant."""
    t = apply(ts[0], w) if need[0] else None
    if need[1]:
        t = _plus(t, apply(x, ts[1]))
    if b is not None:
        t = _plus(t, ns.call(_ChannelBroadcast(tuple(y.shape)), ts[2]))
    return ns.zeros_like(y) if t is None else t


def _conv_call(ns: Any, op: "Conv2d", x: Any, w: Any) -> Any:
    """``op`` (a helper ``Conv2d`` of a rule) on (x, w), its im2col columns released at once
    (a recorded op recomputes them if its own rule ever runs)."""
    y = ns.call(op, x, w)
    op._drop_cols()
    return y


class Conv2d(Op):
    """y = conv2d(x, w) (+ b); ``out_hw`` optionally caps the output size (used by gradients).

    ``need`` says which inputs need a gradient (an input passed as a raw array cannot be
    observed, so its gradient is skipped). The forward keeps its im2col columns (in a
    ``Scratch`` owned by this op) for the weight gradient; the rule releases them.
    """

    def __init__(self, geo, groups, out_hw=None, need=(True, True)):
        self.geo = geo
        self.groups = groups
        self.out_hw = out_hw
        self.need = need
        self.cols = None
        self.keep = None

    def forward(self, x, w, b=None):
        oh, ow = self.out_hw if self.out_hw is not None else (None, None)
        keep = Scratch()
        y, self.cols = _conv_array(x, w, self.geo, self.groups, oh, ow, b, keep)
        self.keep = keep
        return y

    def _drop_cols(self) -> None:
        self.cols = None
        keep = self.keep
        if keep is not None:
            self.keep = None
            keep.release()

    def vjp(self, ns, gy, y, x, w, b=None):
        geo, groups = self.geo, self.groups
        need_x, need_w = self.need
        tmp = Scratch()
        gm = _cm_grad(ns.data(gy), tmp) if need_x and need_w else None  # shared by both GEMMs
        gx = ns.call(ConvTranspose2d(geo, groups, x.shape[2:], xm=gm), gy, w) if need_x else None
        gw = ns.call(Conv2dGradW(w.shape[2:], geo, groups, self.cols, gm), x, gy) if need_w else None
        self._drop_cols()  # used once; a second backward recomputes them
        tmp.release()
        if b is None:
            return gx, gw
        return gx, gw, ns.call(_ChannelSum(), gy)

    def jvp(self, ns, ts, y, x, w, b=None):
        geo, groups, hw = self.geo, self.groups, self.out_hw
        return _bilinear_jvp(ns, self.need, ts, y, x, w, b,
                             lambda u, v: _conv_call(ns, Conv2d(geo, groups, hw), u, v))


class ConvTranspose2d(Op):
    """y = conv_transpose2d(x, w) (+ b) with output spatial size ``out_hw``; w (C_in, C_out/groups, kh, kw)."""

    def __init__(self, geo, groups, out_hw, need=(True, True), xm=None):
        self.geo = geo
        self.groups = groups
        self.out_hw = tuple(out_hw)
        self.need = need
        self.xm = xm  # optional channel-major copy of x (shared with a sibling gradient op)

    def forward(self, x, w, b=None):
        y = _conv_transpose_array(x, w, self.geo, self.groups, *self.out_hw, self.xm)
        self.xm = None
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def vjp(self, ns, gy, y, x, w, b=None):
        geo, groups = self.geo, self.groups
        gx = _conv_call(ns, Conv2d(geo, groups, x.shape[2:]), gy, w) if self.need[0] else None
        gw = ns.call(Conv2dGradW(w.shape[2:], geo, groups), gy, x) if self.need[1] else None
        if b is None:
            return gx, gw
        return gx, gw, ns.call(_ChannelSum(), gy)

    def jvp(self, ns, ts, y, x, w, b=None):
        geo, groups, hw = self.geo, self.groups, self.out_hw
        return _bilinear_jvp(ns, self.need, ts, y, x, w, b,
                             lambda u, v: ns.call(ConvTranspose2d(geo, groups, hw), u, v))


class Conv2dGradW(Op):
    """gw = d<gy, conv2d(x, w)>/dw as a bilinear op of (x, gy); ``cols``/``gm`` may hold the
    channel-major forms of x and gy already (used by the forward once, then dropped)."""

    def __init__(self, ksize, geo, groups, cols=None, gm=None):
        self.ksize = tuple(ksize)
        self.geo = geo
        self.groups = groups
        self.cols = cols
        self.gm = gm

    def forward(self, x, gy):
        kh, kw = self.ksize
        gw = _conv_grad_w_array(x, gy, kh, kw, self.geo, self.groups, self.cols, self.gm)
        self.cols = self.gm = None
        return gw

    def vjp(self, ns, ggw, y, x, gy):
        gx = ns.call(ConvTranspose2d(self.geo, self.groups, x.shape[2:]), gy, ggw)
        ggy = _conv_call(ns, Conv2d(self.geo, self.groups, gy.shape[2:]), x, ggw)
        return gx, ggy

    def jvp(self, ns, ts, y, x, gy):
        ksize, geo, groups = self.ksize, self.geo, self.groups
        return (ns.call(Conv2dGradW(ksize, geo, groups), ts[0], gy)
                + ns.call(Conv2dGradW(ksize, geo, groups), x, ts[1]))


class Im2col(Op):
    """(N, C, H, W) -> (N, C, kh, kw, OH, OW) columns; adjoint ``Col2im``."""

    def __init__(self, ksize, geo):
        self.ksize = tuple(ksize)
        self.geo = geo

    def forward(self, x):
        return im2col_array(x, *self.ksize, *self.geo)

    def vjp(self, ns, gy, y, x):
        return ns.call(Col2im(x.shape[2:], self.geo), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(Im2col(self.ksize, self.geo), ts[0])


class Col2im(Op):
    """(N, C, kh, kw, OH, OW) -> (N, C, H, W), summing overlaps; adjoint ``Im2col``."""

    def __init__(self, hw, geo):
        self.hw = tuple(hw)
        self.geo = geo

    def forward(self, cols):
        return col2im_array(cols, *self.hw, *self.geo)

    def vjp(self, ns, gy, y, cols):
        return ns.call(Im2col(cols.shape[2:4], self.geo), gy)

    def jvp(self, ns, ts, y, cols):
        return ns.call(Col2im(self.hw, self.geo), ts[0])


# ----- table entries: sample inputs and PyTorch equivalents -----
def _conv_samples(rng: Any) -> list:
    x = rng.standard_normal((2, 2, 5, 4))
    xt = rng.standard_normal((1, 6, 5, 4)).transpose(0, 3, 1, 2)  # non-contiguous (1, 4, 6, 5)
    return [(x, rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3), 1, 1, 1, 1),
            (xt, rng.standard_normal((4, 2, 2, 2)), None, (2, 1), (1, 0), (1, 2), 2),
            (rng.standard_normal((3, 1, 4, 4)), rng.standard_normal((2, 1, 1, 1)), None, 1, 0, 1, 1)]


def _conv_t_samples(rng: Any) -> list:
    xt = rng.standard_normal((1, 3, 3, 4)).transpose(0, 3, 1, 2)  # non-contiguous (1, 4, 3, 3)
    return [(rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(3),
             2, 1, 1, 1, 1),
            (xt, rng.standard_normal((4, 1, 2, 3)), None, 1, 0, 0, (2, 1), 2)]


def _im2col_samples(rng: Any) -> list:
    return [(rng.standard_normal((2, 2, 5, 4)), (3, 2), 1, 1, 1),
            (rng.standard_normal((1, 6, 5, 2)).transpose(0, 3, 1, 2), 2, (2, 1), (0, 1), (1, 2))]


def _col2im_samples(rng: Any) -> list:
    return [(rng.standard_normal((2, 2, 3, 2, 5, 5)), (5, 4), 1, 1, 1),
            (rng.standard_normal((1, 2, 2, 2, 3, 5)), (6, 5), (2, 1), (0, 1), (1, 2))]


def _torch_im2col(t: Any, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> Any:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (_pair(v, "", "") for v in (kernel_size, stride, padding, dilation))
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    cols = t.nn.functional.unfold(x, (kh, kw), (dh, dw), (ph, pw), (sh, sw))
    return cols.reshape(n, c, kh, kw, oh, ow)


def _torch_col2im(t: Any, cols: Any, input_size: Any, stride: Any, padding: Any, dilation: Any) -> Any:
    n, c, kh, kw, oh, ow = cols.shape
    return t.nn.functional.fold(cols.reshape(n, c * kh * kw, oh * ow), tuple(input_size), (kh, kw),
                                _pair(dilation, "", ""), _pair(padding, "", ""), _pair(stride, "", ""))


# ----- public functions -----
def _geometry(op: str, stride: Any, padding: Any, dilation: Any) -> tuple:
    sh, sw = _pair(stride, "stride", op)
    ph, pw = _pair(padding, "padding", op)
    dh, dw = _pair(dilation, "dilation", op)
    if sh < 1 or sw < 1 or dh < 1 or dw < 1:
        raise ValueError(f"{op}: stride and dilation must be positive, got stride {(sh, sw)}, dilation {(dh, dw)}")
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {(ph, pw)}")
    return (sh, sw, ph, pw, dh, dw)


def _check_window(op: str, x_shape: tuple, ksize: tuple, geo: tuple) -> tuple:
    sh, sw, ph, pw, dh, dw = geo
    h, w = x_shape[2], x_shape[3]
    eh, ew = dh * (ksize[0] - 1) + 1, dw * (ksize[1] - 1) + 1
    if eh > h + 2 * ph or ew > w + 2 * pw:
        raise ValueError(f"{op}: kernel {tuple(ksize)} (dilated {(eh, ew)}) is larger than the padded input "
                         f"{(h + 2 * ph, w + 2 * pw)} (input shape {tuple(x_shape)}, padding {(ph, pw)})")
    return (conv_output_size(h, ksize[0], sh, ph, dh), conv_output_size(w, ksize[1], sw, pw, dw))


def _check_conv_args(op: str, x: Variable, w: Variable, groups: int) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D, got shape {w.shape}")
    if not isinstance(groups, _int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if w.shape[0] % groups:
        raise ValueError(f"{op}: weight shape {w.shape}: dim 0 is not divisible by groups={groups}")


@declare(Conv2d, ConvTranspose2d, Conv2dGradW, _ChannelSum, _ChannelBroadcast, samples=_conv_samples,
         torch=lambda t, x, w, b, s, p, d, g: t.nn.functional.conv2d(x, w, b, s, p, d, g))
def conv2d(x: Operand, w: Operand, b: Operand | None = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Variable:
    """2-D convolution (cross-correlation, as in PyTorch), NCHW.

    x: (N, C_in, H, W); w: (C_out, C_in/groups, kh, kw); b: (C_out,) or None.
    Returns (N, C_out, OH, OW) with OH = (H + 2*ph - dh*(kh-1) - 1) // sh + 1.
    Differentiable to any order in x, w and b.
    """
    need = (isinstance(x, Variable), isinstance(w, Variable))
    x = as_input("conv2d", x)
    w = as_input("conv2d", w)
    geo = _geometry("conv2d", stride, padding, dilation)
    _check_conv_args("conv2d", x, w, groups)
    if x.shape[1] != w.shape[1] * groups:
        raise ValueError(f"conv2d: input shape {x.shape} has {x.shape[1]} channels but weight shape {w.shape} "
                         f"with groups={groups} expects {w.shape[1] * groups}")
    _check_window("conv2d", x.shape, w.shape[2:], geo)
    f = Conv2d(geo, groups, None, need)
    if b is None:
        return f(x, w)
    b = as_input("conv2d", b)
    if b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias shape {b.shape} does not match weight shape {w.shape} (expected ({w.shape[0]},))")
    return f(x, w, b)


@declare(ConvTranspose2d, Conv2d, Conv2dGradW, _ChannelSum, _ChannelBroadcast, samples=_conv_t_samples,
         torch=lambda t, x, w, b, s, p, op, d, g: t.nn.functional.conv_transpose2d(x, w, b, s, p, op, g, d))
def conv_transpose2d(x: Operand, w: Operand, b: Operand | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Variable:
    """Transposed 2-D convolution (the gradient of ``conv2d`` in its input), NCHW, PyTorch semantics.

    x: (N, C_in, H, W); w: (C_in, C_out/groups, kh, kw); b: (C_out,) or None.
    Returns (N, C_out, OH, OW) with OH = (H-1)*sh - 2*ph + dh*(kh-1) + oph + 1.
    Differentiable to any order in x, w and b.
    """
    op = "conv_transpose2d"
    need = (isinstance(x, Variable), isinstance(w, Variable))
    x = as_input("conv_transpose2d", x)
    w = as_input("conv_transpose2d", w)
    geo = _geometry(op, stride, padding, dilation)
    sh, sw, ph, pw, dh, dw = geo
    oph, opw = _pair(output_padding, "output_padding", op)
    _check_conv_args(op, x, w, groups)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{op}: input shape {x.shape} has {x.shape[1]} channels but weight shape {w.shape} "
                         f"expects {w.shape[0]}")
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ValueError(f"{op}: output_padding {(oph, opw)} must be smaller than stride {(sh, sw)} "
                         f"or dilation {(dh, dw)}")
    kh, kw = w.shape[2:]
    oh = (x.shape[2] - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (x.shape[3] - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: output size {(oh, ow)} is not positive (input shape {x.shape}, "
                         f"weight shape {w.shape}, padding {(ph, pw)})")
    f = ConvTranspose2d(geo, groups, (oh, ow), need)
    if b is None:
        return f(x, w)
    b = as_input("conv_transpose2d", b)
    c_out = w.shape[1] * groups
    if b.shape != (c_out,):
        raise ValueError(f"{op}: bias shape {b.shape} does not match weight shape {w.shape} (expected ({c_out},))")
    return f(x, w, b)


@declare(Im2col, Col2im, samples=_im2col_samples, torch=_torch_im2col)
def im2col(x: Operand, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Variable:
    """Sliding windows of x (N, C, H, W) as columns (N, C, kh, kw, OH, OW); differentiable (adjoint: col2im)."""
    x = as_input("im2col", x)
    if x.ndim != 4:
        raise ValueError(f"im2col: input must be 4-D (N, C, H, W), got shape {x.shape}")
    ksize = _pair(kernel_size, "kernel_size", "im2col")
    geo = _geometry("im2col", stride, padding, dilation)
    _check_window("im2col", x.shape, ksize, geo)
    return Im2col(ksize, geo)(x)


@declare(Col2im, Im2col, samples=_col2im_samples, torch=_torch_col2im)
def col2im(cols: Any, input_size: Sequence[int], stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> Variable:
    """Adjoint of ``im2col``: sum columns (N, C, kh, kw, OH, OW) back into an image (N, C, H, W)."""
    cols = as_input("col2im", cols)
    if cols.ndim != 6:
        raise ValueError(f"col2im: columns must be 6-D (N, C, kh, kw, OH, OW), got shape {cols.shape}")
    h, w = _pair(input_size, "input_size", "col2im")
    geo = _geometry("col2im", stride, padding, dilation)
    kh, kw, oh, ow = cols.shape[2:]
    expect = _check_window("col2im", (0, 0, h, w), (kh, kw), geo)
    if (oh, ow) != expect:
        raise ValueError(f"col2im: columns shape {cols.shape} has a {(oh, ow)} grid but input size {(h, w)} "
                         f"gives {expect}")
    return Col2im((h, w), geo)(cols)
