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
from .linalg import _affine_bias
from .math import Sigmoid, _sigmoid
from .reduction import blas_sum

__all__ = ["lstm_cell", "lstm_step"]


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
        h, c, self.saved = _cell_forward(af, ai, ao, au, c_prev[0] if c_prev else None)
        return h, c

    def fast_vjp(self, gys, ys, af, ai, ao, au, *c_prev):
        grads = _cell_vjp(self.saved, gys[0], gys[1], c_prev[0] if c_prev else None)
        return grads if c_prev else grads[:4]


def _cell_forward(af: Any, ai: Any, ao: Any, au: Any, c_prev: Any) -> tuple:
    """``(h, c, saved)`` of the cell on arrays; ``saved`` is what ``_cell_vjp`` reads."""
    xp = xp_of(af)
    f, i, o = _sigmoid(af), _sigmoid(ai), _sigmoid(ao)
    u = xp.tanh(au)
    c = i * u
    if c_prev is not None:
        c += f * c_prev
    tc = xp.tanh(c)
    return o * tc, c, (f, i, o, u, tc)


def _cell_vjp(saved: tuple, gh: Any, gc: Any, c_prev: Any) -> tuple:
    """The cell's first-order rule on arrays: ``(d_af, d_ai, d_ao, d_au, d_c_prev)`` from the
    gradients of ``h`` and ``c`` (either may be None); ``d_c_prev`` is None without ``c_prev``."""
    f, i, o, u, tc = saved
    if gh is not None:
        dc = gh * o
        dc *= 1 - tc * tc
        if gc is not None:
            dc += gc
        d_ao = gh * tc
        d_ao *= o * (1 - o)
    else:
        dc = gc
        d_ao = xp_of(o).zeros_like(o)
    d_ai = dc * u
    d_ai *= i * (1 - i)
    d_au = dc * i
    d_au *= 1 - u * u
    if c_prev is None:
        return xp_of(f).zeros_like(f), d_ai, d_ao, d_au, None
    d_af = dc * f * (1 - f)
    d_af *= c_prev
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


class LSTMStep(Composite):
    """A whole LSTM step: the gate maps and the cell update as one op. Inputs ``x`` (N, in);
    with a state, ``h`` and ``c`` (N, H); then per gate f, i, o, u the input maps ``Wx*``
    (in, H), the biases ``b*`` (H,) and, with a state, the hidden maps ``Wh*`` (H, H).
    Outputs ``(h, c)``. ``need_x=False`` (``x`` takes no gradient) skips its GEMMs."""

    multi_output = True
    __slots__ = ("stateful", "need_x", "saved")

    def __init__(self, stateful: bool, need_x: bool = True):
        self.stateful = stateful
        self.need_x = need_x

    def _split(self, rest: tuple) -> tuple:
        """``(h, c, Wx*, b*, Wh*)`` from the inputs after ``x`` (h, c None without a state)."""
        if self.stateful:
            h, c, ps = rest[0], rest[1], rest[2:]
        else:
            h = c = None
            ps = rest
        return h, c, ps[0:4], ps[4:8], ps[8:12]

    def reference(self, ns: Any, x: Any, *rest: Any) -> tuple:
        h, c, wx, b, wh = self._split(rest)
        a = [ns.linear(x, wx[k], b[k]) for k in range(4)]
        if h is None:
            return ns.call(LSTMCell(), *a)
        a = [ns.linear(h, wh[k], a[k]) for k in range(4)]  # h @ Wh* with the x terms as its bias
        return ns.call(LSTMCell(), *a, c)

    def forward(self, x, *rest):
        h, c, wx, b, wh = self._split(rest)
        a = [_affine_bias(x, wx[k], b[k]) for k in range(4)]
        if h is not None:
            a = [_affine_bias(h, wh[k], a[k]) for k in range(4)]
        h_new, c_new, self.saved = _cell_forward(*a, c)
        return h_new, c_new

    def fast_vjp(self, gys, ys, x, *rest):
        h, c, wx, b, wh = self._split(rest)
        d = _cell_vjp(self.saved, gys[0], gys[1], c)
        gx = gh = None
        gwx, gb, gwh = [], [], []
        for k in range(4):
            dk = d[k]
            gwx.append(x.T @ dk)
            gb.append(blas_sum(dk, 0))
            if self.need_x:
                t = dk @ wx[k].T
                gx = t if gx is None else gx + t
            if h is not None:
                gwh.append(h.T @ dk)
                t = dk @ wh[k].T
                gh = t if gh is None else gh + t
        if h is None:
            return (gx, *gwx, *gb)
        return (gx, gh, d[4], *gwx, *gb, *gwh)


