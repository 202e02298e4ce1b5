"""Argument checks shared by the ops: integers, axes, shapes and masks.

Each raises ``TypeError`` for a value of the wrong kind (a float or string axis, a bool where
an integer is meant, a string mask) and ``ValueError`` for a value out of range; the message
names the op. Python ints and NumPy integer scalars count as integers; ``bool`` does not.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..core.variable import Variable, as_variable

__all__ = ["as_input", "check_int", "check_axis", "check_shape", "check_mask"]

_int = int


def check_int(op: str, name: str, value: Any) -> int:
    """``value`` as a Python int; ``TypeError`` naming ``op`` and ``name`` unless it is an
    integer (a Python int, a NumPy integer or a 0-d integer array; not a bool)."""
    if value.__class__ is _int:
        return value
    if not isinstance(value, bool) and not isinstance(value, np.bool_):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{op}: {name} must be an integer, got {value!r} ({type(value).__name__})")


def check_axis(op: str, axis: Any, ndim: int, shape: Any = None) -> int:
    """``axis`` as an int in ``[0, ndim)`` (negative axes count from the end); ``TypeError``
    for a non-integer, ``ValueError`` naming the shape when out of range."""
    a = axis if axis.__class__ is _int else check_int(op, "axis", axis)
    if not -ndim <= a < ndim:
        shape_txt = f"shape {tuple(shape)}" if shape is not None else f"{ndim} axes"
        raise ValueError(f"{op}: axis {a} is out of range for {shape_txt}")
    return a + ndim if a < 0 else a


def check_shape(op: str, shape: Any) -> tuple:
    """``shape`` (an integer or a sequence of integers) as a tuple of Python ints."""
    if shape.__class__ is tuple and all(s.__class__ is _int for s in shape):
        return shape
    if isinstance(shape, (_int, np.integer)) and not isinstance(shape, bool):
        return (_int(shape),)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{op}: shape must be an integer or a sequence of integers, got {shape!r}")
    return tuple(check_int(op, "each shape entry", s) for s in shape)


def check_mask(op: str, mask: Any, name: str = "mask") -> None:
    """``TypeError`` unless ``mask`` (an array) holds booleans or numbers (nonzero is true)."""
    kind = getattr(getattr(mask, "dtype", None), "kind", None)
    if kind not in ("b", "i", "u", "f"):
        raise TypeError(f"{op}: {name} must be a boolean (or numeric) array, got "
                        f"{type(mask).__name__} of dtype {getattr(mask, 'dtype', None)}")


def as_input(op: str, x: Any) -> Variable:
    """``as_variable(x)``, with a conversion error re-raised as a ``TypeError`` naming ``op``."""
    if isinstance(x, Variable):
        return x
    try:
        return as_variable(x)
    except TypeError as e:
        msg = str(e)
        head, sep, rest = msg.partition(": ")
        if sep and " " not in head:  # drop the converter's own name ("Variable: ...")
            msg = rest
        raise TypeError(f"{op}: {msg}") from None
