"""``relu_mlp``: a whole ReLU multilayer perceptron as one op (a ``Composite``).

``relu_mlp(x, [W1, b1, ..., Wk, bk])`` is ``relu(... relu(x @ W1 + b1) ...) @ Wk + bk``: a ReLU
after every layer but the last. The reference composition (``relu``/``linear`` per layer)
defines it and every derivative order. The fast kernel is one graph node instead of 2k-1 and
keeps the hidden activations, which nothing outside the op can see, transposed, as C-ordered
(features, N) arrays. In that layout every GEMM of the pass has the operand order OpenBLAS
runs fastest: the input-gradient product ``W @ g.T`` instead of ``g @ W.T`` is the big one
(64x256x256 float32: 45 us against 63 on the benchmark machine). The fast first-order rule
walks those activations back. ``MLP(activation=F.relu)`` uses it.
"""
from __future__ import annotations

from operator import matmul as _matmul
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.composite import Composite
from ..core.op import declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from .linalg import Linear, LinearNoBias, linear
from .math import relu_array
from .reduction import blas_sum

__all__ = ["relu_mlp"]


def _check(x: Any, params: tuple) -> None:
    """Shapes of the arrays (in the fast kernel: no Variable properties on the call path)."""
    width = x.shape[-1]
    for i in range(0, len(params), 2):
        W, b = params[i], params[i + 1]
        if W.ndim != 2 or W.shape[0] != width or b.shape != W.shape[1:]:
            raise ValueError(f"relu_mlp: layer {i // 2} has W {tuple(W.shape)} and b {tuple(b.shape)}; "
                             f"expected W ({width}, out) and b (out,)")
        width = W.shape[1]


class ReluMlp(Composite):
    """Inputs ``(x, W1, b1, ..., Wk, bk)``: ``x`` (..., in), ``Wi`` (in_i, out_i), ``bi`` (out_i,),
    k >= 2. ``need_x=False`` (``x`` was a raw array) skips the input gradient."""

    __slots__ = ("need_x", "xT", "acts")

    def __init__(self, need_x: bool = True):
        self.need_x = need_x

    def reference(self, ns, x, *params):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = ns.relu(ns.linear(h, params[i], params[i + 1]))
        return ns.linear(h, params[-2], params[-1])

    def forward(self, x, *params):
        _check(x, params)
        lead = None
        if x.ndim != 2:
            lead = x.shape[:-1]
            x = x.reshape(-1, x.shape[-1])
        h = x.T
        if h.__class__ is np.ndarray:
            dot = np.dot  # measured a little faster than matmul on these operands
            h = np.ascontiguousarray(h)  # one small copy speeds up both GEMMs of the first layer
        else:
            dot = _matmul
        self.xT = h
        acts = []
        for i in range(0, len(params) - 2, 2):
            h = dot(params[i].T, h)  # (out_i, N)
            b = params[i + 1][:, None]
            if b.dtype == h.dtype:
                h += b
            else:  # in place would cast b down to h's dtype
                h = h + b
            relu_array(h, out=h)
            acts.append(h)
        self.acts = acts
        y = dot(h.T, params[-2])  # (N, out_k), C-ordered
        b = params[-1]
        if b.dtype == y.dtype:
            y += b
        else:
            y = y + b
        return y if lead is None else y.reshape(lead + (y.shape[-1],))

    def fast_vjp(self, gy, y, x, *params):
        acts = self.acts
        if gy.ndim != 2:
            gy = gy.reshape(-1, gy.shape[-1])
        dot = np.dot if gy.__class__ is np.ndarray else _matmul
        grads: list = [None] * (len(params) + 1)
        grads[-2] = dot(acts[-1], gy)
        grads[-1] = blas_sum(gy, 0)
        g = dot(params[-2], gy.T)  # gradient of the last hidden activation, (out, N)
        for i in range(len(acts) - 1, -1, -1):
            g *= acts[i] > 0  # g is a product made here: this rule's own array
            grads[2 * i + 2] = blas_sum(g, 1)
            grads[2 * i + 1] = dot(acts[i - 1] if i else self.xT, g.T)
            if i:
                g = dot(params[2 * i], g)
            elif self.need_x:
                gx = dot(g.T, params[0].T)
                grads[0] = gx if x.ndim == 2 else gx.reshape(x.shape)
        return tuple(grads)


def _samples(rng: Any) -> list:
    r = rng.standard_normal
    return [(r((5, 3)), r((3, 4)), r(4), r((4, 2)), r(2)),
            (r((4, 3)), r((3, 5)), r(5), r((5, 4)), r(4), r((4, 2)), r(2)),
            (r((2, 4, 3)), r((3, 4)), r(4), r((4, 2)), r(2)),
            (r(3), r((3, 4)), r(4), r((4, 2)), r(2)),
            (r((3, 6)).T, r((6, 4))[::2], r(8)[::2], r((4, 2)), r(2)),
            (r((5, 3)), r((3, 2)), r(2))]


def _torch_mlp(t: Any, x: Any, *params: Any) -> Any:
    h = x
    for i in range(0, len(params) - 2, 2):
        h = t.relu(t.matmul(h, params[i]) + params[i + 1])
    return t.matmul(h, params[-2]) + params[-1]


@declare(ReluMlp, Linear, LinearNoBias, samples=_samples, torch=_torch_mlp)
def relu_mlp(x: Operand, *params: Any) -> Variable:
    """``relu(... relu(x @ W1 + b1) ...) @ Wk + bk`` as one op: ``relu_mlp(x, [W1, b1, ..., Wk, bk])``
    (or the same arrays as separate arguments, ``relu_mlp(x, W1, b1, ..., Wk, bk)``).

    ``x`` (..., in); ``Wi`` (in_i, out_i), ``bi`` (out_i,); returns (..., out_k). No ReLU after
    the last layer. A raw-array ``x`` gets no gradient (its GEMM is skipped). Differentiable in
    every input, to any order.
    """
    if len(params) == 1 and isinstance(params[0], (list, tuple)):
        params = tuple(params[0])
    if len(params) < 2 or len(params) % 2:
        raise ValueError(f"relu_mlp: params must be [W1, b1, ..., Wk, bk], got {len(params)} arrays")
    if len(params) == 2:
        return linear(x, params[0], params[1])
    need_x = x.__class__ is Variable or isinstance(x, Variable)
    xa: Any = x if need_x or hasattr(x, "ndim") else np.asarray(x)
    if xa.ndim == 0:
        raise ValueError("relu_mlp: x must have shape (..., in), got a 0-d input")
    return ReluMlp(need_x)(xa, *params)
