"""``MLP``: a stack of Linear layers with an activation between them."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import functions as F
from ..core.variable import Variable
from ..layers.base import conform_input
from ..layers.linear import Linear
from ..random import get_rng
from .base import Model

__all__ = ["MLP"]


class MLP(Model):
    """Multi-layer perceptron: ``Linear(out_sizes[0])``, activation, ..., ``Linear(out_sizes[-1])``.

    ``x`` (N, in) -> (N, out_sizes[-1]); no activation after the last layer. The layers are
    named ``linear[0]``, ``linear[1]``, ... (parameters ``linear[0].w``, ``linear[0].b``) and
    initialised lazily from the first input, drawing their weights in order from one ``rng``.
    ``activation`` defaults to ``F.sigmoid``.
    """

    def __init__(self, out_sizes: Sequence[int], activation: Callable | None = None, rng: Any = None,
                 dtype: Any = None):
        super().__init__()
        if isinstance(out_sizes, (int, np.integer)) or len(out_sizes) == 0:
            raise ValueError(f"MLP: out_sizes must be a non-empty sequence of sizes, got {out_sizes!r}")
        self.activation = F.sigmoid if activation is None else activation
        rng = get_rng(rng)
        self._linears = [self.add_layer(f"linear[{i}]", Linear(n, dtype=dtype, rng=rng))
                         for i, n in enumerate(out_sizes)]
        self._sized = False  # the first call runs layer by layer (lazy initialisation)
        self._fusable = len(out_sizes) > 1  # F.relu_mlp can run the network (when the activation is F.relu)

    def forward(self, x: Any) -> Variable:
        layers = self._linears
        if self.activation is F.relu and self._sized and self._fusable:
            params = self.params()
            if len(params) == 2 * len(layers):  # the whole network as one op: F.relu_mlp
                if getattr(x, "dtype", None) is not params[0].data.dtype:
                    x = conform_input(self, x, params[0].data.dtype, self._label(0))
                try:
                    return F.relu_mlp(x, params)
                except ValueError as e:
                    raise layers[0]._shape_error(x, e, self._label(0)) from None
        act = self.activation
        for layer in layers[:-1]:
            x = act(layer(x))
        y = layers[-1](x)
        self._sized = True  # every layer has sized and typed its parameters
        return y

    def _label(self, i: int) -> str:
        return f"MLP layer linear[{i}] ({self._linears[i]._describe()})"

    def extra_repr(self) -> str:
        return f"activation={getattr(self.activation, '__name__', self.activation)}"
