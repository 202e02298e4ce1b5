"""Broadcasting and its adjoint: ``broadcast_to`` and ``sum_to``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import xp_of
from ..core.function import Function
from ._checks import as_input, check_shape

__all__ = ["broadcast_to", "sum_to", "expand", "sum_to_array"]


def sum_to_array(a: Any, shape: tuple) -> Any:
    """Sum array ``a`` down to ``shape`` (the reverse of NumPy broadcasting)."""
    shape = tuple(shape)
    if a.shape == shape:
        return a
    if a.shape[1:] == shape:  # the common case: a bias-like gradient, summed over the batch axis
        return np.add.reduce(a, axis=0) if type(a) is np.ndarray else a.sum(axis=0)
    lead = a.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {a.shape} to larger shape {shape}")
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and a.shape[i + lead] != 1)
    y = a.sum(axis=axes, keepdims=True) if axes else a
    if lead:
        y = y.reshape(shape)
    if y.shape != shape:
        raise ValueError(f"sum_to: shape {a.shape} does not broadcast to {shape}")
    return y


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return xp_of(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x: Any, shape: Any) -> Any:
    """Broadcast ``x`` to ``shape`` (NumPy rules); gradient: ``sum_to`` back."""
    x = as_input("broadcast_to", x)
    if shape.__class__ is not tuple:  # a tuple's entries are checked by the array library
        shape = check_shape("broadcast_to", shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def expand(x: Any, shape: Any) -> Any:
    """PyTorch spelling of ``broadcast_to``; ``-1`` keeps that axis' size."""
    x = as_input("expand", x)
    shape = check_shape("expand", shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: target shape {shape} has fewer axes than input shape {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return broadcast_to(x, shape)


def sum_to(x: Any, shape: Any) -> Any:
    """Sum ``x`` down to ``shape``, the adjoint of broadcasting; gradient: ``broadcast_to``."""
    x = as_input("sum_to", x)
    if shape.__class__ is not tuple:  # a tuple's entries are checked by the array library
        shape = check_shape("sum_to", shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)
