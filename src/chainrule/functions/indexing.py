"""Indexing ops: getitem (``x[...]``), gather, take, where, masked_fill.

Selections and scatters are an adjoint pair of ops whose rules call each other: the VJP of
``GetItem``/``Gather`` is ``_IndexAdd`` (the incoming gradient put back where the elements came
from, repeated integer indices adding up), and the VJP of ``_IndexAdd`` is ``GetItem`` again,
so every op here is differentiable to any order from one rule each. Both are linear: the JVP
is the op itself on the tangent. Index arrays, masks and conditions are constants: they get
no gradient.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import backend_of, xp_of
from ..core.op import Op, declare
from ..core.variable import Variable

if TYPE_CHECKING:
    from ..core.variable import Operand
from ._checks import as_input, check_axis, check_mask
from .arithmetic import _unbroadcast, match_0d

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
    nd: Any = getattr(i, "ndim", 0)
    if i.__class__ is not like.__class__ and nd:  # e.g. a host index array for a GPU x
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


class GetItem(Op):
    """``x[index]`` (``index`` already prepared by ``_prepare_index``)."""

    def __init__(self, index, scatter):
        self.index = index
        self.scatter = scatter

    def forward(self, x):
        return x[self.index]

    def vjp(self, ns, gy, y, x):
        return ns.call(_IndexAdd(self.index, self.scatter, x.shape), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(GetItem(self.index, self.scatter), ts[0])


class _IndexAdd(Op):
    """The adjoint of ``x[index]``: zeros of the input's ``shape`` with ``g`` added at ``index``
    (``scatter``: ``index`` may repeat positions, so they accumulate with ``add.at``)."""

    def __init__(self, index, scatter, shape):
        self.index = index
        self.scatter = scatter
        self.shape = shape

    def forward(self, g):
        gx = xp_of(g).zeros(self.shape, dtype=g.dtype)
        if self.scatter:
            backend_of(g).scatter_add(gx, self.index, g)
        else:
            gx[self.index] = g
        return gx

    def vjp(self, ns, gy, y, g):
        return ns.call(GetItem(self.index, self.scatter), gy)

    def jvp(self, ns, ts, y, g):
        return ns.call(_IndexAdd(self.index, self.scatter, self.shape), ts[0])


# ----- sample inputs and PyTorch equivalents for the op table (tests/test_ops_table.py) -----
def _torch_index(t: Any, index: Any) -> Any:
    """A NumPy-style index with its arrays as torch tensors."""
    if index.__class__ is _tuple:
        return _tuple(_torch_index(t, i) for i in index)
    return t.as_tensor(index) if isinstance(index, np.ndarray) else index


def _getitem_samples(rng: Any) -> list:
    x = rng.standard_normal((3, 4))
    return [(x, 1), (x, (slice(1, None), -1)), (rng.standard_normal(()), ()),
            (rng.standard_normal((4, 3)).T, np.array([0, 2, 0, 0])),
            (x, (np.array([0, 0, 2]), np.array([3, 3, 1]))), (x, x > 0),
            (x, (None, Ellipsis, slice(1, 3))),
            (rng.standard_normal((3, 8))[:, ::2], (slice(None), np.array([1, 1, 0])))]


def _gather_samples(rng: Any) -> list:
    x = rng.standard_normal((3, 4))
    return [(x, 0, np.array([[0, 2, 2], [1, 0, 0]])), (x, -1, np.array([[3, 3], [0, 1], [2, 2]])),
            (rng.standard_normal((4, 3)).T, 1, np.array([[1, 1, 0, 3]]))]


def _take_samples(rng: Any) -> list:
    idx = np.array([2, 0, 2])
    return [(rng.standard_normal((3, 4)), idx, None), (rng.standard_normal((3, 4)), np.array([[-1, 5], [5, 0]]), None),
            (rng.standard_normal((3, 4)), 7, None), (rng.standard_normal((3, 4)), idx, 1),
            (rng.standard_normal((4, 3)).T, idx, 0)]


def _torch_take(t: Any, x: Any, idx: Any, axis: Any) -> Any:
    i = t.as_tensor(idx)
    return t.take(x, i) if axis is None else t.index_select(x, axis, i)


def _where_samples(rng: Any) -> list:
    def r(*shape: int) -> Any:
        return rng.standard_normal(shape)
    return [(r(3, 4) > 0, r(3, 4), r(3, 4)), (r(3, 1) > 0, r(1, 4), r(3, 4)), (r(4) > 0, r(3, 4), r()),
            (r(3, 4) > 0, r(3, 4), 1.5), (r(4) > 0, -2.0, r(3, 4)),
            (r(2, 2) > 0, r(2, 4)[:, ::2], r(2, 2).T)]


def _masked_fill_samples(rng: Any) -> list:
    x = rng.standard_normal((3, 4))
    return [(x, rng.standard_normal(4) > 0, -5.0), (rng.standard_normal((4, 3)).T, x > 0, 2.0),
            (x, rng.standard_normal((3, 1)) > 0, rng.standard_normal(()))]


# ----- public functions -----
@declare(GetItem, samples=_getitem_samples, torch=lambda t, x, i: x[_torch_index(t, i)])
def getitem(x: Operand, index: Any) -> Variable:
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


class Gather(Op):
    """``torch.gather`` along ``axis``: ``x[full]`` with the full advanced index built from
    ``index`` in ``forward``; its adjoint is the scatter-add ``_IndexAdd`` at that index."""

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

    def vjp(self, ns, gy, y, x):
        return ns.call(_IndexAdd(self.full, True, x.shape), gy)

    def jvp(self, ns, ts, y, x):
        return ns.call(GetItem(self.full, True), ts[0])


@declare(Gather, samples=_gather_samples, torch=lambda t, x, axis, i: t.gather(x, axis, t.as_tensor(i)))
def gather(x: Operand, axis: int, index: Any) -> Variable:
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


def _flat_index(indices: Any, like: Any) -> Any:
    """``(index, scatter)`` for ``GetItem`` picking integer ``indices`` of the flattened
    ``like`` (negative ones count from the end), or None for any other kind of index."""
    i = indices.data if isinstance(indices, Variable) else indices
    n = like.size
    if like.ndim == 0:
        return None
    if i.__class__ is _int:
        if not -n <= i < n:
            raise IndexError(f"take: index {i} is out of range for {n} elements (input shape {like.shape})")
        return _tuple(_int(k) for k in np.unravel_index(i % n, like.shape)), False
    if i.__class__ is _list:
        i = backend_of(like).asarray(i)
    if getattr(getattr(i, "dtype", None), "kind", "") not in ("i", "u"):
        return None
    i = _index_array(i, like)
    if i.size and (int(i.min()) < -n or int(i.max()) >= n):
        raise IndexError(f"take: index out of range for {n} elements (input shape {like.shape}, "
                         f"index shape {i.shape})")
    return xp_of(i).unravel_index(i % n if n else i, like.shape), i.ndim > 0


@declare(GetItem, samples=_take_samples, torch=_torch_take)
def take(x: Operand, indices: Any, axis: int | None = None) -> Variable:
    """``numpy.take``: elements at ``indices`` of the flattened ``x``, or along ``axis``."""
    x = as_input("take", x)
    if axis is None:
        flat = _flat_index(indices, x.data)
        if flat is not None:  # integer indices: one selection at the unravelled positions
            return GetItem(*flat)(x)
        from .shape import reshape

        return getitem(reshape(x, (-1,)), indices)
    ax = check_axis("take", axis, x.ndim, x.shape)
    return getitem(x, (_slice(None),) * ax + (indices,))


# ----- where / masked_fill -----
class Where(Op):
    """``x0`` where ``cond`` (a constant bool array) is true, else ``x1``, broadcasting."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, x0, x1):
        if x0.dtype is not x1.dtype:
            x0, x1 = match_0d(x0, x1)
        return xp_of(x0).where(self.cond, x0, x1)

    def vjp(self, ns, gy, y, x0, x1):
        cond = self.cond
        return (_unbroadcast(ns, ns.fill(gy, ~cond, 0.0), x0),
                _unbroadcast(ns, ns.fill(gy, cond, 0.0), x1))

    def jvp(self, ns, ts, y, x0, x1):
        return ns.call(Where(self.cond), ts[0], ts[1])


