"""Attention layers: ``MultiHeadAttention`` and the pre-norm ``TransformerBlock``."""
from __future__ import annotations

from typing import Any

from ..core.variable import Variable
from ..functions.activation import dropout, gelu, silu
from ..functions.attention import scaled_dot_product_attention
from ..functions.shape import reshape, transpose, unstack
from ..random import get_rng
from .base import Layer
from .linear import Linear
from .norm import LayerNorm

__all__ = ["MultiHeadAttention", "TransformerBlock"]


def _positive(owner: str, name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {v!r}")
    return v


class MultiHeadAttention(Layer):
    """Multi-head self-attention: (..., T, d_model) -> (..., T, d_model).

    Sub-layers ``qkv`` (Linear d_model -> 3 d_model, one fused projection) and ``out``
    (Linear d_model -> d_model). ``causal=True`` lets position t attend positions <= t; a
    ``mask`` given to the call (bool, broadcastable to (..., n_heads, T, T), True = attend) is
    combined with it. ``dropout`` applies to the attention weights in training mode.
    """

    def __init__(self, d_model: int, n_heads: int, causal: bool = False, dropout: float = 0.0,
                 bias: bool = True, rng: Any = None):
        super().__init__()
        _positive("MultiHeadAttention", "d_model", d_model)
        _positive("MultiHeadAttention", "n_heads", n_heads)
        if d_model % n_heads:
            raise ValueError(f"MultiHeadAttention: d_model {d_model} is not divisible by n_heads {n_heads}")
        self.d_model, self.n_heads, self.causal, self.dropout = d_model, n_heads, bool(causal), float(dropout)
        rng = get_rng(rng)
        self.rng = rng
        self.qkv = Linear(3 * d_model, in_size=d_model, bias=bias, rng=rng)
        self.out = Linear(d_model, in_size=d_model, bias=bias, rng=rng)

    def forward(self, x: Any, mask: Any = None) -> Variable:
        shape = tuple(x.shape)
        if len(shape) < 2 or shape[-1] != self.d_model:
            raise ValueError(f"MultiHeadAttention: input must be (..., T, {self.d_model}), got shape {shape}")
        lead, t = shape[:-2], shape[-2]
        n, h = len(lead), self.n_heads
        qkv = reshape(self.qkv(x), lead + (t, 3, h, self.d_model // h))
        q, k, v = unstack(transpose(qkv, (n + 1, *range(n), n + 2, n, n + 3)), 0)  # each (..., H, T, Dh)
        p = self.dropout if self.is_training() else 0.0
        y = scaled_dot_product_attention(q, k, v, mask=mask, causal=self.causal, dropout_p=p, training=True,
                                         rng=self.rng if p else None)
        y = reshape(transpose(y, (*range(n), n + 1, n, n + 2)), shape)
        return self.out(y)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, causal={self.causal}"


class _FeedForward(Layer):
    """GELU MLP (``fc1`` -> gelu -> ``fc2``) or SwiGLU (``fc2(silu(fc1 x) * gate x)``)."""

    def __init__(self, d_model: int, kind: str, hidden: int | None, rng: Any):
        super().__init__()
        self.kind = kind
        if kind == "gelu":
            hidden = hidden or 4 * d_model
            self.fc1 = Linear(hidden, in_size=d_model, rng=rng)
        else:
            hidden = hidden or max(8, (8 * d_model // 3 + 7) // 8 * 8)
            self.fc1 = Linear(hidden, in_size=d_model, bias=False, rng=rng)
            self.gate = Linear(hidden, in_size=d_model, bias=False, rng=rng)
        self.fc2 = Linear(d_model, in_size=hidden, bias=kind == "gelu", rng=rng)

    def forward(self, x: Any) -> Variable:
        if self.kind == "gelu":
            return self.fc2(gelu(self.fc1(x)))
        return self.fc2(silu(self.fc1(x)) * self.gate(x))


class TransformerBlock(Layer):
    """Pre-norm transformer block: (..., T, d_model) -> same shape.

    ``x = x + drop(attn(ln1(x)))``; ``x = x + drop(ff(ln2(x)))`` with ``ff="gelu"`` (4x MLP) or
    ``"swiglu"`` (gated SiLU, hidden about 8/3 d_model). Sub-layers ``ln1``, ``attn``, ``ln2``,
    ``ff``.
    """

    def __init__(self, d_model: int, n_heads: int, ff: str = "gelu", dropout: float = 0.0,
                 causal: bool = False, ff_hidden: int | None = None, rng: Any = None):
        super().__init__()
        if ff not in ("gelu", "swiglu"):
            raise ValueError(f"TransformerBlock: ff must be 'gelu' or 'swiglu', got {ff!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"TransformerBlock: dropout must be in [0, 1), got {dropout}")
        rng = get_rng(rng)
        self.rng = rng
        self.dropout = float(dropout)
        self.ln1 = LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, causal=causal, dropout=dropout, rng=rng)
        self.ln2 = LayerNorm(d_model)
        self.ff = _FeedForward(d_model, ff, ff_hidden, rng)

    def _drop(self, x: Variable) -> Variable:
        if self.dropout and self.is_training():
            return dropout(x, self.dropout, training=True, rng=self.rng)
        return x

    def forward(self, x: Any, mask: Any = None) -> Variable:
        x = x + self._drop(self.attn(self.ln1(x), mask))
        return x + self._drop(self.ff(self.ln2(x)))

    def extra_repr(self) -> str:
        return f"ff={self.ff.kind!r}, dropout={self.dropout}"
