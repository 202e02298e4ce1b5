"""Embedding lookup and scaled dot-product attention.

``embedding`` gathers rows of a weight matrix (gradient: scatter-add, whose own gradient is
the gather again, so any order works). ``scaled_dot_product_attention`` is composed of
matmul, softmax and dropout, and masks by adding a large negative bias to the scores of
masked-out positions.
"""
from __future__ import annotations

import math as _pymath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from . import linalg as _linalg
from . import shape as _shape
from .activation import dropout, softmax
from ._checks import as_input

__all__ = ["embedding", "scaled_dot_product_attention"]


# ----- embedding -----
class Embedding(Op):
    """``weight[ids]``: (V, D) weight and integer ids (...) give (..., D). Linear in the weight:
    the gradient is the scatter-add of the rows (``_ScatterAddRows``), the tangent the gather
    of the weight's tangent."""

    def __init__(self, ids):
        self.ids = ids

    def forward(self, w):
        return w[self.ids]

    def vjp(self, ns, gy, y, w):
        return ns.call(_ScatterAddRows(self.ids, w.shape), gy)

    def jvp(self, ns, ts, y, w):
        return ns.call(Embedding(self.ids), ts[0])


class _ScatterAddRows(Op):
    """Scatter-add of (..., D) rows into a zero (V, D) matrix at ``ids``: ``Embedding``'s
    adjoint (its gradient and tangent are the gather again, so any order works)."""

    def __init__(self, ids, shape):
        self.ids = ids
        self.shape = shape

    def forward(self, gy):
        b = backend_of(gy)
        gw = b.xp.zeros(self.shape, dtype=gy.dtype)
        b.scatter_add(gw, self.ids.reshape(-1), gy.reshape(-1, self.shape[-1]))
        return gw

    def vjp(self, ns, ggw, y, gy):
        return ns.call(Embedding(self.ids), ggw)

    def jvp(self, ns, ts, y, gy):
        return ns.call(_ScatterAddRows(self.ids, self.shape), ts[0])


def _embedding_samples(rng: Any) -> list:
    return [(rng.standard_normal((5, 3)), np.array([0, 3, 3, 1])),  # repeated ids accumulate
            (rng.standard_normal((3, 5)).T, np.array([[0, 1], [4, 4]])),  # non-contiguous weight
            (rng.standard_normal((5, 3)), np.array(2)),  # 0-d ids
            (rng.standard_normal((5, 3)), np.zeros((0,), dtype=np.int64))]  # no ids


@declare(Embedding, _ScatterAddRows, samples=_embedding_samples,
         torch=lambda t, w, ids: t.nn.functional.embedding(t.as_tensor(ids), w))
def embedding(weight: Operand, ids: Operand) -> Variable:
    """Rows of ``weight`` (V, D) picked by integer ``ids`` of any shape (...) -> (..., D).

    Differentiable in ``weight`` (repeated ids accumulate); ``ids`` (array or Variable) gets no gradient.
    """
    weight = as_input("embedding", weight)
    idx: Any = ids.data if isinstance(ids, Variable) else ids
    if not hasattr(idx, "dtype"):
        idx = np.asarray(idx)
    if type(idx) is not type(weight.data):  # host ids for a weight on a device: move them there
        wb = backend_of(weight.data)
        if backend_of(idx) is not wb:
            idx = wb.asarray(idx)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, dim), got shape {weight.shape}")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got dtype {idx.dtype} (shape {idx.shape})")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= weight.shape[0]):
        raise ValueError(f"embedding: ids must lie in [0, {weight.shape[0]}), got values in "
                         f"[{int(idx.min())}, {int(idx.max())}] (weight shape {weight.shape})")
    return Embedding(idx)(weight)


# ----- attention -----
def _mask_bias(mask: Any, causal: bool, lq: int, lk: int, dtype: Any, like: Any) -> Any:
    """An additive bias array (0 where attended, a huge negative number where masked), or None."""
    xp = xp_of(like)
    neg = xp.finfo(dtype).min
    keep = None
    bias = None
    if mask is not None:
        m = mask.data if isinstance(mask, Variable) else mask
        if not hasattr(m, "dtype"):
            m = np.asarray(m)
        if xp is not np:
            m = backend_of(like).asarray(m)
        if m.dtype == bool:
            keep = m
        else:
            bias = m.astype(dtype, copy=False)  # a float mask is added to the scores (PyTorch's rule)
    if causal:
        tri = xp.tril(xp.ones((lq, lk), dtype=bool))
        keep = tri if keep is None else keep & tri
    if keep is not None:
        kb = xp.where(keep, dtype.type(0), neg).astype(dtype, copy=False)
        bias = kb if bias is None else bias + kb
    return bias


def _attention_samples(rng: Any) -> list:
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    keep = rng.random((3, 5)) > 0.4
    keep[:, 0] = True  # every query sees at least one key
    return [(q, k, v),
            (q, k, v, keep),
            (rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), rng.standard_normal((4, 3)), None, True),
            (q, rng.standard_normal((8, 5, 2)).transpose(2, 1, 0)[:, :, ::2], v, None, False, 0.0, 0.7),
            (rng.standard_normal((2, 1, 3, 4)), k, v)]  # batch axes broadcast


def _torch_attention(t: Any, q: Any, k: Any, v: Any, mask: Any = None, causal: bool = False,
                     dropout_p: float = 0.0, scale: float | None = None) -> Any:
    m = None if mask is None else t.as_tensor(mask)
    return t.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, dropout_p=dropout_p,
                                                        is_causal=causal, scale=scale)


@declare(samples=_attention_samples, torch=_torch_attention)
def scaled_dot_product_attention(q: Operand, k: Operand, v: Operand, mask: Operand | None = None, causal: bool = False,
                                 dropout_p: float = 0.0, scale: float | None = None,
                                 training: bool | None = None, rng: Any = None) -> Variable:
    """``softmax(q @ k^T * scale + bias) @ v`` with ``scale = 1/sqrt(D)`` by default.

    ``q``: (..., Lq, D), ``k``: (..., Lk, D), ``v``: (..., Lk, Dv) -> (..., Lq, Dv); batch axes
    broadcast. ``mask``: a bool array broadcastable to (..., Lq, Lk), True = attend (a float mask
    is added to the scores); ``causal=True`` lets query i attend keys j <= i. Dropout with
    probability ``dropout_p`` is applied to the attention weights in training mode only
    (``training=None`` follows ``chainrule.is_train()``). Differentiable in q, k, v to any order.
    """
    q, k, v = as_input("scaled_dot_product_attention", q), as_input("scaled_dot_product_attention", k), as_input("scaled_dot_product_attention", v)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention: q, k, v need at least 2 axes, got shapes "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: shapes q {q.shape}, k {k.shape}, v {v.shape} do not "
                         f"match (need q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv))")
    lq, lk = q.shape[-2], k.shape[-2]
    if scale is None:
        scale = 1.0 / _pymath.sqrt(q.shape[-1])
    scores = _linalg.matmul(q, _shape.swapaxes(k, -1, -2)) * float(scale)
    bias = _mask_bias(mask, causal, lq, lk, scores.dtype, scores.data)
    if bias is not None:
        scores = scores + bias
    attn = softmax(scores, -1)
    if dropout_p:
        attn = dropout(attn, dropout_p, training=training, rng=rng)
    return _linalg.matmul(attn, v)
