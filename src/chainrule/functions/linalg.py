"""Linear algebra: matmul (NumPy semantics), linear (``x @ W + b``), linear_relu, dot, outer.

``matmul`` follows ``numpy.matmul``: 2-D is the matrix product, more axes are stacks of
matrices whose batch axes broadcast, and a 1-D operand is promoted to a matrix and the added
axis removed afterwards. Gradients are reduced back to each input's shape with ``sum_to``.
Every rule is written with ``@``, ``.T``/``.transpose`` and ``.reshape``, which work on arrays
(first-order passes) and on Variables (``create_graph``) alike, so one rule gives every order.
``linear_relu`` is a ``Composite``: ``relu(linear(x, W, b))`` defines it; its fused kernel
and first-order rule are the fast paths.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.arrayns import A
from ..core.composite import Composite
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._checks import as_input
from .math import relu_array

__all__ = ["matmul", "linear", "linear_relu", "dot", "outer"]


def _matmul_error(a_shape: tuple, b_shape: tuple, op: str = "matmul") -> ValueError:
    if not a_shape or not b_shape:
        return ValueError(f"{op}: operands must have at least 1 dimension, got shapes {a_shape} and {b_shape}")
    k_a = a_shape[-1]
    k_b = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
    if k_a != k_b:
        return ValueError(f"{op}: shapes {a_shape} and {b_shape} are not aligned")
    return ValueError(f"{op}: batch dimensions of shapes {a_shape} and {b_shape} do not broadcast")


def _mT(x: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a stack of matrices); arrays or Variables."""
    nd = x.ndim
    if nd == 2:
        return x.T
    return x.transpose(tuple(range(nd - 2)) + (nd - 1, nd - 2))


class MatMul(Op):
    __slots__ = ()

    def forward(self, a, b):
        try:
            if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous:
                # one GEMM over the merged leading axes instead of a loop of small ones
                return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + (b.shape[1],))
            return a @ b
        except ValueError:
            raise _matmul_error(a.shape, b.shape) from None

    def vjp(self, ns, gy, y, a, b):
        an, bn = a.ndim, b.ndim
        if an == 2 and bn == 2:
            return gy @ b.T, a.T @ gy
        # promote 1-D operands to matrices, as numpy.matmul does, and gy along with them
        a2 = a.reshape((1, a.shape[0])) if an == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if bn == 1 else b
        if an == 1 and bn == 1:
            gy2 = gy.reshape((1, 1))
        elif an == 1:
            gy2 = gy.reshape(gy.shape[:-1] + (1, gy.shape[-1]))
        elif bn == 1:
            gy2 = gy.reshape(gy.shape + (1,))
        else:
            gy2 = gy
        if bn == 2 and gy2.ndim > 2:
            # b is shared by the whole batch: one GEMM over the merged batch axes
            k, m = b2.shape
            ga = gy2 @ b2.T
            gb = a2.reshape((-1, k)).T @ gy2.reshape((-1, m))
        else:
            ga = gy2 @ _mT(b2)
            gb = _mT(a2) @ gy2
        if ga.shape != a2.shape:
            ga = ns.sum_to(ga, a2.shape)
        if gb.shape != b2.shape:
            gb = ns.sum_to(gb, b2.shape)
        if an == 1:
            ga = ga.reshape(a.shape)
        if bn == 1:
            gb = gb.reshape(b.shape)
        return ga, gb

    def jvp(self, ns, ts, y, a, b):
        return ns.call(MatMul(), ts[0], b) + ns.call(MatMul(), a, ts[1])


def _matmul_samples(rng: Any) -> list:
    r = rng.standard_normal
    return [(r((3, 4)), r((4, 2))), (r((2, 3, 4)), r((4, 5))), (r((2, 1, 3, 4)), r((3, 4, 2))),
            (r(4), r((4, 3))), (r((3, 4)), r(4)), (r(4), r(4)), (r((4, 3)).T, r((8, 2))[::2]),
            (r((2, 3, 4)), r(4)), (r(3), r((2, 3, 5)))]


@declare(MatMul, samples=_matmul_samples, torch=lambda t, a, b: t.matmul(a, b))
def matmul(a: Operand, b: Operand) -> Variable:
    """Matrix product with ``numpy.matmul`` semantics: ``(..., n, k) @ (..., k, m) -> (..., n, m)``
    with broadcast batch axes; a 1-D ``a`` is a row, a 1-D ``b`` a column (that axis is dropped).
    Differentiable in both operands."""
    return MatMul()(a, b)


