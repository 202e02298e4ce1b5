"""Global-but-scoped switches: backprop recording, train/test mode, active gradient tapes.

State lives in one ``ContextVar`` holding an immutable ``Config``; the hot path in
``Function.__call__`` reads it with a single ``get()``. Every switch is a context manager
that is also a decorator, and nesting restores the previous state exactly.
"""
from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable


class Config:
    """Immutable snapshot of the switches. ``tapes`` is a tuple of recording GradientTapes;
    ``interceptors`` the callables ``h(function, inputs, output)`` that the recording path calls
    after every op (a tape's, forward mode's; ``core/function.py``)."""

    __slots__ = ("enable_backprop", "train", "tapes", "interceptors")

    def __init__(self, enable_backprop: bool = True, train: bool = True, tapes: tuple = (),
                 interceptors: tuple = ()):
        self.enable_backprop = enable_backprop
        self.train = train
        self.tapes = tapes
        self.interceptors = interceptors

    def replace(self, **kw: Any) -> "Config":
        new = Config(self.enable_backprop, self.train, self.tapes, self.interceptors)
        for k, v in kw.items():
            setattr(new, k, v)
        return new

    def __repr__(self) -> str:
        return f"Config(enable_backprop={self.enable_backprop}, train={self.train}, tapes={len(self.tapes)})"


_state: contextvars.ContextVar[Config] = contextvars.ContextVar("chainrule_config", default=Config())  # noqa: B039 (Config is never mutated in place)
get_config = _state.get


class _Switch:
    """A context manager / decorator that sets some fields of the config while active."""

    def __init__(self, **fields: Any):
        self._fields = fields
        self._tokens: list = []

    def __enter__(self) -> "_Switch":
        self._tokens.append(_state.set(_state.get().replace(**self._fields)))
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.reset(self._tokens.pop())

    def __call__(self, fn: Callable) -> Callable:
        fields = self._fields

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Switch(**fields):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> _Switch:
    """Record no graph inside the block (``with cr.no_grad():`` or ``@cr.no_grad()``)."""
    return _Switch(enable_backprop=False)


def enable_grad() -> _Switch:
    """Record the graph inside the block, even within ``no_grad``."""
    return _Switch(enable_backprop=True)


def test_mode() -> _Switch:
    """Run layers in inference mode (dropout off, batch norm uses running stats)."""
    return _Switch(train=False)


def train_mode() -> _Switch:
    """Run layers in training mode (the default)."""
    return _Switch(train=True)


def is_grad_enabled() -> bool:
    return _state.get().enable_backprop


def is_train() -> bool:
    return _state.get().train
