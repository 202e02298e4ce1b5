"""Indexing ops: getitem (``x[...]``), gather, take, where, masked_fill.

Gradients of selections are scatters: ``GetItemGrad`` and ``GatherGrad`` put the incoming
gradient back where the elements came from, adding up repeated indices (``add.at``); their
own backward is the selection again, so every op here is differentiable to any order. Index
arrays, masks and conditions are constants: they get no gradient.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.function import Function
from ..core.variable import Variable
from ._checks import as_input, check_axis, check_mask
from .arithmetic import match_0d
from .broadcast import sum_to

__all__ = ["getitem", "gather", "take", "where", "masked_fill"]

_int = int
_slice = slice
_tuple = tuple
_list = list
_basic_types = frozenset([int, slice, type(None), type(Ellipsis), bool])


def _index_array(i: Any, like: Any) -> Any:
    """An index element as an array on ``like``'s device (Variables give their data)."""
    if i.__class__ is Variable:
        i = i.data
    elif i.__class__ is _list:
        return backend_of(like).asarray(i)
    if i.__class__ is not like.__class__ and getattr(i, "ndim", 0):  # e.g. a host index array for a GPU x
        b = backend_of(like)
        if backend_of(i) is not b:
            i = b.asarray(i)
    return i


def _prepare_index(index: Any, like: Any) -> tuple:
    """(index with Variables/lists turned into arrays, whether it needs ``add.at`` for its gradient).

    Only integer index arrays can repeat positions; ints, slices, None, Ellipsis and boolean
    masks select each element at most once, so their gradient is a plain assignment.
    """
    if index.__class__ is _tuple:
        for i in index:
            if i.__class__ not in _basic_types:
                break
        else:
            return index, False
        index = _tuple(_index_array(i, like) for i in index)
        scatter = any(getattr(i, "dtype", None) is not None and i.dtype.kind in "iu" and i.ndim > 0
                      for i in index)
        return index, scatter
    if index.__class__ in _basic_types:
        return index, False
    index = _index_array(index, like)
    dt = getattr(index, "dtype", None)
    return index, dt is not None and dt.kind in "iu" and index.ndim > 0


