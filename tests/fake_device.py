"""A strict fake device for tests: catches host (NumPy) arrays sneaking onto a device path, on the CPU.

The ``"fake"`` backend stores its arrays as ``FakeArray`` (a NumPy ndarray subclass) and hands
out a namespace ``fake_xp`` that forwards to NumPy but returns ``FakeArray``. Like CuPy, it refuses
to mix: a ``FakeArray`` meeting a plain ``numpy.ndarray`` that is not 0-d in a ufunc, a NumPy
function, ``fake_xp.<function>``, an index or an assignment raises ``TypeError``. Host data only
enters through ``fake_xp.asarray`` / ``array`` (the transfer) or ``FakeBackend.asarray``.
Reductions and full integer indexing give 0-d ``FakeArray`` (CuPy never returns NumPy scalars).

Use::

    with installed():                 # registers "fake", restores the registry on exit
        x = cr.Variable(data).to("fake")

Not caught (NumPy gives no hook): ``numpy.asarray(fake)`` / ``numpy.array(fake)`` (silent host
views; CuPy raises) and writing a FakeArray into a host array (``host[...] = fake``).
"""
from __future__ import annotations

import contextlib
import types
from typing import Any, Iterator

import numpy as np

import chainrule.backend.base as _base
from chainrule.backend import Backend, register_backend

NAME = "fake"
# namespace functions that copy host data onto the device (CuPy's transfers)
_TRANSFERS = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray"})
# namespace functions that only read dtypes or shapes: host arrays are fine there (as in CuPy)
_META = frozenset({"result_type", "can_cast", "promote_types", "min_scalar_type", "shape", "ndim", "size"})


def _is_host(a: Any) -> bool:
    """A host array that may not meet a device array (0-d arrays count as scalars)."""
    return isinstance(a, np.ndarray) and not isinstance(a, FakeArray) and a.ndim > 0


def _host_error(where: str, a: np.ndarray) -> TypeError:
    return TypeError(f"{where}: a '{NAME}' device array met a host numpy.ndarray of shape {a.shape} "
                     f"(devices {NAME} and cpu); move it with the backend's asarray")


def _unwrap(obj: Any, where: str) -> Any:
    """``obj`` with FakeArrays as plain ndarray views; raises on host arrays (also inside lists)."""
    if isinstance(obj, FakeArray):
        return obj.view(np.ndarray)
    if isinstance(obj, np.ndarray):
        if obj.ndim > 0:
            raise _host_error(where, obj)
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, where) for o in obj)
    return obj


def _wrap(obj: Any) -> Any:
    """Results as FakeArray (NumPy scalars become 0-d FakeArray, as CuPy gives 0-d arrays)."""
    if isinstance(obj, np.ndarray):
        return obj if isinstance(obj, FakeArray) else obj.view(FakeArray)
    if isinstance(obj, np.generic):
        return np.asarray(obj).view(FakeArray)
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    if isinstance(obj, (np.random.Generator, np.random.RandomState)):
        return _Proxy(obj, type(obj).__name__)
    return obj


