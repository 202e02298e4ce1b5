"""Ops declared once: ``Op`` (forward on arrays + one VJP rule + one JVP rule) and the op table.

An op is a subclass of ``Op``::

    class Exp(Op):
        elementwise = True          # one input, diagonal Jacobian: the JVP is the VJP on the tangent

        def forward(self, x):       # arrays in, array(s) out
            return np.exp(x)

        def vjp(self, ns, gy, y, x):    # gradient of the input(s) from the output's
            return gy * y

    @declare(Exp, samples=lambda rng: [(rng.standard_normal((3, 4)),)], torch=lambda t, x: t.exp(x))
    def exp(x):
        return Exp()(x)

``vjp(ns, gy, y, *xs)`` gets the incoming gradient ``gy``, the output ``y`` and the inputs
``xs`` (one argument each); it returns the gradient of the one input, or a tuple with one per
input (``None`` where an input gets none). ``jvp(ns, ts, y, *xs)`` gets the inputs' tangents
``ts`` (a tuple, zeros where an input has none) and returns the output's tangent. The same
rule runs

* on arrays with ``ns = A`` (NumPy/CuPy) in every first-order reverse pass (as
  ``backward_data``) and in forward mode;
* on Variables with ``ns = V`` (the table's differentiable functions) when
  ``create_graph=True`` (as ``backward``), so every higher order comes from the same code.

An op with several outputs sets ``multi_output = True``; its rules get ``gys``/``ys`` tuples
(``None`` for an output that got no gradient) and ``jvp`` returns a tuple of tangents.

``declare`` puts the public function in the op table ``OPS`` with its sample inputs and its
PyTorch equivalent; ``tests/test_ops_table.py`` runs gradcheck, gradgradcheck, the JVP check
and the PyTorch oracle on every entry, from the table alone.
"""
from __future__ import annotations

import copy
import dis
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from ..backend import xp_of
from .arrayns import _FUNCTIONS, A, V
from .function import Function
from .variable import Variable

__all__ = ["Op", "OpEntry", "OPS", "declare", "register_function", "MissingJvpRule"]


class MissingJvpRule(NotImplementedError):
    """Forward mode met an op that has no JVP rule (yet)."""


def _loads(fn: Callable, name: str) -> bool:
    """Whether the code of ``fn`` reads its local ``name`` (or hands it to a closure)."""
    code = fn.__code__
    if name in code.co_cellvars:
        return True
    for ins in dis.get_instructions(fn):
        if ins.opname.startswith("LOAD_FAST") or ins.opname == "LOAD_DEREF":
            a = ins.argval
            if a == name or (a.__class__ is tuple and name in a):
                return True
    return False


# The glue between the engine and a rule, generated per arity like the recording path: the
# first-order pass calls ``backward_data(gy)`` (arrays, ns = A); create_graph calls
# ``backward(gy)`` (Variables, ns = V). The output is fetched only when the rule reads it.
_GLUE = """
def backward_data(self, gy):
    {get_y_data}
    return self.vjp(_A, gy, {y}, {datas})

def backward(self, gy):
    {get_y_var}
    return self.vjp(_V, gy, {y}, {vars})
"""


def _input_arrays(n: int) -> str:
    """Glue source for the inputs' arrays as call arguments (``x0, x1 = self.inputs`` comes
    first for ``n > 1``: see ``_unpack_inputs``)."""
    if n < 0:
        return "*[x._data for x in self.inputs]"
    if n == 1:
        return "self.inputs[0]._data"
    return ", ".join(f"x{i}._data" for i in range(n))


def _unpack_inputs(n: int, then: str) -> str:
    """Glue source statement ``then``, preceded by ``x0, x1, ... = self.inputs`` for ``n > 1``."""
    return ", ".join(f"x{i}" for i in range(n)) + " = self.inputs\n    " + then if n > 1 else then


# the output's array, recomputed by ``output_data`` when the output Variable was dropped
_GET_Y_DATA = "o = self.outputs[0]()\n    y = o._data if o is not None else self.output_data()"


def _glue(n: int, uses_y: bool) -> tuple:
    """``backward_data``/``backward`` for an op with ``n`` inputs (-1: any number)."""
    datas = _input_arrays(n)
    vars_ = "self.inputs[0]" if n == 1 else "*self.inputs"
    if uses_y:
        get_y_data = _GET_Y_DATA
        get_y_var = "y = self.outputs[0]()\n    if y is None:\n        y = self._rerun()"
    else:
        get_y_data = get_y_var = "pass"
    get_y_data = _unpack_inputs(n, get_y_data)
    src = _GLUE.format(datas=datas, vars=vars_, y="y" if uses_y else "None",
                       get_y_data=get_y_data, get_y_var=get_y_var)
    scope: dict = {"_A": A, "_V": V}
    exec(compile(src, f"<chainrule vjp glue, arity {n}>", "exec"), scope)
    return scope["backward_data"], scope["backward"]


def _arity(fwd: Callable) -> int:
    code = fwd.__code__
    if code.co_flags & 0x0C or fwd.__defaults__:  # *args / **kwargs / defaults
        return -1
    return code.co_argcount - 1