class MaskedFill(Op):
    """``x`` with ``value`` (a number) wherever the constant bool array ``mask`` is true."""

    def __init__(self, mask, value):
        self.mask = mask
        self.value = value

    def forward(self, x):
        return xp_of(x).where(self.mask, x.dtype.type(self.value), x)

    def vjp(self, ns, gy, y, x):
        return _unbroadcast(ns, ns.fill(gy, self.mask, 0.0), x)

    def jvp(self, ns, ts, y, x):
        return ns.fill(ts[0], self.mask, 0.0)


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


@declare(Where, MaskedFill, samples=_where_samples,
         torch=lambda t, c, x, y: t.where(t.as_tensor(c), x, y))
def where(cond: Operand, x: Operand, y: Operand) -> Variable:
    """Elementwise ``x if cond else y`` with broadcasting (``cond``: a boolean array/Variable).
    Differentiable in ``x`` and ``y`` (each gets the gradient where it was picked); either may
    be a Python number."""
    xn, yn = _is_number(x), _is_number(y)
    if xn and yn:
        c = cond.data if isinstance(cond, Variable) else cond
        c = _mask_array("where", c, c if hasattr(c, "dtype") else np.empty(0))  # stays on cond's device
        return Variable(xp_of(c).where(c, np.float64(x), np.float64(y)))  # type: ignore[arg-type]  # both are numbers here
    if xn:
        y = as_input("where", y)
        return MaskedFill(_mask_array("where", cond, y.data), x)(y)
    x = as_input("where", x)
    c = _mask_array("where", cond, x.data)
    if yn:
        return MaskedFill(~c, y)(x)
    return Where(c)(x, y)


@declare(MaskedFill, Where, samples=_masked_fill_samples,
         torch=lambda t, x, m, v: x.masked_fill(t.as_tensor(m), v))
def masked_fill(x: Operand, mask: Operand, value: Any) -> Variable:
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