class FakeArray(np.ndarray):
    """Host memory that pretends to live on the ``"fake"`` device."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, out: Any = None, **kw: Any) -> Any:
        where = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        args = [_unwrap(a, where) for a in inputs]
        if "where" in kw:
            kw["where"] = _unwrap(kw["where"], where)
        if out is not None:
            kw["out"] = tuple(_unwrap(o, where) for o in out)
        r = getattr(ufunc, method)(*args, **kw)
        if method == "at":
            return None
        if out is not None:
            return out[0] if len(out) == 1 else tuple(out)
        return _wrap(r)

    def __array_function__(self, func: Any, types_: Any, args: tuple, kwargs: dict) -> Any:
        where = getattr(func, "__name__", str(func))
        args = _unwrap(args, where)
        kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
        return _wrap(func(*args, **kwargs))

    def __getitem__(self, index: Any) -> Any:
        r = super().__getitem__(_unwrap(index, "getitem") if isinstance(index, (tuple, np.ndarray)) else index)
        return r if isinstance(r, np.ndarray) else _wrap(r)

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, (tuple, np.ndarray)):
            index = _unwrap(index, "setitem")
        super().__setitem__(index, _unwrap(value, "setitem"))

    def argmax(self, *args: Any, **kw: Any) -> Any:
        return _wrap(super().argmax(*args, **kw))

    def argmin(self, *args: Any, **kw: Any) -> Any:
        return _wrap(super().argmin(*args, **kw))

    def dot(self, other: Any, *args: Any, **kw: Any) -> Any:
        return _wrap(self.view(np.ndarray).dot(_unwrap(other, "dot"), *args, **kw))

    def __reduce__(self) -> Any:  # pickling a device array (CuPy can); round-trips as FakeArray
        return (_rebuild, (self.view(np.ndarray).copy(),))


def _rebuild(a: np.ndarray) -> FakeArray:
    return a.view(FakeArray)


class _Callable:
    """A NumPy callable (function or ufunc) that refuses host arrays and returns FakeArrays."""

    def __init__(self, fn: Any, name: str, transfer: bool = False):
        self._fn, self._name, self._transfer = fn, name, transfer

    def __call__(self, *args: Any, **kw: Any) -> Any:
        if not self._transfer:
            args = _unwrap(args, self._name)
            kw = {k: _unwrap(v, self._name) for k, v in kw.items()}
        elif args and isinstance(args[0], FakeArray):
            args = (args[0].view(np.ndarray), *args[1:])
        return _wrap(self._fn(*args, **kw))

    def __getattr__(self, name: str) -> Any:  # ufunc.at / reduce / outer, and plain attributes
        attr = getattr(self._fn, name)
        return _Callable(attr, f"{self._name}.{name}") if callable(attr) else attr

    def __repr__(self) -> str:
        return f"<fake {self._name}>"


class _Proxy:
    """A namespace or object (module, random Generator) whose callables go through ``_Callable``."""

    def __init__(self, target: Any, name: str):
        self._target, self._name = target, name

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        qual = f"{self._name}.{name}"
        if isinstance(attr, types.ModuleType):
            attr = _Proxy(attr, qual)
        elif isinstance(attr, type) or not callable(attr):
            return attr  # dtypes, classes (errstate, finfo), constants
        else:
            if name in _META:
                return attr
            attr = _Callable(attr, qual, transfer=name in _TRANSFERS)
        object.__setattr__(self, name, attr)  # cache
        return attr

    def __repr__(self) -> str:
        return f"<fake namespace {self._name}>"


class _FakeRandom:
    """``fake_xp.random``: CuPy's module-level random functions (``dtype=`` accepted), on FakeArrays."""

    def __init__(self) -> None:
        self._rng = np.random.default_rng()

    def seed(self, seed: Any = None) -> None:
        self._rng = np.random.default_rng(seed)

    def default_rng(self, seed: Any = None) -> Any:
        return _wrap(np.random.default_rng(seed))

    def random(self, size: Any = None, dtype: Any = float) -> FakeArray:
        return _wrap(self._rng.random(size, dtype=dtype))

    random_sample = random

    def rand(self, *size: int, dtype: Any = float) -> FakeArray:
        return self.random(size, dtype=dtype)

    def standard_normal(self, size: Any = None, dtype: Any = float) -> FakeArray:
        return _wrap(self._rng.standard_normal(size, dtype=dtype))

    def randn(self, *size: int, dtype: Any = float) -> FakeArray:
        return self.standard_normal(size, dtype=dtype)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float) -> FakeArray:
        return _wrap(self._rng.uniform(low, high, size).astype(dtype))

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float) -> FakeArray:
        return _wrap(self._rng.normal(loc, scale, size).astype(dtype))

    def randint(self, low: int, high: Any = None, size: Any = None, dtype: Any = int) -> FakeArray:
        return _wrap(self._rng.integers(low, high, size, dtype=dtype))

    def permutation(self, x: Any) -> FakeArray:
        return _wrap(self._rng.permutation(_unwrap(x, "random.permutation")))


fake_xp = _Proxy(np, "fake_xp")
object.__setattr__(fake_xp, "random", _FakeRandom())


class FakeBackend(Backend):
    """The ``"fake"`` device: NumPy memory, CuPy's strictness about host arrays."""

    name = NAME
    xp = fake_xp
    array_types = (FakeArray,)

    def asarray(self, data: Any, dtype: Any = None) -> FakeArray:
        if isinstance(data, FakeArray):
            return data if dtype is None or data.dtype == dtype else data.astype(dtype)
        return np.array(data, dtype=dtype).view(FakeArray)  # host -> device copy

    def to_numpy(self, a: Any) -> np.ndarray:
        if isinstance(a, FakeArray):
            return a.view(np.ndarray).copy()
        return np.asarray(a)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        if not isinstance(target, FakeArray):
            raise TypeError(f"scatter_add: target is a host {type(target).__name__} (devices {NAME} and cpu)")
        fake_xp.add.at(target, index, values)

    def generator(self, seed: Any = None) -> Any:
        return fake_xp.random.default_rng(seed)


BACKEND = FakeBackend()


@contextlib.contextmanager
def installed() -> Iterator[FakeBackend]:
    """Register the fake backend for the duration of the block; the registry is restored after."""
    by_name, by_type = dict(_base._by_name), dict(_base._by_type)
    register_backend(BACKEND)
    try:
        yield BACKEND
    finally:
        _base._by_name.clear()
        _base._by_name.update(by_name)
        _base._by_type.clear()
        _base._by_type.update(by_type)


def is_fake(a: Any) -> bool:
    """Whether ``a`` (an array or a Variable) lives on the fake device."""
    from chainrule.core.variable import Variable

    return isinstance(a.data if isinstance(a, Variable) else a, FakeArray)


def pytest_configure(config: Any) -> None:
    """As a pytest plugin (``-p fake_device``), register the device when it is the selected one:
    ``PYTHONPATH=tests CHAINRULE_DEVICE=fake pytest -p fake_device`` runs device-aware tests and
    ``gradcheck`` on the fake device."""
    import os

    try:
        device = config.getoption("--device")
    except ValueError:
        device = None
    device = device or os.environ.get("CHAINRULE_DEVICE") or ""
    if device.split(":")[0].lower() == NAME:
        register_backend(BACKEND)
