"""``Linear``: the fully connected layer ``y = x @ w + b`` with lazy initialisation."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import backend_of, get_backend
from ..core.variable import Variable
from ..functions.linalg import linear
from ..random import get_rng
from .base import Layer, Parameter, conform_input

__all__ = ["Linear"]


def _check_size(name: str, v: Any, optional: bool = False) -> int | None:
    if v is None and optional:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"Linear: {name} must be a positive integer, got {v!r}")
    return int(v)


def fill(layer: Layer, name: str, array: Any) -> None:
    """Put ``array`` into ``layer``'s parameter slot ``name``: the uninitialised Parameter made
    at construction is filled in place (a slot emptied by the user gets a new Parameter)."""
    p = layer._params.get(name)
    if p is None:
        setattr(layer, name, Parameter(array))
    elif p.data is None:
        p.materialize(array)
    else:
        p.data = array
        p._version += 1


class Linear(Layer):
    """Fully connected layer: ``x`` (..., in) -> ``x @ w + b`` (..., out).

    Parameters ``w`` (in, out), drawn as ``standard_normal((in, out)) / sqrt(in)`` from ``rng``,
    and ``b`` (out,), zeros (absent with ``bias=False``). Argument order as the reference:
    ``Linear(out_size, in_size=None)``. Without ``in_size`` the parameters exist from
    construction, uninitialised, and are filled at the first call from the input's last axis,
    dtype and device. Without ``dtype`` they take the dtype of the first (floating) input;
    ``dtype=`` fixes it. Later input of another float dtype raises ``TypeError`` (integer input
    is cast); input with the wrong last axis raises ``ValueError`` naming the sizes.
    """

    def __init__(self, out_size: int, in_size: int | None = None, bias: bool = True, dtype: Any = None,
                 rng: Any = None):
        super().__init__()
        self.out_size = _check_size("out_size", out_size)
        self.in_size = _check_size("in_size", in_size, optional=True)
        self.bias = bool(bias)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.rng = get_rng(rng)
        self.register_param("w", Parameter(None))
        self.register_param("b", Parameter(None) if self.bias else None)
        self._pending = True  # the first call may create (or retype) the parameters
        if self.in_size is not None:
            self._create(self.in_size, self.dtype or np.dtype(np.float64), get_backend("cpu"))

    def _create(self, in_size: int, dtype: Any, backend: Any) -> None:
        w = self.rng.standard_normal((in_size, self.out_size)) * (1.0 / math.sqrt(in_size))
        self.in_size = in_size
        fill(self, "w", backend.asarray(w, dtype=dtype))
        if self.bias:
            fill(self, "b", backend.xp.zeros(self.out_size, dtype=dtype))

    def _first_call(self, x: Any) -> None:
        data = x.data if isinstance(x, Variable) else x if hasattr(x, "dtype") else np.asarray(x)
        if data.ndim == 0:
            raise ValueError(f"{self._describe()}: input must have shape (..., in_size), got a 0-d input")
        dtype = self.dtype
        if dtype is None:
            dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
        if self.w is None or self.w.data is None:
            self._create(data.shape[-1], dtype, backend_of(data))
        else:
            if self.in_size is None:  # filled by load_state_dict
                self.in_size = int(self.w.data.shape[0])
            if self.dtype is None and self.w.data.dtype != dtype:
                for p in (self.w, self.b):
                    if p is not None:
                        p.data = p.data.astype(dtype)
        self._pending = False

    def _shape_error(self, x: Any, err: Exception, label: str | None = None) -> Exception:
        shape = tuple(getattr(x, "shape", np.shape(x)))
        if not shape or shape[-1] != self.w.data.shape[0]:
            return ValueError(f"{label or self._describe()}: input has {shape[-1] if shape else 'no'} features "
                              f"(shape {shape}) but the layer has in_size={self.w.data.shape[0]} "
                              f"(w {tuple(self.w.data.shape)})")
        return err

    def forward(self, x: Any) -> Variable:
        if self._pending:
            self._materialize(x)
        w = self.w
        if getattr(x, "dtype", None) is not w.data.dtype:
            x = conform_input(self, x, w.data.dtype)
        try:
            return linear(x, w, self.b)
        except ValueError as e:
            raise self._shape_error(x, e) from None

    def extra_repr(self) -> str:
        return f"out_size={self.out_size}, in_size={self.in_size}, bias={self.bias}"
