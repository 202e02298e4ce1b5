"""Save and load parameters and optimizer state in the safetensors format.

    cr.save(model, "model.safetensors")            # names as in model.named_params()
    cr.save(opt, "opt.safetensors")                # optimizer state: tensors + JSON metadata
    state = cr.load("model.safetensors")           # {name: numpy array}
    cr.load("model.safetensors", into=model)       # checks names and shapes, then loads

Writes are atomic: the file is written next to its destination and moved over it with
``os.replace``, so a crash never leaves a half-written checkpoint behind.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .backend import backend_of
from .core.variable import Variable

__all__ = ["save", "load"]

_META_KEY = "chainrule"
_KIND_PARAMS = "params"
_KIND_OPTIMIZER = "optimizer"


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy as stn
    except ImportError:
        raise ImportError("saving and loading need the safetensors package: pip install safetensors") from None
    return stn


def _host(a: Any) -> np.ndarray:
    """A C-contiguous NumPy array from an array or a Variable (device arrays are copied to the host)."""
    data = a.data if isinstance(a, Variable) else a
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    host = backend_of(data).to_numpy(data)
    return host if host.flags.c_contiguous else np.array(host, order="C")  # (keeps 0-d arrays 0-d)


def _is_optimizer_state(state: Any) -> bool:
    return isinstance(state, Mapping) and "state" in state and "hyper" in state and "type" in state


def _flatten(obj: Any) -> tuple[dict, dict]:
    """(tensors, metadata) for a layer/model, an optimizer, or a dict of arrays."""
    state = obj.state_dict() if hasattr(obj, "state_dict") and callable(obj.state_dict) else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expected a layer, a model, an optimizer or a dict of arrays, "
                        f"got {type(obj).__name__}")
    if _is_optimizer_state(state):
        tensors = {}
        for i, slots in enumerate(state["state"]):
            for slot, a in slots.items():
                tensors[f"state.{i}.{slot}"] = _host(a)
        info = {"kind": _KIND_OPTIMIZER, "type": state["type"], "step": int(state.get("step", 0)),
                "hyper": {k: float(v) for k, v in state["hyper"].items()}, "n_params": len(state["state"])}
        return tensors, info
    tensors = {}
    for name, a in state.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {name!r}")
        tensors[name] = _host(a)
    return tensors, {"kind": _KIND_PARAMS, "names": list(tensors)}


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a layer/model via ``state_dict()``, an optimizer, or a dict name -> array)
    to ``path`` in the safetensors format, atomically."""
    stn = _safetensors_numpy()
    tensors, info = _flatten(obj)
    blob = stn.save(tensors, metadata={_META_KEY: json.dumps(info)})
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _read(path: str) -> tuple[dict, dict]:
    """(tensors, chainrule metadata) from a safetensors file; ValueError naming the file if corrupt."""
    stn = _safetensors_numpy()
    with open(path, "rb") as f:
        blob = f.read()
    try:
        if len(blob) < 8:
            raise ValueError(f"{len(blob)} bytes is too short for a header")
        (n,) = struct.unpack("<Q", blob[:8])
        if n > len(blob) - 8:
            raise ValueError(f"header length {n} exceeds the file size")
        header = json.loads(blob[8:8 + n].decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        meta = header.get("__metadata__") or {}
        info = json.loads(meta[_META_KEY]) if _META_KEY in meta else {"kind": _KIND_PARAMS}
        tensors = stn.load(blob)
    except Exception as e:  # malformed header, truncated data, bad JSON, ...
        raise ValueError(f"{path}: not a valid safetensors checkpoint ({type(e).__name__}: {e})") from None
    return tensors, info


def _check_names(path: str, model: Any, state: Mapping) -> None:
    expected = model.state_dict()
    missing = [n for n in expected if n not in state]
    unexpected = [n for n in state if n not in expected]
    shapes = [f"{n}: file {tuple(state[n].shape)} vs model {tuple(_shape(expected[n]))}"
              for n in state if n in expected and tuple(state[n].shape) != tuple(_shape(expected[n]))]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing names {missing}")
        if unexpected:
            parts.append(f"unexpected names {unexpected}")
        if shapes:
            parts.append(f"shape mismatches [{'; '.join(shapes)}]")
        raise ValueError(f"{path}: checkpoint does not match {type(model).__name__}: " + ", ".join(parts))


def _shape(a: Any) -> tuple:
    return tuple(getattr(a, "shape", np.shape(a)))


def load(path: str | os.PathLike, into: Any = None) -> dict:
    """Read a checkpoint written by ``save``.

    Returns ``{name: numpy array}`` for parameters, or an optimizer ``state_dict()`` for an
    optimizer file. With ``into=`` (a layer/model or an optimizer) the state is also loaded
    into it, after checking names and shapes (ValueError listing every mismatch).
    ``load(model, path)`` is accepted as ``load(path, into=model)``.
    """
    if into is not None and not isinstance(path, (str, os.PathLike)) and isinstance(into, (str, os.PathLike)):
        path, into = into, path
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load: expected a file path, got {type(path).__name__}")
    path = os.fspath(path)
    tensors, info = _read(path)
    kind = info.get("kind", _KIND_PARAMS)
    if kind == _KIND_OPTIMIZER:
        try:
            n = int(info["n_params"])
            slots: list = [{} for _ in range(n)]
            for key, a in tensors.items():
                _, i, slot = key.split(".", 2)
                slots[int(i)][slot] = a
            state = {"type": info["type"], "step": int(info["step"]), "hyper": dict(info["hyper"]), "state": slots}
        except (KeyError, ValueError, IndexError) as e:
            raise ValueError(f"{path}: malformed optimizer checkpoint ({type(e).__name__}: {e})") from None
        if into is not None:
            if not hasattr(into, "load_state_dict") or hasattr(into, "named_params"):
                raise ValueError(f"{path}: holds {info['type']} optimizer state, "
                                 f"which cannot be loaded into a {type(into).__name__}")
            into.load_state_dict(state)
        return state
    order = info.get("names") or list(tensors)
    state = {n: tensors[n] for n in order if n in tensors}
    state.update((n, a) for n, a in tensors.items() if n not in state)
    if into is not None:
        if not hasattr(into, "state_dict") or not hasattr(into, "load_state_dict"):
            raise TypeError(f"load: into= needs state_dict() and load_state_dict(), got {type(into).__name__}")
        if not hasattr(into, "named_params") and hasattr(into, "hyper_params"):
            raise ValueError(f"{path}: holds parameters, not optimizer state; "
                             f"it cannot be loaded into a {type(into).__name__}")
        if hasattr(into, "named_params"):
            # a Layer checks names and shapes itself (and creates lazily initialised parameters)
            try:
                into.load_state_dict(state)
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None
        else:
            _check_names(path, into, state)
            into.load_state_dict(state)
    return state
