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

__all__ = ["SharedAllreduce", "MIN_BYTES"]

MIN_BYTES = 64 * 1024   # smaller arrays: MPI's allreduce (latency, not bandwidth, dominates)
_ALIGN = 64             # chunk boundaries on cache lines: no two ranks write one line
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
        self.usable = True

    # ----- the window -----
    def _reserve(self, nbytes: int) -> bool:
        """Make every slot hold ``nbytes`` (collective over the node); False if it cannot."""
        if nbytes <= self.capacity:
            return True
        capacity = -(-nbytes // _GROW) * _GROW
        # tmpfs overcommits: a window larger than /dev/shm's free space is a SIGBUS on first
        # touch, not an error here; every rank must take the same decision
        fits = _shm_free_bytes() > (capacity - self.capacity) * self.local_size * 1.25
        if not self.node.allreduce(fits, op=self._MPI.LAND):
            self.usable = False
            return False
        self._free()
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

    def _free(self) -> None:
        if self._win is not None:
            self._slots = []
            self._win.Unlock_all()
            self._win.Free()
            self._win = None
            self.capacity = 0

    def _sync(self) -> None:
        """Every rank's stores to the window are visible to every rank's loads after this."""
        self._win.Sync()
        self.node.Barrier()
        self._win.Sync()

    # ----- the collective -----
    def __call__(self, host: np.ndarray) -> bool:
        """Sum the C-contiguous NumPy array ``host`` over every rank, in place. False (nothing
        done, nothing communicated) when the shared window cannot be used: the caller then
        falls back to MPI's allreduce on every rank alike."""
        if not self.usable or not self._reserve(host.nbytes):
            return False
        n, dtype, size = host.size, host.dtype, self.local_size
        slots = [s[:host.nbytes].view(dtype) for s in self._slots]
        per_line = max(1, _ALIGN // dtype.itemsize)
        bounds = [min(n, -(-(n * r // size) // per_line) * per_line) for r in range(size)] + [n]
        self.node.Barrier()             # nobody still reads the slots of the last call
        mine = slots[self.local_rank]
        np.copyto(mine, host.reshape(-1))
        self._sync()
        lo, hi = bounds[self.local_rank], bounds[self.local_rank + 1]
        acc = mine[lo:hi]
        for r in range(size):
            if r != self.local_rank:
                np.add(acc, slots[r][lo:hi], out=acc)
        if self.cross is not None and hi > lo:
            self.cross.Allreduce(self._MPI.IN_PLACE, acc, op=self._MPI.SUM)
        self._sync()
        flat = host.reshape(-1)
        for r in range(size):
            a, b = bounds[r], bounds[r + 1]
            flat[a:b] = slots[r][a:b]
        return True

    def close(self) -> None:
        """Free the window (collective over the node)."""
        self._free()
