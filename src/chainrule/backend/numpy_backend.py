"""The default backend: NumPy on the CPU."""
from __future__ import annotations

import numpy as np

from .base import Backend, register_backend


class NumpyBackend(Backend):
    name = "cpu"
    xp = np
    array_types = (np.ndarray, np.generic)

    def asarray(self, data, dtype=None):
        if hasattr(data, "__cuda_array_interface__") and hasattr(data, "get"):
            data = data.get()
        return np.asarray(data, dtype=dtype)


register_backend(NumpyBackend(), "numpy")
