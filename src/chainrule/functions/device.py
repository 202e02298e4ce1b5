"""Moving data between devices, differentiably."""
from __future__ import annotations

from typing import Any

from ..backend import backend_of, get_backend
from ..core.function import Function
from ._checks import as_input

__all__ = ["to_device"]


class ToDevice(Function):
    def __init__(self, device):
        self.backend = get_backend(device)

    def forward(self, x):
        self.source = backend_of(x)
        return self.backend.asarray(x)

    def backward(self, gy):
        return to_device(gy, self.source)


def to_device(x: Any, device: Any) -> Any:
    """``x`` on ``device`` ("cpu", "cuda", or a Backend); the gradient goes back to x's device."""
    x = as_input("to_device", x)
    if backend_of(x.data) is get_backend(device):
        return x
    return ToDevice(device)(x)
