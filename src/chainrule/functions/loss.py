"""Losses: mean_squared_error, softmax_cross_entropy (alias cross_entropy),
binary_cross_entropy_with_logits, and the non-differentiable ``accuracy``.

Every loss is declared once (``core/op.py``): one vjp rule for arrays (first order) and
Variables (every higher order). ``softmax_cross_entropy`` is a ``Composite``: log_softmax,
each row's label entry gathered, then the mean (or sum) define it; a fused kernel and a fused
first-order rule (``softmax(x) - onehot(t)`` kept from the forward) replace it where it is
hot. Integer labels are constants of the op (they get no gradient).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.composite import Composite
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from .activation import LogSoftmax
from .math import Sigmoid
from .reduction import blas_sum
from ._checks import as_input

__all__ = ["mean_squared_error", "mse_loss", "softmax_cross_entropy", "cross_entropy",
           "binary_cross_entropy_with_logits", "accuracy"]

_REDUCTIONS = ("mean", "sum", "none")
_UNSIGNED = {n: np.dtype(f"u{n}") for n in (1, 2, 4, 8)}  # by itemsize


# ----- mean squared error -----
class MeanSquaredError(Op):
    def forward(self, x0, x1):
        d = x0 - x1
        return (d * d).sum() / d.size

    def vjp(self, ns, gy, y, x0, x1):
        gx0 = (x0 - x1) * (gy * (2.0 / x0.size))
        return gx0, -gx0

    def jvp(self, ns, ts, y, x0, x1):
        return ns.sum((x0 - x1) * (ts[0] - ts[1])) * (2.0 / x0.size)


def _pair_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 2)), rng.standard_normal((3, 2))),
            (rng.standard_normal((4, 3)).T, rng.standard_normal((3, 4))), (rng.standard_normal(()), rng.standard_normal(()))]


@declare(MeanSquaredError, samples=_pair_samples, torch=lambda t, y, u: t.nn.functional.mse_loss(y, u))
def mean_squared_error(y: Operand, t: Operand) -> Variable:
    """``mean((y - t) ** 2)`` over all elements; ``y`` and ``t`` have the same shape; returns a 0-d Variable."""
    y, t = as_input("mean_squared_error", y), as_input("mean_squared_error", t)
    if y.shape != t.shape:
        raise ValueError(f"mean_squared_error: shapes {y.shape} and {t.shape} differ")
    return MeanSquaredError()(y, t)


mse_loss = declare(MeanSquaredError, samples=lambda rng: _pair_samples(rng)[:1],
                   torch=lambda t, y, u: t.nn.functional.mse_loss(y, u), name="mse_loss")(mean_squared_error)


# ----- softmax cross-entropy -----
def _row_max(x: np.ndarray) -> np.ndarray:
    """(N, C) -> (N, 1) row maxima. NumPy reduces short rows one at a time, slowly; for few
    classes, reducing the transposed copy over its first axis is vectorised across rows."""
    if x.shape[1] <= 32:
        return np.maximum.reduce(np.ascontiguousarray(x.T), axis=0)[:, None]
    return np.maximum.reduce(x, axis=1, keepdims=True)


_ROW_STARTS: dict = {}
_max = np.maximum.reduce


def _row_starts(n: int, c: int) -> np.ndarray:
    """``np.arange(n) * c``, shared (read-only) between calls: where each row of a flattened
    (N, C) array starts. Adding the labels gives flat indices, and indexing the flat view with
    one array is several times cheaper than with the pair ``(arange(n), t)``."""
    r = _ROW_STARTS.get((n, c))
    if r is None:
        if len(_ROW_STARTS) > 64:
            _ROW_STARTS.clear()
        r = _ROW_STARTS[n, c] = np.arange(n) * c
        r.flags.writeable = False
    return r


class SoftmaxCrossEntropy(Composite):
    """Input: logits (N, C); the integer labels (N,) are a constant of the op (they get no
    gradient). Defined by ``reference``: log_softmax, each row's label entry gathered (0 on
    ignored rows), then the mean over the counted rows, the sum, or the (N,) losses. The
    fused kernel computes log_softmax once and keeps ``softmax(x) - onehot(t)`` for the fused
    first-order rule."""

    def __init__(self, ignore_index: int, reduction: str, t: Any):
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.t = t

    def _labels(self, n: int, c: int, shape: tuple, host: bool) -> tuple:
        """``(valid, tt)``: the (N,) mask of counted rows (None: all) and the labels with
        ignored rows set to 0; a label out of range is an error naming the logits' shape."""
        t = self.t
        ignore = self.ignore_index
        # one reduction checks every label: viewed as unsigned, negatives are huge too
        if n and ignore < 0:
            u = t.view(_UNSIGNED[t.dtype.itemsize])
            in_range = int(_max(u) if host else u.max()) < c
        else:
            in_range = not n
        if not in_range:
            valid = t != ignore  # some labels are ignored (or out of range)
            tt = xp_of(t).where(valid, t, 0)
            if int(tt.min()) < 0 or int(tt.max()) >= c:
                bad = tt[(tt < 0) | (tt >= c)]
                raise ValueError(f"softmax_cross_entropy: label {int(bad[0])} out of range for {c} classes "
                                 f"(logits shape {shape})")
            return valid, tt
        return None, t

    def reference(self, ns, x):
        xd = ns.data(x)
        xp = xp_of(xd)
        n, c = xd.shape
        valid, tt = self._labels(n, c, xd.shape, xp is np)
        picked = ns.getitem(ns.call(LogSoftmax(1), x), (xp.arange(n), tt))  # log_softmax(x)[i, t_i]
        if valid is not None:
            picked = ns.scale(picked, valid.astype(xd.dtype))  # 0 on ignored rows
        if self.reduction == "none":
            return -picked
        total = ns.sum(picked)
        if self.reduction == "sum":
            return -total
        count = n if valid is None else int(valid.sum())
        return total * (-1.0 / max(count, 1))

    def forward(self, x):
        xp = xp_of(x)
        host = xp is np
        if host and not x.flags.c_contiguous:
            # s and e below take x's memory layout; the flat-index reads and the -onehot write
            # through ``reshape(-1)`` need C order (reshape of another layout is a copy)
            x = np.ascontiguousarray(x)
        n, c = x.shape
        s = x - (_row_max(x) if host else x.max(axis=1, keepdims=True))
        e = xp.exp(s)
        z = blas_sum(e, 1)  # (N,) row sums
        e /= z[:, None]  # softmax(x); becomes softmax(x) - onehot(t) below
        valid, tt = self._labels(n, c, x.shape, host)
        if host:
            flat = _row_starts(n, c) + tt  # the labels' positions in the flattened (N, C) arrays
            if flat.dtype.kind != "i":  # uint64 labels promote to float
                flat = _row_starts(n, c) + tt.astype(np.intp)
            picked = s.reshape(-1)[flat]
        else:
            rows = xp.arange(n)
            picked = s[rows, tt]
        nll = xp.log(z)
        nll -= picked  # -log_softmax(x)[rows, t]
        count = n
        if valid is not None:
            nll *= valid
            count = int(valid.sum())
        # the weight of each row's loss in the output: ``scale`` for all rows, or ``coef`` (N,)
        coef = scale = None
        if self.reduction == "mean":
            scale = 1.0 / max(count, 1)  # a Python float keeps the float32/float64 of what it scales
            if valid is not None:
                coef = valid * scale
            y = (np.add.reduce(nll) if host else nll.sum()) * scale
        else:
            if valid is None:
                scale = 1.0
            else:
                coef = valid
            y = nll.sum() if self.reduction == "sum" else nll
        if host:
            e.reshape(-1)[flat] -= 1.0  # e is a fresh C-ordered array (x is): reshape is a view
        else:
            e[rows, tt] -= 1.0
        self.diff, self.scale = e, scale
        self.coef = None if coef is None else coef.astype(x.dtype, copy=False)
        return y if y.dtype == x.dtype else xp.asarray(y, dtype=x.dtype)

    def fast_vjp(self, gy, y, x):
        """``(softmax(x) - onehot(t)) * gy`` times each row's weight, from the kept difference."""
        if self.reduction == "none":
            w = gy * (self.scale if self.coef is None else self.coef)
            return self.diff * w[:, None]
        if self.coef is None:
            if gy.__class__ is np.ndarray and gy.ndim == 0 and gy.dtype == self.diff.dtype:
                return self.diff * (float(gy) * self.scale)  # a Python float is cheapest
            return self.diff * (gy * self.scale)
        return self.diff * (gy * self.coef)[:, None]