def _step_samples(rng: Any) -> list:
    r = rng.standard_normal
    maps = lambda i, o: tuple(r((i, o)) for _ in range(4))  # noqa: E731
    biases = tuple(r(3) for _ in range(4))
    return [(r((2, 1)), None, None, *maps(1, 3), *biases),
            (r((2, 1)), r((2, 3)), r((2, 3)), *maps(1, 3), *biases, *maps(3, 3)),
            (r((4, 2)), r((4, 3)), r((4, 3)), *maps(2, 3), *biases, *maps(3, 3)),
            (r((2, 4))[:, ::2], r((3, 2)).T, r((2, 3)), *maps(2, 3), *biases, *maps(3, 3))]  # strided


def _torch_lstm_step(t: Any, x: Any, h: Any, c: Any, *params: Any) -> tuple:
    wx, b, wh = params[0:4], params[4:8], params[8:12]
    a = [t.matmul(x, wx[k]) + b[k] + (t.matmul(h, wh[k]) if h is not None else 0) for k in range(4)]
    return _torch_lstm_cell(t, a[0], a[1], a[2], a[3], c)


@declare(LSTMStep, samples=_step_samples, torch=_torch_lstm_step)
def lstm_step(x: Operand, h: Operand | None, c: Operand | None, *params: Operand) -> list[Variable]:
    """One step of an LSTM with separate maps per gate, as one op:

        a* = x @ Wx* + b* + h @ Wh*   (for * in f, i, o, u; no h term when h is None)
        [h', c'] = lstm_cell(af, ai, ao, au, c)

    ``x`` (N, in); ``h``, ``c`` (N, H), both given or both None (the first step);
    ``params``: ``Wxf, Wxi, Wxo, Wxu`` (in, H), ``bf, bi, bo, bu`` (H,), then ``Whf, Whi, Who,
    Whu`` (H, H) (ignored when there is no state). Returns ``[h', c']``; differentiable to any
    order in every input. What ``layers.LSTM`` runs each step after its first.
    """
    if (h is None) != (c is None):
        raise ValueError("lstm_step: give both h and c (the state) or neither (the first step)")
    if len(params) not in (8, 12) or (h is not None and len(params) != 12):
        raise ValueError(f"lstm_step: expected 8 arrays (Wx*, b*) without a state or 12 (Wx*, b*, Wh*), "
                         f"got {len(params)}")
    need_x = isinstance(x, Variable) and x.requires_grad
    xv = as_input("lstm_step", x)
    ps = [as_input("lstm_step", p) for p in params[:8 if h is None else 12]]
    n, width = xv.shape if xv.ndim == 2 else (None, None)
    hidden = ps[4].shape[0] if ps[4].ndim == 1 else None
    ok = n is not None and hidden is not None and all(
        w.shape == (width, hidden) for w in ps[0:4]) and all(bb.shape == (hidden,) for bb in ps[4:8])
    state: list = []
    if h is not None and ok:
        state = [as_input("lstm_step", h), as_input("lstm_step", c)]
        ok = all(s.shape == (n, hidden) for s in state) and all(w.shape == (hidden, hidden) for w in ps[8:12])
    if not ok:
        shapes = ", ".join(str(tuple(v.shape)) for v in [xv, *state, *ps])
        raise ValueError(f"lstm_step: shapes {shapes} do not fit x (N, in), h and c (N, H), Wx* (in, H), "
                         f"b* (H,), Wh* (H, H)")
    return LSTMStep(h is not None, need_x)(xv, *state, *ps)
