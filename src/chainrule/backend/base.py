"""The ``Backend`` protocol and the registry that maps devices and array types to backends."""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np


class DeviceUnavailableError(ImportError, RuntimeError):
    """The requested device cannot be used here (missing library or no GPU visible)."""


class Backend:
    """What the autodiff layer needs from an array library.

    Subclasses set ``name`` (the device string, e.g. ``"cpu"``), ``xp`` (a NumPy-compatible
    namespace) and ``array_types`` (the array classes this backend owns).
    """

    name: str = ""
    xp: Any = None
    array_types: tuple = ()

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        """Array on this device from array-like ``data`` (host arrays are copied over)."""
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        """A host NumPy array with the contents of ``a``."""
        return np.asarray(a)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """``target[index] += values`` with repeated indices accumulated (in place)."""
        self.xp.add.at(target, index, values)

    def generator(self, seed: Any = None) -> Any:
        """A random generator with ``random(shape)`` and ``standard_normal(shape)``."""
        return self.xp.random.default_rng(seed)

    def synchronize(self) -> None:
        """Block until queued work is done (a no-op on the CPU)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device={self.name!r}>"


_by_name: dict[str, Backend] = {}
_by_type: dict[type, Backend] = {}
# Device names whose backend module is imported on first use (optional dependencies).
_lazy: dict[str, str] = {"cuda": "chainrule.backend.cupy_backend", "gpu": "chainrule.backend.cupy_backend"}


def register_backend(backend: Backend, *aliases: str) -> Backend:
    """Make ``backend`` reachable by its name, its aliases and its array types."""
    for n in (backend.name, *aliases):
        _by_name[n] = backend
    for t in backend.array_types:
        _by_type[t] = backend
    return backend


def get_backend(device: Any = None) -> Backend:
    """The backend for a device string (``"cpu"``, ``"cuda"``, ``"cuda:0"``) or a Backend."""
    if device is None:
        return _by_name["cpu"]
    if isinstance(device, Backend):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(device).__name__}")
    key = device.split(":")[0].lower()
    if key not in _by_name and key in _lazy:
        importlib.import_module(_lazy[key])
    try:
        return _by_name[key]
    except KeyError:
        raise ValueError(f"unknown device {device!r}; known: {sorted(set(_by_name) | set(_lazy))}") from None


def backend_of(a: Any) -> Backend:
    """The backend that owns array ``a`` (NumPy for scalars and anything unknown)."""
    b = _by_type.get(type(a))
    if b is not None:
        return b
    for t, b in _by_type.items():
        if isinstance(a, t):
            return b
    return _by_name["cpu"]


def xp_of(a: Any) -> Any:
    """The array namespace of ``a`` (``numpy`` on the CPU)."""
    if type(a) is np.ndarray:
        return np
    return backend_of(a).xp


def available_devices() -> list[str]:
    """Devices that can be used here (``"cuda"`` only with CuPy and a GPU present)."""
    out = ["cpu"]
    try:
        get_backend("cuda")
        out.append("cuda")
    except Exception:
        pass
    return out