def _ce_samples(rng: Any) -> list:
    t = np.array([0, 2, 1, 3])
    some_ignored = np.array([0, -100, 4, -100])
    return [(rng.standard_normal((4, 5)), t, -100, "mean"), (rng.standard_normal((4, 5)), some_ignored, -100, "mean"),
            (rng.standard_normal((4, 5)), some_ignored, -100, "sum"), (rng.standard_normal((4, 5)), t, -100, "none"),
            (rng.standard_normal((4, 5)), np.array([7, 7, 1, 0]), 7, "none"),
            (rng.standard_normal((5, 4)).T, t, -100, "mean"), (rng.standard_normal((4, 9))[:, ::2], t, -100, "none"),
            (np.asfortranarray(rng.standard_normal((4, 5))), some_ignored, -100, "sum")]


def _torch_ce(t: Any, x: Any, labels: Any, ignore_index: int = -100, reduction: str = "mean") -> Any:
    return t.nn.functional.cross_entropy(x, t.as_tensor(labels), ignore_index=ignore_index, reduction=reduction)


@declare(SoftmaxCrossEntropy, samples=_ce_samples, torch=_torch_ce)
def softmax_cross_entropy(x: Operand, t: Operand, ignore_index: int = -100, reduction: str = "mean") -> Variable:
    """Cross-entropy of logits ``x`` (N, C) against integer labels ``t`` (N,).

    ``reduction="mean"`` averages over the labels that are not ``ignore_index`` (0 when all are
    ignored), ``"sum"`` adds them, ``"none"`` returns the (N,) per-row losses (0 on ignored rows).
    Differentiable in ``x`` to any order.
    """
    if x.__class__ is not Variable:
        x = as_input("softmax_cross_entropy", x)
    xd = x.data
    t_data: Any = t
    if t_data.__class__ is not xd.__class__:  # not an array of the logits' kind already
        if isinstance(t_data, Variable):
            t_data = t_data.data
        if not hasattr(t_data, "dtype"):
            t_data = np.asarray(t_data)
        if t_data.__class__ is not xd.__class__:  # host labels for device logits
            t_data = backend_of(xd).asarray(t_data)
    shape = xd.shape
    if len(shape) != 2:
        raise ValueError(f"softmax_cross_entropy: logits must be 2-D (N, C), got shape {shape}")
    dt = t_data.dtype
    if dt.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: labels must be integers, got dtype {dt}")
    if not dt.isnative:
        t_data = t_data.astype(dt.newbyteorder("="))
    if t_data.shape != shape[:1]:
        raise ValueError(f"softmax_cross_entropy: labels shape {t_data.shape} does not match logits "
                         f"shape {shape} (expected ({shape[0]},))")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"softmax_cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return SoftmaxCrossEntropy(ignore_index, reduction, t_data)(x)