class Op(Function):
    """An op declared once: ``forward`` on arrays, ``vjp`` and ``jvp`` rules written against
    ``ns`` (see the module docstring). ``backward_data``/``backward`` are generated from
    ``vjp``; never define them on an ``Op``."""

    __slots__ = ()
    elementwise = False    # one input and a diagonal Jacobian: the JVP is the VJP on the tangent
    multi_output = False   # rules get and return tuples over the outputs
    public_name: str = ""  # the op table's name, set by ``declare``

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "backward" in cls.__dict__ or "backward_data" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: an Op defines vjp (and jvp), not backward/backward_data: "
                            f"both are generated from vjp")
        vjp = cls.vjp
        if vjp is not Op.vjp:  # the glue fits this class's forward arity and outputs
            if cls.multi_output:
                cls.backward_data, cls.backward = _multi_backward_data, _multi_backward  # type: ignore[method-assign,assignment]
            else:
                third = vjp.__code__.co_varnames[3] if vjp.__code__.co_argcount > 3 else "y"
                cls.backward_data, cls.backward = _glue(_arity(cls.forward), _loads(vjp, third))  # type: ignore[method-assign]
        if cls.elementwise and "jvp" not in cls.__dict__ and cls.jvp is Op.jvp:
            cls.jvp = _elementwise_jvp  # type: ignore[method-assign]

    def vjp(self, ns: Any, gy: Any, y: Any, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.vjp")

    def jvp(self, ns: Any, ts: tuple, y: Any, *xs: Any) -> Any:
        raise MissingJvpRule(f"forward mode: {self.name} has no jvp rule")

    def _rerun(self) -> Any:
        """The op run again on its inputs, recorded (a dropped output that a create_graph rule
        reads must be a node of the graph)."""
        return copy.copy(self)(*self.inputs)


def _elementwise_jvp(self: Op, ns: Any, ts: tuple, y: Any, x: Any) -> Any:
    """The JVP of a one-input op with a diagonal Jacobian: the VJP rule applied to the tangent."""
    return self.vjp(ns, ts[0], y, x)


def _output_arrays(self: Function) -> tuple:
    """The arrays of a multi-output op's outputs; ``forward`` runs again (once) when any output
    Variable has been dropped."""
    ys = []
    for r in self.outputs:
        o = r()
        if o is None:
            return tuple(self.forward(*[x._data for x in self.inputs]))
        ys.append(o._data)
    return tuple(ys)


def _multi_backward_data(self: Op, *gys: Any) -> Any:
    ys = _output_arrays(self)
    return self.vjp(A, gys, ys, *[x._data for x in self.inputs])


def _multi_backward(self: Op, *gys: Any) -> Any:
    ys = [r() for r in self.outputs]
    if any(y is None for y in ys):
        ys = self._rerun()
    return self.vjp(V, gys, tuple(ys), *self.inputs)


# ----- the op table -----
@dataclass(frozen=True)
class OpEntry:
    """One public op: its function, the ``Op`` classes it calls, sample inputs and PyTorch.

    ``samples(rng)`` returns a list of argument tuples; float arrays are the differentiated
    arguments, anything else (numbers, shapes, integer arrays) is passed as a constant.
    ``torch(torch_module, *args)`` computes the same with PyTorch (tensors in place of the
    float arrays), or is None. ``orders`` is how many derivative orders the checks run (2:
    gradcheck and gradgradcheck; 0: not differentiable). ``tol`` scales the tolerances."""

    name: str
    function: Callable
    ops: tuple
    samples: Callable
    torch: Callable | None = None
    orders: int = 2
    tol: float = 1.0


OPS: dict[str, OpEntry] = {}


def register_function(name: str, fn: Callable) -> None:
    """Make ``fn`` (a differentiable function on Variables) available to rules as ``V.<name>``."""
    _FUNCTIONS[name] = fn
    V._forget()


_Fn = TypeVar("_Fn", bound=Callable[..., Any])


def declare(*ops: type, samples: Callable, torch: Callable | None = None, name: str | None = None,
            orders: int = 2, tol: float = 1.0) -> Callable[[_Fn], _Fn]:
    """Decorator of an op's public function: puts it in ``OPS`` (and in ``V`` for rules)."""

    def deco(fn: _Fn) -> _Fn:
        n = name or fn.__name__
        if n in OPS and OPS[n].function is not fn:
            raise ValueError(f"declare: an op named {n!r} is already in the table ({OPS[n].function!r})")
        for op in ops:
            if not (isinstance(op, type) and issubclass(op, Function)):
                raise TypeError(f"declare({n!r}): {op!r} is not an op class")
            if issubclass(op, Op) and not op.public_name:
                op.public_name = n
        OPS[n] = OpEntry(n, fn, tuple(ops), samples, torch, orders, tol)
        register_function(n, fn)
        return fn

    return deco


def _zeros_like(v: Any) -> Variable:
    """A zero Variable shaped like ``v`` (a constant: no graph)."""
    d = v._data
    return Variable._new(xp_of(d).zeros_like(d))


register_function("zeros_like", _zeros_like)


def declared(names: Sequence[str]) -> list:
    """The entries of ``names`` (for tests: a KeyError names an undeclared op)."""
    return [OPS[n] for n in names]
