"""Variable methods and operators made from the op table: ``x.exp()`` is ``F.exp(x)``,
``x - y`` is ``F.sub(x, y)``.

``install()`` (run once when ``chainrule.functions`` is imported) puts the ops named in the
tables below on ``Variable``, skipping any name the class already defines. An op whose first
argument is the input becomes the method as it is (a plain function is a method; no wrapper,
no extra call). Methods that take a shape accept it PyTorch's way too: ``x.view(2, 3)``.
Operators and methods are looked up in the op table (``core.op.OPS``), so ``core`` never
imports an op module; ``x + 1.0`` and ``x * 2.0`` take the scalar op
directly (the hot path of elementwise chains).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.op import OPS
from ..core.variable import Variable

__all__ = ["ALIASES", "METHODS", "OPERATORS", "SCALAR_FIRST", "SHAPE_METHODS", "install"]

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
    # NumPy's methods
    "sum", "mean", "max", "min", "flatten", "squeeze", "unsqueeze",
)
# Other names for ops (PyTorch's, NumPy's): method name -> op name.
ALIASES: dict[str, str] = {"clamp": "clip", "astype": "cast", "to": "to_device"}
# Methods whose argument after the input is a shape or an axis order, given as one tuple
# or spread out: method name -> op name.
SHAPE_METHODS: dict[str, str] = {"view": "reshape", "reshape": "reshape", "expand": "expand",
                                 "permute": "transpose"}
# Python operators: operator -> the op it calls as ``op(x, other)`` (``x`` the Variable).
OPERATORS: dict[str, str] = {
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__rsub__": "rsub",
    "__mul__": "mul", "__rmul__": "mul", "__truediv__": "div", "__rtruediv__": "rdiv",
    "__pow__": "pow", "__rpow__": "rpow", "__matmul__": "matmul", "__getitem__": "getitem",
    "__neg__": "neg", "__abs__": "abs",
    "__eq__": "equal", "__ne__": "not_equal", "__lt__": "less", "__le__": "less_equal",
    "__gt__": "greater", "__ge__": "greater_equal",
}
# Reflected operators whose op takes the operands the other way round: ``other @ x``.
SWAPPED: dict[str, str] = {"__rmatmul__": "matmul"}
# Operators that run a scalar op directly when the other operand is a Python int/float:
# operator -> the table entry whose (first) op class is the scalar op.
SCALAR_FIRST: dict[str, str] = {"__add__": "add_scalar", "__mul__": "mul_scalar"}


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


def _transpose_method(op: Callable[..., Variable]) -> Callable[..., Variable]:
    def transpose(self: Variable, *axes: Any) -> Variable:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return op(self, axes or None)

    transpose.__qualname__ = "Variable.transpose"
    transpose.__doc__ = "``F.transpose(x, axes)``; the axes spread out or as one tuple, none: reversed."
    return transpose


def _transpose_property(op: Callable[..., Variable]) -> property:
    def T(self: Variable) -> Variable:
        return op(self, None)

    T.__qualname__ = "Variable.T"
    return property(T, doc="``F.transpose(x)``: the axes reversed.")


def _scalar_first(scalar_op: type, op: Callable[..., Variable], name: str) -> Callable[..., Variable]:
    """``op(x, other)``, but ``scalar_op(other)(x)`` when ``other`` is a Python int or float."""
    def method(self: Variable, other: Any) -> Variable:
        c = other.__class__
        if c is float or c is int:
            return scalar_op(other)(self)
        return op(self, other)

    method.__name__ = name
    method.__qualname__ = f"Variable.{name}"
    return method


def _swapped(op: Callable[..., Variable], name: str) -> Callable[..., Variable]:
    def method(self: Variable, other: Any) -> Variable:
        return op(other, self)

    method.__name__ = name
    method.__qualname__ = f"Variable.{name}"
    return method


def _table_function(name: str) -> Callable[..., Any] | None:
    """The public function of the op table's entry ``name``, or None."""
    entry = OPS.get(name)
    return entry.function if entry is not None else None


def install(cls: type = Variable) -> list[str]:
    """Put the table's ops and operators on ``cls`` (names it already has are left alone;
    ``object``'s comparisons count as missing); the names added."""
    added: list[str] = []

    def put(name: str, fn: Any) -> None:
        have = getattr(cls, name, None)
        if have is None or (name.startswith("__") and have is getattr(object, name, None)):
            setattr(cls, name, fn)
            added.append(name)

    for name in METHODS:
        fn = _table_function(name)
        if fn is not None:
            put(name, fn)
    for name, op in ALIASES.items():
        fn = _table_function(op)
        if fn is not None:
            put(name, fn)
    for name, op in SHAPE_METHODS.items():
        fn = _table_function(op)
        if fn is not None:
            put(name, _shape_method(fn, name))
    transpose = _table_function("transpose")
    if transpose is not None:
        put("transpose", _transpose_method(transpose))
        put("T", _transpose_property(transpose))
    for name, op in OPERATORS.items():
        fn = _table_function(op)
        if fn is None:
            continue
        scalar = SCALAR_FIRST.get(name)
        if scalar is not None and scalar in OPS:
            fn = _scalar_first(OPS[scalar].ops[0], fn, name)
        put(name, fn)
    for name, op in SWAPPED.items():
        fn = _table_function(op)
        if fn is not None:
            put(name, _swapped(fn, name))
    put("clone", OPS["clone"].function)
    put("tolist", tolist)
    return added


install()
