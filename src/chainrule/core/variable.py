"""``Variable``: an array plus what reverse-mode differentiation needs (grad, creator, generation)."""
from __future__ import annotations

import numbers
import operator
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..backend import backend_of
from . import dtypes as _dtypes
from ._variable_methods import VariableMethods

if TYPE_CHECKING:
    from typing import TypeAlias

    from numpy.typing import ArrayLike

    Operand: TypeAlias = "Variable | ArrayLike"

if TYPE_CHECKING:
    from ._variable_methods import Operand

_ndarray = np.ndarray


def _to_array(data: Any, who: str = "Variable") -> Any:
    """Turn ``data`` into an array: arrays keep their dtype, Python numbers and lists get the
    default dtype (``get_default_dtype()``, float64 unless changed)."""
    if isinstance(data, Variable):
        return data._data
    if isinstance(data, _ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    elif isinstance(data, (numbers.Number, list, tuple)):
        if data.__class__ is not float and not isinstance(data, numbers.Number) and _holds_variable(data):
            raise TypeError(f"{who}: a list of Variables would be copied into a new array and lose their "
                            f"gradients; use F.stack([...]) to combine them differentiably")
        try:
            arr = np.asarray(data, dtype=_dtypes._default)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{who}: cannot convert {type(data).__name__} to a {_dtypes._default} array: {e}") from None
    elif backend_of(data).name != "cpu":
        return data  # a device array (CuPy) owned by another backend
    else:
        raise TypeError(f"{who}: expected an array, a number or a list of numbers, got {type(data).__name__}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: non-numeric data of dtype {arr.dtype} (shape {arr.shape})")
    return arr


# Gradient hooks: ``_hook_state[0]`` counts the variables that ever had a hook registered, so a
# backward pass looks for hooks only when there may be some. ``_RETAIN`` in a variable's hook list
# marks ``retain_grad()``.
_hook_state = [0]


def _RETAIN(grad: Any) -> None:
    """The marker ``retain_grad()`` puts in a hook list (never called)."""


class HookHandle:
    """Returned by ``Variable.register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook: Callable):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        try:
            self._hooks.remove(self._hook)
        except ValueError:
            pass


class Variable(VariableMethods):  # the base declares the methods functions/_methods.py installs
    """A node of the computation graph holding ``data`` (a NumPy or CuPy array).

    ``grad`` is a Variable (or None) filled by ``backward``; ``creator`` is the Function that
    produced this variable (None for leaves); ``generation`` orders the backward pass.
    ``requires_grad`` (True by default) says whether gradients flow to this variable: an op
    whose inputs all have it False records no graph.
    """

    # ``_version`` counts changes of ``data``: assigning ``v.data`` bumps it, and code that writes
    # into the array in place (optimizers, in-place operators) does ``v._version += 1``. An op
    # records its inputs' versions, and the backward pass raises if one changed since.
    # ``_hooks`` (unset until ``register_hook``/``retain_grad``) is a list of gradient hooks.
    __slots__ = ("_data", "grad", "creator", "generation", "name", "_version", "_requires_grad",
                 "_hooks", "__weakref__")
    __array_priority__ = 200
    __array_ufunc__ = None  # ndarray <op> Variable defers to Variable; np.exp(variable) is an error, not a silent copy

    def __init__(self, data: Any, name: str | None = None, *, requires_grad: bool | None = None):
        self._data = _to_array(data)
        self.name = name
        self.grad = None
        self.creator: Any = None  # the Function that made this variable (None for a leaf)
        self.generation = 0
        self._version = 0
        floating = self._data.dtype.kind in "fc"
        if requires_grad is None:
            requires_grad = floating  # integer and bool data (masks, labels) take no gradient
        elif requires_grad and not floating:
            raise TypeError(f"Variable: only floating-point data can require gradients "
                            f"(dtype {self._data.dtype}, shape {self._data.shape})")
        self._requires_grad = bool(requires_grad)

    @classmethod
    def _new(cls, data: Any) -> "Variable":
        """Wrap an array without any checks (the hot path of ``Function.__call__``)."""
        v = cls.__new__(cls)
        v._data = data
        v.grad = None
        v.creator = None
        v.generation = 0
        v.name = None
        v._version = 0
        v._requires_grad = True
        return v

    def _set_data(self, value: Any) -> None:
        self._data = value
        self._version += 1

    # Reading ``data`` goes through a C-level getter (the slot ``_data``); assigning it counts as
    # a change of the data (``_version`` += 1). The library's hot paths use ``_data`` directly.
    data = property(operator.attrgetter("_data"), _set_data, doc="The array (NumPy or CuPy).")

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this variable (True by default; False for a ``detach()``ed
        copy, a frozen parameter or a data batch). Only a leaf's flag may be set to False."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not flag and self.creator is not None:
            raise RuntimeError("requires_grad: only a leaf variable's flag can be set to False (this one was "
                               f"made by {self.creator.name}); use v.detach() for a copy that takes no gradient")
        if flag and self._data is not None and self._data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad: only floating-point data can require gradients "
                            f"(dtype {self._data.dtype}, shape {self._data.shape})")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Variable":
        """Set ``requires_grad`` in place; returns this variable (``x.detach().requires_grad_()``)."""
        self.requires_grad = requires_grad
        return self

    # ----- inspection -----
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        return backend_of(self._data).name

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d variable")
        return len(self._data)

    def at(self, *idx: int) -> float:
        """The element at ``idx`` as a Python number; with no index, the first element."""
        if not idx:
            if self._data.size == 0:
                raise IndexError("at: variable is empty")
            return self._data.reshape(-1)[0].item()
        if len(idx) != self._data.ndim:
            raise IndexError(f"at: {len(idx)} indices for a variable of shape {self.shape}")
        return self._data[idx].item()

    def item(self) -> float:
        if self._data.size != 1:
            raise ValueError(f"item: only one-element variables convert to a number, shape is {self.shape}")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The data as a host NumPy array (a copy when it lives on another device)."""
        return backend_of(self._data).to_numpy(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self) -> str:
        label = self.name or "variable"
        if self._data is None:
            return f"{label}(None)"
        body = str(self.numpy()).replace("\n", "\n" + " " * (len(label) + 1))
        return f"{label}({body})"

    __str__ = __repr__

    # ----- graph handling -----
    def cleargrad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def unchain(self) -> None:
        """Cut the link to this variable's creator; it becomes a leaf."""
        self.creator = None

    def unchain_backward(self) -> None:
        """Cut every creator link above this variable; the variable keeps its own creator.
        Above means every input of the functions it was computed from, and every other output
        of those functions too (the cell state ``c`` that a fused LSTM step returns beside
        ``h`` is cut as well, so truncated BPTT stops at the cut whichever output carries on)."""
        f = self.creator
        if f is None:
            return
        stack = [f]
        seen = {f}
        while stack:
            g = stack.pop()
            if g is not f and len(g.outputs) > 1:
                for r in g.outputs:
                    o = r()
                    if o is not None and o.creator is g:
                        o.creator = None
            for x in g.inputs:
                c = x.creator
                if c is not None:
                    x.creator = None
                    if c not in seen:
                        seen.add(c)
                        stack.append(c)

    def detach(self) -> "Variable":
        """A new leaf sharing this variable's data, with ``requires_grad`` False (no gradient
        flows through it). ``unchain()`` is the in-place form that keeps the variable."""
        v = Variable._new(self._data)
        v._requires_grad = False
        return v

    def register_hook(self, hook: Callable[["Variable"], Any]) -> "HookHandle":
        """Call ``hook(grad)`` when this variable's gradient has been computed in a backward
        pass (first order or ``create_graph``), before it flows further or is stored. ``grad``
        is a Variable; a hook returning a Variable or an array replaces the gradient, one
        returning None keeps it. Returns a handle whose ``remove()`` unregisters the hook."""
        if not callable(hook):
            raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a variable that does not require grad")
        hooks: list[Callable[[Variable], Any]] | None = getattr(self, "_hooks", None)
        if hooks is None:
            hooks = []
            self._hooks = hooks
            _hook_state[0] += 1
        hooks.append(hook)
        return HookHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep this (intermediate) variable's gradient on ``.grad`` after ``backward``, as a
        leaf's is; a no-op on a leaf."""
        if self.creator is None:
            return
        hooks = getattr(self, "_hooks", None)
        if hooks is None:
            hooks = []
            self._hooks = hooks
            _hook_state[0] += 1
        if _RETAIN not in hooks:
            hooks.append(_RETAIN)

    @property
    def retains_grad(self) -> bool:
        """True after ``retain_grad()`` on an intermediate variable."""
        return _RETAIN in (getattr(self, "_hooks", None) or ())

    def backward(self, create_graph: bool = False, retain_grad: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``grad`` (seeded with ones).

        With ``create_graph=True`` the gradients are themselves differentiable; intermediate
        variables keep their ``grad`` only with ``retain_grad=True``.
        """
        _autodiff.backward_from(self, create_graph, retain_grad)

    # The methods that call ops (``x.reshape``, ``x.sum``, ``x.to``) and the operators (``x + y``,
    # ``x[i]``, ``x < y``) are put on the class by ``functions/_methods.py`` from the op table
    # when ``chainrule.functions`` is imported (``import chainrule`` does it): core imports no
    # op module. ``core/_variable_methods.py`` declares their signatures for type checkers.
    def __pos__(self) -> "Variable":
        return self

    # ----- in-place operators -----
    # ``p -= lr * p.grad`` under ``no_grad()`` (or on a variable that does not require grad)
    # changes ``p.data`` in place and bumps ``p._version``. While the graph is being recorded, a
    # leaf that requires grad refuses (as in PyTorch), and a computed variable gets the
    # out-of-place result (``y += 1`` is ``y = y + 1``: a new Variable, recorded in the graph).
    def __iadd__(self, other: Operand) -> "Variable":
        return self._inplace(other, "+=", operator.add)

    def __isub__(self, other: Operand) -> "Variable":
        return self._inplace(other, "-=", operator.sub)

    def __imul__(self, other: Operand) -> "Variable":
        return self._inplace(other, "*=", operator.mul)

    def __itruediv__(self, other: Operand) -> "Variable":
        return self._inplace(other, "/=", operator.truediv)

    def _inplace(self, other: Any, sym: str, op: Callable) -> "Variable":
        if _get_config().enable_backprop and self._requires_grad:
            if self.creator is not None:
                return op(self, other)
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation ({sym}); "
                f"update it under cr.no_grad() (or set requires_grad=False)")
        d = self._data
        o = as_array(other, like=d)
        try:
            if sym == "+=":
                d += o
            elif sym == "-=":
                d -= o
            elif sym == "*=":
                d *= o
            else:
                d /= o
        except (TypeError, ValueError) as e:
            shape = getattr(o, "shape", ())
            raise _error_class(e)(f"in-place {sym}: cannot update a variable of shape {tuple(d.shape)} and "
                                  f"dtype {d.dtype} with an operand of shape {tuple(shape)}: {e}") from e
        self._version += 1
        return self

    # Comparisons (installed with the operators) are elementwise and not differentiable;
    # Variables stay hashable by identity.
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a variable of shape {self.shape} is ambiguous")
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d variable")
        return (self[i] for i in range(len(self)))


def as_variable(x: Any) -> Variable:
    """``x`` if it is a Variable, else a new leaf wrapping it (numbers get the default dtype).

    A (nested) list or tuple holding Variables is stacked with ``F.stack``, so gradients flow
    to each of them (``F.mean([x, x + 2])``)."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, (list, tuple)) and _holds_variable(x):
        return _stack_nested(x)
    return Variable(x)


def _holds_variable(seq: Any) -> bool:
    """Whether the (nested) list/tuple ``seq`` holds a Variable anywhere."""
    for e in seq:
        c = e.__class__
        if c is float or c is int:
            continue
        if isinstance(e, Variable) or (isinstance(e, (list, tuple)) and _holds_variable(e)):
            return True
    return False


def _stack_nested(seq: Any) -> Variable:
    items = [as_variable(e) for e in seq]
    if not items:
        raise TypeError("cannot stack an empty list of Variables")
    from .arrayns import V  # the op table's functions, by name (filled by chainrule.functions)

    return V.stack(items, 0)


def as_array(x: Any, like: Any = None) -> Any:
    """``x`` as an array on the device of ``like`` (Variables give their data)."""
    if isinstance(x, Variable):
        return x._data
    if like is not None and not isinstance(like, _ndarray):
        return backend_of(like).asarray(x)
    return _to_array(x)


# Late imports: the backward pass imports this one.
from . import autodiff as _autodiff  # noqa: E402
from .config import get_config as _get_config  # noqa: E402
from .function import _like as _error_class  # noqa: E402
