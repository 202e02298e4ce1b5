"""``Variable``: an array plus what reverse-mode differentiation needs (grad, creator, generation)."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..backend import backend_of
from . import dtypes as _dtypes

_ndarray = np.ndarray


def _to_array(data: Any, who: str = "Variable") -> Any:
    """Turn ``data`` into an array: arrays keep their dtype, Python numbers and lists get the
    default dtype (``get_default_dtype()``, float64 unless changed)."""
    if isinstance(data, Variable):
        return data.data
    if isinstance(data, _ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    elif isinstance(data, (numbers.Number, list, tuple)):
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


class Variable:
    """A node of the computation graph holding ``data`` (a NumPy or CuPy array).

    ``grad`` is a Variable (or None) filled by ``backward``; ``creator`` is the Function that
    produced this variable (None for leaves); ``generation`` orders the backward pass.
    """

    # ``_version`` counts in-place changes of ``data``: code that writes into ``v.data`` in place
    # (optimizers, in-place operators) does ``v._version += 1`` so that a backward pass can
    # tell a saved input changed after the forward.
    __slots__ = ("data", "grad", "creator", "generation", "name", "_version", "__weakref__")
    __array_priority__ = 200
    __array_ufunc__ = None  # ndarray <op> Variable defers to Variable; np.exp(variable) is an error, not a silent copy

    def __init__(self, data: Any, name: str | None = None):
        self.data = _to_array(data)
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0
        self._version = 0

    @classmethod
    def _new(cls, data: Any) -> "Variable":
        """Wrap an array without any checks (the hot path of ``Function.__call__``)."""
        v = cls.__new__(cls)
        v.data = data
        v.grad = None
        v.creator = None
        v.generation = 0
        v.name = None
        v._version = 0
        return v

    # ----- inspection -----
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend_of(self.data).name

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d variable")
        return len(self.data)

    def at(self, *idx: int) -> float:
        """The element at ``idx`` as a Python number; with no index, the first element."""
        if not idx:
            if self.data.size == 0:
                raise IndexError("at: variable is empty")
            return self.data.reshape(-1)[0].item()
        if len(idx) != self.data.ndim:
            raise IndexError(f"at: {len(idx)} indices for a variable of shape {self.shape}")
        return self.data[idx].item()

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element variables convert to a number, shape is {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data as a host NumPy array (a copy when it lives on another device)."""
        return backend_of(self.data).to_numpy(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self) -> str:
        label = self.name or "variable"
        if self.data is None:
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
        """Cut every creator link above this variable; the variable keeps its own creator."""
        f = self.creator
        if f is None:
            return
        stack = [f]
        seen = {f}
        while stack:
            for x in stack.pop().inputs:
                c = x.creator
                if c is not None:
                    x.creator = None
                    if c not in seen:
                        seen.add(c)
                        stack.append(c)

    def detach(self) -> "Variable":
        """A new leaf sharing this variable's data."""
        return Variable._new(self.data)

    def backward(self, create_graph: bool = False, retain_grad: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``grad`` (seeded with ones).

        With ``create_graph=True`` the gradients are themselves differentiable; intermediate
        variables keep their ``grad`` only with ``retain_grad=True``.
        """
        _autodiff.backward_from(self, create_graph, retain_grad)

    def to(self, device: Any) -> "Variable":
        """This variable on ``device`` (``"cpu"``, ``"cuda"``); differentiable."""
        from ..functions.device import to_device

        return to_device(self, device)

    # ----- shape helpers (differentiable) -----
    def reshape(self, *shape: Any) -> "Variable":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _F.reshape(self, shape)

    def transpose(self, *axes: Any) -> "Variable":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _F.transpose(self, axes or None)

    @property
    def T(self) -> "Variable":
        return _F.transpose(self, None)

    def astype(self, dtype: Any) -> "Variable":
        return _F.cast(self, dtype)

    def sum(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        return _F.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        return _F.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        return _F.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        return _F.min(self, axis, keepdims)

    def flatten(self) -> "Variable":
        return _F.flatten(self)

    def squeeze(self, axis: Any = None) -> "Variable":
        return _F.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> "Variable":
        return _F.unsqueeze(self, axis)

    # ----- operators -----
    # Python numbers take the scalar ops directly (the hot path of elementwise chains).
    def __add__(self, other: Any) -> "Variable":
        c = other.__class__
        if c is float or c is int:
            return _AddScalar(other)(self)
        return _ar.add(self, other)

    def __radd__(self, other: Any) -> "Variable":
        return _ar.add(self, other)

    def __sub__(self, other: Any) -> "Variable":
        return _ar.sub(self, other)

    def __rsub__(self, other: Any) -> "Variable":
        return _ar.rsub(self, other)

    def __mul__(self, other: Any) -> "Variable":
        c = other.__class__
        if c is float or c is int:
            return _MulScalar(other)(self)
        return _ar.mul(self, other)

    def __rmul__(self, other: Any) -> "Variable":
        return _ar.mul(self, other)

    def __truediv__(self, other: Any) -> "Variable":
        return _ar.div(self, other)

    def __rtruediv__(self, other: Any) -> "Variable":
        return _ar.rdiv(self, other)

    def __pow__(self, other: Any) -> "Variable":
        return _ar.pow(self, other)

    def __rpow__(self, other: Any) -> "Variable":
        return _ar.rpow(self, other)

    def __neg__(self) -> "Variable":
        return _ar.neg(self)

    def __pos__(self) -> "Variable":
        return self

    def __abs__(self) -> "Variable":
        return _F.abs(self)

    def __matmul__(self, other: Any) -> "Variable":
        return _F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Variable":
        return _F.matmul(other, self)

    def __getitem__(self, index: Any) -> "Variable":
        return _F.getitem(self, index)

    # comparisons are elementwise and not differentiable; Variables stay hashable by identity
    def __eq__(self, other: Any) -> "Variable":  # type: ignore[override]
        return _F.equal(self, other)

    def __ne__(self, other: Any) -> "Variable":  # type: ignore[override]
        return _F.not_equal(self, other)

    def __lt__(self, other: Any) -> "Variable":
        return _F.less(self, other)

    def __le__(self, other: Any) -> "Variable":
        return _F.less_equal(self, other)

    def __gt__(self, other: Any) -> "Variable":
        return _F.greater(self, other)

    def __ge__(self, other: Any) -> "Variable":
        return _F.greater_equal(self, other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a variable of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d variable")
        return (self[i] for i in range(len(self)))


def as_variable(x: Any) -> Variable:
    """``x`` if it is a Variable, else a new leaf wrapping it (numbers become float64)."""
    if isinstance(x, Variable):
        return x
    return Variable(x)


def as_array(x: Any, like: Any = None) -> Any:
    """``x`` as an array on the device of ``like`` (Variables give their data)."""
    if isinstance(x, Variable):
        return x.data
    if like is not None and not isinstance(like, _ndarray):
        return backend_of(like).asarray(x)
    return _to_array(x)


# Late imports: the op modules and the backward pass import this one.
from . import autodiff as _autodiff  # noqa: E402
from ..functions import arithmetic as _ar  # noqa: E402
from ..functions.arithmetic import AddScalar as _AddScalar, MulScalar as _MulScalar  # noqa: E402
from .. import functions as _F  # noqa: E402