def _affine(x: Any, W: Any) -> Any:
    """``x @ W`` as one GEMM over all leading axes of ``x``; misaligned shapes raise ``linear: ...``."""
    if W.ndim != 2 or x.ndim == 0 or x.shape[-1] != W.shape[0]:
        raise ValueError(f"linear: shapes {tuple(x.shape)} and {tuple(W.shape)} are not aligned "
                         f"(expected x (..., in) and W (in, out))")
    if x.ndim <= 2:
        if W.shape[0] == 1 and x.ndim == 2:  # one input feature: an outer product, the same
            return x * W                     # values at a third of a GEMM call's cost
        return x @ W
    return (x.reshape(-1, x.shape[-1]) @ W).reshape(x.shape[:-1] + (W.shape[1],))


def _affine_bias(x: Any, W: Any, b: Any) -> Any:
    """``x @ W + b`` on arrays, the bias added in place into the fresh product when it can be."""
    y = _affine(x, W)
    if b.dtype != y.dtype:  # in place would cast b down to y's dtype
        return y + b
    try:
        y += b
    except ValueError:  # b widens the shape
        y = y + b
    return y


def _linear_vjp(ns: Any, need_x: bool, gy: Any, x: Any, W: Any, b: Any) -> tuple:
    """``(gx, gW[, gb])`` of ``y = x @ W (+ b)``: one GEMM each over all leading axes of ``x``;
    ``gx`` is None when ``need_x`` is false (``x`` was a raw array). Arrays or Variables.
    A bias that widened the output (``b`` (5, N, out) for ``x`` (N, in)) gets ``gy`` whole; the
    product's share is ``gy`` summed back to ``x @ W``'s shape."""
    gb = None if b is None else ns.sum_to(gy, b.shape)
    xw_shape = x.shape[:-1] + W.shape[-1:]
    if gy.shape != xw_shape:
        gy = ns.sum_to(gy, xw_shape)
    if x.ndim == 2:
        gx = gy @ W.T if need_x else None
        gW = x.T @ gy
    else:
        gy2 = gy.reshape(-1, gy.shape[-1])
        gx = (gy2 @ W.T).reshape(x.shape) if need_x else None
        gW = x.reshape(-1, x.shape[-1]).T @ gy2
    if b is None:
        return gx, gW
    return gx, gW, gb


class Linear(Op):
    """``x @ W + b`` for ``x`` of shape (..., in), ``W`` (in, out) and ``b`` broadcasting to the
    output (``LinearNoBias`` is the same without ``b``).

    ``need_x=False`` (``x`` was passed as a raw array, so its gradient cannot be observed)
    skips the input-gradient GEMM.
    """

    __slots__ = ("need_x",)

    def __init__(self, need_x: bool = True):
        self.need_x = need_x

    def forward(self, x, W, b):
        return _affine_bias(x, W, b)

    def vjp(self, ns, gy, y, x, W, b=None):
        return _linear_vjp(ns, self.need_x, gy, x, W, b)

    def jvp(self, ns, ts, y, x, W, b=None):
        t = ns.call(LinearNoBias(), ts[0], W) + ns.call(LinearNoBias(), x, ts[1])
        return t if b is None else t + ts[2]


class LinearNoBias(Linear):
    """``x @ W``: ``Linear`` without the bias input (same rules, same name in graphs)."""

    __slots__ = ()
    name = "Linear"

    def forward(self, x, W):
        return _affine(x, W)


def _linear_samples(rng: Any) -> list:
    r = rng.standard_normal
    return [(r((5, 3)), r((3, 4)), r(4)), (r((2, 5, 3)), r((3, 4)), r(4)), (r(3), r((3, 4)), r(4)),
            (r((5, 3)), r((3, 4)), r((5, 4))), (r((5, 3)), r((3, 4)), r(1)), (r((2, 5, 3)), r((3, 4))),
            (r((5, 3)), r((3, 4)), None), (r((3, 5)).T, r((6, 4))[::2], r(8)[::2]), (r((0, 3)), r((3, 4)), r(4)),
            (r((3, 2)), r((2, 4)), r((5, 3, 4))), (r((5, 3)), r((3, 1)), r(4))]  # biases that widen x @ W


def _torch_linear(t: Any, x: Any, W: Any, b: Any = None) -> Any:
    y = t.matmul(x, W)
    return y if b is None else y + b


