"""Keep CPython's cyclic collector from walking a long recorded graph again and again.

A recorded graph has no reference cycles (outputs are weak references), so the collector can
never free any of it; yet every full collection walks all of it, and a growing graph keeps
triggering full collections (CPython runs one whenever the objects that reached the oldest
generation since the last one exceed 25% of those it kept then). Walking a graph of n ops
that way costs more per op as n grows.

So when a recorded op sits at depth ``limit`` or more (``Function.__call__`` compares its
``generation``, the only work added per op; ``limit`` starts at ``FIRST``), ``grow`` calls
``gc.freeze()``, moving every object the collector tracks to its permanent generation, and
asks to be called again ``STEP`` levels deeper. The freeze also zeroes the collection counts,
and ``STEP`` levels of a chain allocate fewer tracked objects (about 5 per op) than the
youngest generation's threshold (700; 2000 from CPython 3.13), so the collector walks almost
none of the graph while it grows, as if it were off (a freeze costs about a microsecond). The freeze
is owned by the graph: it is undone with ``gc.unfreeze()`` when the ops at which it happened
are all freed, when a backward pass ends (``release``), or when a full collection starts
(a callback in ``gc.callbacks`` while the freeze lasts): CPython's freeze zeroes the
collection counts, so a full collection only comes when the graph stopped growing for ten
collections of generation 1, or when the program calls ``gc.collect()``; that collection then
walks everything, garbage cycles from before the freeze included.

Nothing is done (the collector keeps its usual behaviour) when the collector is disabled, when
the program has frozen objects of its own (``gc.get_freeze_count()`` above ``_baseline``: CPython
3.12 starts with a few hundred immortal objects in the permanent generation, which are not the
program's; a release returns them to the oldest generation, where they stay alive), on a free-threaded build
(its collector is not generational and its ``gc.freeze`` walks the whole heap), or where
``gc.freeze`` does not exist. Graphs that are wide rather than deep are not detected.
"""
from __future__ import annotations

import gc
import sys
import sysconfig
import threading
import weakref
from typing import Any

FIRST = 2048
"""Depth (ops) of the first freeze: shallower graphs are never touched."""
STEP = 128
"""Depth (ops) between two freezes after the first."""

limit = FIRST
"""A recorded op at generation >= ``limit`` calls ``grow`` (read by ``Function.__call__``)."""

_STARTUP_FROZEN = gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0
_baseline = _STARTUP_FROZEN if sys.version_info[:2] == (3, 12) and _STARTUP_FROZEN < 2000 else 0
"""Frozen objects that are not the program's: CPython 3.12's immortal start-up objects (a
program that froze its heap before importing chainrule froze far more than 2000)."""

_SUPPORTED = (sys.implementation.name == "cpython" and hasattr(gc, "freeze")
              and not sysconfig.get_config_var("Py_GIL_DISABLED"))

_lock = threading.RLock()  # reentrant: a collection may run a weakref callback inside grow
_holders: set = set()  # weak references to the ops at which the graph was frozen
frozen = False
"""True while a freeze made here is in force (``release`` undoes it)."""
active = False
"""True while ``frozen`` or while ``_on_collect`` is still in ``gc.callbacks`` (the backward
pass calls ``release`` when it ends)."""


def grow(f: Any, generation: int) -> None:
    """Called by ``Function.__call__`` when op ``f`` was recorded at ``generation >= limit``."""
    global limit, frozen, active
    holder = weakref.ref(f, _dropped)
    with _lock:
        if not frozen:
            if (not _SUPPORTED or not gc.isenabled() or gc.get_threshold()[0] == 0
                    or gc.get_freeze_count() > _baseline):
                # Not ours to change: look again twice as deep (O(log n) looks per graph).
                limit = max(generation + FIRST, 2 * generation)
                return
            frozen = active = True
            if _on_collect not in gc.callbacks:
                gc.callbacks.append(_on_collect)
        limit = generation + STEP
        _holders.add(holder)
        gc.freeze()


def _dropped(holder: Any) -> None:
    """An op at which the graph was frozen is freed: release when it was the last one."""
    with _lock:
        _holders.discard(holder)
        if not _holders:
            release()


def _on_collect(phase: str, info: dict) -> None:
    """In ``gc.callbacks`` while frozen: a full collection about to start releases first, so
    that it walks (and can free) everything, as it would have without the freeze."""
    if phase == "start" and info["generation"] == 2 and _lock.acquire(blocking=False):
        try:
            release(in_callback=True)
        finally:
            _lock.release()


def release(in_callback: bool = False) -> None:
    """Undo the freeze made here, if any, and start counting depth afresh."""
    global limit, frozen, active
    with _lock:
        _holders.clear()
        limit = FIRST
        if frozen:
            frozen = False
            gc.unfreeze()
        callbacks = gc.callbacks
        # CPython walks gc.callbacks by index while calling them: from inside a callback, only
        # the last entry can be removed without making the next one miss this call (else the
        # next release outside a callback removes it; meanwhile it does nothing).
        if _on_collect in callbacks:
            if in_callback and callbacks[-1] is not _on_collect:
                return
            callbacks.remove(_on_collect)
        active = False
