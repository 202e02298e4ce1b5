"""``init``: join the job and pick the communicator every other function uses by default."""
from __future__ import annotations

from typing import Any

from .comm import Communicator, LocalCommunicator, MpiCommunicator, NcclCommunicator, install_abort_hook

__all__ = ["init", "world", "is_initialized"]

_world: Communicator | None = None
BACKENDS = ("auto", "mpi", "nccl", "local")


def _gpu_count() -> int:
    """How many GPUs CuPy sees, 0 when none or when CuPy was built without NCCL (never raises)."""
    try:
        from ..backend import available_devices

        if "cuda" not in available_devices():
            return 0
        import cupy
        from cupy.cuda import nccl

        return int(cupy.cuda.runtime.getDeviceCount()) if getattr(nccl, "available", True) else 0
    except Exception:
        return 0


def _gpu_usable() -> bool:
    """True when CuPy sees a GPU and was built with NCCL (never raises)."""
    return _gpu_count() > 0


def init(backend: str = "auto", timeout: float | None = 1800.0, abort_on_exception: bool = True) -> Communicator:
    """Join the job and return its communicator (``rank``, ``size``, ``local_rank``).

    ``backend``: ``"mpi"`` (NumPy arrays over mpi4py), ``"nccl"`` (CuPy arrays over NCCL, one
    GPU per local rank, the NCCL id shared over MPI), ``"auto"`` (``"nccl"`` when CuPy sees a
    GPU for every rank of each node, else ``"mpi"``) or ``"local"`` (a world of one process that needs no MPI). Started
    without ``mpiexec``, ``"mpi"`` is a world of size 1 and everything works unchanged.
    ``timeout``: seconds one collective may take before the job is aborted with a message
    (None: wait forever). ``abort_on_exception``: an uncaught exception on any rank aborts the
    whole job (with the rank and the error) instead of leaving the others hanging.

    A second call returns the same communicator.
    """
    global _world
    if backend not in BACKENDS:
        raise ValueError(f"init: backend must be one of {list(BACKENDS)}, got {backend!r}")
    if _world is not None:
        if backend not in ("auto", _world.backend):
            raise RuntimeError(f"init: already initialised with backend {_world.backend!r}, "
                               f"cannot switch to {backend!r}")
        return _world
    if backend == "local":
        comm: Communicator = LocalCommunicator()
    else:
        host = MpiCommunicator(timeout=timeout)
        if backend == "auto":  # NCCL where every node has a GPU for each of its ranks (decided together)
            backend = "nccl" if host.allreduce_object(int(0 < host.local_size <= _gpu_count()), "min") else "mpi"
        comm = NcclCommunicator.create(host) if backend == "nccl" else host
    if abort_on_exception:
        install_abort_hook(comm)
    _world = comm
    return comm


def world() -> Communicator:
    """The communicator of ``init`` (a RuntimeError if ``init`` was not called)."""
    if _world is None:
        raise RuntimeError("chainrule.distributed: call dist.init() first (or pass comm=...)")
    return _world


def is_initialized() -> bool:
    return _world is not None


def resolve(comm: Any) -> Communicator:
    """``comm``, or the communicator of ``init`` when ``comm`` is None."""
    return world() if comm is None else comm
