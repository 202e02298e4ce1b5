"""``Function``: one differentiable op, and the node that records it in the graph."""
from __future__ import annotations

import inspect
import weakref
from typing import Any

import numpy as np

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
            cls.__call__ = {1: Function._call_unary, 2: Function._call_binary,
                            3: Function._call_ternary}.get(n, Function._call_many)

    # _call_unary, _call_binary, _call_ternary and _call_many repeat the same wrapping-and-
    # recording tail on purpose: it is the hottest code of the library, and a shared helper
    # would cost a Python call per op (the overhead benchmark measures the difference).
    def _call_unary(self, x: Any) -> Any:
        try:
            if x.__class__ is not Variable:
                x = as_variable(x)
            ys = self.forward(x._data)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(self, (x,), e) from e
        if ys.__class__ is not _ndarray:
            if ys.__class__ is tuple:
                return self._wrap_many((x,), ys, x.generation)
            if isinstance(ys, _generic):
                ys = ys.__array__()
        out = _vnew(Variable)
        out._data = ys
        out.grad = None
        out.name = None
        out._version = 0
        cfg = get_config()
        if cfg.enable_backprop and x._requires_grad:
            out.creator = self
            out.generation = x.generation + 1
            out._requires_grad = True
            self.generation = x.generation
            self.inputs = (x,)
            self._inputs_version = x._version
            self.outputs = (_ref(out),)
            if cfg.tapes:
                for t in cfg.tapes:
                    t._record(self)
        else:
            out.creator = None
            out.generation = 0
            out._requires_grad = False
        return out

    def _call_binary(self, a: Any, b: Any) -> Any:
        try:
            if a.__class__ is not Variable:
                a = as_variable(a)
            if b.__class__ is not Variable:
                b = as_variable(b)
            ys = self.forward(a._data, b._data)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(self, (a, b), e) from e
        ga, gb = a.generation, b.generation
        gen = ga if ga > gb else gb
        if ys.__class__ is not _ndarray:
            if ys.__class__ is tuple:
                return self._wrap_many((a, b), ys, gen)
            if isinstance(ys, _generic):
                ys = ys.__array__()
        out = _vnew(Variable)
        out._data = ys
        out.grad = None
        out.name = None
        out._version = 0
        cfg = get_config()
        if cfg.enable_backprop and (a._requires_grad or b._requires_grad):
            out.creator = self
            out.generation = gen + 1
            out._requires_grad = True
            self.generation = gen
            self.inputs = (a, b)
            self._inputs_version = a._version + b._version
            self.outputs = (_ref(out),)
            if cfg.tapes:
                for t in cfg.tapes:
                    t._record(self)
        else:
            out.creator = None
            out.generation = 0
            out._requires_grad = False
        return out

    def _call_ternary(self, a: Any, b: Any, c: Any) -> Any:
        try:
            if a.__class__ is not Variable:
                a = as_variable(a)
            if not isinstance(b, Variable):  # isinstance: b and c are often Parameters
                b = as_variable(b)
            if not isinstance(c, Variable):
                c = as_variable(c)
            ys = self.forward(a._data, b._data, c._data)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(self, (a, b, c), e) from e
        gen = a.generation
        if b.generation > gen:
            gen = b.generation
        if c.generation > gen:
            gen = c.generation
        if ys.__class__ is not _ndarray:
            if ys.__class__ is tuple:
                return self._wrap_many((a, b, c), ys, gen)
            if isinstance(ys, _generic):
                ys = ys.__array__()
        out = _vnew(Variable)
        out._data = ys
        out.grad = None
        out.name = None
        out._version = 0
        cfg = get_config()
        if cfg.enable_backprop and (a._requires_grad or b._requires_grad or c._requires_grad):
            out.creator = self
            out.generation = gen + 1
            out._requires_grad = True
            self.generation = gen
            self.inputs = (a, b, c)
            self._inputs_version = a._version + b._version + c._version
            self.outputs = (_ref(out),)
            if cfg.tapes:
                for t in cfg.tapes:
                    t._record(self)
        else:
            out.creator = None
            out.generation = 0
            out._requires_grad = False
        return out

    def _call_many(self, *inputs: Any) -> Any:
        try:
            inputs = [x if isinstance(x, Variable) else as_variable(x) for x in inputs]
            ys = self.forward(*[x._data for x in inputs])
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(self, inputs, e) from e
        gen = max([x.generation for x in inputs]) if inputs else 0
        if ys.__class__ is tuple:
            return self._wrap_many(inputs, ys, gen)
        if ys.__class__ is not _ndarray and isinstance(ys, _generic):
            ys = ys.__array__()
        out = _vnew(Variable)
        out._data = ys
        out.grad = None
        out.name = None
        out._version = 0
        cfg = get_config()
        if cfg.enable_backprop and _any_requires_grad(inputs):
            out.creator = self
            out.generation = gen + 1
            out._requires_grad = True
            self.generation = gen
            self.inputs = inputs
            self._inputs_version = sum([x._version for x in inputs])
            self.outputs = (_ref(out),)
            if cfg.tapes:
                for t in cfg.tapes:
                    t._record(self)
        else:
            out.creator = None
            out.generation = 0
            out._requires_grad = False
        return out

    __call__ = _call_many

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
            if cfg.tapes:
                for t in cfg.tapes:
                    t._record(self)
        else:
            for o in outs:
                o._requires_grad = False
        return outs

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *gys: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    # Optional: ``backward_data(*gys)`` on raw arrays, returning arrays (or None) like
    # ``backward``. First-order passes (``create_graph=False``) use it when present and skip
    # building gradient Variables; ``backward`` stays the definition for every higher order.
    backward_data: Any = None

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
