"""Constructors: Variables made from shapes, ranges, values and random draws."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..backend import backend_of, get_backend
from .variable import Variable, _to_array, as_array


def _shape_args(shape: Iterable) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be integers, got {shape!r}") from None


def variable(*values: float, name: str | None = None) -> Variable:
    """``variable(0.5)`` is a 0-d float64 Variable; ``variable(1.0, 2.0, 3.0)`` has shape (3,)."""
    if len(values) == 1:
        return Variable(np.asarray(_to_array(values[0], "variable"), dtype=np.float64), name=name)
    return Variable(np.asarray(values, dtype=np.float64), name=name)


def zeros(*shape: Any, dtype: Any = np.float64, device: Any = None) -> Variable:
    """A Variable of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Variable(get_backend(device).xp.zeros(_shape_args(shape), dtype=dtype))


def ones(*shape: Any, dtype: Any = np.float64, device: Any = None) -> Variable:
    """A Variable of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Variable(get_backend(device).xp.ones(_shape_args(shape), dtype=dtype))


def zeros_like(x: Any) -> Variable:
    d = as_array(x)
    return Variable(backend_of(d).xp.zeros_like(d))


def ones_like(x: Any) -> Variable:
    d = as_array(x)
    return Variable(backend_of(d).xp.ones_like(d))


def full(shape: Any, value: float, dtype: Any = np.float64, device: Any = None) -> Variable:
    return Variable(get_backend(device).xp.full(_shape_args((shape,)), value, dtype=dtype))


def rand(shape: Any, rng: Any = None, dtype: Any = np.float64) -> Variable:
    """Uniform [0, 1) samples; ``rng`` is an int seed, a NumPy Generator or a chainrule source."""
    from ..random import get_rng

    return Variable(np.asarray(get_rng(rng).random(_shape_args((shape,))), dtype=dtype))


def randn(shape: Any, rng: Any = None, dtype: Any = np.float64) -> Variable:
    """Standard-normal samples; ``rng`` as in ``rand``."""
    from ..random import get_rng

    return Variable(np.asarray(get_rng(rng).standard_normal(_shape_args((shape,))), dtype=dtype))
