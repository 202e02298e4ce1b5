"""``init``: join the job and pick the communicator every other function uses by default."""
from __future__ import annotations

from typing import Any

from .comm import Communicator, LocalCommunicator, MpiCommunicator, NcclCommunicator, install_abort_hook

__all__ = ["init", "world", "is_initialized"]

_world: Communicator | None = None
BACKENDS = ("auto", "mpi", "nccl", "local")


def _gpu_usable() -> bool:
    """True when CuPy sees a GPU and was built with NCCL (never raises)."""
    try:
        from ..backend import available_devices

        if "cuda" not in available_devices():
            return False
        from cupy.cuda import nccl

        return bool(getattr(nccl, "available", True))
    except Exception:
        return False


def init(backend: str = "auto", timeout: float | None = 1800.0, abort_on_exception: bool = True) -> Communicator:
    """Join the job and return its communicator (``rank``, ``size``, ``local_rank``).

    ``backend``: ``"mpi"`` (NumPy arrays over mpi4py), ``"nccl"`` (CuPy arrays over NCCL, one
    GPU per local rank, the NCCL id shared over MPI), ``"auto"`` (``"nccl"`` when CuPy sees a
    GPU, else ``"mpi"``) or ``"local"`` (a world of one process that needs no MPI). Started
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
        if backend == "auto":
            backend = "nccl" if _gpu_usable() else "mpi"
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