class GetItem(Function):
    def __init__(self, index, scatter):
        self.index = index
        self.scatter = scatter

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return GetItemGrad(self.index, self.scatter, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    """The adjoint of ``x[index]``: zeros of the input's shape with ``gy`` added at ``index``."""

    def __init__(self, index, scatter, shape):
        self.index = index
        self.scatter = scatter
        self.shape = shape

    def forward(self, gy):
        gx = xp_of(gy).zeros(self.shape, dtype=gy.dtype)
        if self.scatter:
            backend_of(gy).scatter_add(gx, self.index, gy)
        else:
            gx[self.index] = gy
        return gx

    def backward(self, ggx):
        return GetItem(self.index, self.scatter)(ggx)


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with NumPy indexing: ints, slices, None, Ellipsis, integer arrays (or
    Variables/lists of them), boolean masks, and tuples mixing them. Differentiable in ``x``;
    repeated integer indices accumulate their gradients."""
    if x.__class__ is not Variable:
        x = as_input("getitem", x)
    index, scatter = _prepare_index(index, x.data)
    return GetItem(index, scatter)(x)


# ----- gather / take -----
def _gather_index(index: Any, shape: tuple, axis: int, xp: Any) -> tuple:
    """The full advanced index that picks ``x[..., index[...], ...]`` along ``axis``."""
    nd = len(shape)
    full = []
    for d, s in enumerate(index.shape):
        if d == axis:
            full.append(index)
        else:
            r = [1] * nd
            r[d] = s
            full.append(xp.arange(s).reshape(r))
    return _tuple(full)


class Gather(Function):
    def __init__(self, axis, index):
        self.axis = axis
        self.index = index
        self.full = None

    def forward(self, x):
        xp = xp_of(x)
        self.full = full = _gather_index(self.index, x.shape, self.axis, xp)
        try:
            return x[full]
        except IndexError:
            n = x.shape[self.axis]
            raise IndexError(f"gather: index out of range for axis {self.axis} of size {n} "
                             f"(input shape {x.shape}, index shape {self.index.shape})") from None

    def backward(self, gy):
        return GatherGrad(self.axis, self.index, self.full, self.inputs[0].shape)(gy)


class GatherGrad(Function):
    """The adjoint of ``gather``: scatter-add ``gy`` into zeros of the input's shape."""

    def __init__(self, axis, index, full, shape):
        self.axis = axis
        self.index = index
        self.full = full
        self.shape = shape

    def forward(self, gy):
        gx = xp_of(gy).zeros(self.shape, dtype=gy.dtype)
        backend_of(gy).scatter_add(gx, self.full, gy)
        return gx

    def backward(self, ggx):
        return Gather(self.axis, self.index)(ggx)


def gather(x: Any, axis: int, index: Any) -> Any:
    """Take values along ``axis`` at ``index`` (``torch.gather``): ``index`` has ``x``'s number
    of axes, each other axis no longer than ``x``'s, and the output has ``index``'s shape:
    ``out[i, j] = x[index[i, j], j]`` for ``axis=0``. Negative indices count from the end.
    Differentiable in ``x`` (repeated indices accumulate)."""
    x = as_input("gather", x)
    idx = backend_of(x.data).asarray(index.data if isinstance(index, Variable) else index)
    nd = x.ndim
    if idx.ndim != nd:
        raise ValueError(f"gather: index must have as many axes as the input, got index shape "
                         f"{idx.shape} for input shape {x.shape}")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be integers, got dtype {idx.dtype}")
    ax = check_axis("gather", axis, nd, x.shape)
    for d in range(nd):
        if d != ax and idx.shape[d] > x.shape[d]:
            raise ValueError(f"gather: index shape {idx.shape} is larger than input shape "
                             f"{x.shape} outside axis {axis}")
    return Gather(ax, idx)(x)


def take(x: Any, indices: Any, axis: int | None = None) -> Any:
    """``numpy.take``: elements at ``indices`` of the flattened ``x``, or along ``axis``."""
    x = as_input("take", x)
    if axis is None:
        from .shape import reshape

        return getitem(reshape(x, (-1,)), indices)
    ax = check_axis("take", axis, x.ndim, x.shape)
    return getitem(x, (_slice(None),) * ax + (indices,))


# ----- where / masked_fill -----
class Where(Function):
    def __init__(self, cond):
        self.cond = cond

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = match_0d(x, y)
        return xp_of(x).where(self.cond, x, y)

    def backward(self, gy):
        x, y = self.inputs
        cond = self.cond
        gx = MaskedFill(~cond, 0.0)(gy)
        gy_ = MaskedFill(cond, 0.0)(gy)
        return (gx if gx.shape == x.shape else sum_to(gx, x.shape),
                gy_ if gy_.shape == y.shape else sum_to(gy_, y.shape))


class MaskedFill(Function):
    """``x`` with ``value`` (a number) wherever ``mask`` is true."""

    def __init__(self, mask, value):
        self.mask = mask
        self.value = value

    def forward(self, x):
        return xp_of(x).where(self.mask, x.dtype.type(self.value), x)

    def backward(self, gy):
        g = MaskedFill(self.mask, 0.0)(gy)
        shape = self.inputs[0].shape
        return g if g.shape == shape else sum_to(g, shape)


def _mask_array(op: str, mask: Any, like: Any) -> Any:
    """``mask`` as a bool array on ``like``'s device; numbers count as true when nonzero,
    anything else (strings, objects) is a ``TypeError`` naming ``op``."""
    m = mask.data if isinstance(mask, Variable) else backend_of(like).asarray(mask)
    if m.dtype != np.bool_:
        check_mask(op, m, "mask" if op == "masked_fill" else "condition")
        m = m.astype(bool)
    return m


def _is_number(v: Any) -> bool:
    return isinstance(v, (_int, float)) and not isinstance(v, bool) or isinstance(v, np.number)


def where(cond: Any, x: Any, y: Any) -> Any:
    """Elementwise ``x if cond else y`` with broadcasting (``cond``: a boolean array/Variable).
    Differentiable in ``x`` and ``y`` (each gets the gradient where it was picked); either may
    be a Python number."""
    xn, yn = _is_number(x), _is_number(y)
    if xn and yn:
        c = cond.data if isinstance(cond, Variable) else cond
        c = _mask_array("where", c, c if hasattr(c, "dtype") else np.empty(0))  # stays on cond's device
        return Variable(xp_of(c).where(c, np.float64(x), np.float64(y)))
    if xn:
        y = as_input("where", y)
        return MaskedFill(_mask_array("where", cond, y.data), x)(y)
    x = as_input("where", x)
    c = _mask_array("where", cond, x.data)
    if yn:
        return MaskedFill(~c, y)(x)
    return Where(c)(x, y)


def masked_fill(x: Any, mask: Any, value: Any) -> Any:
    """``x`` with ``value`` wherever ``mask`` (broadcast to ``x``) is true; differentiable in
    ``x`` (zero gradient at the filled places), and in ``value`` when it is a Variable."""
    x = as_input("masked_fill", x)
    m = _mask_array("masked_fill", mask, x.data)
    if isinstance(value, Variable):
        return Where(m)(value, x)
    if not (_is_number(value) or isinstance(value, (bool, np.bool_))):
        if getattr(getattr(value, "dtype", None), "kind", None) not in ("b", "i", "u", "f"):
            raise TypeError(f"masked_fill: value must be a number, an array or a Variable, got "
                            f"{type(value).__name__} (input shape {x.shape})")
        return Where(m)(value, x)
    return MaskedFill(m, value)(x)
