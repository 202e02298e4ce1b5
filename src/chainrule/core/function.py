"""``Function``: one differentiable op, and the node that records it in the graph."""
from __future__ import annotations

import inspect
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _gcscope
from .config import get_config
from .variable import Variable, as_variable

_ndarray = np.ndarray
_generic = np.generic
_ref = weakref.ref
_vnew = object.__new__


class Function:
    """Base class of every op.

    Subclasses implement ``forward(*arrays)`` on raw arrays (NumPy or CuPy) and return an
    array or a tuple of arrays, and ``backward(*gys)`` on Variables, written with
    differentiable ops so that ``create_graph=True`` works. ``backward`` receives one gradient
    per output (``None`` for an output that received none) and returns one gradient per input
    (``None`` where an input gets no gradient, e.g. integer indices).

    When backprop is enabled and an input requires grad, calling the function records ``inputs``
    (strong references), ``outputs`` (weak references, so dropping the result frees the graph),
    ``generation`` and ``_inputs_version``, the sum of the inputs' versions: versions only grow,
    so the backward pass sees that an input changed since when the sum differs.

    A subclass may also define ``backward_data(*gys)``: the same gradients on raw arrays, for
    first-order passes. It must agree with ``backward`` (the tests compare the two).
    """

    __slots__ = ("inputs", "outputs", "generation", "_inputs_version", "__weakref__", "__dict__")

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        # Ops whose forward takes exactly one, two or three arrays get a leaner fixed-arity call.
        fwd = cls.__dict__.get("forward")
        if fwd is not None and "__call__" not in cls.__dict__:
            code = fwd.__code__
            fixed = not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) and not fwd.__defaults__
            n = code.co_argcount - 1 if fixed else -1
            cls.__call__ = _ENTRY.get(n, _ENTRY[-1])  # type: ignore[method-assign]

    if TYPE_CHECKING:  # the entry points are generated from one template at import (below)
        def __call__(self, *inputs: Any) -> Any: ...

    def _wrap_many(self, inputs: Any, ys: tuple, gen: int) -> list:
        """Outputs of a multi-output op as a list of Variables, recorded when backprop is on."""
        outs = [Variable._new(y.__array__() if isinstance(y, _generic) else y) for y in ys]
        cfg = get_config()
        if cfg.enable_backprop and _any_requires_grad(inputs):
            self.generation = gen
            for o in outs:
                o.creator = self
                o.generation = gen + 1
            self.inputs = inputs
            self._inputs_version = sum([x._version for x in inputs])
            self.outputs = tuple([_ref(o) for o in outs])
            if gen >= _gcscope.limit:  # a deep graph: keep the cyclic collector off it (core/_gcscope.py)
                _gcscope.grow(self, gen)
        else:
            for o in outs:
                o._requires_grad = False
        if cfg.interceptors:
            for h in cfg.interceptors:
                h(self, inputs, outs)
        return outs

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *gys: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    # Optional: ``backward_data(*gys)`` on raw arrays, returning arrays (or None) like
    # ``backward``. First-order passes (``create_graph=False``) use it when present and skip
    # building gradient Variables; ``backward`` stays the definition for every higher order.
    backward_data: Any = None

    # ``jvp(ns, ts, y, *xs)``: the output's tangent from the inputs' (``core/op.py``). Forward
    # mode raises ``MissingJvpRule`` naming an op that has none.
    jvp: Any = None

    def output_data(self, i: int = 0) -> Any:
        """The array of output ``i``; when that output Variable has been dropped, ``forward``
        runs again on the inputs' arrays (for gradients written in terms of the output)."""
        y = self.outputs[i]()
        if y is not None:
            return y._data
        ys = self.forward(*[x._data for x in self.inputs])
        return ys[i] if ys.__class__ is tuple else ys

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}>"


# ----- the recording path: one template, specialised by arity at import -----
# Every op call runs this code: convert the inputs, run ``forward`` on their arrays, wrap the
# result, record the node when backprop is on and an input requires grad, then hand the call
# to the active interceptors (tapes, forward mode). It is the hottest code of the library, so
# the entry points for one, two and three inputs are generated from the template with the
# loops unrolled (no ``*args`` packing, no comprehension): on a chain of 1,000 small ops,
# forward+backward, 2.9 us/op against 4.4 with the generic entry alone (interleaved A/B,
# medians of 11 rounds). ``{...}`` fields are filled per arity by ``_entry``.
_TEMPLATE = """
def {name}(self, {params}):
    try:
{convert}
        ys = self.forward({arrays})
    except (ValueError, TypeError, IndexError) as e:
        raise _op_error(self, {inputs}, e) from e
{generation}
    if ys.__class__ is not _ndarray:
        if ys.__class__ is tuple:
            return self._wrap_many({inputs}, ys, gen)
        if isinstance(ys, _generic):
            ys = ys.__array__()
    out = _vnew(Variable)
    out._data = ys
    out.grad = None
    out.name = None
    out._version = 0
    cfg = get_config()
    if cfg.enable_backprop and ({requires_grad}):
        out.creator = self
        out.generation = gen + 1
        out._requires_grad = True
        self.generation = gen
        self.inputs = {inputs}
        self._inputs_version = {version}
        self.outputs = (_ref(out),)
        if gen >= _gcscope.limit:
            _gcscope.grow(self, gen)
    else:
        out.creator = None
        out.generation = 0
        out._requires_grad = False
    if cfg.interceptors:
        for h in cfg.interceptors:
            h(self, {inputs}, out)
    return out
"""


