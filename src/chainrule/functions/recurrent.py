"""The LSTM cell update as one op: gate activations, cell state and hidden state.

``lstm_cell`` replaces nine elementwise ops (three sigmoids, two tanh, three products, a sum)
with one forward op and one gradient op, which is what a recurrent training loop spends most
of its per-op overhead on. The gradient op's own backward re-expresses the first-order formulas
in differentiable ops, so ``create_graph=True`` works to any order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import xp_of
from ..core.autodiff import local_gradients
from ..core.config import enable_grad
from ..core.function import Function
from ..core.variable import Variable
from ._checks import as_input

__all__ = ["lstm_cell"]


def _sigmoid(xp: Any, a: Any) -> Any:
    if xp is np:
        with np.errstate(over="ignore"):
            t = np.exp(-a)
    else:
        t = xp.exp(-a)
    t += 1
    return xp.reciprocal(t, out=t)


class LSTMCell(Function):
    """Inputs: gate pre-activations ``af, ai, ao, au`` (N, H) and, unless it is the first step,
    the previous cell state ``c_prev`` (N, H). Outputs ``(h, c)``."""

    def forward(self, af, ai, ao, au, *c_prev):
        xp = xp_of(af)
        f, i, o = _sigmoid(xp, af), _sigmoid(xp, ai), _sigmoid(xp, ao)
        u = xp.tanh(au)
        c = i * u
        if c_prev:
            c += f * c_prev[0]
        tc = xp.tanh(c)
        self.saved = (f, i, o, u, tc)
        return o * tc, c

    def backward(self, gh, gc):
        ins = self.inputs
        if gh is None:
            gh = Variable._new(xp_of(ins[0].data).zeros_like(ins[0].data))
        if gc is None:
            gc = Variable._new(xp_of(ins[0].data).zeros_like(ins[0].data))
        grads = LSTMCellGrad(self.saved)(*ins, gh, gc)
        if len(ins) == 4:
            grads = grads[:4]
        return tuple(grads)


class LSTMCellGrad(Function):
    """Inputs ``(af, ai, ao, au, [c_prev,] gh, gc)``; outputs the gradients of ``af, ai, ao,
    au, c_prev`` (``c_prev``'s is zeros on the first step)."""

    def __init__(self, saved):
        self.saved = saved

    def forward(self, *xs):
        f, i, o, u, tc = self.saved
        gh, gc = xs[-2], xs[-1]
        cp = xs[4] if len(xs) == 7 else None
        dc = gh * o
        dc *= 1 - tc * tc
        dc += gc
        d_ao = gh * tc
        d_ao *= o * (1 - o)
        d_af = dc * f * (1 - f)
        if cp is not None:
            d_af *= cp
        else:
            d_af *= 0
        d_ai = dc * u
        d_ai *= i * (1 - i)
        d_au = dc * i
        d_au *= 1 - u * u
        d_cp = dc * f
        return d_af, d_ai, d_ao, d_au, d_cp

    def backward(self, *ggs):
        # Rebuild the first-order formulas in differentiable ops and differentiate their
        # contraction with the incoming gradients: exact to any order.
        ins = list(self.inputs)
        with enable_grad():
            outs = _cell_grads(*ins)
            total = None
            for out, gg in zip(outs, ggs):
                if gg is not None:
                    t = (out * gg).sum()
                    total = t if total is None else total + t
            if total is None:
                return (None,) * len(ins)
            return tuple(local_gradients(total, ins, ggs))


def _cell_grads(*xs: Variable) -> tuple:
    """The first-order gradients of ``LSTMCell`` written in differentiable ops."""
    from . import math as m

    af, ai, ao, au = xs[:4]
    gh, gc = xs[-2], xs[-1]
    cp = xs[4] if len(xs) == 7 else None
    f, i, o, u = m.sigmoid(af), m.sigmoid(ai), m.sigmoid(ao), m.tanh(au)
    c = i * u if cp is None else f * cp + i * u
    tc = m.tanh(c)
    dc = gc + gh * o * (1 - tc * tc)
    d_ao = gh * tc * o * (1 - o)
    d_af = dc * f * (1 - f) * (cp if cp is not None else 0.0)
    d_ai = dc * u * i * (1 - i)
    d_au = dc * i * (1 - u * u)
    d_cp = dc * f
    return d_af, d_ai, d_ao, d_au, d_cp


def lstm_cell(af: Any, ai: Any, ao: Any, au: Any, c_prev: Any = None) -> list:
    """One LSTM state update from gate pre-activations (all (N, H)):

        f, i, o = sigmoid(af), sigmoid(ai), sigmoid(ao);  u = tanh(au)
        c = f * c_prev + i * u   (c = i * u when c_prev is None);  h = o * tanh(c)

    Returns ``[h, c]``; differentiable to any order in every input.
    """
    xs = [as_input("lstm_cell", a) for a in (af, ai, ao, au)]
    shape = xs[0].shape
    if c_prev is not None:
        xs.append(as_input("lstm_cell", c_prev))
    for x in xs[1:]:
        if x.shape != shape:
            raise ValueError(f"lstm_cell: inputs must share one shape, got "
                             f"{', '.join(str(v.shape) for v in xs)}")
    return LSTMCell()(*xs)
