"""``Layer`` and ``Parameter``: stateful building blocks that own learnable variables.

Sub-layers and parameters are registered by attribute assignment::

    class Affine(Layer):
        def __init__(self):
            super().__init__()
            self.w = Parameter(np.zeros((3, 2)))   # registered as "w"
            self.inner = Linear(4)                  # its parameters appear as "inner.w", "inner.b"

``named_params()`` lists ``(dotted_name, Parameter)`` in registration order, depth first.

Lazy layers (``Linear(out)`` without ``in_size``, ``Conv2d`` without ``in_channels``, ...) create
their ``Parameter`` objects at construction, *uninitialised* (``p.data is None``); the first call
fills them in place from the input's size, dtype and device. An optimizer built from
``model.params()`` before the first call therefore holds the very objects it will update.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import backend_of, get_backend
from ..core.config import get_config
from ..core.variable import Variable

__all__ = ["Parameter", "Layer", "UninitializedParameterError"]

# Lazy initialisation draws random numbers and fills parameters: one lock makes each layer's
# materialisation atomic, so threads making a fresh model's first call see one set of parameters
# (drawn once, in the single-threaded order). Re-entrant: a layer may materialise sub-layers.
_init_lock = threading.RLock()


class UninitializedParameterError(RuntimeError):
    """A lazy layer's parameter was used (shape, data, saving...) before the layer's first call."""


class Parameter(Variable):
    """A learnable leaf Variable owned by a Layer (what optimizers update).

    ``Parameter(None)`` is *uninitialised*: a placeholder a lazy layer creates at construction
    and fills at its first call (``materialize``); asking it for its shape, dtype or values
    raises ``UninitializedParameterError``.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, name: str | None = None, **kw: Any):
        if data is None:
            Variable.__init__(self, 0.0, name, **kw)
            self.data = None
            self._version = 0
        else:
            super().__init__(data, name, **kw)

    @property
    def initialized(self) -> bool:
        """False until a lazy layer's first call (or ``materialize``) gives the parameter data."""
        return self.data is not None

    def materialize(self, data: Any) -> "Parameter":
        """Give an uninitialised parameter its array (in place: optimizers holding it see it)."""
        if self.data is not None:
            raise RuntimeError(f"materialize: {self.name or 'the parameter'} is already initialised "
                               f"(shape {tuple(self.data.shape)})")
        self.data = data
        return self

    def _uninit(self, what: str) -> UninitializedParameterError:
        label = f"parameter {self.name!r}" if self.name else "a parameter"
        return UninitializedParameterError(
            f"{what}: {label} is not initialised yet: a lazy layer creates its parameters at its first "
            f"call (from the input's size, dtype and device); call the layer once, or give its sizes "
            f"(e.g. Linear(out, in_size=...))")

    # inspection gives a clear error instead of "'NoneType' has no attribute ..."
    @property
    def shape(self) -> tuple:
        if self.data is None:
            raise self._uninit("shape")
        return self.data.shape

    @property
    def ndim(self) -> int:
        if self.data is None:
            raise self._uninit("ndim")
        return self.data.ndim

    @property
    def size(self) -> int:
        if self.data is None:
            raise self._uninit("size")
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        if self.data is None:
            raise self._uninit("dtype")
        return self.data.dtype

    def numpy(self) -> np.ndarray:
        if self.data is None:
            raise self._uninit("numpy")
        return super().numpy()

    def __repr__(self) -> str:
        if self.data is None:
            return f"{self.name or 'parameter'}(uninitialized)"
        body = super().__repr__()
        return body if self.name else "parameter" + body[len("variable"):]

    __str__ = __repr__


class _Registry(dict):
    """The dict of a layer's parameters or sub-layers. Any change bumps ``_Registry.version``,
    which invalidates every layer's cached ``named_params()`` (the optimizer and
    ``cleargrads`` ask for it every step)."""

    version = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        _Registry.version += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        _Registry.version += 1
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        _Registry.version += 1
        return super().pop(*args)

    def popitem(self) -> Any:
        _Registry.version += 1
        return super().popitem()

    def clear(self) -> None:
        _Registry.version += 1
        super().clear()

    def update(self, *args: Any, **kw: Any) -> None:
        _Registry.version += 1
        super().update(*args, **kw)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        _Registry.version += 1
        return super().setdefault(key, default)


