"""``ShardSampler``: each rank's share of a data set, for ``DataLoader(..., sampler=...)``."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .world import resolve

__all__ = ["ShardSampler"]


class ShardSampler:
    """The indices of rank ``comm.rank``'s share of ``range(n)``, one epoch per iteration.

    Every rank draws the same permutation (from ``seed`` and the epoch) and takes every
    ``size``-th index starting at its rank, so batch ``k`` of the ranks together is batch ``k``
    of one process reading the permutation with ``size`` times the batch size. Every rank gets
    the same number of indices, hence of batches:

    - ``drop_last=False`` (default): ``ceil(n / size)`` each; the permutation is padded with
      its own first indices, so up to ``size - 1`` examples are seen twice per epoch;
    - ``drop_last=True``: ``n // size`` each; up to ``size - 1`` examples are left out.

    With ``n`` divisible by ``size`` both cover the data set exactly once per epoch.
    ``set_epoch(e)`` picks the permutation of epoch ``e``; without it each iteration moves to
    the next epoch. ``n``: a count or a data set; ``comm``: anything with ``rank`` and ``size``
    (default: the communicator of ``dist.init``).
    """

    def __init__(self, n: Any, comm: Any = None, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if not isinstance(n, (int, np.integer)):
            if not hasattr(n, "__len__"):
                raise TypeError(f"ShardSampler: expected a number of examples or a data set, got {type(n).__name__}")
            n = len(n)
        if isinstance(n, bool) or n < 0:
            raise ValueError(f"ShardSampler: the number of examples must be a non-negative int, got {n!r}")
        comm = resolve(comm)
        self.n = int(n)
        self.rank, self.size = int(comm.rank), int(comm.size)
        if not 0 <= self.rank < self.size:
            raise ValueError(f"ShardSampler: rank {self.rank} is not in [0, {self.size})")
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self._auto_epoch = True
        if self.drop_last:
            self.per_rank = self.n // self.size
        else:
            self.per_rank = -(-self.n // self.size)

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` from now on (call it with the same value on every rank)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"ShardSampler.set_epoch: expected a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)
        self._auto_epoch = False

    def __len__(self) -> int:
        return self.per_rank

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices (int64) for ``epoch`` (default: the current one)."""
        epoch = self.epoch if epoch is None else int(epoch)
        n, size = self.n, self.size
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            order = np.arange(n)
        total = self.per_rank * size
        if total > n:  # pad with the order's own beginning (repeated when n < size - 1)
            order = np.resize(order, total) if n else np.zeros(0, dtype=np.int64)
        return order[self.rank:total:size].astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        index = self.indices()
        if self._auto_epoch:
            self.epoch += 1
        return iter(index.tolist())

    def __repr__(self) -> str:
        return (f"ShardSampler(n={self.n}, rank={self.rank}, size={self.size}, shuffle={self.shuffle}, "
                f"seed={self.seed}, drop_last={self.drop_last}, epoch={self.epoch})")
