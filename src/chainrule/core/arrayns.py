"""The two namespaces a derivative rule is written against.

An op's ``vjp``/``jvp`` rule (``core/op.py``) is one piece of code that runs in two worlds:

* first-order passes and forward mode: its arguments are arrays and ``ns`` is ``A`` (this
  module's ``ArrayNamespace``), plain NumPy/CuPy calls;
* ``create_graph=True`` passes: its arguments are Variables and ``ns`` is ``V``, whose names are
  the differentiable public functions of the op table, so the rule's result is a graph.

Python operators (``+ - * / ** @``, unary ``-``, comparisons) and ``.shape``/``.dtype``/
``.ndim`` work the same on both, so a rule needs ``ns`` only for named functions. Both
namespaces expose the same names (a test checks it); ``data(v)`` gives the array behind a
Variable (the identity on arrays) for constants such as masks, which carry no gradient.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..backend import xp_of

__all__ = ["A", "V", "ArrayNamespace", "VariableNamespace", "sum_to_array", "NAMES"]

_ndarray = np.ndarray


def sum_to_array(a: Any, shape: tuple) -> Any:
    """Sum array ``a`` down to ``shape`` (the reverse of NumPy broadcasting)."""
    shape = tuple(shape)
    if a.shape == shape:
        return a
    if a.shape[1:] == shape:  # the common case: a bias-like gradient, summed over the batch axis
        return np.add.reduce(a, axis=0) if type(a) is np.ndarray else a.sum(axis=0)
    lead = a.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {a.shape} to larger shape {shape}")
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and a.shape[i + lead] != 1)
    y = a.sum(axis=axes, keepdims=True) if axes else a
    if lead:
        y = y.reshape(shape)
    if y.shape != shape:
        raise ValueError(f"sum_to: shape {a.shape} does not broadcast to {shape}")
    return y


class ArrayNamespace:
    """``ns`` for rules on arrays. NumPy's ufuncs dispatch to CuPy (and to the test suite's fake
    device) through ``__array_ufunc__``, so they are used as they are; the other functions ask
    ``xp_of`` for the array's library."""

    __slots__ = ()
    differentiable = False

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tan = staticmethod(np.tan)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    square = staticmethod(np.square)
    abs = staticmethod(np.abs)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)

    @staticmethod
    def data(a: Any) -> Any:
        """The array itself (on Variables: the array behind it, a constant)."""
        return a

    @staticmethod
    def sum_to(a: Any, shape: tuple) -> Any:
        return sum_to_array(a, shape)

    @staticmethod
    def broadcast_to(a: Any, shape: tuple) -> Any:
        return xp_of(a).broadcast_to(a, shape)

    # ``scale(a, c)``: ``a * c`` for a constant ``c`` (a number or an array such as a mask): no
    # gradient flows to ``c``. On arrays it is the C-level multiplication (no Python frame).
    scale = staticmethod(operator.mul)

    @staticmethod
    def fill(a: Any, mask: Any, value: float) -> Any:
        """``a`` with ``value`` where the constant boolean array ``mask`` is true."""
        return xp_of(a).where(mask, value, a).astype(a.dtype, copy=False)

    @staticmethod
    def cast(a: Any, dtype: Any) -> Any:
        return a if a.dtype == dtype else a.astype(dtype)

    @staticmethod
    def zeros_like(a: Any) -> Any:
        return xp_of(a).zeros_like(a)

    # --- more shape ops (functions/shape.py) ---
    @staticmethod
    def unsqueeze(a: Any, axis: int) -> Any:
        return xp_of(a).expand_dims(a, axis)

    @staticmethod
    def concat(xs: Any, axis: int = 0) -> Any:
        return xp_of(xs[0]).concatenate(xs, axis=axis)

    @staticmethod
    def split(a: Any, indices_or_sections: Any, axis: int = 0) -> Any:
        return xp_of(a).split(a, indices_or_sections, axis=axis)

    @staticmethod
    def flip(a: Any, axis: Any = None) -> Any:
        return xp_of(a).flip(a, axis)

    @staticmethod
    def call(op: Any, *xs: Any) -> Any:
        """Run op instance ``op`` (a private helper op of a rule): its ``forward`` on arrays."""
        return op.forward(*xs)

    # shape and reduction helpers, with the signatures of chainrule.functions' ops
    @staticmethod
    def reshape(a: Any, shape: Any) -> Any:
        return a.reshape(shape)

    @staticmethod
    def transpose(a: Any, axes: Any = None) -> Any:
        return a.transpose(axes)

    @staticmethod
    def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
        return a.swapaxes(axis1, axis2)

    @staticmethod
    def expand_dims(a: Any, axis: int) -> Any:
        return xp_of(a).expand_dims(a, axis)

    @staticmethod
    def squeeze(a: Any, axis: Any = None) -> Any:
        return a.squeeze(axis)

    @staticmethod
    def sum(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        r = a.sum(axis=axis, keepdims=keepdims)
        return r.__array__() if isinstance(r, np.generic) else r

    @staticmethod
    def mean(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        r = a.mean(axis=axis, keepdims=keepdims)
        return r.__array__() if isinstance(r, np.generic) else r

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return a @ b

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        """``a`` where the constant boolean array ``cond`` holds, else ``b``."""
        like = a if hasattr(a, "dtype") else b
        return xp_of(like).where(cond, a, b)

    @staticmethod
    def stack(arrays: Any, axis: int = 0) -> Any:
        return xp_of(arrays[0]).stack(arrays, axis=axis)

    @staticmethod
    def getitem(a: Any, index: Any) -> Any:
        return a[index]

    # linear algebra and ReLU (functions/linalg.py, math.py): for composites' references on arrays
    @staticmethod
    def linear(x: Any, W: Any, b: Any = None) -> Any:
        y = x @ W
        return y if b is None else y + b

    @staticmethod
    def relu(a: Any) -> Any:
        return xp_of(a).maximum(a, 0)


class VariableNamespace:
    """``ns`` for rules on Variables: each name is the differentiable public function that the
    op table (``core/op.py``) registered under it, looked up on first use and then cached on
    the instance. ``core`` imports no op module: the ops register themselves when
    ``chainrule.functions`` is imported."""

    differentiable = True

    def __init__(self, table: dict):
        self._table = table

    def __getattr__(self, name: str) -> Any:
        fn = self._table.get(name)
        if fn is None or not callable(fn):
            raise AttributeError(f"no differentiable function {name!r} is registered for derivative rules "
                                 f"(register it with chainrule.core.op.register_function)")
        setattr(self, name, fn)
        return fn

    @staticmethod
    def data(v: Any) -> Any:
        """The array behind a Variable: a constant in the graph (masks, signs)."""
        return v._data

    @staticmethod
    def call(op: Any, *xs: Any) -> Any:
        """Run op instance ``op`` (a private helper op of a rule) as a recorded op."""
        return op(*xs)

    def _forget(self) -> None:
        """Drop the cached lookups (after a re-registration)."""
        for k in [k for k in vars(self) if k != "_table"]:
            delattr(self, k)


_FUNCTIONS: dict = {}
A = ArrayNamespace()
V = VariableNamespace(_FUNCTIONS)

# The names a rule may use on ``ns`` (``data`` aside): both namespaces must have every one.
NAMES = tuple(n for n in vars(ArrayNamespace)
              if not n.startswith("_") and n not in ("data", "differentiable", "call"))
