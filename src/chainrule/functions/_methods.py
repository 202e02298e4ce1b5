"""Variable methods made from the ``F`` namespace: ``x.exp()`` is ``F.exp(x)``.

``install()`` (run once when ``chainrule.functions`` is imported) puts the ops named in the
tables below on ``Variable``, skipping any name the class already defines. An op whose first
argument is the input becomes the method as it is (a plain function is a method; no wrapper,
no extra call). Methods that take a shape accept it PyTorch's way too: ``x.view(2, 3)``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.function import Function
from ..core.variable import Variable

__all__ = ["ALIASES", "METHODS", "SHAPE_METHODS", "clone", "install"]

# Ops that become methods under their own name (the first argument is the Variable).
METHODS: tuple[str, ...] = (
    # elementwise math and activations
    "exp", "log", "sqrt", "rsqrt", "square", "sin", "cos", "tan", "tanh", "abs", "sign", "erf",
    "neg", "pow", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "silu", "swish", "softplus",
    "softmax", "log_softmax", "clip", "maximum", "minimum", "logical_not", "masked_fill",
    # reductions and indexing
    "logsumexp", "var", "argmax", "argmin", "take", "gather", "sum_to",
    # shape and linear algebra
    "expand_dims", "swapaxes", "flip", "tril", "triu", "split", "chunk", "unstack",
    "matmul", "dot", "outer", "broadcast_to",
)
# PyTorch's names for ops that chainrule spells differently: method name -> op name.
ALIASES: dict[str, str] = {"clamp": "clip"}
# Methods whose argument after the input is a shape or an axis order, given as one tuple
# or spread out: method name -> op name.
SHAPE_METHODS: dict[str, str] = {"view": "reshape", "expand": "expand", "permute": "transpose"}


class Clone(Function):
    """A differentiable copy: new data, gradient passed through unchanged."""

    __slots__ = ()

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy

    def backward_data(self, gy):
        return gy


def clone(x: Variable) -> Variable:
    """A copy of ``x`` with its own data that stays in the graph (gradient: identity)."""
    return Clone()(x)


def tolist(x: Variable) -> Any:
    """The data as (nested) Python lists of numbers, as ``ndarray.tolist``."""
    return x.numpy().tolist()


def _shape_method(op: Callable[..., Variable], name: str) -> Callable[..., Variable]:
    def method(self: Variable, *shape: Any) -> Variable:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return op(self, shape)

    method.__name__ = name
    method.__qualname__ = f"Variable.{name}"
    method.__doc__ = f"``F.{op.__name__}(x, shape)``; the shape spread out or as one tuple: ``x.{name}(2, 3)``."
    return method


def install(cls: type = Variable) -> list[str]:
    """Put the table's ops on ``cls`` (names it already has are left alone); the names added."""
    from .. import functions as F

    added: list[str] = []

    def put(name: str, fn: Callable[..., Any]) -> None:
        if not hasattr(cls, name):
            setattr(cls, name, fn)
            added.append(name)

    for name in METHODS:
        if hasattr(F, name):
            put(name, getattr(F, name))
    for name, op in ALIASES.items():
        if hasattr(F, op):
            put(name, getattr(F, op))
    for name, op in SHAPE_METHODS.items():
        if hasattr(F, op):
            put(name, _shape_method(getattr(F, op), name))
    put("clone", clone)
    put("tolist", tolist)
    return added


install()
