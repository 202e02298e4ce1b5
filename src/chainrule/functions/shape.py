"""Shape ops: reshape, transpose, squeeze/unsqueeze, flatten, concat/stack/split/chunk, tril/triu, flip, clone.

Every op here is linear and moves or copies elements without arithmetic: its vjp rule is the
inverse movement (reshape back, transpose with the inverse permutation, split what was
concatenated ...) and its jvp rule the op itself on the tangent, both written with these same
ops (``ns``), so one rule serves every derivative order. ``split``, ``chunk`` and ``unstack``
return lists; outputs that receive no gradient count as zeros.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..backend import xp_of
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._checks import as_input, check_axis, check_int, check_shape

__all__ = ["reshape", "transpose", "swapaxes", "squeeze", "unsqueeze", "expand_dims", "flatten",
           "concat", "cat", "stack", "unstack", "split", "chunk", "tril", "triu", "flip", "clone"]

_int = int
_tuple = tuple


def _norm_axis(axis: int, ndim: int, op: str, shape: tuple) -> int:
    """``axis`` in ``[0, ndim)``; negative axes count from the end (``check_axis``)."""
    return check_axis(op, axis, ndim, shape)


def _axes_arg(axis: Any) -> tuple:
    """An axis argument that may be one axis or a sequence of them, as a tuple."""
    return _tuple(axis) if isinstance(axis, (_tuple, list, range)) else (axis,)


def _inverse(axes: tuple) -> tuple:
    """The permutation that undoes ``axes``."""
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return _tuple(inv)


def _normal(rng: Any, *shape: int) -> Any:
    return rng.standard_normal(shape)


# ----- reshape -----
class Reshape(Op):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def vjp(self, ns, gy, y, x):
        return ns.reshape(gy, x.shape)

    def jvp(self, ns, ts, y, x):
        return ns.reshape(ts[0], self.shape)


@declare(Reshape, samples=lambda rng: [(_normal(rng, 3, 4), (2, 6)), (_normal(rng, 4, 3).T, (-1,)),
                                     (_normal(rng), (1, 1)), (_normal(rng, 0, 3), (3, 0))],
         torch=lambda t, x, shape: t.reshape(x, shape))
def reshape(x: Operand, shape: Any) -> Variable:
    """``x`` with a new ``shape`` (same size; one entry may be ``-1``); gradient: reshape back."""
    if shape.__class__ is not _tuple:  # a tuple's entries are checked by the array library
        shape = check_shape("reshape", shape)
    if x.__class__ is Variable and x.data.shape == shape:
        return x
    return Reshape(shape)(x)


# ----- transpose -----
class Transpose(Op):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def vjp(self, ns, gy, y, x):
        axes = self.axes
        return ns.transpose(gy, None if axes is None else _inverse(axes))

    def jvp(self, ns, ts, y, x):
        return ns.transpose(ts[0], self.axes)


@declare(Transpose, samples=lambda rng: [(_normal(rng, 2, 3, 4), (1, 2, 0)), (_normal(rng, 3, 4), None),
                                       (_normal(rng, 4, 6)[:, ::2], (-1, 0))],
         torch=lambda t, x, axes=None: x.permute(*(reversed(range(x.ndim)) if axes is None else axes)))
def transpose(x: Operand, axes: Sequence[int] | None = None) -> Variable:
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


@declare(Transpose, samples=lambda rng: [(_normal(rng, 2, 3, 4), 0, -1), (_normal(rng, 4, 3).T, 1, 0)],
         torch=lambda t, x, a1, a2: t.swapaxes(x, a1, a2))
def swapaxes(x: Operand, axis1: int, axis2: int) -> Variable:
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
@declare(Reshape, samples=lambda rng: [(_normal(rng, 3, 1, 4, 1), None), (_normal(rng, 1, 3, 1), (0, -1)),
                                     (_normal(rng, 4, 1).T, 0)],
         torch=lambda t, x, axis=None: x.squeeze() if axis is None else t.squeeze(x, axis))
def squeeze(x: Operand, axis: int | Sequence[int] | None = None) -> Variable:
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


def _unsqueeze_samples(rng: Any) -> list:
    return [(_normal(rng, 3, 4), 1), (_normal(rng, 4, 3).T, -1), (_normal(rng), 0)]


@declare(Reshape, samples=_unsqueeze_samples, torch=lambda t, x, axis: t.unsqueeze(x, axis))
def unsqueeze(x: Operand, axis: int) -> Variable:
    """Insert an axis of size 1 at position ``axis`` (``-1`` appends one), as ``torch.unsqueeze``."""
    x = as_input("unsqueeze", x)
    shape = x.shape
    a = _norm_axis(axis, len(shape) + 1, "unsqueeze", shape)
    return reshape(x, shape[:a] + (1,) + shape[a:])


expand_dims = declare(Reshape, samples=_unsqueeze_samples, torch=lambda t, x, axis: t.unsqueeze(x, axis),
                      name="expand_dims")(unsqueeze)


@declare(Reshape, samples=lambda rng: [(_normal(rng, 2, 3, 4),), (_normal(rng, 2, 3, 4, 5), 1, 2),
                                     (_normal(rng, 4, 3).T, 0, 0), (_normal(rng),)],
         torch=lambda t, x, start_dim=0, end_dim=-1: t.flatten(x, start_dim, end_dim))
def flatten(x: Operand, start_dim: int = 0, end_dim: int = -1) -> Variable:
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
class Concat(Op):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp_of(xs[0]).concatenate(xs, axis=self.axis)

    def vjp(self, ns, gy, y, *xs):
        ax = self.axis
        offsets = []
        total = 0
        for x in xs[:-1]:
            total += x.shape[ax]
            offsets.append(total)
        return _tuple(ns.call(Split(offsets, ax), gy))

    def jvp(self, ns, ts, y, *xs):
        return ns.call(Concat(self.axis), *ts)


class Split(Op):
    """Split along ``axis`` at the given offsets (NumPy ``split`` with a list of indices)."""

    multi_output = True

    def __init__(self, indices, axis):
        self.indices = indices
        self.axis = axis

    def forward(self, x):
        # views by basic slicing (what numpy.split does, without its Python-level overhead)
        ax = self.axis
        lead = (slice(None),) * (ax if ax >= 0 else x.ndim + ax)
        bounds = [0, *self.indices, x.shape[ax]]
        return _tuple(x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def vjp(self, ns, gys, ys, x):
        gys = [ns.zeros_like(y) if g is None else g for g, y in zip(gys, ys)]
        return ns.call(Concat(self.axis), *gys)

    def jvp(self, ns, ts, ys, x):
        return _tuple(ns.call(Split(self.indices, self.axis), ts[0]))


def _check_concat(xs: list, axis: int, op: str) -> int:
    ref = xs[0].shape
    ax = _norm_axis(axis, len(ref), op, ref)
    for x in xs[1:]:
        s = x.shape
        if len(s) != len(ref) or s[:ax] != ref[:ax] or s[ax + 1:] != ref[ax + 1:]:
            shapes = ", ".join(str(v.shape) for v in xs)
            raise ValueError(f"{op}: shapes {shapes} do not match outside axis {axis}")
    return ax


def _join_samples(rng: Any) -> list:
    """Lists of arrays to join (the op-table tests differentiate the float arrays in a list)."""
    return [([_normal(rng, 2, 3), _normal(rng, 4, 3)], 0), ([_normal(rng, 3, 2), _normal(rng, 4, 3).T, _normal(rng, 3, 1)], -1),
            ([_normal(rng, 2, 3)], 1)]


@declare(Concat, samples=_join_samples, torch=lambda t, xs, axis=0: t.cat(xs, axis))
def concat(xs: Sequence[Any], axis: int = 0) -> Variable:
    """Join ``xs`` along an existing ``axis`` (shapes must match elsewhere); gradient: split."""
    xs = [as_input("concat", x) for x in xs]
    if not xs:
        raise ValueError("concat: need at least one input")
    ax = _check_concat(xs, axis, "concat")
    if len(xs) == 1:
        return xs[0]
    return Concat(ax)(*xs)


cat = declare(Concat, samples=_join_samples, torch=lambda t, xs, axis=0: t.cat(xs, axis), name="cat")(concat)


@declare(Split, samples=lambda rng: [(_normal(rng, 6, 2), 3), (_normal(rng, 2, 7), [2, 5], -1),
                                   (_normal(rng, 5, 4).T, [1], 0), (_normal(rng, 4, 2), [], 1)],
         torch=lambda t, x, sections, axis=0: t.tensor_split(x, sections, axis))
def split(x: Operand, indices_or_sections: Any, axis: int = 0) -> list:
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


@declare(Split, samples=lambda rng: [(_normal(rng, 7, 2), 3), (_normal(rng, 2, 4).T, 2, 1)],
         torch=lambda t, x, n, axis=0: t.chunk(x, n, axis))
def chunk(x: Operand, n: int, axis: int = 0) -> list:
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
class Stack(Op):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp_of(xs[0]).stack(xs, axis=self.axis)

    def vjp(self, ns, gy, y, *xs):
        return _tuple(ns.call(Unstack(self.axis), gy))

    def jvp(self, ns, ts, y, *xs):
        return ns.call(Stack(self.axis), *ts)


class Unstack(Op):
    multi_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if self.axis:
            x = xp_of(x).moveaxis(x, self.axis, 0)
        return _tuple(x[i] for i in range(x.shape[0]))

    def vjp(self, ns, gys, ys, x):
        gys = [ns.zeros_like(y) if g is None else g for g, y in zip(gys, ys)]
        return ns.call(Stack(self.axis), *gys)

    def jvp(self, ns, ts, ys, x):
        return _tuple(ns.call(Unstack(self.axis), ts[0]))


@declare(Stack, samples=lambda rng: [([_normal(rng, 2, 3), _normal(rng, 3, 2).T], 0), ([_normal(rng, 3), _normal(rng, 3)], -1),
                                   ([_normal(rng)], 0)],
         torch=lambda t, xs, axis=0: t.stack(xs, axis))
def stack(xs: Sequence[Any], axis: int = 0) -> Variable:
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


@declare(Unstack, samples=lambda rng: [(_normal(rng, 3, 2),), (_normal(rng, 2, 4).T, 1), (_normal(rng, 2, 3, 2), -1)],
         torch=lambda t, x, axis=0: t.unbind(x, axis))
def unstack(x: Operand, axis: int = 0) -> list:
    """The slices of ``x`` along ``axis`` as a list (the inverse of ``stack``)."""
    x = as_input("unstack", x)
    ax = _norm_axis(axis, x.ndim, "unstack", x.shape)
    if x.shape[ax] == 0:
        return []
    return Unstack(ax)(x)


# ----- triangles and flips -----
class Tril(Op):
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        return xp_of(x).tril(x, self.k)

    def vjp(self, ns, gy, y, x):
        return ns.call(Tril(self.k), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(Tril(self.k), ts[0])


class Triu(Op):
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        return xp_of(x).triu(x, self.k)

    def vjp(self, ns, gy, y, x):
        return ns.call(Triu(self.k), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(Triu(self.k), ts[0])


def _check_matrix(x: Any, op: str) -> Variable:
    x = as_input(op, x)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions, got shape {x.shape}")
    return x


def _triangle_samples(rng: Any) -> list:
    return [(_normal(rng, 4, 4),), (_normal(rng, 2, 3, 5), 1), (_normal(rng, 5, 4).T, -1)]


@declare(Tril, samples=_triangle_samples, torch=lambda t, x, k=0: t.tril(x, k))
def tril(x: Operand, k: int = 0) -> Variable:
    """Lower triangle of the last two axes (entries above diagonal ``k`` set to zero)."""
    return Tril(check_int("tril", "k", k))(_check_matrix(x, "tril"))


@declare(Triu, samples=_triangle_samples, torch=lambda t, x, k=0: t.triu(x, k))
def triu(x: Operand, k: int = 0) -> Variable:
    """Upper triangle of the last two axes (entries below diagonal ``k`` set to zero)."""
    return Triu(check_int("triu", "k", k))(_check_matrix(x, "triu"))


class Flip(Op):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xp_of(x).flip(x, self.axis)

    def vjp(self, ns, gy, y, x):
        return ns.call(Flip(self.axis), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(Flip(self.axis), ts[0])


@declare(Flip, samples=lambda rng: [(_normal(rng, 3, 4), 1), (_normal(rng, 2, 3, 4), (0, -1)), (_normal(rng, 4, 3).T, None)],
         torch=lambda t, x, axis=None: t.flip(x, _axes_arg(range(x.ndim) if axis is None else axis)))
def flip(x: Operand, axis: int | Sequence[int] | None = None) -> Variable:
    """Reverse the order of elements along ``axis`` (an int, a tuple, or every axis if None)."""
    x = as_input("flip", x)
    if axis is not None:
        axis = _tuple(_norm_axis(a, x.ndim, "flip", x.shape) for a in _axes_arg(axis))
    return Flip(axis)(x)


# ----- copy -----
class Clone(Op):
    """A differentiable copy: new data, gradient passed through unchanged."""

    elementwise = True

    def forward(self, x):
        return x.copy()

    def vjp(self, ns, gy, y, x):
        return gy


def _clone_samples(rng: Any) -> list:
    return [(rng.standard_normal((3, 4)),), (rng.standard_normal((4, 3)).T,), (rng.standard_normal(()),)]


@declare(Clone, samples=_clone_samples, torch=lambda t, x: t.clone(x))
def clone(x: Operand) -> Variable:
    """A copy of ``x`` with its own data that stays in the graph (gradient: identity)."""
    return Clone()(x)
