"""``Dropout``: the layer form of ``F.dropout``, switched off by ``eval()`` or ``test_mode()``."""
from __future__ import annotations

from typing import Any

from ..core.config import get_config
from ..core.variable import Variable
from ..functions.activation import dropout
from ..random import get_rng
from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Inverted dropout with probability ``p``: any shape -> same shape.

    Active only when the layer is in training mode (``train()``, the default) and
    ``chainrule.is_train()`` holds; otherwise the identity. ``rng``: an int seed, a NumPy
    Generator or a chainrule random source (resolved once, so masks differ between calls).
    """

    def __init__(self, p: float = 0.5, rng: Any = None):
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = None if rng is None else get_rng(rng)

    def forward(self, x: Any) -> Variable:
        return dropout(x, self.p, training=self.training and get_config().train, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
