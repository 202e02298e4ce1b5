"""Constructors: Variables made from shapes, ranges, values and random draws.

Shapes are given PyTorch's way or NumPy's: ``zeros(2, 3)`` and ``zeros((2, 3))`` agree. Without
``dtype=`` floating results get the default dtype (``get_default_dtype()``, float64 unless
changed by ``set_default_dtype``); ``device=`` puts the result on that device.
"""
from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..backend import Backend, backend_of, get_backend
from . import dtypes as _dtypes
from .variable import Variable, _to_array, as_array

__all__ = ["arange", "eye", "full", "linspace", "ones", "ones_like", "rand", "randn", "tensor", "variable",
           "zeros", "zeros_like"]

ShapeArg = int | Sequence[int]
Device = str | Backend | None


def _shape_args(shape: tuple, who: str) -> tuple[int, ...]:
    """``(2, 3)`` or ``((2, 3),)`` (the ``*shape`` of a constructor) as a tuple of ints >= 0."""
    dims: Any = shape
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        dims = shape[0]
    try:
        out = tuple(operator.index(s) for s in dims)
    except TypeError:
        hint = "; pass rng= and dtype= by keyword" if len(shape) > 1 and isinstance(shape[0], (tuple, list)) else ""
        raise TypeError(f"{who}: the shape must be integers or one tuple of integers, got {shape!r}{hint}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"{who}: negative dimension in shape {out}")
    return out


def _dtype(dtype: DTypeLike | None) -> np.dtype:
    return _dtypes._default if dtype is None else np.dtype(dtype)


def _on(device: Device, arr: np.ndarray) -> Any:
    """A host array moved to ``device`` (left alone for the CPU)."""
    if device is None:
        return arr
    return get_backend(device).asarray(arr)


def variable(*values: float, name: str | None = None) -> Variable:
    """``variable(0.5)`` is a 0-d Variable; ``variable(1.0, 2.0, 3.0)`` has shape (3,) (default dtype)."""
    if len(values) == 1:
        return Variable(np.asarray(_to_array(values[0], "variable"), dtype=_dtypes._default), name=name)
    return Variable(np.asarray(values, dtype=_dtypes._default), name=name)


def tensor(data: ArrayLike | Variable, dtype: DTypeLike | None = None, device: Device = None,
           name: str | None = None, *, requires_grad: bool | None = None) -> Variable:
    """A new leaf Variable holding a copy of ``data``, cast to ``dtype`` when given.

    As ``Variable(data)``: arrays keep their dtype, Python numbers and lists get the default
    dtype (unlike PyTorch, ``tensor([1, 2])`` is floating; ask for ``dtype=cr.int64``), and
    ``requires_grad`` is True for floating data unless turned off (integer data takes no gradient).
    """
    if dtype is not None and isinstance(data, (numbers.Number, list, tuple)):
        try:
            arr: Any = np.array(data, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"tensor: cannot convert {type(data).__name__} to a {np.dtype(dtype)} array: {e}") from None
    else:
        arr = _to_array(data, "tensor")
        arr = backend_of(arr).xp.array(arr, dtype=dtype, copy=True)
    if device is not None:
        arr = get_backend(device).asarray(arr)
    return Variable(arr, name=name, requires_grad=requires_grad)


def zeros(*shape: ShapeArg, dtype: DTypeLike | None = None, device: Device = None) -> Variable:
    """A Variable of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Variable(get_backend(device).xp.zeros(_shape_args(shape, "zeros"), dtype=_dtype(dtype)))


def ones(*shape: ShapeArg, dtype: DTypeLike | None = None, device: Device = None) -> Variable:
    """A Variable of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Variable(get_backend(device).xp.ones(_shape_args(shape, "ones"), dtype=_dtype(dtype)))


def zeros_like(x: ArrayLike | Variable, dtype: DTypeLike | None = None) -> Variable:
    """Zeros with the shape, device and (unless ``dtype``) dtype of ``x``."""
    d = as_array(x)
    return Variable(backend_of(d).xp.zeros_like(d, dtype=dtype))


def ones_like(x: ArrayLike | Variable, dtype: DTypeLike | None = None) -> Variable:
    """Ones with the shape, device and (unless ``dtype``) dtype of ``x``."""
    d = as_array(x)
    return Variable(backend_of(d).xp.ones_like(d, dtype=dtype))


def full(shape: ShapeArg, value: float, dtype: DTypeLike | None = None, device: Device = None) -> Variable:
    """A Variable of ``shape`` (an int or a tuple) filled with ``value``: ``full((2, 3), 7.0)``."""
    return Variable(get_backend(device).xp.full(_shape_args((shape,), "full"), value, dtype=_dtype(dtype)))


def eye(n: int, m: int | None = None, k: int = 0, *, dtype: DTypeLike | None = None,
        device: Device = None) -> Variable:
    """``(n, m)`` (``m`` defaults to ``n``) with ones on diagonal ``k`` and zeros elsewhere."""
    rows, cols = _shape_args((n, n if m is None else m), "eye")
    return Variable(get_backend(device).xp.eye(rows, cols, operator.index(k), dtype=_dtype(dtype)))


def arange(start: float, stop: float | None = None, step: float = 1, *, dtype: DTypeLike | None = None,
           device: Device = None) -> Variable:
    """``arange(5)``, ``arange(1, 4)``, ``arange(0.0, 1.0, 0.25)``: ``[start, stop)`` by ``step``.

    As in NumPy and PyTorch, integer arguments give int64; a float argument gives the default
    dtype.
    """
    if stop is None:
        start, stop = 0, start
    bounds = (start, stop, step)
    for b in bounds:
        if isinstance(b, (bool, np.bool_)) or not isinstance(b, numbers.Real):
            raise TypeError(f"arange: start, stop and step must be real numbers, got {bounds}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        integral = all(isinstance(b, (numbers.Integral, np.integer)) for b in bounds)
        dtype = np.int64 if integral else _dtypes._default
    return Variable(get_backend(device).xp.arange(start, stop, step, dtype=dtype))


def linspace(start: float, stop: float, num: int = 50, *, dtype: DTypeLike | None = None,
             device: Device = None) -> Variable:
    """``num`` evenly spaced values from ``start`` to ``stop``, both included."""
    n = operator.index(num)
    if n < 0:
        raise ValueError(f"linspace: num must be non-negative, got {n}")
    return Variable(get_backend(device).xp.linspace(start, stop, n, dtype=_dtype(dtype)))


def rand(*shape: ShapeArg, rng: Any = None, dtype: DTypeLike | None = None, device: Device = None) -> Variable:
    """Uniform [0, 1) samples: ``rand(2, 3)`` or ``rand((2, 3))``.

    ``rng``: None (the default generator, see ``manual_seed``), an int seed, a NumPy Generator
    or a chainrule source. Draws are made in float64 and then cast, so a seed gives the same
    values in every dtype (up to rounding).
    """
    from ..random import get_rng

    draws = get_rng(rng).random(_shape_args(shape, "rand"))
    return Variable(_on(device, np.asarray(draws, dtype=_dtype(dtype))))


def randn(*shape: ShapeArg, rng: Any = None, dtype: DTypeLike | None = None, device: Device = None) -> Variable:
    """Standard-normal samples: ``randn(2, 3)`` or ``randn((2, 3))``; ``rng`` as in ``rand``."""
    from ..random import get_rng

    draws = get_rng(rng).standard_normal(_shape_args(shape, "randn"))
    return Variable(_on(device, np.asarray(draws, dtype=_dtype(dtype))))