@declare(Linear, LinearNoBias, samples=_linear_samples, torch=_torch_linear)
def linear(x: Operand, W: Operand, b: Operand | None = None) -> Variable:
    """Affine map ``x @ W + b``: ``x`` (..., in), ``W`` (in, out), ``b`` (out,) or None -> (..., out).
    ``b`` may also be any array that broadcasts to the output, e.g. another map's (..., out) result.

    One fused op (a single GEMM over all leading axes of ``x``); differentiable in all three.
    A raw-array ``x`` gets no gradient, so its gradient GEMM is skipped."""
    need_x = x.__class__ is Variable or isinstance(x, Variable)
    if b is None:
        return LinearNoBias(need_x)(x, W)
    return Linear(need_x)(x, W, b)


class LinearReLU(Composite):
    """``relu(x @ W + b)``, defined by ``relu(linear(x, W, b))``. The fused kernel applies the
    ReLU in place on the affine output (one graph node, one output array); the fused
    first-order rule masks the gradient with ``y > 0`` and runs ``linear``'s rule."""

    __slots__ = ("need_x",)

    def __init__(self, need_x: bool = True):
        self.need_x = need_x

    def reference(self, ns, x, W, b):
        return ns.relu(ns.linear(x, W, b))

    def forward(self, x, W, b):
        y = _affine_bias(x, W, b)
        relu_array(y, out=y)
        return y

    def fast_vjp(self, gy, y, x, W, b):
        # the engine gives no ownership signal for gy, so the masked gradient is a new array
        return _linear_vjp(A, self.need_x, gy * (y > 0), x, W, b)


def _linear_relu_samples(rng: Any) -> list:
    r = rng.standard_normal
    return [(r((5, 3)), r((3, 4)), r(4)), (r((2, 5, 3)), r((3, 4)), r(4)), (r(3), r((3, 4)), r(4)),
            (r((3, 5)).T, r((6, 4))[::2], r(8)[::2]), (r((3, 2)), r((2, 4)), r((5, 3, 4)))]


@declare(LinearReLU, samples=_linear_relu_samples,
         torch=lambda t, x, W, b: t.relu(t.matmul(x, W) + b))
def linear_relu(x: Operand, W: Operand, b: Operand) -> Variable:
    """``relu(x @ W + b)`` in one op (shapes as in ``linear``); what ``MLP`` uses for its hidden
    layers when its activation is ``relu``. Differentiable in all three, to any order."""
    need_x = x.__class__ is Variable or isinstance(x, Variable)
    return LinearReLU(need_x)(x, W, b)


def _dot_samples(rng: Any) -> list:
    r = rng.standard_normal
    return [(r(4), r(4)), (r((3, 4)), r((4, 2))), (r(4), r((4, 3))), (r((3, 4)), r(4))]


@declare(MatMul, samples=_dot_samples, torch=lambda t, a, b: t.matmul(a, b))
def dot(a: Operand, b: Operand) -> Variable:
    """Inner product of two 1-D vectors (a 0-d result); for 2-D operands, ``matmul``."""
    a = as_input("dot", a)
    b = as_input("dot", b)
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"dot: expected 1-D or 2-D operands, got shapes {a.shape} and {b.shape}; "
                         f"use matmul for stacks of matrices")
    return matmul(a, b)


class Outer(Op):
    """``a.ravel()[:, None] * b.ravel()[None, :]``: the outer product of the flattened inputs."""

    __slots__ = ()

    def forward(self, a, b):
        return a.reshape(-1, 1) * b.reshape(1, -1)

    def vjp(self, ns, gy, y, a, b):
        return (gy @ b.reshape(-1)).reshape(a.shape), (a.reshape(-1) @ gy).reshape(b.shape)

    def jvp(self, ns, ts, y, a, b):
        return ns.call(Outer(), ts[0], b) + ns.call(Outer(), a, ts[1])


def _outer_samples(rng: Any) -> list:
    r = rng.standard_normal
    return [(r(3), r(4)), (r((2, 2)), r(3)), (r(()), r(2)), (r(6)[::2], r(2))]


@declare(Outer, samples=_outer_samples, torch=lambda t, a, b: t.outer(a.reshape(-1), b.reshape(-1)))
def outer(a: Operand, b: Operand) -> Variable:
    """Outer product of two vectors: ``(n,)``, ``(m,)`` -> ``(n, m)`` (inputs are flattened)."""
    a = as_input("outer", a)
    b = as_input("outer", b)
    return Outer()(a, b)
