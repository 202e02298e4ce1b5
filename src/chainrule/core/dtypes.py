"""Dtype names (``cr.float32`` ...) and the default floating dtype.

The default dtype is what Python numbers and lists become (``Variable(1.0)``, ``x + [1, 2]``)
and what the constructors (``zeros``, ``randn``, ``arange`` with float arguments, ...) make
when no ``dtype=`` is given. It starts as float64 and is process-wide.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["DTypeLike", "bool_", "float16", "float32", "float64", "get_default_dtype", "int32", "int64",
           "set_default_dtype"]

float16: np.dtype = np.dtype(np.float16)
float32: np.dtype = np.dtype(np.float32)
float64: np.dtype = np.dtype(np.float64)
int32: np.dtype = np.dtype(np.int32)
int64: np.dtype = np.dtype(np.int64)
bool_: np.dtype = np.dtype(np.bool_)

# Read on the path that turns Python numbers into arrays: a plain module global.
_default: np.dtype = float64


def get_default_dtype() -> np.dtype:
    """The floating dtype of Python numbers, lists and constructors (float64 unless changed)."""
    return _default


def set_default_dtype(dtype: DTypeLike) -> None:
    """Make ``dtype`` (float16, float32 or float64) the default floating dtype.

    ``cr.set_default_dtype(cr.float32)``; arrays passed in keep their own dtype.
    """
    global _default
    if dtype is None:
        raise TypeError("set_default_dtype: expected a floating dtype, got None")
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"set_default_dtype: not a dtype: {dtype!r}") from None
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: the default dtype must be floating (float16, float32, "
                        f"float64), got {d}")
    _default = d
