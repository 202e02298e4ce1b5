"""``Optimizer``: the base of every update rule (parameter bookkeeping, hooks, state_dict)."""
from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any, Callable

import numpy as np

from ..backend import backend_of

__all__ = ["Optimizer"]

Hook = Callable[[list, list], list]


def as_param_list(params: Any) -> list:
    """Parameters as a list: from a list/iterable of Variables, a name->Variable mapping,
    or an object with ``params()`` (a layer or model)."""
    if isinstance(params, list):
        return params
    get = getattr(params, "params", None)
    if get is not None and callable(get):
        return as_param_list(get())
    if isinstance(params, Mapping):
        return list(params.values())
    if isinstance(params, Real):
        raise TypeError(f"expected parameters, got the number {params!r}; "
                        f"pass hyper-parameters by keyword, e.g. SGD(lr={params!r})")
    try:
        return list(params)
    except TypeError:
        raise TypeError(f"expected parameters (an iterable of Variables or an object with params()), "
                        f"got {type(params).__name__}") from None


class Optimizer:
    """Updates parameters in place from their ``grad``.

    Two ways to use one::

        opt = optim.SGD(lr=0.1);               opt.update(model)   # model: anything with params()
        opt = optim.Adam(params=model.params()); opt.step()

    Subclasses name their hyper-parameters in ``hyper_names``, their per-parameter state
    arrays in ``slots``, and implement ``_update(p, g, state)``: ``p`` the parameter Variable
    (its ``data`` is updated in place), ``g`` the gradient array (never modified), ``state``
    the list of slot arrays (updated in place). ``_prepare()`` runs once per step, after the
    step counter ``t`` is incremented, for per-step scalars.

    Hooks (``add_hook``) are callables ``hook(params, grads) -> grads`` run before the update
    on the parameters that have a gradient; they return new gradient arrays.
    """

    hyper_names: tuple = ("lr",)
    slots: tuple = ()

    def __init__(self, params: Any = None, lr: float = 0.01):
        self.lr = float(lr)
        self.t = 0
        self.hooks: list = []
        self._params = None if params is None else as_param_list(params)
        self._last: list | None = None       # parameters seen by the last update(model)
        self._state: dict = {}               # id(param) -> [param, *slot arrays]
        self._pending: list | None = None    # loaded per-parameter state awaiting parameters

    # ----- public API -----
    def update(self, model: Any) -> None:
        """One step on ``model.params()`` (parameters whose grad is None are skipped)."""
        self._step(as_param_list(model))

    def step(self) -> None:
        """One step on the parameters given at construction."""
        if self._params is None:
            raise RuntimeError(f"{type(self).__name__}.step: no parameters were given at construction; "
                               f"use {type(self).__name__}(params=model.params()) or opt.update(model)")
        self._step(self._params)

    def zero_grad(self) -> None:
        """Set ``grad`` to None on every known parameter."""
        for p in self._known_params() or ():
            p.grad = None

    def add_hook(self, hook: Hook) -> Hook:
        """Run ``hook(params, grads) -> grads`` before every update; returns the hook."""
        if not callable(hook):
            raise TypeError(f"add_hook: expected a callable hook(params, grads), got {type(hook).__name__}")
        self.hooks.append(hook)
        return hook

    # ----- the step -----
    def _step(self, params: list) -> None:
        if self._pending is not None:
            self._apply_state(params, self._pending)
        self._last = params
        ps, gs = [], []
        for p in params:
            g = p.grad
            if g is not None:
                ps.append(p)
                gs.append(g.data)
        for hook in self.hooks:
            gs = hook(ps, gs)
        self.t += 1
        self._prepare()
        state_of = self._state
        update = self._update
        for p, g in zip(ps, gs):
            st = state_of.get(id(p))
            if st is None:
                st = self._init_state(p)
            update(p, g, st)

    def _init_state(self, p: Any) -> list:
        zeros_like = backend_of(p.data).xp.zeros_like
        st = [p, *(zeros_like(p.data) for _ in self.slots)]
        self._state[id(p)] = st
        return st

    def _prepare(self) -> None:
        """Per-step scalars (bias corrections...); the default has none."""

    def _update(self, p: Any, g: Any, st: list) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- state -----
    def _known_params(self) -> list | None:
        return self._params if self._params is not None else self._last

    def hyper_params(self) -> dict:
        """The hyper-parameters by name (``lr``, ``momentum``, ...)."""
        return {n: getattr(self, n) for n in self.hyper_names}

    def state_dict(self) -> dict:
        """``{"type", "step", "hyper", "state"}``: ``state`` holds one dict of NumPy arrays
        per parameter, in parameter order (empty for a parameter not updated yet)."""
        params = self._known_params()
        if params is None:
            state = [dict(s) for s in self._pending] if self._pending is not None else []
        else:
            state = []
            for p in params:
                st = self._state.get(id(p))
                if st is None:
                    state.append({})
                else:
                    state.append({n: np.array(backend_of(a).to_numpy(a)) for n, a in zip(self.slots, st[1:])})
        return {"type": type(self).__name__, "step": self.t, "hyper": self.hyper_params(), "state": state}

    def load_state_dict(self, state_dict: Mapping, params: Any = None) -> None:
        """Restore ``state_dict()`` output. The per-parameter state is checked against the
        parameters (count and shapes) now when they are known (given here, at construction or
        by an earlier update), else at the next update. Raises ValueError on a mismatch."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        kind = state_dict.get("type", name)
        if kind != name:
            raise ValueError(f"{name}.load_state_dict: the state is of a {kind} optimizer, not {name}")
        hyper = dict(state_dict.get("hyper", {}))
        unknown = sorted(set(hyper) - set(self.hyper_names))
        if unknown:
            raise ValueError(f"{name}.load_state_dict: unknown hyper-parameters {unknown}; "
                             f"expected {list(self.hyper_names)}")
        state = list(state_dict.get("state", []))
        for i, s in enumerate(state):
            if not isinstance(s, Mapping):
                raise ValueError(f"{name}.load_state_dict: state entry {i} is {type(s).__name__}, expected a dict")
            bad = sorted(set(s) - set(self.slots))
            if bad or (s and len(s) != len(self.slots)):
                raise ValueError(f"{name}.load_state_dict: state entry {i} has arrays {sorted(s)}, "
                                 f"expected {list(self.slots)}")
        if params is not None:
            self._params = as_param_list(params)
        known = self._known_params()
        if known is not None:
            self._apply_state(known, state)
        else:
            self._state = {}
            self._pending = state
        for k, v in hyper.items():
            setattr(self, k, float(v))
        self.t = int(state_dict.get("step", 0))

    def _apply_state(self, params: list, state: list) -> None:
        name = type(self).__name__
        if len(state) != len(params):
            raise ValueError(f"{name}.load_state_dict: the state holds {len(state)} parameters "
                             f"but the optimizer has {len(params)}")
        bad = []
        for i, (p, s) in enumerate(zip(params, state)):
            for n, a in s.items():
                if tuple(a.shape) != tuple(p.data.shape):
                    bad.append(f"parameter {i} ({getattr(p, 'name', None) or 'unnamed'}): "
                               f"{n} has shape {tuple(a.shape)}, parameter has {tuple(p.data.shape)}")
        if bad:
            raise ValueError(f"{name}.load_state_dict: state does not match the parameters: " + "; ".join(bad))
        new = {}
        for p, s in zip(params, state):
            if s:
                b = backend_of(p.data)
                arrays = [b.asarray(np.array(backend_of(s[n]).to_numpy(s[n]), dtype=p.data.dtype))
                          for n in self.slots]
                new[id(p)] = [p, *arrays]
        self._state = new
        self._pending = None

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyper_params().items())
        return f"{type(self).__name__}({hp})"
