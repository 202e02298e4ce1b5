"""Reusable host memory for the large arrays of conv and pooling kernels.

Freshly allocated large NumPy arrays come from ``mmap``; the kernel zero-fills their pages on
first touch, and glibc hands them back when they are freed, so a training step that allocates
tens of MB pays for thousands of page faults every step. This module keeps such memory in a
per-thread pool and reuses it by ownership, never by asking who else refers to an array:

* **Temporaries** (padded copies, im2col columns, GEMM products) come from a ``Scratch``:
  ``take`` removes a buffer from the free list, so a buffer is either free or taken by exactly
  one scratch; only that scratch puts it back, in ``release()``, which its kernel calls once the
  buffers are dead (``Conv2d`` holds its im2col columns until its vjp rule used them). A kernel
  never hands a scratch buffer out.
* **Results** handed to callers (outputs, gradients) come from ``fresh``: the pool lends the
  memory through a ``_Lease``, the base object of the returned array (and so of every view of
  it). The memory returns to the free list only when that lease is deallocated, i.e. when the
  last array using the memory is gone: the interpreter's own deallocation decides it.

A ``Scratch`` dropped without ``release()`` simply frees its buffers. Only NumPy arrays of at
least ``MIN_BYTES`` are pooled; other namespaces (CuPy has its own memory pool) and small
arrays are allocated normally.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["Scratch", "fresh", "clear"]

MIN_BYTES = 1 << 17
PER_KEY = 4
_local = threading.local()


def _pools() -> dict:
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    return pools


def _lent() -> dict:
    lent = getattr(_local, "lent", None)
    if lent is None:
        lent = _local.lent = {}
    return lent


class _Lease:
    """The base object of a result array: holds pooled memory ``mem`` (bytes) lent out as one
    array, and gives it back to the pool when deallocated (no array uses the memory any more)."""

    __slots__ = ("block", "__array_interface__")

    def __init__(self, block: tuple, shape: tuple, dtype: np.dtype):
        self.block = block  # (memory, its address)
        self.__array_interface__ = {"data": (block[1], False), "shape": shape, "typestr": dtype.str,
                                    "version": 3}

    def __del__(self) -> None:
        block = self.block
        try:
            free = _lent().setdefault(block[0].nbytes, [])
        except Exception:  # interpreter shutdown: nothing to give back to
            return
        if len(free) < PER_KEY:
            free.append(block)


def _alloc(xp: Any, shape: tuple, dtype: Any, zero: bool) -> Any:
    return xp.zeros(shape, dtype=dtype) if zero else xp.empty(shape, dtype=dtype)


def _pooled_size(xp: Any, shape: tuple, dtype: Any) -> int:
    """The byte size of a NumPy array of ``shape``/``dtype`` when it is large enough to pool;
    0 for a small one or a device array (those are allocated plainly)."""
    if xp is not np:
        return 0
    size = np.dtype(dtype).itemsize
    for s in shape:
        size *= s
    return size if size >= MIN_BYTES else 0


def fresh(xp: Any, shape: tuple, dtype: Any, zero: bool = False) -> Any:
    """A new array for a result that is handed out; large NumPy ones reuse memory whose
    previous result is gone (see ``_Lease``)."""
    size = _pooled_size(xp, shape, dtype)
    if not size:
        return _alloc(xp, shape, dtype, zero)
    dtype = np.dtype(dtype)
    free = _lent().get(size)
    if free:
        block = free.pop()
        if zero:
            block[0].fill(0)
    else:
        mem = np.zeros(size, dtype=np.uint8) if zero else np.empty(size, dtype=np.uint8)
        block = (mem, mem.ctypes.data)
    return np.asarray(_Lease(block, tuple(shape), dtype))


class Scratch:
    """The temporaries one computation takes from the pool; ``release()`` gives them all back.

    Every array ``take`` returns belongs to this scratch until ``release()``: the caller must
    not let one escape (into an output, or an op that outlives the release)."""

    __slots__ = ("taken",)

    def __init__(self) -> None:
        self.taken: list = []

    def take(self, xp: Any, shape: tuple, dtype: Any, zero: bool = False) -> Any:
        """An array of ``shape``/``dtype`` (zero-filled with ``zero=True``), pooled when large."""
        if not _pooled_size(xp, shape, dtype):
            return _alloc(xp, shape, dtype, zero)
        dtype = np.dtype(dtype)
        free = _pools().get((shape, dtype))
        if free:
            a = free.pop()
            if zero:
                a.fill(0)
        else:
            a = _alloc(np, shape, dtype, zero)
        self.taken.append(a)
        return a

    def release(self) -> None:
        """Give every buffer taken back to this thread's pool (at most ``PER_KEY`` per shape)."""
        taken = self.taken
        if not taken:
            return
        self.taken = []
        pools = _pools()
        for a in taken:
            free = pools.setdefault((a.shape, a.dtype), [])
            if len(free) < PER_KEY:
                free.append(a)


def clear() -> None:
    """Drop this thread's free buffers."""
    _local.pools = {}
    _local.lent = {}
