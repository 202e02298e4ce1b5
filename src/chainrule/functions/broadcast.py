"""Broadcasting and its adjoint: ``broadcast_to`` and ``sum_to`` (``sum_to_array``, the array
form that derivative rules use, lives in ``core/arrayns.py``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backend import xp_of
from ..core.arrayns import sum_to_array
from ..core.op import Op, declare

if TYPE_CHECKING:
    from ..core.variable import Operand, Variable
from ._checks import as_input, check_shape

__all__ = ["broadcast_to", "sum_to", "expand", "sum_to_array"]


class BroadcastTo(Op):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return xp_of(x).broadcast_to(x, self.shape)

    def vjp(self, ns, gy, y, x):
        return ns.sum_to(gy, x.shape)

    def jvp(self, ns, ts, y, x):
        return ns.broadcast_to(ts[0], self.shape)


class SumTo(Op):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return sum_to_array(x, self.shape)

    def vjp(self, ns, gy, y, x):
        return ns.broadcast_to(gy, x.shape)

    def jvp(self, ns, ts, y, x):
        return ns.sum_to(ts[0], self.shape)


@declare(BroadcastTo, samples=lambda rng: [(rng.standard_normal((3, 1)), (2, 3, 4)), (rng.standard_normal(()), (2, 3))],
         torch=lambda t, x, shape: t.broadcast_to(x, shape))
def broadcast_to(x: Operand, shape: Any) -> Variable:
    """Broadcast ``x`` to ``shape`` (NumPy rules); gradient: ``sum_to`` back."""
    x = as_input("broadcast_to", x)
    if shape.__class__ is not tuple:  # a tuple's entries are checked by the array library
        shape = check_shape("broadcast_to", shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


@declare(BroadcastTo, samples=lambda rng: [(rng.standard_normal((3, 1)), (2, -1, 4))],
         torch=lambda t, x, shape: x.expand(*shape))
def expand(x: Operand, shape: Any) -> Variable:
    """PyTorch spelling of ``broadcast_to``; ``-1`` keeps that axis' size."""
    x = as_input("expand", x)
    shape = check_shape("expand", shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: target shape {shape} has fewer axes than input shape {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return broadcast_to(x, shape)


@declare(SumTo, samples=lambda rng: [(rng.standard_normal((3, 4)), (3, 1)), (rng.standard_normal((2, 3, 4)), (3, 1)),
                                   (rng.standard_normal((4, 3)).T, ())],
         torch=lambda t, x, shape: x.sum_to_size(shape) if shape else x.sum())
def sum_to(x: Operand, shape: Any) -> Variable:
    """Sum ``x`` down to ``shape``, the adjoint of broadcasting; gradient: ``broadcast_to``."""
    x = as_input("sum_to", x)
    if shape.__class__ is not tuple:  # a tuple's entries are checked by the array library
        shape = check_shape("sum_to", shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)