cross_entropy = declare(SoftmaxCrossEntropy, samples=lambda rng: _ce_samples(rng)[:1], torch=_torch_ce,
                        name="cross_entropy")(softmax_cross_entropy)


# ----- binary cross-entropy with logits -----
class BinaryCrossEntropyWithLogits(Op):
    """``max(x, 0) - x t + log1p(exp(-|x|))`` elementwise, then the reduction; derivatives
    ``sigmoid(x) - t`` in ``x`` and ``-x`` in ``t``."""

    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x, t):
        xp = xp_of(x)
        loss = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        if self.reduction == "mean":
            return loss.sum() / loss.dtype.type(loss.size)
        if self.reduction == "sum":
            return loss.sum()
        return loss

    def vjp(self, ns, gy, y, x, t):
        g = gy * (1.0 / x.size) if self.reduction == "mean" else gy
        return (ns.call(Sigmoid(), x) - t) * g, -x * g

    def jvp(self, ns, ts, y, x, t):
        d = (ns.call(Sigmoid(), x) - t) * ts[0] - x * ts[1]
        if self.reduction == "mean":
            return ns.sum(d) * (1.0 / x.size)
        return ns.sum(d) if self.reduction == "sum" else d


def _bce_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 4)) * 3, rng.random((3, 4)), red) for red in _REDUCTIONS] + \
        [(rng.standard_normal((4, 3)).T, rng.random((3, 4)), "mean"), (rng.standard_normal(()), rng.random(()), "sum")]


