"""``LSTM`` model: an LSTM layer followed by a Linear read-out."""
from __future__ import annotations

from typing import Any

from ..core.variable import Variable
from ..layers.linear import Linear
from ..layers.recurrent import LSTM as LSTMLayer
from ..random import get_rng
from .base import Model

__all__ = ["LSTM"]


class LSTM(Model):
    """``x`` (N, in) -> ``linear(lstm(x))`` (N, out), one time step per call.

    Sub-layers ``lstm`` (``chainrule.layers.LSTM``) and ``linear``; parameters are named
    ``lstm.x2f.w``, ..., ``linear.w``, ``linear.b``. Call ``reset_state()`` between sequences.
    """

    def __init__(self, hidden_size: int, out_size: int, rng: Any = None, dtype: Any = None):
        super().__init__()
        rng = get_rng(rng)
        self.lstm = LSTMLayer(hidden_size, dtype=dtype, rng=rng)
        self.linear = Linear(out_size, dtype=dtype, rng=rng)

    def reset_state(self) -> None:
        """Forget the LSTM's hidden and cell states."""
        self.lstm.reset_state()

    def forward(self, x: Any) -> Variable:
        return self.linear(self.lstm(x))