def _entry(n: int) -> Any:
    """The entry point for ``n`` array arguments (``-1``: any number, packed in a list)."""
    if n < 0:
        fields = dict(
            name="_call_many", params="*inputs",
            convert="        inputs = [x if isinstance(x, Variable) else as_variable(x) for x in inputs]",
            arrays="*[x._data for x in inputs]", inputs="inputs",
            generation="    gen = max([x.generation for x in inputs]) if inputs else 0",
            requires_grad="_any_requires_grad(inputs)", version="sum([x._version for x in inputs])")
    else:
        xs = [f"x{i}" for i in range(n)]
        # the first argument is nearly always a plain Variable; later ones are often Parameters
        convert = [f"        if {x}.__class__ is not Variable:\n            {x} = as_variable({x})" if i == 0 else
                   f"        if not isinstance({x}, Variable):\n            {x} = as_variable({x})"
                   for i, x in enumerate(xs)]
        gen = [f"    gen = {xs[0]}.generation"] + [
            f"    if {x}.generation > gen:\n        gen = {x}.generation" for x in xs[1:]]
        fields = dict(
            name=f"_call_{n}", params=", ".join(xs), convert="\n".join(convert),
            arrays=", ".join(f"{x}._data" for x in xs), inputs="(" + ", ".join(xs) + ",)",
            generation="\n".join(gen), requires_grad=" or ".join(f"{x}._requires_grad" for x in xs),
            version=" + ".join(f"{x}._version" for x in xs))
    scope = dict(_op_error=_op_error, _ndarray=_ndarray, _generic=_generic, _vnew=_vnew, _ref=_ref,
                 Variable=Variable, as_variable=as_variable, get_config=get_config,
                 _any_requires_grad=_any_requires_grad, _gcscope=_gcscope)
    exec(compile(_TEMPLATE.format(**fields), f"<chainrule recording path, arity {n}>", "exec"), scope)
    return scope[fields["name"]]


def _any_requires_grad(inputs: Any) -> bool:
    for x in inputs:
        if x._requires_grad:
            return True
    return False


def _op_error(f: Function, inputs: list, e: Exception) -> Exception:
    """Re-raise an array-library error with the op's name and the input shapes."""
    name = f.name.lower()
    msg = str(e)
    snake = "".join("_" + ch.lower() if ch.isupper() and i else ch.lower() for i, ch in enumerate(f.name))
    if msg.startswith(name + ":") or msg.startswith(snake + ":"):
        return e  # the op's own message (SoftmaxCrossEntropy -> "softmax_cross_entropy: ...")
    if msg.startswith("Variable: "):
        msg = msg[len("Variable: "):]
    shapes = ", ".join(str(tuple(x.shape)) if hasattr(x, "shape") else type(x).__name__ for x in inputs)
    devices = sorted({x.device for x in inputs if isinstance(x, Variable)})
    if len(devices) > 1:
        return _like(e)(f"{name}: inputs are on different devices ({' and '.join(devices)}); "
                        f"move them to one device with .to(...) (input shapes {shapes})")
    return _like(e)(f"{name}: {msg} (input shapes {shapes})")


_BUILTIN_ERRORS = (TypeError, ValueError, IndexError)
_combined_errors: dict = {}


def _like(e: Exception) -> type:
    """An exception class that takes a single message and is caught wherever ``e`` would be
    caught by a built-in type: ``type(e)`` itself when its constructor and message are the
    built-in ones (``ValueError``, plain subclasses), else a class deriving from the built-ins
    ``e`` derives from (NumPy's ``_UFuncNoLoopError(ufunc, dtypes)`` becomes a ``TypeError``;
    the original stays attached as ``__cause__``)."""
    cls = type(e)
    for c in cls.__mro__:
        if c.__module__ == "builtins":
            return cls
        if "__init__" in c.__dict__ or "__new__" in c.__dict__ or "__str__" in c.__dict__:
            break
    bases = tuple(b for b in _BUILTIN_ERRORS if isinstance(e, b))
    if len(bases) == 1:
        return bases[0]
    if bases not in _combined_errors:
        _combined_errors[bases] = type("OpError", bases, {"__module__": __name__})
    return _combined_errors[bases]


_ENTRY = {n: _entry(n) for n in (-1, 1, 2, 3)}
Function.__call__ = _ENTRY[-1]  # type: ignore[method-assign]
