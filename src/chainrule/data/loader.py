"""``DataLoader`` (mini-batches, optional shuffling) and ``SeqDataLoader`` (consecutive chunks
for truncated back-propagation through time)."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..backend import get_backend, xp_of
from ..core.variable import Variable
from ..random import get_rng
from .dataset import Dataset

__all__ = ["DataLoader", "SeqDataLoader"]


def _permutation(rng: Any, n: int) -> np.ndarray:
    """A random permutation of ``range(n)`` from any source ``get_rng`` accepts."""
    perm = getattr(rng, "permutation", None)
    if perm is not None:
        return np.asarray(perm(n))
    return np.argsort(np.asarray(rng.random((n,))), kind="stable")


def _stack(values: list) -> Any:
    """Stack one field of the items, on the device of the first one (NumPy for numbers and lists)."""
    xp = xp_of(values[0]) if hasattr(values[0], "dtype") else np
    return xp.stack([xp.asarray(v) for v in values])


def _stack_items(dataset: Any, index: Any) -> tuple:
    """Batch a dataset without ``batch()``: one item at a time, then stack each field."""
    items = [dataset[int(i)] for i in index]
    if not isinstance(items[0], tuple):
        return (_stack(items),)
    return tuple(_stack([item[k] for item in items]) for k in range(len(items[0])))


class _Loader:
    def __init__(self, dataset: Any, batch_size: int, device: Any):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"{type(self).__name__}: expected a Dataset (len and []), got {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"{type(self).__name__}: batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.device = device
        self._to_device = None if device is None else get_backend(device).asarray
        self._batch = getattr(dataset, "batch", None)

    def _arrays(self, index: Any) -> tuple:
        if self._batch is not None:
            return self._batch(index)
        if isinstance(index, slice):
            index = range(*index.indices(len(self.dataset)))
        return _stack_items(self.dataset, index)

    def _wrap(self, arrays: tuple) -> tuple:
        move = self._to_device
        if move is None:
            return tuple(Variable._new(a) for a in arrays)
        return tuple(Variable._new(move(a)) for a in arrays)


class DataLoader(_Loader):
    """Mini-batches ``(x, t)`` of Variables (one per field of the dataset's examples).

    ``shuffle``: a new permutation each epoch drawn from ``rng`` (anything ``get_rng`` accepts);
    ``drop_last``: skip a last batch smaller than ``batch_size``; ``device``: move batches there.
    Array-backed datasets are batched with one fancy-indexing per array.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, rng: Any = None,
                 drop_last: bool = False, device: Any = None):
        super().__init__(dataset, batch_size, device)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = get_rng(rng) if shuffle else None

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple]:
        n, b = len(self.dataset), self.batch_size
        stop = n - n % b if self.drop_last else n
        order = _permutation(self.rng, n) if self.shuffle else None
        for start in range(0, stop, b):
            index = slice(start, start + b) if order is None else order[start:start + b]
            yield self._wrap(self._arrays(index))


class SeqDataLoader(_Loader):
    """The reference lstm program's loader: batch ``k`` is the consecutive slice
    ``[k*B, (k+1)*B)`` of the sequence, for every ``k`` with ``(k+1)*B <= N`` (a short tail is
    dropped). 1-D fields come out as ``(B, 1)``; each epoch starts again at the beginning.
    """

    def __init__(self, dataset: Dataset, batch_size: int, device: Any = None):
        super().__init__(dataset, batch_size, device)

    def __len__(self) -> int:
        return len(self.dataset) // self.batch_size

    def __iter__(self) -> Iterator[tuple]:
        b = self.batch_size
        for k in range(len(self)):
            arrays = self._arrays(slice(k * b, (k + 1) * b))
            yield self._wrap(tuple(a.reshape(b, 1) if a.ndim == 1 else a for a in arrays))
