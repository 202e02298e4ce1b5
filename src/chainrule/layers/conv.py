"""Convolution and pooling layers (NCHW): ``Conv2d``, ``ConvTranspose2d``, ``MaxPool2d``,
``AvgPool2d``, ``AdaptiveAvgPool2d``."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import backend_of, get_backend
from ..core.variable import Variable
from ..functions.conv import _pair, conv2d, conv_transpose2d
from ..functions.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..random import get_rng
from .base import Layer, Parameter, conform_input
from .linear import fill

__all__ = ["Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _positive(layer: str, name: str, v: Any) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {v!r}")
    return int(v)


class _ConvBase(Layer):
    """Shared lazy initialisation: parameters are created at the first call from the input's
    channel count, dtype and device (or at construction when ``in_channels`` is given)."""

    transposed = False

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 groups: int, bias: bool, in_channels: int | None, dtype: Any, rng: Any):
        super().__init__()
        name = type(self).__name__
        self.out_channels = _positive(name, "out_channels", out_channels)
        self.in_channels: int | None = None if in_channels is None else _positive(name, "in_channels", in_channels)
        self.groups = _positive(name, "groups", groups)
        self.kernel_size = _pair(kernel_size, "kernel_size", name)
        self.stride = _pair(stride, "stride", name)
        self.padding = _pair(padding, "padding", name)
        self.dilation = _pair(dilation, "dilation", name)
        if self.out_channels % self.groups:
            raise ValueError(f"{name}: out_channels={self.out_channels} is not divisible by groups={self.groups}")
        self.bias = bool(bias)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.rng = get_rng(rng)
        self.register_param("w", Parameter(None))
        self.register_param("b", Parameter(None) if self.bias else None)
        self._pending = True
        if self.in_channels is not None:
            self._create(self.in_channels, self.dtype or np.dtype(np.float64), get_backend("cpu"))

    def _weight_shape(self, c_in: int) -> tuple:
        kh, kw = self.kernel_size
        if self.transposed:
            return (c_in, self.out_channels // self.groups, kh, kw)
        return (self.out_channels, c_in // self.groups, kh, kw)

    def _create(self, c_in: int, dtype: Any, backend: Any) -> None:
        name = type(self).__name__
        if c_in % self.groups:
            raise ValueError(f"{name}: in_channels={c_in} is not divisible by groups={self.groups}")
        kh, kw = self.kernel_size
        fan_in = (c_in // self.groups) * kh * kw
        # He (Kaiming) normal initialisation for ReLU networks: std = sqrt(2 / fan_in)
        w = self.rng.standard_normal(self._weight_shape(c_in)) * math.sqrt(2.0 / fan_in)
        self.in_channels = c_in
        fill(self, "w", backend.asarray(w, dtype=dtype))
        if self.bias:
            fill(self, "b", backend.xp.zeros(self.out_channels, dtype=dtype))

    def _first_call(self, x: Any) -> None:
        data = x.data if isinstance(x, Variable) else x if hasattr(x, "dtype") else np.asarray(x)
        name = type(self).__name__
        if data.ndim != 4:
            raise ValueError(f"{name}: input must be 4-D (N, C, H, W), got shape {tuple(data.shape)}")
        dtype = self.dtype
        if dtype is None:
            dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
        if self.w is None or self.w.data is None:
            self._create(data.shape[1], dtype, backend_of(data))
        elif self.dtype is None and self.w.dtype != dtype:
            for p in (self.w, self.b):
                if p is not None:
                    p.data = p.data.astype(dtype)
        self._pending = False

    def _prepare_input(self, x: Any) -> Any:
        """Materialise at the first call; then check the dtype and the channel count."""
        if self._pending:
            self._materialize(x)
        w = self.w.data
        if getattr(x, "dtype", None) is not w.dtype:
            x = conform_input(self, x, w.dtype)
        shape = tuple(x.shape)
        c_in = w.shape[0] if self.transposed else w.shape[1] * self.groups
        if len(shape) != 4 or shape[1] != c_in:
            raise ValueError(f"{self._describe()}: input must be (N, {c_in}, H, W), got shape {shape}")
        return x

    def extra_repr(self) -> str:
        return (f"out_channels={self.out_channels}, in_channels={self.in_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, groups={self.groups}, bias={self.bias}")


class Conv2d(_ConvBase):
    """2-D convolution layer: x (N, C_in, H, W) -> (N, out_channels, OH, OW).

    Parameters ``w`` (out_channels, C_in/groups, kh, kw), He-normal, and ``b`` (out_channels,),
    zeros (absent with ``bias=False``). Without ``in_channels`` they are created at the first
    call from the input's channel count, dtype and device.
    """

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, in_channels: int | None = None,
                 dtype: Any = None, rng: Any = None):
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias, in_channels,
                         dtype, rng)

    def forward(self, x: Any) -> Variable:
        x = self._prepare_input(x)
        return conv2d(x, self.w, self.b, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvBase):
    """Transposed 2-D convolution layer: x (N, C_in, H, W) -> (N, out_channels, OH, OW) with
    OH = (H-1)*sh - 2*ph + dh*(kh-1) + output_padding + 1 (PyTorch semantics).

    Parameters ``w`` (C_in, out_channels/groups, kh, kw) and ``b`` (out_channels,); lazy like ``Conv2d``.
    """

    transposed = True

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 in_channels: int | None = None, dtype: Any = None, rng: Any = None):
        self.output_padding = _pair(output_padding, "output_padding", "ConvTranspose2d")
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias, in_channels,
                         dtype, rng)

    def forward(self, x: Any) -> Variable:
        x = self._prepare_input(x)
        return conv_transpose2d(x, self.w, self.b, self.stride, self.padding, self.output_padding,
                                self.dilation, self.groups)


class MaxPool2d(Layer):
    """Max pooling layer (no parameters); see ``F.max_pool2d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "MaxPool2d")
        self.padding = _pair(padding, "padding", "MaxPool2d")
        self.dilation = _pair(dilation, "dilation", "MaxPool2d")

    def forward(self, x: Any) -> Variable:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}")


class AvgPool2d(Layer):
    """Average pooling layer (no parameters); see ``F.avg_pool2d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "AvgPool2d")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "AvgPool2d")
        self.padding = _pair(padding, "padding", "AvgPool2d")
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Any) -> Variable:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad}")


class AdaptiveAvgPool2d(Layer):
    """Adaptive average pooling to a fixed output size; see ``F.adaptive_avg_pool2d``."""

    def __init__(self, output_size: Any):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Variable:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
