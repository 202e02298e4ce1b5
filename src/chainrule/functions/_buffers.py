"""Reusable host buffers for the large arrays of conv and pooling kernels.

Freshly allocated large NumPy arrays come from ``mmap``; the kernel zero-fills their pages on
first touch, and glibc hands them back when they are freed, so a training step that allocates
tens of MB pays for thousands of page faults every step (measured: about half the CPU time of
the CNN benchmark step on a VM). ``alloc`` keeps, per thread and per (shape, dtype), a few
arrays and hands one out again once nothing else references it (CPython reference count: no
Variable, view or other holder), so steady-state steps touch no new pages. Only NumPy arrays of
at least ``MIN_BYTES`` are pooled; other namespaces (CuPy has its own memory pool) and small
arrays are allocated normally.
"""
from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

__all__ = ["alloc", "clear"]

MIN_BYTES = 1 << 17
PER_KEY = 4
_local = threading.local()
_refcount = sys.getrefcount


def _free(lst: list, base: int) -> Any:
    for a in lst:
        if _refcount(a) <= base:
            return a
    return None


def _baseline() -> int:
    """The reference count an array has in ``_free`` when only the pool holds it."""
    probe = [np.empty(1)]
    for a in probe:
        return _refcount(a)
    raise AssertionError


_BASE = _baseline()


def alloc(xp: Any, shape: tuple, dtype: Any, zero: bool = False) -> Any:
    """An array of ``shape``/``dtype`` (zero-filled with ``zero=True``), reused when possible."""
    if xp is not np:
        return xp.zeros(shape, dtype=dtype) if zero else xp.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    size = dtype.itemsize
    for s in shape:
        size *= s
    if size < MIN_BYTES:
        return np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    key = (shape, dtype)
    lst = pools.get(key)
    if lst is None:
        lst = pools[key] = []
    a = _free(lst, _BASE)
    if a is not None:
        if zero:
            a.fill(0)
        return a
    a = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
    if len(lst) < PER_KEY:
        lst.append(a)
    return a


def clear() -> None:
    """Drop this thread's cached buffers."""
    _local.pools = {}
