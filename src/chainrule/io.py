"""Save and load parameters and optimizer state in the safetensors format.

    cr.save(model, "model.safetensors")            # names as in model.named_params()
    cr.save(opt, "opt.safetensors")                # optimizer state: tensors + JSON metadata
    state = cr.load("model.safetensors")           # {name: numpy array}
    cr.load("model.safetensors", into=model)       # checks names and shapes, then loads

Writes are atomic: the file is written to a temporary file next to its destination
(``.NAME.PID-XXXX.tmp``), flushed to disk and moved over it with ``os.replace``. What survives
a crash (or a kill) during ``save``: the previous file at ``path``, untouched, or the complete
new one, never a mix; at most a temporary file, which the next ``save`` to the same path removes
(when the process that wrote it is gone: temp files are attributed by process id, so machines
sharing a directory should not save to the same file name).

Every file carries a SHA-256 of its data section (all tensor bytes, as stored) in the
safetensors header's ``__metadata__`` under ``"sha256"``; ``load`` verifies it and raises
``ValueError`` on a mismatch, so a flipped byte is reported, not loaded. Files without a
checksum (older ones, or written by other tools) still load.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .backend import backend_of
from .core.variable import Variable

__all__ = ["save", "load"]

_META_KEY = "chainrule"
_KIND_PARAMS = "params"
_KIND_OPTIMIZER = "optimizer"
_SUM_KEY = "sha256"
_SUM_PLACEHOLDER = "0" * 64  # same length as the hex digest: patched in place after serialising
_STALE_UNKNOWN_S = 600.0     # temp files whose writer cannot be told: removed when older than this


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
        if state.get("groups"):
            info["groups"] = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
                              for g in state["groups"]]
        return tensors, info
    tensors = {}
    for name, a in state.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {name!r}")
        tensors[name] = _host(a)
    return tensors, {"kind": _KIND_PARAMS, "names": list(tensors)}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its file
    return True


def _remove_stale_temps(directory: str, base: str) -> list:
    """Remove temporary files an interrupted ``save`` to ``base`` left in ``directory``: those
    whose writing process is gone (``.BASE.PID-XXXX.tmp``), and unattributable ones
    (``.BASE.XXXX.tmp``) older than ten minutes. Returns the removed paths."""
    prefix = "." + base + "."
    removed: list = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    me = os.getpid()
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")]
        full = os.path.join(directory, name)
        pid_text, dash, _ = middle.partition("-")
        try:
            if dash and pid_text.isdigit():
                pid = int(pid_text)
                if pid == me or _pid_alive(pid):
                    continue  # a save in progress (this process's other thread, or another process)
            elif time.time() - os.path.getmtime(full) < _STALE_UNKNOWN_S:
                continue
            os.unlink(full)
            removed.append(full)
        except OSError:
            pass
    return removed


def _with_checksum(blob: bytes) -> tuple[bytes, memoryview]:
    """(header, data) of a serialised file whose placeholder checksum is replaced by the
    SHA-256 of its data section (the header keeps its length)."""
    (n,) = struct.unpack("<Q", blob[:8])
    view = memoryview(blob)
    data = view[8 + n:]
    header = bytes(view[:8 + n])
    keyed = b'"' + _SUM_KEY.encode() + b'":"' + _SUM_PLACEHOLDER.encode() + b'"'
    at = header.find(keyed)
    if at < 0:  # pragma: no cover - the metadata always holds the placeholder
        raise RuntimeError("save: checksum placeholder not found in the safetensors header")
    at += len(keyed) - len(_SUM_PLACEHOLDER) - 1
    digest = hashlib.sha256(data).hexdigest().encode()
    header = header[:at] + digest + header[at + len(digest):]
    return header, data


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a layer/model via ``state_dict()``, an optimizer, or a dict name -> array)
    to ``path`` in the safetensors format, atomically, with a SHA-256 of the data in the header.
    Temporary files left by an earlier interrupted save to the same path are removed."""
    stn = _safetensors_numpy()
    tensors, info = _flatten(obj)
    blob = stn.save(tensors, metadata={_META_KEY: json.dumps(info), _SUM_KEY: _SUM_PLACEHOLDER})
    header, data = _with_checksum(blob)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temps(directory, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(data)
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
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        expected = meta.get(_SUM_KEY)
    except Exception as e:  # malformed header, bad JSON, ...
        raise ValueError(f"{path}: not a valid safetensors checkpoint ({type(e).__name__}: {e})") from None
    if expected is not None:
        actual = hashlib.sha256(memoryview(blob)[8 + n:]).hexdigest()
        if actual != expected:
            raise ValueError(f"{path}: checksum mismatch: the data section's SHA-256 is {actual}, the header "
                             f"records {expected}; the file was corrupted after it was written (not loaded)")
    try:
        tensors = stn.load(blob)
    except Exception as e:  # truncated data, inconsistent offsets, ...
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
            if info.get("groups"):
                state["groups"] = [dict(g) for g in info["groups"]]
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
