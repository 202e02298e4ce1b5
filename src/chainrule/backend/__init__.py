"""Compute backends: the array namespace (``xp``) that the autodiff layer runs on.

The autodiff layer never imports NumPy or CuPy for computation directly: forward code asks
``xp_of(array)`` for the namespace of its inputs. A backend is one module that defines a
``Backend`` subclass and registers it (see ``docs/backends.md``).
"""
from .base import Backend, DeviceUnavailableError, backend_of, get_backend, register_backend, xp_of, available_devices
from .numpy_backend import NumpyBackend

__all__ = ["Backend", "DeviceUnavailableError", "NumpyBackend", "backend_of", "get_backend", "register_backend", "xp_of",
           "available_devices"]
