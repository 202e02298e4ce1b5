"""Average gradients over ranks: ``allreduce_grads`` and ``DistributedOptimizer``.

Every rank sends the same buffers in the same order whatever its gradients look like: the
parameters are laid out once, in the model's fixed parameter order, in flat buckets of one
dtype each (about 25 MB by default, sent in the parameters' own dtype, so float64 stays
exact); a parameter without a gradient on a rank contributes zeros. The first bucket also
carries one counter per parameter: a parameter that has no gradient on *any* rank keeps
``grad = None`` (the optimizer skips it, as it would in one process).

After averaging, each ``p.grad`` is a view into the bucket buffers, valid until the next
averaging (copy it to keep it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of
from ..core.variable import Variable
from ..optim.base import as_param_list
from . import shm
from .comm import Communicator
from .params import run_deferred_broadcast
from .world import resolve

__all__ = ["allreduce_grads", "DistributedOptimizer", "GradientAverager"]

DEFAULT_BUCKET_MB = 25.0


class _Bucket:
    __slots__ = ("dtype", "entries", "size", "flags_at", "buffer", "offset")

    def __init__(self, dtype: Any):
        self.dtype = dtype
        self.entries: list = []   # (parameter index, offset, size, shape)
        self.size = 0
        self.flags_at = -1        # offset of the per-parameter counters (first bucket only)
        self.buffer = None
        self.offset = 0           # byte offset in the shared-memory slot (staged layouts)


class GradientAverager:
    """The bucket layout of one parameter list and the buffers it communicates in.

    ``average(params, comm)`` replaces every ``p.grad`` by the mean over ranks. The layout is
    rebuilt (and checked against root's, collectively) when the parameter list changes.
    """

    def __init__(self, bucket_mb: float = DEFAULT_BUCKET_MB):
        if not bucket_mb > 0:
            raise ValueError(f"bucket_mb must be positive, got {bucket_mb!r}")
        self.bucket_bytes = int(bucket_mb * 2 ** 20)
        self._key: tuple | None = None
        self.buckets: list = []
        self.staged = False

    def _layout(self, params: list, comm: Communicator) -> None:
        from .params import check_same_layout

        signature = []
        for i, p in enumerate(params):
            data = p.data
            if data is None:
                raise RuntimeError(f"allreduce_grads: parameter {i} ({p.name or 'unnamed'}) has no data yet "
                                   f"(lazy initialisation); run a forward pass first")
            signature.append((tuple(data.shape), np.dtype(data.dtype).str))
        check_same_layout(comm, signature, 0, "allreduce_grads")
        by_dtype: dict = {}
        for i, p in enumerate(params):
            by_dtype.setdefault(np.dtype(p.data.dtype), []).append(i)
        buckets = []
        for dtype, indices in by_dtype.items():
            bucket = None
            for i in indices:
                data = params[i].data
                nbytes = data.size * dtype.itemsize
                if bucket is None or (bucket.size and (bucket.size * dtype.itemsize + nbytes > self.bucket_bytes)):
                    bucket = _Bucket(dtype)
                    buckets.append(bucket)
                bucket.entries.append((i, bucket.size, data.size, data.shape))
                bucket.size += data.size
        buckets[0].flags_at = buckets[0].size
        buckets[0].size += len(params)
        self.staged = self._stage(buckets, params, comm)
        if not self.staged:
            for bucket in buckets:
                first = params[bucket.entries[0][0]].data
                bucket.buffer = backend_of(first).xp.empty(bucket.size, dtype=bucket.dtype)
        self.buckets = buckets
        self._key = tuple(map(id, params))

    @staticmethod
    def _stage(buckets: list, params: list, comm: Communicator) -> bool:
        """Lay the buckets out in the communicator's shared-memory slot when it has one (host
        arrays, large enough): the gradients are then written there directly and summed in
        place (``MpiCommunicator.allreduce_staged``), two copies fewer. Collective."""
        staging = getattr(comm, "shared_staging", None)
        if staging is None or any(type(p.data) is not np.ndarray for p in params):
            return False
        offsets, total = [], 0
        for bucket in buckets:
            offsets.append(total)
            total += -(-bucket.size * bucket.dtype.itemsize // shm.ALIGN) * shm.ALIGN
        if total < shm.MIN_BYTES:
            return False
        slot = staging(total)
        if slot is None:
            return False
        for bucket, offset in zip(buckets, offsets):
            bucket.offset = offset
            bucket.buffer = slot[offset:offset + bucket.size * bucket.dtype.itemsize].view(bucket.dtype)
        return True

    def average(self, params: list, comm: Communicator) -> None:
        """Replace each ``p.grad`` by its mean over ranks (zeros standing in for missing ones)."""
        size = comm.size
        if size == 1 or not params:
            return
        if self._key is None or len(self._key) != len(params) or any(
                id(p) != k for p, k in zip(params, self._key)):
            self._layout(params, comm)
        if self.staged:
            pieces = [(b.offset, b.size, b.dtype) for b in self.buckets]
            comm.allreduce_staged(lambda: self._fill(params, size), pieces)  # type: ignore[attr-defined]
        else:
            self._fill(params, size)
            for bucket in self.buckets:
                comm.allreduce(bucket.buffer)
            comm.wait()
        first = self.buckets[0]
        present = backend_of(first.buffer).to_numpy(first.buffer[first.flags_at:]) > 0
        new = Variable._new
        for bucket in self.buckets:
            buf = bucket.buffer
            for i, off, n, shape in bucket.entries:
                params[i].grad = new(buf[off:off + n].reshape(shape)) if present[i] else None

    def _fill(self, params: list, size: int) -> None:
        """Copy every gradient, divided by ``size``, into its place in the buckets (zeros for
        a missing one) and the presence counters into the first bucket."""
        for bucket in self.buckets:
            buf = bucket.buffer
            divide = backend_of(buf).xp.divide
            for i, off, n, _ in bucket.entries:
                g = params[i].grad
                view = buf[off:off + n]
                if g is None:
                    view.fill(0)
                else:
                    # divide while copying in: one pass, exact for power-of-two world sizes
                    divide(g.data.reshape(-1), size, out=view)
            if bucket.flags_at >= 0:
                flags = buf[bucket.flags_at:]
                flags[...] = backend_of(buf).asarray(np.fromiter((p.grad is not None for p in params),
                                                                 dtype=np.bool_, count=len(params)))


def allreduce_grads(model_or_params: Any, comm: Communicator | None = None,
                    bucket_mb: float = DEFAULT_BUCKET_MB) -> None:
    """Replace every parameter's ``grad`` by its mean over all ranks (collective).

    ``model_or_params``: a layer/model or a list of parameters, the same on every rank. A
    parameter with no gradient on some rank counts as zeros there; with none on any rank its
    ``grad`` stays None. Pass the model (not a list) when ``broadcast_params`` was called on it
    before its parameters existed.
    """
    comm = resolve(comm)
    if comm.size == 1:
        return
    run_deferred_broadcast(model_or_params, comm, skippable=False)
    params = as_param_list(model_or_params)
    cache = comm.__dict__.setdefault("_chainrule_averagers", {})
    averager = cache.get(bucket_mb)
    if averager is None:
        averager = cache[bucket_mb] = GradientAverager(bucket_mb)
    averager.average(params, comm)


class DistributedOptimizer:
    """Wrap an optimizer so that each update first averages the gradients over all ranks.

        opt = dist.DistributedOptimizer(optim.Adam(lr=1e-3), comm)
        ...; loss.backward(); opt.update(model)      # or opt.step() with params= given

    Every rank must call ``update``/``step`` the same number of times (they are collective).
    Attributes (``lr``, ``t``, ``add_hook``, ``state_dict``...) are those of the wrapped
    optimizer; hooks such as gradient clipping see the averaged gradients. ``bucket_mb``: the
    size of one communication bucket.
    """

    def __init__(self, optimizer: Any, comm: Communicator | None = None, bucket_mb: float = DEFAULT_BUCKET_MB):
        if not (hasattr(optimizer, "update") and hasattr(optimizer, "step")):
            raise TypeError(f"DistributedOptimizer: expected an optimizer, got {type(optimizer).__name__}")
        d = self.__dict__
        d["optimizer"] = optimizer
        d["comm"] = resolve(comm)
        d["_averager"] = GradientAverager(bucket_mb)

    def update(self, model: Any) -> None:
        """Average the gradients of ``model.params()`` over ranks, then update (collective)."""
        comm = self.comm
        if comm.size > 1:
            if run_deferred_broadcast(model, comm, skippable=True):
                return
            self._averager.average(as_param_list(model), comm)
        self.optimizer.update(model)

    def step(self) -> None:
        """Average the gradients of the parameters given at construction, then step (collective)."""
        params = getattr(self.optimizer, "_params", None)
        if params is None:
            self.optimizer.step()  # raises its own clear error
            return
        if self.comm.size > 1:
            self._averager.average(params, self.comm)
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["optimizer"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:
            self.__dict__[name] = value
        else:
            setattr(self.optimizer, name, value)

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r}, rank {self.comm.rank} of {self.comm.size})"
