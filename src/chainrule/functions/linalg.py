"""Linear algebra: matmul (NumPy semantics), linear (``x @ W + b``), dot, outer.

``matmul`` follows ``numpy.matmul``: 2-D is the matrix product, more axes are stacks of
matrices whose batch axes broadcast, and a 1-D operand is promoted to a matrix and the added
axis removed afterwards. Gradients are reduced back to each input's shape with ``sum_to``, and
every backward is written with matmul/transpose/reshape, so it is differentiable to any order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import xp_of
from ..core.autodiff import sole_holder
from ..core.function import Function
from ..core.variable import Variable
from .arithmetic import MulScalar, mul
from .broadcast import broadcast_to, sum_to, sum_to_array
from .shape import reshape, transpose
from ._checks import as_input

__all__ = ["matmul", "linear", "linear_relu", "dot", "outer"]


def _matmul_error(a_shape: tuple, b_shape: tuple, op: str = "matmul") -> ValueError:
    if not a_shape or not b_shape:
        return ValueError(f"{op}: operands must have at least 1 dimension, got shapes {a_shape} and {b_shape}")
    k_a = a_shape[-1]
    k_b = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
    if k_a != k_b:
        return ValueError(f"{op}: shapes {a_shape} and {b_shape} are not aligned")
    return ValueError(f"{op}: batch dimensions of shapes {a_shape} and {b_shape} do not broadcast")


def _mT(x: Variable) -> Variable:
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    nd = x.ndim
    if nd == 2:
        return transpose(x, None)
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


class MatMul(Function):
    def forward(self, a, b):
        try:
            if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous:
                # one GEMM over the merged leading axes instead of a loop of small ones
                return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + (b.shape[1],))
            return a @ b
        except ValueError:
            raise _matmul_error(a.shape, b.shape) from None

    def backward(self, gy):
        a, b = self.inputs
        an, bn = a.ndim, b.ndim
        if an == 2 and bn == 2:
            return matmul(gy, transpose(b, None)), matmul(transpose(a, None), gy)
        # promote 1-D operands to matrices, as numpy.matmul does, and gy along with them
        a2 = reshape(a, (1, a.shape[0])) if an == 1 else a
        b2 = reshape(b, (b.shape[0], 1)) if bn == 1 else b
        if an == 1 and bn == 1:
            gy2 = reshape(gy, (1, 1))
        elif an == 1:
            gy2 = reshape(gy, gy.shape[:-1] + (1, gy.shape[-1]))
        elif bn == 1:
            gy2 = reshape(gy, gy.shape + (1,))
        else:
            gy2 = gy
        if bn == 2 and gy2.ndim > 2:
            # b is shared by the whole batch: one GEMM over the merged batch axes
            k, m = b2.shape
            ga = matmul(gy2, transpose(b2, None))
            gb = matmul(transpose(reshape(a2, (-1, k)), None), reshape(gy2, (-1, m)))
        else:
            ga = matmul(gy2, _mT(b2))
            gb = matmul(_mT(a2), gy2)
        ga = sum_to(ga, a2.shape)
        gb = sum_to(gb, b2.shape)
        if an == 1:
            ga = reshape(ga, a.shape)
        if bn == 1:
            gb = reshape(gb, b.shape)
        return ga, gb


def matmul(a: Any, b: Any) -> Any:
    """Matrix product with ``numpy.matmul`` semantics: ``(..., n, k) @ (..., k, m) -> (..., n, m)``
    with broadcast batch axes; a 1-D ``a`` is a row, a 1-D ``b`` a column (that axis is dropped).
    Differentiable in both operands."""
    return MatMul()(a, b)


class _MatMulT(Function):
    """``a.T @ b`` (``ta``) or ``a @ b.T`` (``tb``) for 2-D operands: one op where a transpose
    and a matmul would be two (the gradients of ``Linear`` use it)."""

    __slots__ = ("ta",)

    def __init__(self, ta: bool):
        self.ta = ta

    def forward(self, a, b):
        return a.T @ b if self.ta else a @ b.T

    def backward(self, gy):
        a, b = self.inputs
        if self.ta:  # y = a.T @ b
            return _MatMulT(False)(b, gy), matmul(a, gy)
        return matmul(gy, b), _MatMulT(True)(gy, a)  # y = a @ b.T


class _LinearGrad(Function):
    """``(gx, gW[, gb])`` of ``y = x @ W (+ b)`` for 2-D ``x`` in one op: ``gx = gy @ W.T`` (only
    when ``need_x``), ``gW = x.T @ gy``, ``gb = sum_to(gy, b_shape)`` (only with a bias).
    Inputs ``(x, W, gy)``; its own backward is written in differentiable ops."""

    __slots__ = ("need_x", "b_shape")

    def __init__(self, need_x: bool, b_shape: Any):
        self.need_x = need_x
        self.b_shape = b_shape

    def forward(self, x, W, gy):
        outs = (gy @ W.T,) if self.need_x else ()
        outs += (x.T @ gy,)
        if self.b_shape is not None:
            outs += (sum_to_array(gy, self.b_shape),)
        return outs

    def backward(self, *ggs):
        x, W, gy = self.inputs
        ggs = list(ggs)
        ggx = ggs.pop(0) if self.need_x else None
        ggW = ggs.pop(0)
        ggb = ggs.pop(0) if self.b_shape is not None else None
        gx = gW = ggy = None
        if ggx is not None:  # through gx = gy @ W.T
            gW = _MatMulT(True)(ggx, gy)
            ggy = matmul(ggx, W)
        if ggW is not None:  # through gW = x.T @ gy
            gx = _MatMulT(False)(gy, ggW)
            t = matmul(x, ggW)
            ggy = t if ggy is None else ggy + t
        if ggb is not None:  # through gb = sum_to(gy, b_shape)
            t = broadcast_to(ggb, gy.shape)
            ggy = t if ggy is None else ggy + t
        return gx, gW, ggy


class Linear(Function):
    """``x @ W + b`` for ``x`` of shape (..., in), ``W`` (in, out) and ``b`` broadcasting to the
    output (``LinearNoBias`` is the same without ``b``).

    ``need_x=False`` (``x`` was passed as a raw array, so its gradient cannot be observed)
    skips the input-gradient GEMM.
    """

    __slots__ = ("need_x",)

    def __init__(self, need_x: bool = True):
        self.need_x = need_x

    def forward(self, x, W, b):
        y = _affine(x, W)
        if b.dtype != y.dtype:  # in place would cast b down to y's dtype
            return y + b
        try:
            y += b  # y is a fresh array: add in place unless b widens its shape
        except ValueError:
            y = y + b
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        if x.ndim == 2:  # one op for all the gradients
            bias = len(self.inputs) == 3
            gs = _LinearGrad(self.need_x, self.inputs[2].shape if bias else None)(x, W, gy)
            return ((gs[0] if self.need_x else None),) + tuple(gs[self.need_x:])
        else:
            gx = matmul(gy, transpose(W, None)) if self.need_x else None
            gW = _MatMulT(True)(reshape(x, (-1, x.shape[-1])), reshape(gy, (-1, gy.shape[-1])))
        if len(self.inputs) == 2:
            return gx, gW
        b = self.inputs[2]
        return gx, gW, sum_to(gy, b.shape)

    def backward_data(self, gy):
        inputs = self.inputs
        x, W = inputs[0]._data, inputs[1]._data
        if x.ndim != 2:  # one GEMM over all leading axes
            gy2 = gy.reshape(-1, gy.shape[-1])
            gx = (gy2 @ W.T).reshape(x.shape) if self.need_x else None
            gW = x.reshape(-1, x.shape[-1]).T @ gy2
        else:
            gx = gy @ W.T if self.need_x else None
            gW = x.T @ gy
        if len(inputs) == 2:
            return gx, gW
        b = inputs[2]._data
        if gy.ndim == 2 and b.shape == gy.shape[1:] and gy.__class__ is np.ndarray:
            return gx, gW, np.add.reduce(gy, axis=0)  # the usual bias: sum over the batch
        return gx, gW, sum_to_array(gy, b.shape)


class LinearNoBias(Linear):
    """``x @ W``: ``Linear`` without the bias input (same gradients, same name in graphs)."""

    __slots__ = ()
    name = "Linear"

    def forward(self, x, W):
        return _affine(x, W)


def _affine(x: Any, W: Any) -> Any:
    """``x @ W`` as one GEMM over all leading axes of ``x``; misaligned shapes raise ``linear: ...``."""
    if W.ndim != 2 or x.ndim == 0 or x.shape[-1] != W.shape[0]:
        raise ValueError(f"linear: shapes {tuple(x.shape)} and {tuple(W.shape)} are not aligned "
                         f"(expected x (..., in) and W (in, out))")
    if x.ndim <= 2:
        return x @ W
    return (x.reshape(-1, x.shape[-1]) @ W).reshape(x.shape[:-1] + (W.shape[1],))


def linear(x: Any, W: Any, b: Any = None) -> Any:
    """Affine map ``x @ W + b``: ``x`` (..., in), ``W`` (in, out), ``b`` (out,) or None -> (..., out).
    ``b`` may also be any array that broadcasts to the output, e.g. another map's (..., out) result.

    One fused op (a single GEMM over all leading axes of ``x``); differentiable in all three.
    A raw-array ``x`` gets no gradient, so its gradient GEMM is skipped."""
    need_x = x.__class__ is Variable or isinstance(x, Variable)
    if b is None:
        return LinearNoBias(need_x)(x, W)
    return Linear(need_x)(x, W, b)


class LinearReLU(Linear):
    """``relu(x @ W + b)`` as one op: the ReLU is applied in place on the affine output, so a
    hidden layer costs one graph node and one output array. The output is kept for the mask."""

    __slots__ = ("y",)

    def forward(self, x, W, b):
        y = Linear.forward(self, x, W, b)
        if y.__class__ is np.ndarray:
            np.maximum(y, 0, out=y)
        else:
            xp_of(y).maximum(y, 0, out=y)
        self.y = y
        return y

    def backward(self, gy):
        return Linear.backward(self, MulScalar(self.y > 0)(gy))

    def backward_data(self, gy):
        mask = self.y > 0
        if sole_holder(gy):
            np.multiply(gy, mask, out=gy)  # only the backward pass holds gy: mask it in place
            return Linear.backward_data(self, gy)
        return Linear.backward_data(self, gy * mask)


def linear_relu(x: Any, W: Any, b: Any) -> Any:
    """``relu(x @ W + b)`` in one op (shapes as in ``linear``); what ``MLP`` uses for its hidden
    layers when its activation is ``relu``. Differentiable in all three, to any order."""
    need_x = x.__class__ is Variable or isinstance(x, Variable)
    return LinearReLU(need_x)(x, W, b)


def dot(a: Any, b: Any) -> Any:
    """Inner product of two 1-D vectors (a 0-d result); for 2-D operands, ``matmul``."""
    a = as_input("dot", a)
    b = as_input("dot", b)
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"dot: expected 1-D or 2-D operands, got shapes {a.shape} and {b.shape}; "
                         f"use matmul for stacks of matrices")
    return matmul(a, b)


def outer(a: Any, b: Any) -> Any:
    """Outer product of two vectors: ``(n,)``, ``(m,)`` -> ``(n, m)`` (inputs are flattened)."""
    a = as_input("outer", a)
    b = as_input("outer", b)
    return mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))
