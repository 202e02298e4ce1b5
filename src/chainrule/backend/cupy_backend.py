"""The GPU backend: CuPy on NVIDIA GPUs (device ``"cuda"``, alias ``"gpu"``).

This module is imported on the first ``get_backend("cuda")`` (see ``base._lazy``), never at
``import chainrule``. Without CuPy, or without a visible GPU, importing it raises
``DeviceUnavailableError`` (both an ``ImportError`` and a ``RuntimeError``) that says what to
install. Install with ``pip install chainrule[gpu]`` (pulls ``cupy-cuda12x``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Backend, DeviceUnavailableError, register_backend

_INSTALL = "pip install 'chainrule[gpu]' (installs cupy-cuda12x; use cupy-cuda11x for CUDA 11)"


def _import_cupy() -> tuple:
    try:
        import cupy
        import cupyx
    except ImportError as e:
        raise DeviceUnavailableError(f"device 'cuda' needs CuPy, which is not installed: {_INSTALL}. "
                                     f"({e})") from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError: no driver, no device, driver too old
        raise DeviceUnavailableError(f"device 'cuda': CuPy is installed but CUDA is not usable here "
                                     f"({type(e).__name__}: {e}); check the NVIDIA driver and "
                                     f"CUDA_VISIBLE_DEVICES") from e
    if count == 0:
        raise DeviceUnavailableError("device 'cuda': CuPy is installed but no NVIDIA GPU is visible "
                                     "(check the driver and CUDA_VISIBLE_DEVICES)")
    return cupy, cupyx


cupy, cupyx = _import_cupy()


class CupyBackend(Backend):
    """CuPy arrays on the current CUDA device (``cupy.cuda.Device(i).use()`` selects another)."""

    name = "cuda"
    xp = cupy
    array_types = (cupy.ndarray,)

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        """A CuPy array from a CuPy array (no copy when the dtype matches), NumPy data or numbers."""
        if isinstance(data, cupy.ndarray):
            return data if dtype is None or data.dtype == dtype else data.astype(dtype)
        return cupy.asarray(data, dtype=dtype)  # host -> device copy

    def to_numpy(self, a: Any) -> np.ndarray:
        """A host copy of ``a`` (device -> host, synchronous)."""
        if isinstance(a, cupy.ndarray):
            return a.get()
        return np.asarray(a)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """``target[index] += values`` accumulating repeated indices (atomic adds on the GPU)."""
        cupyx.scatter_add(target, index, values)

    def generator(self, seed: Any = None) -> Any:
        """A ``cupy.random.Generator`` (``random``, ``standard_normal`` ...) drawing on the GPU."""
        return cupy.random.default_rng(seed)

    def synchronize(self) -> None:
        """Wait for every kernel queued on the current device (use before reading a timer)."""
        cupy.cuda.Device().synchronize()


register_backend(CupyBackend(), "gpu")
