"""``Embedding``: a lookup table of learnable vectors."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.variable import Variable
from ..functions.attention import embedding
from ..random import get_rng
from .base import Layer, Parameter

__all__ = ["Embedding"]


class Embedding(Layer):
    """Integer ids (...) -> vectors (..., dim), rows of the parameter ``w`` (num, dim).

    ``w`` is drawn as ``standard_normal((num, dim)) * scale`` from ``rng`` (``scale=1`` as
    PyTorch), in ``dtype`` (float64 unless given).
    """

    def __init__(self, num: int, dim: int, rng: Any = None, dtype: Any = np.float64, scale: float = 1.0):
        super().__init__()
        for name, v in (("num", num), ("dim", dim)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {v!r}")
        self.num, self.dim = int(num), int(dim)
        w = get_rng(rng).standard_normal((self.num, self.dim)) * scale
        self.w = Parameter(np.asarray(w, dtype=dtype))

    def forward(self, ids: Any) -> Variable:
        try:
            return embedding(self.w, ids)
        except (ValueError, IndexError) as e:
            kind = IndexError if isinstance(e, IndexError) else ValueError
            raise kind(f"{self._describe()}: {e}") from None

    def extra_repr(self) -> str:
        return f"num={self.num}, dim={self.dim}"
