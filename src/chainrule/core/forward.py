"""Forward mode: tangents pushed through each op's JVP rule as the ops run.

A ``ForwardMode`` is an interceptor on the recording path (``core/function.py``): after every
op it looks up its inputs' tangents, and when one has any it calls the op's ``jvp`` rule and
keeps the output's tangent. Tangents are keyed by the ``id`` of their Variable and dropped by a
weak-reference callback when that Variable dies, so a long chain holds a few arrays at a time
and no reverse graph is needed.

Two kinds:

* ``differentiable=False``: tangents are arrays and rules run with ``ns = A``. The cheap mode
  of a top-level ``cr.jvp``/``cr.jacfwd`` on arrays.
* ``differentiable=True``: tangents are Variables and rules run with ``ns = V`` on the op's
  input and output Variables, with this interceptor switched off meanwhile. The tangent ops
  are then ordinary ops: recorded for reverse mode (``grad`` of a ``jvp``) and seen by any
  outer forward mode (``jvp`` of a ``jvp``, ``jacfwd(jacfwd(f))``).
"""
from __future__ import annotations

import weakref
from typing import Any

from ..backend import xp_of
from .arrayns import A, V
from .config import _state
from .op import MissingJvpRule
from .variable import Variable

__all__ = ["ForwardMode", "carry_tangent"]

_ref = weakref.ref


class ForwardMode:
    """The tangents of one forward-mode sweep; install it with ``with mode:``."""

    __slots__ = ("tangents", "differentiable", "_tokens")

    def __init__(self, differentiable: bool = False):
        self.tangents: dict = {}
        self.differentiable = differentiable
        self._tokens: list = []

    # ----- the tangent store -----
    def set(self, v: Variable, t: Any) -> None:
        """Make ``t`` the tangent of ``v`` (dropped when ``v`` is)."""
        k = id(v)
        store = self.tangents
        store[k] = (_ref(v, lambda _r, k=k, store=store: store.pop(k, None)), t)  # type: ignore[misc]

    def get(self, v: Any) -> Any:
        """The tangent of ``v``, or None."""
        e = self.tangents.get(id(v))
        if e is not None and e[0]() is v:
            return e[1]
        return None

    # ----- as an interceptor -----
    def __enter__(self) -> "ForwardMode":
        cfg = _state.get()
        self._tokens.append(_state.set(cfg.replace(interceptors=cfg.interceptors + (self,))))
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.reset(self._tokens.pop())

    def __call__(self, fn: Any, inputs: Any, out: Any) -> None:
        """After op ``fn`` ran on ``inputs`` giving ``out`` (a Variable, or a list for several
        outputs): the output tangent(s) from the input tangents."""
        get = self.get
        ts: Any = [get(x) for x in inputs]
        for t in ts:
            if t is not None:
                break
        else:
            return  # no input carries a tangent: the output has none
        rule = fn.jvp
        if rule is None:
            raise MissingJvpRule(f"forward mode: {fn.name} has no jvp rule yet (it is not declared as an "
                                 f"Op with vjp/jvp rules); use reverse mode (cr.vjp, cr.jacrev) for it")
        multi = out.__class__ is list
        if self.differentiable:
            ts = tuple(_zero_variable(x) if t is None else t for x, t in zip(inputs, ts))
            ys = tuple(out) if multi else out
            cfg = _state.get()
            token = _state.set(cfg.replace(interceptors=tuple(h for h in cfg.interceptors if h is not self)))
            try:
                r = rule(V, ts, ys, *inputs)
            finally:
                _state.reset(token)
        else:
            ts = tuple(xp_of(x._data).zeros_like(x._data) if t is None else t for x, t in zip(inputs, ts))
            ys = tuple([o._data for o in out]) if multi else out._data
            r = rule(A, ts, ys, *[x._data for x in inputs])
        if multi:
            for o, t in zip(out, r):
                self._keep(o, t)
        else:
            self._keep(out, r)

    def _keep(self, o: Variable, t: Any) -> None:
        if t is None:
            return
        dt = o._data.dtype
        if dt.kind not in "fc":
            return  # integer/bool outputs (indices, masks) carry no tangent
        if self.differentiable:
            if t.__class__ is not Variable and not isinstance(t, Variable):
                t = Variable._new(t)
            if t._data.dtype is not dt or t._data.shape != o._data.shape:
                t = _fit_variable(t, o)
        elif t.dtype is not dt or t.shape != o._data.shape:
            t = _fit_array(t, o._data)
        self.set(o, t)


def _zero_variable(x: Variable) -> Variable:
    z = Variable._new(xp_of(x._data).zeros_like(x._data))
    z._requires_grad = False
    return z


def _fit_array(t: Any, y: Any) -> Any:
    """A rule's tangent in the output's dtype and shape (a rule may return a broadcastable
    tangent or one in a wider dtype)."""
    xp = xp_of(y)
    if t.shape != y.shape:
        t = xp.broadcast_to(t, y.shape)
    return t.astype(y.dtype) if t.dtype is not y.dtype else t


def _fit_variable(t: Variable, y: Variable) -> Variable:
    if t._data.shape != y._data.shape:
        t = V.broadcast_to(t, y._data.shape)
    if t._data.dtype != y._data.dtype:
        t = V.cast(t, y._data.dtype)
    return t


def active_modes() -> list:
    """The forward modes installed now (innermost last)."""
    return [h for h in _state.get().interceptors if h.__class__ is ForwardMode]


def carry_tangent(src: Variable, dst: Variable) -> None:
    """Give ``dst`` the tangent of ``src`` in every active forward mode (for transforms that
    replace a Variable by a fresh leaf on the same data)."""
    for h in _state.get().interceptors:
        if h.__class__ is ForwardMode:
            t = h.get(src)
            if t is not None:
                h.set(dst, t)