class Layer:
    """Base class of layers and models: callable, owns Parameters and sub-layers.

    Subclasses implement ``forward(*xs)``. ``layer(x)`` calls ``forward``. Mode: ``training``
    (set by ``train()``/``eval()``) is combined with ``chainrule.is_train()`` by layers whose
    behaviour differs at inference (``Dropout``); see ``is_training()``.
    """

    # set in __init__ through __dict__ (``__setattr__`` routes attribute assignment)
    _params: _Registry
    _layers: _Registry
    _buffers: dict
    training: bool

    if TYPE_CHECKING:  # parameters, sub-layers and buffers are attributes registered at run time
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self) -> None:
        d = self.__dict__
        if "_params" not in d:
            d["_params"] = _Registry()
            d["_layers"] = _Registry()
            d["_buffers"] = {}
            d["training"] = True

    # ----- registration -----
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_params" not in d:
            Layer.__init__(self)
        if isinstance(value, Parameter):
            d["_layers"].pop(name, None)
            d["_params"][name] = value
        elif isinstance(value, Layer):
            d["_params"].pop(name, None)
            d["_layers"][name] = value
        elif name in d["_params"]:
            if value is not None:
                raise TypeError(f"{type(self).__name__}.{name} is a parameter; assign a Parameter or None, "
                                f"got {type(value).__name__}")
            d["_params"][name] = None
        elif name in d["_layers"]:
            if value is not None:
                raise TypeError(f"{type(self).__name__}.{name} is a sub-layer; assign a Layer or None, "
                                f"got {type(value).__name__}")
            del d["_layers"][name]
        elif name in d["_buffers"]:
            d["_buffers"][name] = value
        d[name] = value

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for reg in ("_params", "_layers", "_buffers"):
            d.get(reg, {}).pop(name, None)
        object.__delattr__(self, name)

    def register_param(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (any string, e.g. ``"w"``). A lazy layer registers
        ``Parameter(None)`` and fills it at its first call (optimizers can hold it meanwhile);
        None leaves an empty slot (an absent bias), skipped by ``params()``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_param: expected a Parameter or None, got {type(param).__name__}")
        if "_params" not in self.__dict__:
            Layer.__init__(self)
        self._layers.pop(name, None)
        self._params[name] = param
        if name.isidentifier() and not hasattr(type(self), name):
            self.__dict__[name] = param

    def add_layer(self, name: str, layer: "Layer") -> "Layer":
        """Register sub-layer ``layer`` under ``name`` (any string, e.g. ``"linear[0]"``)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"add_layer: expected a Layer, got {type(layer).__name__}")
        if "_params" not in self.__dict__:
            Layer.__init__(self)
        self._params.pop(name, None)
        self._layers[name] = layer
        if name.isidentifier() and not hasattr(type(self), name):
            self.__dict__[name] = layer
        return layer

    def register_buffer(self, name: str, value: Any) -> None:
        """Register a non-learnable array (e.g. running statistics): saved by ``state_dict``,
        moved by ``to``, never updated by optimizers."""
        if "_params" not in self.__dict__:
            Layer.__init__(self)
        self._buffers[name] = value
        self.__dict__[name] = value

    # ----- calling -----
    def __call__(self, *xs: Any, **kw: Any) -> Any:
        return self.forward(*xs, **kw)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        # calling a layer is calling its forward: bind it directly (one Python frame less per
        # layer call) unless the class defines its own __call__
        if "__call__" in cls.__dict__:
            cls._call_is_forward = False
        elif "forward" in cls.__dict__ and (cls.__call__ is Layer.__call__ or cls._call_is_forward):
            cls.__call__ = cls.__dict__["forward"]  # type: ignore[method-assign]
            cls._call_is_forward = True

    _call_is_forward = False

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    # ----- lazy initialisation -----
    _pending = False  # True until the first call has sized (or retyped) the parameters

    def _materialize(self, x: Any) -> None:
        """Run ``_first_call(x)`` once, atomically: a lazy layer's forward does
        ``if self._pending: self._materialize(x)``; ``_first_call`` sets ``_pending = False``."""
        with _init_lock:
            if self._pending:
                self._first_call(x)

    def _first_call(self, x: Any) -> None:
        self._pending = False

    def _describe(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    # ----- traversal -----
    def named_layers(self, prefix: str = "") -> list:
        """``(dotted_name, layer)`` for every sub-layer, depth first (self excluded)."""
        out = []
        for name, layer in self._layers.items():
            out.append((prefix + name, layer))
            out.extend(layer.named_layers(prefix + name + "."))
        return out

    def layers(self) -> list:
        """Every sub-layer, depth first."""
        return [layer for _, layer in self.named_layers()]

    def named_params(self, prefix: str = "") -> list:
        """``(dotted_name, Parameter)`` pairs in a stable order: own parameters in registration
        order, then each sub-layer's with ``"name."`` prefixed (``lstm.x2f.w``). A lazy layer's
        parameters are listed from construction, uninitialised (``p.initialized`` is False)
        until its first call; an emptied slot (``layer.b = None``) is skipped; a shared
        parameter appears once."""
        cache = self.__dict__.get("_named_params_cache")
        if cache is not None and cache[0] == _Registry.version and cache[1] == prefix:
            return list(cache[2])
        out: list = []
        self._collect(prefix, out, set())
        self.__dict__["_named_params_cache"] = (_Registry.version, prefix, tuple(out))
        return out

    def _collect(self, prefix: str, out: list, seen: set) -> None:
        for name, p in self._params.items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                out.append((prefix + name, p))
        for name, layer in self._layers.items():
            layer._collect(prefix + name + ".", out, seen)

    def params(self) -> list:
        """Every Parameter, in the order of ``named_params()``."""
        cache = self.__dict__.get("_params_cache")
        if cache is None or cache[0] != _Registry.version:
            cache = self.__dict__["_params_cache"] = (_Registry.version, tuple(p for _, p in self.named_params()))
        return list(cache[1])

    def named_parameters(self, prefix: str = "") -> list:
        """PyTorch's name for ``named_params()``."""
        return self.named_params(prefix)

    def parameters(self) -> list:
        """PyTorch's name for ``params()``."""
        return self.params()

    def requires_grad_(self, requires_grad: bool = True) -> "Layer":
        """Set ``requires_grad`` on every parameter (``False`` freezes the layer: optimizers
        skip parameters that do not require a gradient); returns self."""
        flag = bool(requires_grad)
        for p in self.params():
            if hasattr(p, "requires_grad"):
                p.requires_grad = flag
        return self

    def named_buffers(self, prefix: str = "") -> list:
        out = [(prefix + n, b) for n, b in self._buffers.items() if b is not None]
        for name, layer in self._layers.items():
            out.extend(layer.named_buffers(prefix + name + "."))
        return out

    def cleargrads(self) -> None:
        """Forget the gradient of every parameter (call before each backward, since gradients
        accumulate). ``zero_grad()`` is the same method under PyTorch's name."""
        for p in self.params():
            p.grad = None

    zero_grad = cleargrads

    def reset_state(self) -> None:
        """Forget recurrent state in every sub-layer that keeps some."""
        for layer in self._layers.values():
            layer.reset_state()

    # ----- modes -----
    def train(self, mode: bool = True) -> "Layer":
        """Set the ``training`` flag of this layer and every sub-layer; returns self."""
        self.__dict__["training"] = bool(mode)
        for layer in self._layers.values():
            layer.train(mode)
        return self

    def eval(self) -> "Layer":
        """``train(False)``: dropout off, normalisation uses running statistics."""
        return self.train(False)

    def is_training(self) -> bool:
        """True when both this layer's ``training`` flag and ``chainrule.is_train()`` are set."""
        return self.training and get_config().train

    # ----- devices -----
    def to(self, device: Any) -> "Layer":
        """Move parameters (and their grads) and buffers to ``device`` in place; returns self.

        Uninitialised parameters of lazy layers are left as they are: the first call creates
        them on the device of its input."""
        backend = get_backend(device)
        for _, p in self.named_params():
            if p.data is None:
                continue
            p.data = backend.asarray(p.data)
            if p.grad is not None:
                p.grad = Variable(backend.asarray(p.grad.data))
        for layer in [self, *self.layers()]:
            for name, b in list(layer._buffers.items()):
                if b is not None:
                    layer.__dict__[name] = layer._buffers[name] = backend.asarray(b)
        return self

    # ----- state -----
    def state_dict(self) -> dict:
        """``{dotted_name: numpy array}`` for every parameter and buffer (host copies).

        Raises ``UninitializedParameterError`` naming the parameters a lazy layer has not
        created yet (call the model once first)."""
        named = self.named_params()
        lazy = [name for name, p in named if p.data is None]
        if lazy:
            raise UninitializedParameterError(
                f"state_dict: {type(self).__name__} has uninitialised parameters {lazy}: lazy layers create "
                f"them at their first call; call the model once on an input (or give the layers their "
                f"input sizes) before saving")
        out = {}
        for name, p in named:
            out[name] = np.array(backend_of(p.data).to_numpy(p.data), copy=True)
        for name, b in self.named_buffers():
            out[name] = np.array(backend_of(b).to_numpy(b), copy=True)
        return out

    def _slots(self, prefix: str = "") -> list:
        """``(dotted_name, owner, local_name, kind)`` for every parameter slot (created or
        reserved for lazy init) and buffer."""
        out = [(prefix + n, self, n, "param") for n in self._params]
        out += [(prefix + n, self, n, "buffer") for n in self._buffers]
        for name, layer in self._layers.items():
            out.extend(layer._slots(prefix + name + "."))
        return out

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays from ``state`` (as made by ``state_dict``) into the parameters.

        Parameters keep their dtype and device; an uninitialised parameter (lazy init) is
        filled from the array (its dtype, the model's device), in place. Raises ``ValueError`` listing every missing, unexpected or
        wrongly shaped name (missing/unexpected only when ``strict``); nothing is changed then.
        """
        slots: dict = {}
        for full, owner, local, kind in self._slots():
            slots.setdefault(full, (owner, local, kind))
        missing = []
        mismatched = []
        for full, (owner, local, kind) in slots.items():
            if full not in state:
                current = owner._params.get(local) if kind == "param" else owner._buffers.get(local)
                if current is not None and getattr(current, "data", current) is not None:
                    missing.append(full)
                continue
            arr = state[full]
            current = owner._params.get(local) if kind == "param" else owner._buffers.get(local)
            if kind == "param" and current is not None and current.data is None:
                current = None
            cur_shape = None if current is None else tuple(current.shape)
            new_shape = tuple(np.shape(arr))
            if cur_shape is not None and cur_shape != new_shape:
                mismatched.append(f"{full}: expected shape {cur_shape}, got {new_shape}")
        unexpected = [k for k in state if k not in slots]
        problems = list(mismatched)
        if strict:
            problems += [f"{k}: missing from the state" for k in missing]
            problems += [f"{k}: unexpected in the state (no such parameter)" for k in unexpected]
        if problems:
            raise ValueError(f"load_state_dict: state does not match {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        device_of = self._device_hint()
        for full, (owner, local, kind) in slots.items():
            if full not in state:
                continue
            arr = state[full]
            arr = arr.data if isinstance(arr, Variable) else arr
            if kind == "param":
                p = owner._params[local]
                if p is None or p.data is None:
                    new = device_of.asarray(np.array(backend_of(arr).to_numpy(arr)))
                    if p is None:
                        owner.register_param(local, Parameter(new))
                    else:
                        p.materialize(new)
                else:
                    p.data = backend_of(p.data).asarray(backend_of(arr).to_numpy(arr), dtype=p.dtype).copy()
                    p._version += 1
            else:
                b = owner._buffers[local]
                target = backend_of(b) if b is not None else device_of
                dtype = getattr(b, "dtype", None)
                new = target.asarray(backend_of(arr).to_numpy(arr), dtype=dtype).copy()
                owner._buffers[local] = new
                owner.__dict__[local] = new

    def _device_hint(self) -> Any:
        for _, p in self.named_params():
            if p.data is not None:
                return backend_of(p.data)
        return get_backend("cpu")

    # ----- display -----
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._layers:
            return head + ")"
        lines = [head]
        for name, layer in self._layers.items():
            sub = repr(layer).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "\n".join(lines) + "\n)"


def conform_input(layer: Layer, x: Any, dtype: Any, label: str | None = None) -> Any:
    """``x`` ready for ``layer``'s parameters of ``dtype``: integer, bool and untyped (list)
    input is cast to ``dtype``; input of another float dtype raises ``TypeError`` naming the
    layer and both dtypes (a silent cast would hide a float64 pipeline feeding a float32 model,
    or the reverse; PyTorch raises too)."""
    data = x.data if isinstance(x, Variable) else x
    if not hasattr(data, "dtype"):
        return np.asarray(data, dtype=dtype)
    if data.dtype == dtype:
        return x
    if data.dtype.kind in "biu":
        return data.astype(dtype)
    raise TypeError(f"{label or layer._describe()}: input dtype {data.dtype} differs from the parameters' dtype "
                    f"{np.dtype(dtype)}; cast the input (x.astype({np.dtype(dtype).name})) or build the layer "
                    f"with dtype={data.dtype.name}")
