"""Make every rank start from root's parameters and optimizer state.

A model whose layers create their parameters at the first call (``Linear(out)`` without
``in_size``) has nothing to broadcast yet: ``broadcast_params`` then records the request and
the broadcast runs at the first ``DistributedOptimizer.update`` / ``allreduce_grads`` of that
model, after the first forward pass has created the parameters.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np

from ..backend import backend_of
from ..layers.base import Layer
from ..optim.base import as_param_list
from .comm import Communicator
from .world import resolve

__all__ = ["broadcast_params", "broadcast_optimizer_state"]

# model -> root of a broadcast requested before the model's parameters existed
_deferred: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()


def is_lazy(model: Any) -> bool:
    """True when some parameter of ``model`` has not been created yet (lazy initialisation)."""
    if isinstance(model, Layer):
        for layer in (model, *model.layers()):
            if getattr(layer, "_pending", False) and any(p is None for p in layer._params.values()):
                return True
        params = model.params()
    else:
        params = as_param_list(model)
    return any(getattr(p, "data", None) is None for p in params)


def _arrays(model: Any) -> list:
    """``(what, owner, array)`` for every parameter and buffer, in a fixed order."""
    if isinstance(model, Layer):
        out = [(name, p, p.data) for name, p in model.named_params()]
        out += [(name, None, b) for name, b in model.named_buffers() if hasattr(b, "dtype") and hasattr(b, "shape")]
        return out
    return [(getattr(p, "name", None) or f"parameter {i}", p, p.data) for i, p in enumerate(as_param_list(model))]


def check_same_layout(comm: Communicator, signature: list, root: int, what: str) -> None:
    """Raise ValueError on every rank (never deadlock) unless every rank's ``signature`` equals root's."""
    theirs = comm.broadcast_object(signature, root)
    differs = theirs != signature
    if comm.allreduce_object(int(differs), "max"):
        if differs:
            detail = _first_difference(signature, theirs)
        else:
            detail = "another rank's differs"
        raise ValueError(f"{what}: the ranks do not hold the same parameters (rank {comm.rank} against root "
                         f"{root}: {detail}); build the same model on every rank")


def _first_difference(mine: list, theirs: list) -> str:
    if len(mine) != len(theirs):
        return f"{len(mine)} arrays here, {len(theirs)} on the root"
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            return f"array {i}: {a} here, {b} on the root"
    return "?"  # pragma: no cover


def broadcast_params(model: Any, root: int = 0, comm: Communicator | None = None) -> None:
    """Copy root's parameters (and a layer's buffers) to every rank, in place.

    ``model``: a layer/model, or a list of parameters. Collective: every rank must call it. The
    ranks must hold the same parameters (names, shapes, dtypes): a mismatch raises ValueError on
    every rank. For a model whose parameters are not created yet (lazy initialisation), the
    broadcast happens after the first forward pass, at the first ``DistributedOptimizer.update``
    or ``allreduce_grads`` of this model.
    """
    comm = resolve(comm)
    if comm.size == 1:
        return
    if is_lazy(model):
        if not isinstance(model, Layer):
            raise ValueError("broadcast_params: some parameters have no data yet; pass the model (not a "
                             "parameter list) so the broadcast can wait for its first call, or call it once first")
        _deferred[model] = root
        return
    _broadcast_now(model, root, comm)


def _broadcast_now(model: Any, root: int, comm: Communicator) -> None:
    entries = _arrays(model)
    check_same_layout(comm, [(n, tuple(a.shape), np.dtype(a.dtype).str) for n, _, a in entries], root,
                      "broadcast_params")
    for _, owner, a in entries:
        if a.flags.c_contiguous:
            comm.broadcast(a, root)
        else:
            tmp = backend_of(a).xp.ascontiguousarray(a)
            comm.broadcast(tmp, root)
            a[...] = tmp
        if owner is not None:
            owner._version += 1


def run_deferred_broadcast(model: Any, comm: Communicator, skippable: bool) -> bool:
    """Run a broadcast that ``broadcast_params`` deferred for a lazily initialised ``model``.

    Returns True when the current step must be skipped: some rank's parameters differed from
    root's, so the gradients of this step were computed at different points on different ranks.
    With ``skippable=False`` (``allreduce_grads``, which cannot skip the caller's update) that
    raises RuntimeError on every rank instead. Ranks whose parameters were equal lose nothing.
    """
    if not _deferred or not isinstance(model, Layer) or model not in _deferred:
        return False
    root = _deferred.pop(model)
    if is_lazy(model):
        raise RuntimeError("broadcast_params: the model's parameters are still not created at its first "
                           "update; run a forward pass before updating")
    before = [backend_of(a).to_numpy(a).copy() for _, _, a in _arrays(model)]
    _broadcast_now(model, root, comm)
    changed = any(not np.array_equal(b, backend_of(a).to_numpy(a)) for b, (_, _, a) in zip(before, _arrays(model)))
    if not comm.allreduce_object(int(changed), "max"):
        return False
    message = ("the lazily initialised parameters differed between ranks at the first step (seed every rank "
               "alike to avoid this), so the gradients of that step were computed at different points; ")
    if not skippable:
        raise RuntimeError("allreduce_grads: " + message + "call the model once and broadcast_params before "
                           "the first backward pass")
    if comm.rank == root:
        warnings.warn("DistributedOptimizer: " + message + "that update was skipped after broadcasting root's "
                      "parameters", RuntimeWarning, stacklevel=3)
    return True


def broadcast_optimizer_state(optimizer: Any, root: int = 0, comm: Communicator | None = None) -> None:
    """Copy root's optimizer state (step count, hyper-parameters, per-parameter slots) to every
    rank. ``optimizer``: an ``Optimizer`` or a ``DistributedOptimizer``. Collective."""
    comm = resolve(comm)
    if comm.size == 1:
        return
    inner = getattr(optimizer, "optimizer", optimizer)
    if not hasattr(inner, "state_dict") or not hasattr(inner, "load_state_dict"):
        raise TypeError(f"broadcast_optimizer_state: expected an optimizer, got {type(optimizer).__name__}")
    state = inner.state_dict() if comm.rank == root else None
    state = comm.broadcast_object(state, root)
    if comm.rank == root:
        return
    if not state["state"] or all(not s for s in state["state"]):
        # nothing per parameter yet (root has not stepped): hyper-parameters and the step count only
        for k, v in state["hyper"].items():
            setattr(inner, k, float(v))
        inner.t = int(state["step"])
        inner._state, inner._pending = {}, None
        return
    inner.load_state_dict(state)
