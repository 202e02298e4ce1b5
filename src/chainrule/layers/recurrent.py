"""Recurrent layers that process one time step per call and keep their state between calls."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import functions as F
from ..core.variable import Variable
from ..random import get_rng
from .base import Layer, conform_input
from .linear import Linear

__all__ = ["RNN", "LSTM"]


def _check_hidden(name: str, hidden_size: Any) -> int:
    if isinstance(hidden_size, (bool, np.bool_)) or not isinstance(hidden_size, (int, np.integer)) \
            or hidden_size <= 0:
        raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
    return int(hidden_size)


class RNN(Layer):
    """Elman RNN step: ``h = tanh(x @ x2h.w + x2h.b + h_prev @ h2h.w)``.

    ``x`` (N, in) -> ``h`` (N, hidden). Sub-layers ``x2h`` (with bias) and ``h2h`` (no bias);
    the first step after ``reset_state()`` (no previous ``h``) uses ``x2h`` only. ``h2h`` is
    initialised at construction, ``x2h`` at the first call (as the reference library does).
    """

    def __init__(self, hidden_size: int, in_size: int | None = None, dtype: Any = None, rng: Any = None):
        super().__init__()
        self.hidden_size = hidden = _check_hidden("RNN", hidden_size)
        rng = get_rng(rng)
        self.x2h = Linear(hidden, in_size=in_size, dtype=dtype, rng=rng)
        self.h2h = Linear(hidden, in_size=hidden, bias=False, dtype=dtype, rng=rng)
        self.h: Variable | None = None

    def reset_state(self) -> None:
        """Forget the hidden state; the next call starts a new sequence."""
        self.h = None

    def forward(self, x: Any) -> Variable:
        if self.h is None:
            h = F.tanh(self.x2h(x))
        else:
            h = F.tanh(self.x2h(x) + self.h2h(self.h))
        self.h = h
        return h

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}"


class LSTM(Layer):
    """LSTM step with forget, input, output and update gates:

        f = sigmoid(x2f(x) + h2f(h)),  i = sigmoid(x2i(x) + h2i(h)),
        o = sigmoid(x2o(x) + h2o(h)),  u = tanh(x2u(x) + h2u(h)),
        c = f * c + i * u,             h = o * tanh(c)

    ``x`` (N, in) -> ``h`` (N, hidden). ``x2*`` have a bias, ``h2*`` none. After
    ``reset_state()`` the first step uses only the ``x2*`` maps and ``c = i * u``. ``h2*`` are
    initialised at construction, ``x2*`` at the first call (the reference library's order).
    """

    def __init__(self, hidden_size: int, in_size: int | None = None, dtype: Any = None, rng: Any = None):
        super().__init__()
        self.hidden_size = hidden = _check_hidden("LSTM", hidden_size)
        rng = get_rng(rng)
        self.x2f = Linear(hidden, in_size=in_size, dtype=dtype, rng=rng)
        self.x2i = Linear(hidden, in_size=in_size, dtype=dtype, rng=rng)
        self.x2o = Linear(hidden, in_size=in_size, dtype=dtype, rng=rng)
        self.x2u = Linear(hidden, in_size=in_size, dtype=dtype, rng=rng)
        self.h2f = Linear(hidden, in_size=hidden, bias=False, dtype=dtype, rng=rng)
        self.h2i = Linear(hidden, in_size=hidden, bias=False, dtype=dtype, rng=rng)
        self.h2o = Linear(hidden, in_size=hidden, bias=False, dtype=dtype, rng=rng)
        self.h2u = Linear(hidden, in_size=hidden, bias=False, dtype=dtype, rng=rng)
        self.h: Variable | None = None
        self.c: Variable | None = None
        self._x_sized = self._h_sized = False  # whether the x2* / h2* layers have run once

    def reset_state(self) -> None:
        """Forget the hidden and cell states; the next call starts a new sequence."""
        self.h = None
        self.c = None

    def forward(self, x: Any) -> Variable:
        h = self.h
        xmaps = (self.x2f, self.x2i, self.x2o, self.x2u)
        hmaps = (self.h2f, self.h2i, self.h2o, self.h2u)
        if not self._x_sized or (h is not None and not self._h_sized):
            # the first calls go through the eight layers, which size and type their parameters
            # (in f, i, o, u order: the reference's draw order)
            a = [m(x) for m in xmaps]
            self._x_sized = True
            if h is not None:
                a = [g + m(h) for g, m in zip(a, hmaps)]
                self._h_sized = True
            h, c = F.lstm_cell(a[0], a[1], a[2], a[3], self.c)
        else:
            # then the gate maps and the state update as one op (F.lstm_step)
            dtype = self.x2f.w.data.dtype
            if getattr(x, "dtype", None) is not dtype:
                x = conform_input(self, x, dtype)
            params = [m.w for m in xmaps] + [m.b for m in xmaps]
            if h is not None:
                params += [m.w for m in hmaps]
            h, c = F.lstm_step(x, h, self.c, *params)
        self.h = h
        self.c = c
        return h

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}"
