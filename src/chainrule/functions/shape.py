"""Shape ops: reshape, transpose, squeeze/unsqueeze, flatten, concat/stack/split/chunk, tril/triu, flip.

Every op here moves or copies elements without arithmetic, so each backward is the inverse
movement (reshape back, transpose with the inverse permutation, split what was concatenated ...),
written with these same ops and therefore differentiable to any order. ``split``, ``chunk`` and
``unstack`` return lists; outputs that receive no gradient count as zeros.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..backend import xp_of
from ..core.function import Function
from ..core.variable import Variable
from ._checks import as_input, check_axis, check_int, check_shape

__all__ = ["reshape", "transpose", "swapaxes", "squeeze", "unsqueeze", "expand_dims", "flatten",
           "concat", "cat", "stack", "unstack", "split", "chunk", "tril", "triu", "flip"]

_int = int
_tuple = tuple


def _norm_axis(axis: int, ndim: int, op: str, shape: tuple) -> int:
    """``axis`` in ``[0, ndim)``; negative axes count from the end (``check_axis``)."""
    return check_axis(op, axis, ndim, shape)


def _axes_arg(axis: Any) -> tuple:
    """An axis argument that may be one axis or a sequence of them, as a tuple."""
    return _tuple(axis) if isinstance(axis, (_tuple, list)) else (axis,)


def _zeros_var(shape: tuple, like: Any) -> Variable:
    return Variable._new(xp_of(like).zeros(shape, dtype=like.dtype))


# ----- reshape -----
class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)

    def backward_data(self, gy):
        return gy.reshape(self.inputs[0].data.shape)


def reshape(x: Any, shape: Any) -> Any:
    """``x`` with a new ``shape`` (same size; one entry may be ``-1``); gradient: reshape back."""
    if shape.__class__ is not _tuple:  # a tuple's entries are checked by the array library
        shape = check_shape("reshape", shape)
    if x.__class__ is Variable and x.data.shape == shape:
        return x
    return Reshape(shape)(x)


# ----- transpose -----
class Transpose(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        axes = self.axes
        if axes is None:
            return transpose(gy, None)
        inv = [0] * len(axes)
        for i, a in enumerate(axes):
            inv[a] = i
        return transpose(gy, _tuple(inv))

    def backward_data(self, gy):
        axes = self.axes
        if axes is None:
            return gy.transpose()
        inv = [0] * len(axes)
        for i, a in enumerate(axes):
            inv[a] = i
        return gy.transpose(inv)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes of ``x`` (reverse them when ``axes`` is None), as ``numpy.transpose``."""
    if axes is not None:
        x = as_input("transpose", x)
        nd = x.ndim
        axes = _tuple(_norm_axis(a, nd, "transpose", x.shape) for a in _axes_arg(axes))
        if len(axes) != nd or len(set(axes)) != nd:
            raise ValueError(f"transpose: axes {axes} are not a permutation of the axes of shape {x.shape}")
        if axes == _tuple(range(nd)):
            return x
    return Transpose(axes)(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """``x`` with two axes exchanged."""
    x = as_input("swapaxes", x)
    nd = x.ndim
    a1 = _norm_axis(axis1, nd, "swapaxes", x.shape)
    a2 = _norm_axis(axis2, nd, "swapaxes", x.shape)
    if a1 == a2:
        return x
    axes = list(range(nd))
    axes[a1], axes[a2] = a2, a1
    return Transpose(_tuple(axes))(x)


# ----- squeeze / unsqueeze / flatten (all are reshapes) -----
def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Any:
    """Drop axes of size 1: all of them, or the given ``axis`` (an int or a tuple of ints)."""
    x = as_input("squeeze", x)
    shape = x.shape
    if axis is None:
        new = _tuple(s for s in shape if s != 1)
    else:
        axes = {_norm_axis(a, len(shape), "squeeze", shape) for a in _axes_arg(axis)}
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has size {shape[a]}, not 1")
        new = _tuple(s for i, s in enumerate(shape) if i not in axes)
    return reshape(x, new)


def unsqueeze(x: Any, axis: int) -> Any:
    """Insert an axis of size 1 at position ``axis`` (``-1`` appends one), as ``torch.unsqueeze``."""
    x = as_input("unsqueeze", x)
    shape = x.shape
    a = _norm_axis(axis, len(shape) + 1, "unsqueeze", shape)
    return reshape(x, shape[:a] + (1,) + shape[a:])


expand_dims = unsqueeze


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Merge axes ``start_dim..end_dim`` into one; by default ``x`` becomes 1-D."""
    x = as_input("flatten", x)
    shape = x.shape
    if not shape:
        return reshape(x, (1,))
    s = _norm_axis(start_dim, len(shape), "flatten", shape)
    e = _norm_axis(end_dim, len(shape), "flatten", shape)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
    size = 1
    for d in shape[s:e + 1]:
        size *= d
    return reshape(x, shape[:s] + (size,) + shape[e + 1:])


# ----- concat / split -----
class Concat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp_of(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        ax = self.axis
        offsets = []
        total = 0
        for x in self.inputs[:-1]:
            total += x.shape[ax]
            offsets.append(total)
        return _tuple(Split(offsets, ax)(gy))


class Split(Function):
    """Split along ``axis`` at the given offsets (NumPy ``split`` with a list of indices)."""

    def __init__(self, indices, axis):
        self.indices = indices
        self.axis = axis

    def forward(self, x):
        # views by basic slicing (what numpy.split does, without its Python-level overhead)
        ax = self.axis
        lead = (slice(None),) * (ax if ax >= 0 else x.ndim + ax)
        bounds = [0, *self.indices, x.shape[ax]]
        parts = tuple(x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))
        self.shapes = [p.shape for p in parts]
        return parts

    def backward(self, *gys):
        if any(g is None for g in gys):
            like = self.inputs[0].data
            gys = [g if g is not None else _zeros_var(s, like) for g, s in zip(gys, self.shapes)]
        return Concat(self.axis)(*gys)


def _check_concat(xs: list, axis: int, op: str) -> int:
    ref = xs[0].shape
    ax = _norm_axis(axis, len(ref), op, ref)
    for x in xs[1:]:
        s = x.shape
        if len(s) != len(ref) or s[:ax] != ref[:ax] or s[ax + 1:] != ref[ax + 1:]:
            shapes = ", ".join(str(v.shape) for v in xs)
            raise ValueError(f"{op}: shapes {shapes} do not match outside axis {axis}")
    return ax


def concat(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join ``xs`` along an existing ``axis`` (shapes must match elsewhere); gradient: split."""
    xs = [as_input("concat", x) for x in xs]
    if not xs:
        raise ValueError("concat: need at least one input")
    ax = _check_concat(xs, axis, "concat")
    if len(xs) == 1:
        return xs[0]
    return Concat(ax)(*xs)


cat = concat


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split ``x`` along ``axis`` (NumPy semantics): an int ``n`` gives ``n`` equal parts (the
    size must divide evenly), a list gives the offsets at which to cut. Returns a list."""
    x = as_input("split", x)
    ax = _norm_axis(axis, x.ndim, "split", x.shape)
    size = x.shape[ax]
    if not isinstance(indices_or_sections, (_tuple, list)) and not getattr(indices_or_sections, "ndim", 0):
        n = check_int("split", "number of sections", indices_or_sections)
        if n <= 0:
            raise ValueError(f"split: number of sections must be positive, got {n}")
        if size % n:
            raise ValueError(f"split: axis {axis} of shape {x.shape} (size {size}) does not divide "
                             f"into {n} equal sections")
        step = size // n
        indices = [step * i for i in range(1, n)]
    else:
        indices = [check_int("split", "each split index", i) for i in indices_or_sections]
    return Split(indices, ax)(x)


def chunk(x: Any, n: int, axis: int = 0) -> list:
    """Split into ``n`` chunks of ``ceil(size / n)`` (the last may be smaller, and there may be
    fewer than ``n``), as ``torch.chunk``. Returns a list."""
    x = as_input("chunk", x)
    n = check_int("chunk", "number of chunks", n)
    if n <= 0:
        raise ValueError(f"chunk: number of chunks must be a positive integer, got {n!r}")
    ax = _norm_axis(axis, x.ndim, "chunk", x.shape)
    size = x.shape[ax]
    step = max(-(-size // n), 1)
    return Split(list(range(step, size, step)), ax)(x)


# ----- stack / unstack -----
class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp_of(xs[0]).stack(xs, axis=self.axis)

    def backward(self, gy):
        return _tuple(Unstack(self.axis)(gy))


class Unstack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if self.axis:
            x = xp_of(x).moveaxis(x, self.axis, 0)
        return _tuple(x[i] for i in range(x.shape[0]))

    def backward(self, *gys):
        if any(g is None for g in gys):
            x = self.inputs[0]
            shape = x.shape[:self.axis] + x.shape[self.axis + 1:]
            gys = [g if g is not None else _zeros_var(shape, x.data) for g in gys]
        return Stack(self.axis)(*gys)


def stack(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join same-shaped ``xs`` along a new ``axis``; gradient: unstack."""
    xs = [as_input("stack", x) for x in xs]
    if not xs:
        raise ValueError("stack: need at least one input")
    ref = xs[0].shape
    for x in xs[1:]:
        if x.shape != ref:
            shapes = ", ".join(str(v.shape) for v in xs)
            raise ValueError(f"stack: all inputs must have the same shape, got {shapes}")
    ax = _norm_axis(axis, len(ref) + 1, "stack", ref)
    return Stack(ax)(*xs)


def unstack(x: Any, axis: int = 0) -> list:
    """The slices of ``x`` along ``axis`` as a list (the inverse of ``stack``)."""
    x = as_input("unstack", x)
    ax = _norm_axis(axis, x.ndim, "unstack", x.shape)
    if x.shape[ax] == 0:
        return []
    return Unstack(ax)(x)


# ----- triangles and flips -----
class Tril(Function):
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        return xp_of(x).tril(x, self.k)

    def backward(self, gy):
        return tril(gy, self.k)


class Triu(Function):
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        return xp_of(x).triu(x, self.k)

    def backward(self, gy):
        return triu(gy, self.k)


def _check_matrix(x: Any, op: str) -> Variable:
    x = as_input(op, x)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions, got shape {x.shape}")
    return x


def tril(x: Any, k: int = 0) -> Any:
    """Lower triangle of the last two axes (entries above diagonal ``k`` set to zero)."""
    return Tril(check_int("tril", "k", k))(_check_matrix(x, "tril"))


def triu(x: Any, k: int = 0) -> Any:
    """Upper triangle of the last two axes (entries below diagonal ``k`` set to zero)."""
    return Triu(check_int("triu", "k", k))(_check_matrix(x, "triu"))


class Flip(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xp_of(x).flip(x, self.axis)

    def backward(self, gy):
        return Flip(self.axis)(gy)


def flip(x: Any, axis: int | Sequence[int] | None = None) -> Any:
    """Reverse the order of elements along ``axis`` (an int, a tuple, or every axis if None)."""
    x = as_input("flip", x)
    if axis is not None:
        axis = _tuple(_norm_axis(a, x.ndim, "flip", x.shape) for a in _axes_arg(axis))
    return Flip(axis)(x)
