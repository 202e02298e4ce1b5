"""``DataLoader`` (mini-batches, optional shuffling or a sampler, optional ``collate_fn``) and
``SeqDataLoader`` (consecutive chunks for truncated back-propagation through time).

A *sampler* is any iterable of int indices into the dataset with ``__len__``; it may also have
``set_epoch(e)``, which the loader calls before each pass (see ``DataLoader``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Sized
from itertools import islice
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..backend import get_backend, xp_of
from ..core.variable import Variable
from ..random import get_rng
from .dataset import ArrayDataset, Dataset

__all__ = ["DataLoader", "Sampler", "SeqDataLoader", "default_collate"]


@runtime_checkable
class Sampler(Protocol):
    """What ``DataLoader(sampler=)`` takes: int indices into the dataset, and their count."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...


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


def _stack_examples(items: Sequence[Any]) -> tuple:
    """Examples (tuples of fields, or single arrays) stacked field by field."""
    if not isinstance(items[0], tuple):
        return (_stack(list(items)),)
    return tuple(_stack([item[k] for item in items]) for k in range(len(items[0])))


def _stack_items(dataset: Any, index: Any) -> tuple:
    """Batch a dataset without ``batch()``: one item at a time, then stack each field."""
    return _stack_examples([dataset[int(i)] for i in index])


def _batch_variable(a: Any) -> Variable:
    v = Variable._new(a)
    v.requires_grad = False  # data, not a parameter: ops on batches alone record no graph
    return v


def default_collate(examples: Sequence[Any]) -> tuple[Variable, ...]:
    """A list of examples (``(x, t)`` tuples or single arrays) -> one Variable per field,
    each ``(len(examples), ...)``: what the loader yields without ``collate_fn``."""
    if not examples:
        raise ValueError("default_collate: no examples to batch")
    return tuple(_batch_variable(a) for a in _stack_examples(examples))


def _as_dataset(dataset: Any, who: str) -> Any:
    """Arrays given directly become an ``ArrayDataset``: ``DataLoader((x, t))``, ``DataLoader(x)``."""
    if isinstance(dataset, (np.ndarray, Variable)):
        return ArrayDataset(dataset)
    if isinstance(dataset, tuple) and dataset and all(isinstance(a, (np.ndarray, Variable)) or
                                                      hasattr(a, "__array_namespace__") for a in dataset):
        return ArrayDataset(*dataset)
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
        raise TypeError(f"{who}: expected a Dataset (len and []) or a tuple of arrays, got {type(dataset).__name__}")
    return dataset


class _Loader:
    def __init__(self, dataset: Any, batch_size: int, device: Any):
        dataset = _as_dataset(dataset, type(self).__name__)
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
            return tuple(_batch_variable(a) for a in arrays)
        return tuple(_batch_variable(move(a)) for a in arrays)


class DataLoader(_Loader):
    """Mini-batches ``(x, t)`` of Variables (one per field of the dataset's examples).

    ``dataset``: a Dataset, or arrays directly (``DataLoader((x, t), batch_size=32)`` is
    ``DataLoader(ArrayDataset(x, t), ...)``). ``shuffle``: a new permutation each epoch drawn
    from ``rng`` (anything ``get_rng`` accepts; None: the default generator, see
    ``manual_seed``). ``drop_last``: skip a last batch smaller than ``batch_size``; ``device``:
    move batches there. Batches are data, not parameters: ``requires_grad`` is False.

    ``sampler``: an iterable of int indices with ``__len__`` choosing the examples and their
    order instead of ``shuffle``; batches are consecutive runs of ``batch_size`` of its indices.
    A sampler with ``set_epoch`` gets ``set_epoch(n)`` before the loader's pass number ``n``
    (0, 1, 2, ...; ``loader.set_epoch(e)`` sets the number of the next pass, e.g. to resume).

    ``collate_fn``: turns the list of examples ``[dataset[i], ...]`` of a batch into what the
    loader yields (``default_collate`` is what happens without it); ``device`` does not apply.
    Array-backed datasets are batched with one fancy-indexing per array when there is no
    ``collate_fn``.
    """

    def __init__(self, dataset: Dataset | tuple | np.ndarray, batch_size: int = 1, shuffle: bool = False,
                 rng: Any = None, drop_last: bool = False, device: Any = None,
                 sampler: Sampler | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None):
        super().__init__(dataset, batch_size, device)
        if sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: shuffle=True and sampler= both choose the order; "
                                 "give one (the sampler shuffles, if it should)")
            if not isinstance(sampler, Sized) or not hasattr(sampler, "__iter__"):
                raise TypeError(f"DataLoader: sampler must be an iterable of int indices with __len__, "
                                f"got {type(sampler).__name__}")
        if collate_fn is not None:
            if not callable(collate_fn):
                raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
            if device is not None:
                raise ValueError("DataLoader: device= moves the default batches; with collate_fn, "
                                 "move the batch inside collate_fn")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = get_rng(rng) if shuffle else None
        self.sampler = sampler
        self.collate_fn = collate_fn
        self.epoch = 0  # the number of the next pass (given to the sampler's set_epoch)

    def set_epoch(self, epoch: int) -> None:
        """Number the next pass ``epoch`` (the sampler's ``set_epoch`` gets it)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        b = self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _sampled(self, epoch: int) -> Iterator[np.ndarray]:
        """Index arrays: consecutive runs of ``batch_size`` of the sampler's indices."""
        sampler = self.sampler
        if sampler is None:
            return
        set_epoch = getattr(sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)
        n, b = len(self.dataset), self.batch_size
        it = iter(sampler)
        while True:
            chunk = list(islice(it, b))
            if not chunk or (self.drop_last and len(chunk) < b):
                return
            index = np.asarray(chunk)
            if index.dtype.kind not in "iu":
                raise TypeError(f"DataLoader: the sampler must yield int indices, got {chunk[:3]!r}...")
            if index.min() < 0 or index.max() >= n:
                bad = index[(index < 0) | (index >= n)][0]
                raise IndexError(f"DataLoader: the sampler gave index {bad} for a dataset of {n} examples")
            yield index

    def _indices(self, epoch: int) -> Iterator[Any]:
        if self.sampler is not None:
            yield from self._sampled(epoch)
            return
        n, b = len(self.dataset), self.batch_size
        stop = n - n % b if self.drop_last else n
        order = _permutation(self.rng, n) if self.shuffle else None
        for start in range(0, stop, b):
            yield slice(start, start + b) if order is None else order[start:start + b]

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self.epoch = epoch + 1
        indices = self._indices(epoch)
        collate = self.collate_fn
        if collate is None:
            for index in indices:
                yield self._wrap(self._arrays(index))
        else:
            ds = self.dataset
            for index in indices:
                if isinstance(index, slice):
                    index = range(*index.indices(len(ds)))
                yield collate([ds[int(i)] for i in index])


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