@declare(BinaryCrossEntropyWithLogits, samples=_bce_samples,
         torch=lambda t, x, u, reduction: t.nn.functional.binary_cross_entropy_with_logits(x, u, reduction=reduction))
def binary_cross_entropy_with_logits(x: Operand, t: Operand, reduction: str = "mean") -> Variable:
    """``-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]``, computed stably from logits.

    ``x`` and targets ``t`` (floats in [0, 1]) have the same shape; ``reduction`` is ``"mean"``
    (over all elements), ``"sum"`` or ``"none"``. Differentiable in ``x`` and ``t``.
    """
    x = as_input("binary_cross_entropy_with_logits", x)
    t = as_input("binary_cross_entropy_with_logits", t)
    if x.shape != t.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: shapes {x.shape} and {t.shape} differ")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"binary_cross_entropy_with_logits: reduction must be one of {_REDUCTIONS}, "
                         f"got {reduction!r}")
    if t.dtype != x.dtype and x.dtype.kind == "f":
        t = Variable._new(t.data.astype(x.dtype))
    return BinaryCrossEntropyWithLogits(reduction)(x, t)


# ----- accuracy -----
# not differentiable (argmax and a count): in the table for its sample inputs only
@declare(samples=lambda rng: [(rng.standard_normal((4, 3)), np.array([0, 1, 2, 0]))], torch=None, orders=0)
def accuracy(y: Operand, t: Operand, ignore_index: int | None = None) -> Variable:
    """Fraction of rows whose argmax over the last axis of ``y`` (N, C) equals ``t`` (N,).

    Not differentiable: returns a 0-d float64 Variable with no creator.
    """
    yd: Any = y.data if isinstance(y, Variable) else y if hasattr(y, "dtype") else np.asarray(y)
    td: Any = t.data if isinstance(t, Variable) else t
    if not hasattr(td, "shape"):
        td = np.asarray(td)
    if type(td) is not type(yd):  # host labels for device predictions
        td = backend_of(yd).asarray(td)
    xp = xp_of(yd)
    pred = yd.argmax(axis=-1)
    if pred.shape != td.shape:
        raise ValueError(f"accuracy: predictions shape {pred.shape} (from {yd.shape}) and labels "
                         f"shape {td.shape} differ")
    hit = pred == td
    if ignore_index is not None:
        valid = td != ignore_index
        total = int(valid.sum())
        acc = float((hit & valid).sum()) / max(total, 1)
    else:
        acc = float(hit.mean()) if hit.size else 0.0
    return Variable(xp.asarray(acc, dtype=np.float64))
