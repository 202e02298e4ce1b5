"""``TransformerLM``: a small causal (GPT-style) language model."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.config import no_grad, test_mode
from ..core.variable import Variable
from ..functions.activation import softmax
from ..functions.loss import softmax_cross_entropy
from ..functions.shape import reshape
from ..layers.attention import TransformerBlock
from ..layers.containers import Layers
from ..layers.embedding import Embedding
from ..layers.linear import Linear
from ..layers.norm import LayerNorm
from ..random import get_rng
from .base import Model

__all__ = ["TransformerLM"]


class TransformerLM(Model):
    """Token ids (B, T) -> next-token logits (B, T, vocab_size).

    Sub-layers: ``tok`` (Embedding vocab -> d_model), ``pos`` (learned positions, up to
    ``max_len``), ``blocks`` (``n_layers`` causal pre-norm TransformerBlocks, named ``"0"``,
    ``"1"``, ...), ``ln`` (final LayerNorm) and ``head`` (Linear d_model -> vocab). Parameters
    are in ``dtype`` (float32 by default).
    """

    def __init__(self, vocab_size: int, d_model: int = 64, n_heads: int = 4, n_layers: int = 2,
                 max_len: int = 256, ff: str = "gelu", dropout: float = 0.0, dtype: Any = np.float32,
                 rng: Any = None):
        super().__init__()
        rng = get_rng(rng)
        self.vocab_size, self.max_len = int(vocab_size), int(max_len)
        self.tok = Embedding(vocab_size, d_model, rng=rng, dtype=dtype, scale=0.02)
        self.pos = Embedding(max_len, d_model, rng=rng, dtype=dtype, scale=0.02)
        self.blocks = Layers()
        for i in range(n_layers):
            self.blocks.add(str(i), TransformerBlock(d_model, n_heads, ff=ff, dropout=dropout, causal=True, rng=rng))
        self.ln = LayerNorm(d_model, dtype=dtype)
        self.head = Linear(vocab_size, in_size=d_model, dtype=dtype, rng=rng)
        for p in self.params():  # blocks were created in float64: bring them to dtype
            if p.dtype != np.dtype(dtype):
                p.data = p.data.astype(dtype)

    def forward(self, ids: Any) -> Variable:
        ids = ids.data if isinstance(ids, Variable) else ids if hasattr(ids, "dtype") else np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"TransformerLM: ids must be (batch, time), got shape {ids.shape}")
        t = ids.shape[1]
        if t > self.max_len:
            raise ValueError(f"TransformerLM: sequence length {t} exceeds max_len {self.max_len}")
        x = self.tok(ids) + self.pos(xp_of(self.pos.w.data).arange(t))
        for block in self.blocks.values():
            x = block(x)
        return self.head(self.ln(x))

    def loss(self, ids: Any, targets: Any, ignore_index: int = -100) -> Variable:
        """Mean next-token cross-entropy of ``forward(ids)`` against ``targets`` (B, T)."""
        logits = self(ids)
        b, t, v = logits.shape
        targets = targets.data if isinstance(targets, Variable) else backend_of(logits.data).asarray(targets)
        return softmax_cross_entropy(reshape(logits, (b * t, v)), targets.reshape(b * t), ignore_index=ignore_index)

    def generate(self, prompt: Any, n: int, temperature: float = 1.0, rng: Any = None) -> np.ndarray:
        """Sample ``n`` more tokens after ``prompt`` (1-D ids); returns the whole 1-D id array."""
        rng = get_rng(rng)
        ids = list(np.asarray(prompt).reshape(-1))
        with no_grad(), test_mode():
            for _ in range(n):
                ctx = np.asarray(ids[-self.max_len:], dtype=np.int64)[None]
                row = self(ctx).data[0, -1]
                logits = backend_of(row).to_numpy(row).astype(np.float64)  # sample on the host
                if temperature <= 0:
                    ids.append(int(logits.argmax()))
                    continue
                p = softmax(Variable(logits / temperature)).data
                ids.append(int(np.searchsorted(np.cumsum(p), rng.random(()) * p.sum())))
        return np.asarray(ids, dtype=np.int64)
