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


def _param_groups(name: str, params: Any) -> list:
    """``[{"params": [...], **options}]`` from parameters or from a list of group dicts."""
    if isinstance(params, (list, tuple)) and params and all(isinstance(g, Mapping) for g in params):
        groups = []
        for i, g in enumerate(params):
            if "params" not in g:
                raise ValueError(f"{name}: parameter group {i} has no 'params' entry (got keys {sorted(g)})")
            group = dict(g)
            group["params"] = as_param_list(g["params"])
            groups.append(group)
    else:
        groups = [{"params": as_param_list(params)}]
    seen: set = set()
    total = 0
    for g in groups:
        for p in g["params"]:
            if not hasattr(p, "grad") or not hasattr(p, "data"):
                raise TypeError(f"{name}: expected parameters (Variables), got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter appears more than once in the parameter groups")
            seen.add(id(p))
        total += len(g["params"])
    if total == 0:
        raise ValueError(f"{name}: got an empty parameter list, so step() would change nothing; "
                         f"build the model's layers first (or pass params later: {name}(lr=...).update(model))")
    return groups


class Optimizer:
    """Updates parameters in place from their ``grad``.

    Two ways to use one::

        opt = optim.SGD(lr=0.1);                   opt.update(model)   # model: anything with params()
        opt = optim.SGD(model.params(), lr=0.1);   opt.step()          # PyTorch's way

    ``params`` may also be a list of *parameter groups*, dicts with ``"params"`` and any
    hyper-parameter that differs for that group: ``[{"params": a.params()}, {"params":
    b.params(), "lr": 1e-4}]``; the optimizer's own values (``opt.lr``, ...) apply to the rest
    and groups are in ``opt.param_groups``. Lazy layers' parameters exist (uninitialised) from
    construction, so an optimizer built before the first forward updates them once they are
    created. An empty parameter list raises ``ValueError``.

    Each step skips parameters whose ``grad`` is None or whose ``requires_grad`` is False, and
    bumps ``p._version`` of every parameter it changes (so a backward pass through a graph
    recorded before the step raises instead of using the new values).

    Subclasses name their hyper-parameters in ``hyper_names``, their per-parameter state
    arrays in ``slots``, and implement ``_update(p, g, state)``: ``p`` the parameter Variable
    (its ``data`` is updated in place, then ``p._version += 1``), ``g`` the gradient array (never
    modified), ``state`` the list ``[p, *slot arrays]`` (updated in place). ``_prepare()`` runs
    once per step and group, after the step counter ``t`` is incremented, for per-step scalars.

    Hooks (``add_hook``) are callables ``hook(params, grads) -> grads`` run before the update
    on the parameters that have a gradient; the gradients they return are the ones applied, and
    each parameter's ``grad`` is set to them (what you inspect after ``step()`` is what was
    applied, as with PyTorch's in-place ``clip_grad_norm_``).
    """

    hyper_names: tuple = ("lr",)
    slots: tuple = ()
    aliases: dict = {}  # group option -> hyper name(s), e.g. Adam's "betas" -> ("beta1", "beta2")

    def __init__(self, params: Any = None, lr: float = 0.01):
        self.lr = float(lr)
        self.t = 0
        self.hooks: list = []
        name = type(self).__name__
        if params is None:
            self.param_groups: list = []
            self._params = None
        else:
            self.param_groups = _param_groups(name, params)
            for i, g in enumerate(self.param_groups):
                self._check_group(i, g)
            self._params = [p for g in self.param_groups for p in g["params"]]
        self._last: list | None = None       # parameters seen by the last update(model)
        self._state: dict = {}               # id(param) -> [param, *slot arrays]
        self._pending: list | None = None    # loaded per-parameter state awaiting parameters

    def _check_group(self, i: int, group: dict) -> None:
        allowed = set(self.hyper_names) | {"lr"} | set(self.aliases)
        unknown = sorted(set(group) - allowed - {"params"})
        if unknown:
            raise ValueError(f"{type(self).__name__}: parameter group {i} has unknown options {unknown}; "
                             f"allowed: {sorted(allowed)}")

    def _group_options(self, group: dict) -> dict:
        """The group's hyper-parameter overrides as ``{attribute: value}``."""
        out = {}
        for k, v in group.items():
            if k == "params":
                continue
            names = self.aliases.get(k)
            if names is None:
                out[k] = v
            else:
                out.update(zip(names, v))
        return out

    # ----- public API -----
    def update(self, model: Any) -> None:
        """One step on ``model.params()`` (parameters whose grad is None are skipped)."""
        params = as_param_list(model)
        if not params:
            raise ValueError(f"{type(self).__name__}.update: {type(model).__name__} has no parameters")
        self._step(params)

    def step(self) -> None:
        """One step on the parameters given at construction."""
        if self._params is None:
            raise RuntimeError(f"{type(self).__name__}.step: no parameters were given at construction; "
                               f"use {type(self).__name__}(model.params(), ...) or opt.update(model)")
        groups = self.param_groups
        if len(groups) == 1 and len(groups[0]) == 1:
            self._step(self._params)
        else:
            self._step(self._params, groups)

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
    def _step(self, params: list, groups: list | None = None) -> None:
        if self._pending is not None:
            self._apply_state(params, self._pending)
        self._last = params
        ps, gs = [], []
        for p in params:
            g = p.grad
            if g is not None and getattr(p, "requires_grad", True):
                ps.append(p)
                gs.append(g.data)
        if self.hooks:
            gs = self._run_hooks(ps, gs)
        self.t += 1
        if groups is None:
            self._apply(ps, gs)
            return
        grads = {id(p): g for p, g in zip(ps, gs)}
        for group in groups:
            opts = self._group_options(group)
            saved = {k: getattr(self, k) for k in opts}
            try:
                for k, v in opts.items():
                    setattr(self, k, v)
                mine = [p for p in group["params"] if id(p) in grads]
                self._apply(mine, [grads[id(p)] for p in mine])
            finally:
                for k, v in saved.items():
                    setattr(self, k, v)

    def _apply(self, ps: list, gs: list) -> None:
        self._prepare()
        state_of = self._state
        update = self._update
        for p, g in zip(ps, gs):
            st = state_of.get(id(p))
            if st is None:
                st = self._init_state(p)
            update(p, g, st)

    def _run_hooks(self, ps: list, gs: list) -> list:
        """Run the hooks; then every parameter's ``grad`` holds the gradient to be applied."""
        originals = list(gs)
        for hook in self.hooks:
            gs = list(hook(ps, gs))
            if len(gs) != len(ps):
                raise ValueError(f"{type(self).__name__}: a hook returned {len(gs)} gradients for {len(ps)} parameters")
        seen: set = set()
        for p, g, g0 in zip(ps, gs, originals):
            gv = p.grad
            if g is not g0:
                if id(gv) in seen:  # a grad Variable shared by two parameters: give this one its own
                    p.grad = type(gv)(g)
                else:
                    gv.data = g
            seen.add(id(gv))
        return gs

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
        out = {"type": type(self).__name__, "step": self.t, "hyper": self.hyper_params(), "state": state}
        if any(len(g) > 1 for g in self.param_groups):
            out["groups"] = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return out

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
        groups = state_dict.get("groups")
        if groups is not None and len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(groups)} parameter groups, "
                             f"the optimizer {len(self.param_groups)}")
        if params is not None:
            self._params = as_param_list(params)
        known = self._known_params()
        lazy = known is not None and any(s and p.data is None for p, s in zip(known, state))
        if known is not None and not lazy:
            self._apply_state(known, state)
        else:  # checked and applied at the next step (lazy parameters are created by then)
            self._state = {}
            self._pending = state
        for k, v in hyper.items():
            current = getattr(self, k)
            setattr(self, k, bool(v) if isinstance(current, bool) else float(v))
        for g, opts in zip(self.param_groups, groups or ()):
            g.update(opts)
        self.t = int(state_dict.get("step", 0))

    def _apply_state(self, params: list, state: list) -> None:
        name = type(self).__name__
        if len(state) != len(params):
            raise ValueError(f"{name}.load_state_dict: the state holds {len(state)} parameters "
                             f"but the optimizer has {len(params)}")
        bad = []
        for i, (p, s) in enumerate(zip(params, state)):
            if s and p.data is None:
                bad.append(f"parameter {i} ({getattr(p, 'name', None) or 'unnamed'}) is not initialised yet "
                           f"(call the model once before stepping)")
                continue
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
