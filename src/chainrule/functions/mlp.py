"""``relu_mlp``: a whole ReLU multilayer perceptron as one op.

``relu_mlp(x, [W1, b1, ..., Wk, bk])`` is ``relu(... relu(x @ W1 + b1) ...) @ Wk + bk``: a ReLU
after every layer but the last. It is one graph node instead of k, and the hidden activations,
which nothing outside the op can see, are kept transposed, as C-ordered (features, N) arrays.
In that layout every GEMM of the pass has the operand order OpenBLAS runs fastest: the
input-gradient product ``W @ g.T`` instead of ``g @ W.T`` is the big one (64x256x256 float32:
45 us against 63 on the benchmark machine). ``MLP(activation=F.relu)`` uses it.

The first-order backward (``backward_data``) is fused NumPy code; ``backward`` rebuilds the
network from ``linear_relu``/``linear`` and differentiates that, so every higher order is exact.
"""
from __future__ import annotations

from operator import matmul as _matmul
from typing import Any, Sequence

import numpy as np

from ..backend import xp_of
from ..core.autodiff import local_gradients
from ..core.config import enable_grad
from ..core.function import Function
from ..core.variable import Variable
from .linalg import linear, linear_relu
from .reduction import blas_sum
from .shape import reshape

__all__ = ["relu_mlp"]

def _check(x: Any, params: tuple) -> None:
    if x.ndim != 2:
        raise ValueError(f"relu_mlp: x must be 2-D (N, in), got shape {tuple(x.shape)}")
    width = x.shape[1]
    for i in range(0, len(params), 2):
        W, b = params[i], params[i + 1]
        if W.ndim != 2 or W.shape[0] != width or b.shape != W.shape[1:]:
            raise ValueError(f"relu_mlp: layer {i // 2} has W {tuple(W.shape)} and b {tuple(b.shape)}; "
                             f"expected W ({width}, out) and b (out,)")
        width = W.shape[1]


class ReluMlp(Function):
    """Inputs ``(x, W1, b1, ..., Wk, bk)``: ``x`` (N, in), ``Wi`` (in_i, out_i), ``bi`` (out_i,),
    k >= 2. ``need_x=False`` (``x`` was a raw array) skips the input gradient."""

    def __init__(self, need_x: bool):
        self.need_x = need_x

    def forward(self, x, *params):
        _check(x, params)
        h = x.T
        if h.__class__ is np.ndarray:
            xp, dot = np, np.dot  # np.dot: measured a little faster than matmul on these operands
            h = np.ascontiguousarray(h)  # one small copy speeds up both GEMMs of the first layer
        else:
            xp, dot = xp_of(h), _matmul
        self.xT = h
        acts = []
        for i in range(0, len(params) - 2, 2):
            h = dot(params[i].T, h)  # (out_i, N)
            b = params[i + 1][:, None]
            if b.dtype == h.dtype:
                h += b
            else:  # in place would cast b down to h's dtype
                h = h + b
            xp.maximum(h, 0, out=h)
            acts.append(h)
        self.acts = acts
        y = dot(h.T, params[-2])  # (N, out_k), C-ordered
        b = params[-1]
        if b.dtype == y.dtype:
            y += b
        else:
            y = y + b
        return y

    def backward_data(self, gy):
        inputs = self.inputs
        acts = self.acts
        dot = np.dot if gy.__class__ is np.ndarray else _matmul
        grads: list = [None] * len(inputs)
        grads[-2] = dot(acts[-1], gy)
        grads[-1] = blas_sum(gy, 0)
        g = dot(inputs[-2].data, gy.T)  # gradient of the last hidden activation, (out, N)
        for i in range(len(acts) - 1, -1, -1):
            g *= acts[i] > 0  # g is this pass's own array
            grads[2 * i + 2] = blas_sum(g, 1)
            grads[2 * i + 1] = dot(acts[i - 1] if i else self.xT, g.T)
            if i:
                g = dot(inputs[2 * i + 1].data, g)
            elif self.need_x:
                grads[0] = dot(g.T, inputs[1].data.T)
        return grads

    def backward(self, gy):
        inputs = list(self.inputs)
        with enable_grad():
            y = _compose(inputs)
            grads = local_gradients(y, inputs, [gy], grad_output=gy)
        if not self.need_x:
            grads[0] = None
        return tuple(grads)


def _compose(inputs: Sequence[Any]) -> Variable:
    """The same network from differentiable per-layer ops (what ``backward`` differentiates)."""
    h = inputs[0]
    for i in range(1, len(inputs) - 2, 2):
        h = linear_relu(h, inputs[i], inputs[i + 1])
    return linear(h, inputs[-2], inputs[-1])


def relu_mlp(x: Any, params: Sequence[Any]) -> Variable:
    """``relu(... relu(x @ W1 + b1) ...) @ Wk + bk`` as one op, ``params = [W1, b1, ..., Wk, bk]``.

    ``x`` (..., in); ``Wi`` (in_i, out_i), ``bi`` (out_i,); returns (..., out_k). No ReLU after
    the last layer. A raw-array ``x`` gets no gradient (its GEMM is skipped). Differentiable in
    every input, to any order.
    """
    params = tuple(params)
    if len(params) < 2 or len(params) % 2:
        raise ValueError(f"relu_mlp: params must be [W1, b1, ..., Wk, bk], got {len(params)} arrays")
    if len(params) == 2:
        return linear(x, params[0], params[1])
    need_x = x.__class__ is Variable or isinstance(x, Variable)
    if not need_x and not hasattr(x, "ndim"):
        x = np.asarray(x)
    nd = x.ndim
    if nd == 2:
        return ReluMlp(need_x)(x, *params)
    if nd == 0:
        raise ValueError("relu_mlp: x must have shape (..., in), got a 0-d input")
    lead = x.shape[:-1]
    x2 = reshape(x, (-1, x.shape[-1])) if need_x else x.reshape(-1, x.shape[-1])
    y = ReluMlp(need_x)(x2, *params)
    return reshape(y, lead + (y.shape[-1],))
