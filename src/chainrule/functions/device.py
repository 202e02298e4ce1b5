"""Moving data between devices, differentiably: the gradient goes back to the source device
and a tangent travels with its value."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backend import backend_of, get_backend
from ..core.op import Op, declare

if TYPE_CHECKING:
    from ..core.variable import Operand, Variable
from ._checks import as_input

__all__ = ["to_device"]


class ToDevice(Op):
    """``x`` copied to ``device`` (a name or a Backend); linear, so both rules are transfers:
    the VJP moves the gradient back to the input's device, the JVP moves the tangent along."""

    def __init__(self, device):
        self.backend = get_backend(device)

    def forward(self, x):
        return self.backend.asarray(x)

    def vjp(self, ns, gy, y, x):
        return ns.call(ToDevice(backend_of(ns.data(x))), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(ToDevice(self.backend), ts[0])


@declare(ToDevice, samples=lambda rng: [(rng.standard_normal((2, 3)), "cpu")],
         torch=lambda t, x, device: x.to(device))
def to_device(x: Operand, device: Any) -> Variable:
    """``x`` on ``device`` ("cpu", "cuda", or a Backend); the gradient goes back to x's device."""
    x = as_input("to_device", x)
    if backend_of(x.data) is get_backend(device):
        return x
    return ToDevice(device)(x)
