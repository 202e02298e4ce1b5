"""``Model``: the base of ready-made models. A model is a Layer (parameters, modes, state)."""
from __future__ import annotations

from ..layers.base import Layer

__all__ = ["Model"]

Model = Layer
"""Models are Layers: ``params()``, ``named_params()``, ``cleargrads()``, ``state_dict()``, ..."""
