"""``Dataset``: indexable examples; ``ArrayDataset``: examples stored as rows of arrays."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of
from ..core.variable import Variable

__all__ = ["ArrayDataset", "Dataset"]


class Dataset:
    """Anything with ``len(ds)`` and ``ds[i]`` -> an example (a tuple such as ``(x, t)``).

    A dataset whose examples are rows of arrays may also define ``batch(index)`` returning
    those arrays indexed by an integer array or a slice; loaders then batch without a Python
    loop over examples.
    """

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, i: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class ArrayDataset(Dataset):
    """Examples as rows of arrays sharing their first axis: ``ArrayDataset(x, t)`` with
    ``x`` (N, ...) and ``t`` (N, ...); ``ds[i]`` is ``(x[i], t[i])``.

    Arrays (NumPy or CuPy) keep their dtype; Variables contribute their data; lists become
    NumPy arrays.
    """

    def __init__(self, *arrays: Any):
        if not arrays:
            raise ValueError("ArrayDataset: expected at least one array")
        out = []
        for a in arrays:
            if isinstance(a, Variable):
                a = a.data
            elif not hasattr(a, "shape"):
                a = np.asarray(a)
            if a.ndim == 0:
                raise ValueError("ArrayDataset: arrays need a first axis, got a 0-d array")
            out.append(a)
        lengths = [len(a) for a in out]
        if len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset: arrays differ in length along the first axis: "
                             f"shapes {[tuple(a.shape) for a in out]}")
        self.arrays = tuple(out)
        self._host = all(type(a) is np.ndarray for a in out)  # (device array types may subclass ndarray)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, i: Any) -> tuple:
        return tuple(a[i] for a in self.arrays)

    def batch(self, index: Any) -> tuple:
        """The arrays at ``index`` (an integer array or a slice), each ``(len(index), ...)``."""
        if self._host or isinstance(index, slice):
            return tuple(a[index] for a in self.arrays)
        return tuple(a[backend_of(a).asarray(index)] for a in self.arrays)  # device arrays: device index

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in self.arrays)
        return f"ArrayDataset({shapes})"
