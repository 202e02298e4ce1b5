"""The LSTM cell update as one op: gate activations, cell state and hidden state.

``lstm_cell`` is a ``Composite``: its reference (three sigmoids, two tanh, three products and
a sum, through the declared ops) defines it and every derivative order; a fused kernel and a
fused first-order rule replace the nine ops of a recurrent training step, which is what the
loop spends most of its per-op overhead on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backend import xp_of
from ..core.composite import Composite
from ..core.op import declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._checks import as_input
from .math import Sigmoid, _sigmoid

__all__ = ["lstm_cell"]


class LSTMCell(Composite):
    """Inputs: gate pre-activations ``af, ai, ao, au`` (N, H) and, unless it is the first step,
    the previous cell state ``c_prev`` (N, H). Outputs ``(h, c)``."""

    multi_output = True

    def reference(self, ns: Any, af: Any, ai: Any, ao: Any, au: Any, *c_prev: Any) -> tuple:
        # ns.call(Sigmoid()): math.py's sigmoid on arrays, the recorded op on Variables
        f, i, o = ns.call(Sigmoid(), af), ns.call(Sigmoid(), ai), ns.call(Sigmoid(), ao)
        u = ns.tanh(au)
        c = i * u if not c_prev else f * c_prev[0] + i * u
        return o * ns.tanh(c), c

    def forward(self, af, ai, ao, au, *c_prev):
        xp = xp_of(af)
        f, i, o = _sigmoid(af), _sigmoid(ai), _sigmoid(ao)
        u = xp.tanh(au)
        c = i * u
        if c_prev:
            c += f * c_prev[0]
        tc = xp.tanh(c)
        self.saved = (f, i, o, u, tc)  # the fused rule's intermediates
        return o * tc, c

    def fast_vjp(self, gys, ys, af, ai, ao, au, *c_prev):
        f, i, o, u, tc = self.saved
        gh, gc = gys
        if gh is not None:
            dc = gh * o
            dc *= 1 - tc * tc
            if gc is not None:
                dc += gc
            d_ao = gh * tc
            d_ao *= o * (1 - o)
        else:
            dc = gc
            d_ao = xp_of(ao).zeros_like(ao)
        d_ai = dc * u
        d_ai *= i * (1 - i)
        d_au = dc * i
        d_au *= 1 - u * u
        if not c_prev:
            return xp_of(af).zeros_like(af), d_ai, d_ao, d_au
        d_af = dc * f * (1 - f)
        d_af *= c_prev[0]
        return d_af, d_ai, d_ao, d_au, dc * f


def _gates(rng: Any) -> list:
    g = [rng.standard_normal((3, 4)) for _ in range(5)]
    t = [rng.standard_normal((4, 3)).T for _ in range(4)]
    wide = rng.standard_normal((3, 8))
    return [tuple(g[:4]), tuple(g),
            (t[0], t[1], wide[:, ::2], t[2], t[3]),  # non-contiguous inputs
            tuple(rng.standard_normal(()) for _ in range(5))]  # 0-d


def _torch_lstm_cell(t: Any, af: Any, ai: Any, ao: Any, au: Any, c_prev: Any = None) -> tuple:
    f, i, o, u = t.sigmoid(af), t.sigmoid(ai), t.sigmoid(ao), t.tanh(au)
    c = i * u if c_prev is None else f * c_prev + i * u
    return o * t.tanh(c), c


@declare(LSTMCell, samples=_gates, torch=_torch_lstm_cell)
def lstm_cell(af: Operand, ai: Operand, ao: Operand, au: Operand, c_prev: Operand | None = None) -> list[Variable]:
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
