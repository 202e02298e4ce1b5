"""Allreduce of large host arrays through node-local shared memory (MPI-3 shared windows).

MPI's own allreduce moves each byte between processes of one machine through its
shared-memory channel several times (reduce-scatter, then allgather, each a copy into and out
of the channel). The ranks of one node can instead read each other's data directly: each rank
copies its array into its slot of one shared window, each sums one chunk of every slot, and
each copies the summed chunks of the others back. Across nodes, the ranks with the same local
rank allreduce their chunk over MPI (one inter-node ring per local rank, all at once).

    sum over the node of chunk r  -- by local rank r, in its own slot
    allreduce of chunk r over the nodes (ranks with local rank r), when there are several
    every rank copies chunk r of slot r, for every r, into its array

Every chunk is summed by one rank, so every rank ends with the same bits. The window grows to
the largest array seen and is reused; it is created on the first call (collective, like every
call). It is not used when the machine's /dev/shm is too small for it, when the nodes have
different numbers of ranks, or with ``CHAINRULE_SHM_ALLREDUCE=0``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["SharedAllreduce", "MIN_BYTES", "ALIGN"]

MIN_BYTES = 64 * 1024   # smaller arrays: MPI's allreduce (latency, not bandwidth, dominates)
ALIGN = 64             # chunk boundaries on cache lines: no two ranks write one line
_GROW = 1 << 20         # window sizes are rounded up to whole MiB


def enabled_by_env() -> bool:
    return os.environ.get("CHAINRULE_SHM_ALLREDUCE", "1").strip().lower() not in ("0", "false", "no", "off")


def _shm_free_bytes() -> int:
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize


class SharedAllreduce:
    """The shared-memory allreduce of one MPI communicator (see the module docstring).

    ``node``: the ranks of this machine (``Split_type(COMM_TYPE_SHARED)``); ``cross``: the
    ranks of other machines with the same local rank (None on a single machine).
    """

    def __init__(self, MPI: Any, node: Any, cross: Any | None):
        self._MPI = MPI
        self.node = node
        self.cross = cross
        self.local_rank = node.Get_rank()
        self.local_size = node.Get_size()
        self.capacity = 0          # bytes per slot
        self._win: Any = None
        self._slots: list = []     # one uint8 array per local rank, `capacity` bytes each
        self._retired: list = []   # replaced windows, kept until close (views may live on)
        self.usable = True

    # ----- the window -----
    def reserve(self, nbytes: int) -> bool:
        """Make every slot hold ``nbytes`` (collective over the node); False if it cannot (then
        False on every rank, and from then on). A window that grows is replaced, and the old one
        is kept (not freed) until ``close``: arrays handed out as views of it stay readable."""
        if not self.usable:
            return False
        if nbytes <= self.capacity:
            return True
        capacity = -(-nbytes // _GROW) * _GROW
        # tmpfs overcommits: a window larger than /dev/shm's free space is a SIGBUS on first
        # touch, not an error here; every rank must take the same decision
        fits = _shm_free_bytes() > capacity * self.local_size * 1.25
        if not self.node.allreduce(fits, op=self._MPI.LAND):
            self.usable = False
            return False
        if self._win is not None:
            self._retired.append(self._win)
        MPI = self._MPI
        info = MPI.Info.Create()
        info.Set("alloc_shared_noncontig", "true")
        try:
            win = MPI.Win.Allocate_shared(capacity, 1, info=info, comm=self.node)
        finally:
            info.Free()
        win.Lock_all()  # one passive epoch for the window's life: Win.Sync orders our loads/stores
        self._win = win
        self._slots = [np.frombuffer(win.Shared_query(r)[0], dtype=np.uint8, count=capacity)
                       for r in range(self.local_size)]
        self.capacity = capacity
        return True

    def _sync(self) -> None:
        """Every rank's stores to the window are visible to every rank's loads after this."""
        self._win.Sync()
        self.node.Barrier()
        self._win.Sync()

    def _typed(self, offset: int, n: int, dtype: Any) -> list:
        return [s[offset:offset + n * dtype.itemsize].view(dtype) for s in self._slots]

    def _bounds(self, n: int, dtype: Any) -> list:
        size = self.local_size
        per_line = max(1, ALIGN // dtype.itemsize)
        return [min(n, -(-(n * r // size) // per_line) * per_line) for r in range(size)] + [n]

    def _reduce_own_chunk(self, slots: list, bounds: list) -> None:
        """Sum chunk ``local_rank`` of every slot into this rank's slot (then over the nodes)."""
        me = self.local_rank
        lo, hi = bounds[me], bounds[me + 1]
        acc = slots[me][lo:hi]
        for r in range(self.local_size):
            if r != me:
                np.add(acc, slots[r][lo:hi], out=acc)
        if self.cross is not None and hi > lo:
            self.cross.Allreduce(self._MPI.IN_PLACE, acc, op=self._MPI.SUM)

    # ----- the collectives -----
    def __call__(self, host: np.ndarray) -> bool:
        """Sum the C-contiguous NumPy array ``host`` over every rank, in place. False (nothing
        done, nothing communicated) when the shared window cannot be used: the caller then
        falls back to MPI's allreduce on every rank alike."""
        if not self.reserve(host.nbytes):
            return False
        n, dtype = host.size, host.dtype
        slots, bounds = self._typed(0, n, dtype), self._bounds(n, dtype)
        self.begin()
        np.copyto(slots[self.local_rank], host.reshape(-1))
        self._sync()
        self._reduce_own_chunk(slots, bounds)
        self._sync()
        flat = host.reshape(-1)
        for r in range(self.local_size):
            a, b = bounds[r], bounds[r + 1]
            flat[a:b] = slots[r][a:b]
        return True

    # A caller that fills the window itself saves two copies of the data: ``begin()``, write
    # into ``staging()``, ``reduce_staged(...)`` per array, ``end()``; the sums are left in
    # this rank's slot, readable and writable by it alone until its next ``begin()``.
    def staging(self) -> np.ndarray:
        """This rank's slot (``capacity`` bytes, after ``reserve``)."""
        return self._slots[self.local_rank]

    def begin(self) -> None:
        """Wait until no rank reads any slot from the last round (collective over the node)."""
        self.node.Barrier()

    def reduce_staged(self, offset: int, n: int, dtype: Any) -> None:
        """Sum over every rank the ``n`` values of ``dtype`` at byte ``offset`` of the slots;
        the result lands in this rank's slot at the same place (collective)."""
        dtype = np.dtype(dtype)
        slots, bounds = self._typed(offset, n, dtype), self._bounds(n, dtype)
        self._sync()
        self._reduce_own_chunk(slots, bounds)
        self._sync()
        mine = slots[self.local_rank]
        for r in range(self.local_size):
            if r != self.local_rank:
                a, b = bounds[r], bounds[r + 1]
                mine[a:b] = slots[r][a:b]

    def end(self) -> None:
        """Wait until every rank has read the others' sums (collective over the node); after
        it this rank's slot is its own to change."""
        self.node.Barrier()

    def close(self) -> None:
        """Free the windows (collective over the node)."""
        self._slots = []
        for win in [*self._retired, *([self._win] if self._win is not None else [])]:
            win.Unlock_all()
            win.Free()
        self._retired, self._win, self.capacity = [], None, 0
