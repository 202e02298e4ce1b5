"""Normalisation layers: ``BatchNorm`` (1d/2d by input rank), ``LayerNorm``, ``RMSNorm``.

Sizes may be left out: they are then taken from the first input (lazy initialisation), as are
the dtype and device of the parameters.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..backend import backend_of, get_backend
from ..core.variable import Variable
from ..functions.norm import batch_norm, layer_norm, rms_norm
from .base import Layer, Parameter, conform_input
from .linear import fill

__all__ = ["BatchNorm", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "RMSNorm"]


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Variable) else x if hasattr(x, "dtype") else np.asarray(x)


def _param_dtype(dtype: Any, data: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    return data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)


def _shape_arg(name: str, shape: Any) -> tuple | None:
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"{name}: normalized_shape must be positive sizes, got {shape}")
    return shape


def _adopt_dtype(layer: Layer, x: Any) -> None:
    """First call of a layer created with explicit sizes: take the input's float dtype (unless
    ``dtype=`` fixed it), as ``Linear`` does."""
    if layer.dtype is not None:
        return
    data = _data(x)
    if data.dtype.kind != "f":
        return
    for p in layer._params.values():
        if p is not None and p.dtype != data.dtype:
            p.data = p.data.astype(data.dtype)
    for name, b in list(layer._buffers.items()):
        if b is not None and b.dtype != data.dtype:
            layer.register_buffer(name, b.astype(data.dtype))


class BatchNorm(Layer):
    """Batch normalisation over channel axis 1: (N, C), (N, C, L) or (N, C, H, W) -> same shape.

    Parameters ``gamma`` (ones) and ``beta`` (zeros), shape (C,) (absent with ``affine=False``);
    buffers ``running_mean`` and ``running_var`` (C,), saved by ``state_dict`` and updated in
    training mode; ``eval()`` / ``chainrule.test_mode()`` normalise with them instead.
    """

    def __init__(self, num_features: int | None = None, momentum: float = 0.1, eps: float = 1e-5,
                 affine: bool = True, dtype: Any = None):
        super().__init__()
        self.momentum, self.eps, self.affine = float(momentum), float(eps), bool(affine)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.num_features: int | None = None
        self.register_param("gamma", Parameter(None) if self.affine else None)
        self.register_param("beta", Parameter(None) if self.affine else None)
        self.register_buffer("running_mean", None)
        self.register_buffer("running_var", None)
        self._pending = True
        if num_features is not None:
            self._create(int(num_features), self.dtype or np.dtype(np.float64), get_backend("cpu"))

    def _create(self, c: int, dtype: Any, backend: Any) -> None:
        xp = backend.xp
        self.num_features = c
        if self.affine:
            fill(self, "gamma", xp.ones(c, dtype=dtype))
            fill(self, "beta", xp.zeros(c, dtype=dtype))
        self.register_buffer("running_mean", xp.zeros(c, dtype=dtype))
        self.register_buffer("running_var", xp.ones(c, dtype=dtype))

    def _first_call(self, x: Any) -> None:
        if self.running_mean is None:
            data = _data(x)
            if data.ndim not in (2, 3, 4):
                raise ValueError(f"BatchNorm: input must be (N, C), (N, C, L) or (N, C, H, W), got shape {data.shape}")
            self._create(data.shape[1], _param_dtype(self.dtype, data), backend_of(data))
        _adopt_dtype(self, x)
        self._pending = False

    def forward(self, x: Any) -> Variable:
        if self._pending:
            self._materialize(x)
        dtype = self.running_mean.dtype
        if getattr(x, "dtype", None) is not dtype:
            x = conform_input(self, x, dtype)
        try:
            return batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var,
                              training=self.is_training(), momentum=self.momentum, eps=self.eps)
        except ValueError as e:
            raise ValueError(f"{self._describe()}: {e}") from None

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, momentum={self.momentum}, eps={self.eps}"


BatchNorm1d = BatchNorm
BatchNorm2d = BatchNorm


class _TrailingAxesNorm(Layer):
    """Shared shape of LayerNorm and RMSNorm: affine parameters over the trailing
    ``normalized_shape`` axes, sized lazily from the last axis of the first input."""

    _name = ""
    _with_beta = True

    def __init__(self, normalized_shape: int | Sequence[int] | None, eps: float, affine: bool, dtype: Any):
        super().__init__()
        self.eps, self.affine = float(eps), bool(affine)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.normalized_shape = _shape_arg(self._name, normalized_shape)
        self.register_param("gamma", Parameter(None) if self.affine else None)
        if self._with_beta:
            self.register_param("beta", Parameter(None) if self.affine else None)
        self._ready = False
        self._pending = True
        if self.normalized_shape is not None:
            self._create(self.normalized_shape, self.dtype or np.dtype(np.float64), get_backend("cpu"))

    def _create(self, shape: tuple, dtype: Any, backend: Any) -> None:
        self.normalized_shape = shape
        if self.affine:
            fill(self, "gamma", backend.xp.ones(shape, dtype=dtype))
            if self._with_beta:
                fill(self, "beta", backend.xp.zeros(shape, dtype=dtype))
        self._ready = True

    def _first_call(self, x: Any) -> None:
        if not self._ready:
            data = _data(x)
            if data.ndim == 0:
                raise ValueError(f"{self._name}: input must have at least one axis, got a 0-d input")
            self._create((data.shape[-1],), _param_dtype(self.dtype, data), backend_of(data))
        _adopt_dtype(self, x)
        self._pending = False

    def forward(self, x: Any) -> Variable:
        if self._pending:
            self._materialize(x)
        gamma = self.gamma
        if gamma is not None and getattr(x, "dtype", None) is not gamma.data.dtype:
            x = conform_input(self, x, gamma.data.dtype)
        try:
            return self._normalize(x)
        except ValueError as e:
            raise ValueError(f"{self._describe()}: {e}") from None

    def _normalize(self, x: Any) -> Variable:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"normalized_shape={self.normalized_shape}, eps={self.eps}"


class LayerNorm(_TrailingAxesNorm):
    """Normalise over the trailing ``normalized_shape`` axes (default: the last axis, sized lazily).

    Parameters ``gamma`` (ones) and ``beta`` (zeros) of ``normalized_shape`` (absent with
    ``affine=False``). Any input (..., *normalized_shape) -> same shape.
    """

    _name = "LayerNorm"

    def __init__(self, normalized_shape: int | Sequence[int] | None = None, eps: float = 1e-5,
                 affine: bool = True, dtype: Any = None):
        super().__init__(normalized_shape, eps, affine, dtype)

    def _normalize(self, x: Any) -> Variable:
        return layer_norm(x, self.gamma, self.beta, self.eps, self.normalized_shape)


class RMSNorm(_TrailingAxesNorm):
    """``x / sqrt(mean(x**2) + eps) * gamma`` over the trailing ``normalized_shape`` axes.

    Parameter ``gamma`` (ones) of ``normalized_shape`` (default: the last axis, sized lazily).
    """

    _name = "RMSNorm"
    _with_beta = False

    def __init__(self, normalized_shape: int | Sequence[int] | None = None, eps: float = 1e-6,
                 affine: bool = True, dtype: Any = None):
        super().__init__(normalized_shape, eps, affine, dtype)

    def _normalize(self, x: Any) -> Variable:
        return rms_norm(x, self.gamma, self.eps, self.normalized_shape)
