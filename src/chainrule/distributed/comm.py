"""Communicators: who takes part in the job (``rank``, ``size``, ``local_rank``) and the
collectives the rest of ``chainrule.distributed`` is built on.

Every communicator offers the same small set of operations:

- ``allreduce(buf)``: sum a contiguous array over all ranks, in place;
- ``broadcast(buf, root)``: overwrite ``buf`` on every rank with root's, in place;
- ``broadcast_object(obj, root)`` / ``allreduce_object(value, op)``: small Python values;
- ``barrier()``, ``wait()`` (finish queued device collectives), ``abort(code, message)``.

``MpiCommunicator`` runs on mpi4py (imported only here, only by ``init``). ``NcclCommunicator``
runs the array collectives on NCCL for CuPy arrays and everything else on an MPI communicator
(its *host*). ``LocalCommunicator`` is a world of one process that needs nothing.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np

from ..backend import backend_of
from . import shm

__all__ = ["Communicator", "MpiCommunicator", "NcclCommunicator", "LocalCommunicator", "import_mpi", "INSTALL"]

INSTALL = "pip install 'chainrule[distributed]'  (installs mpi4py and the MPICH wheel, which provides mpiexec)"


def import_mpi() -> Any:
    """``mpi4py.MPI``, or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as e:  # not installed, or its MPI library cannot be loaded
        raise ImportError(f"chainrule.distributed needs mpi4py and an MPI library: {INSTALL}. "
                          f"On a cluster, point MPI4PY_LIBMPI at the cluster's libmpi.so instead. ({e})") from e
    return MPI


class _Watchdog:
    """Aborts the job when one collective runs longer than ``timeout`` seconds.

    ``arm(what)`` before a blocking collective and ``disarm()`` after it cost one attribute
    write each; a daemon thread looks at the armed deadline a few times a second.
    """

    def __init__(self, timeout: float, on_expire: Callable[[str], None]):
        self.timeout = float(timeout)
        self._armed: tuple | None = None  # (what, deadline): one attribute, so it is read atomically
        self._on_expire = on_expire
        self._period = min(1.0, max(0.01, self.timeout / 10))
        threading.Thread(target=self._run, name="chainrule-distributed-watchdog", daemon=True).start()

    def arm(self, what: str) -> None:
        self._armed = (what, time.monotonic() + self.timeout)

    def disarm(self) -> None:
        self._armed = None

    def _run(self) -> None:
        while True:
            time.sleep(self._period)
            armed = self._armed
            if armed is not None and time.monotonic() > armed[1]:
                self._on_expire(armed[0])
                return


class Communicator:
    """The interface every backend implements (see the module docstring)."""

    backend = ""
    rank = 0
    size = 1
    local_rank = 0
    local_size = 1
    timeout: float | None = None

    def allreduce(self, buf: Any) -> None:
        """Sum the contiguous array ``buf`` over all ranks, in place."""
        raise NotImplementedError

    def broadcast(self, buf: Any, root: int = 0) -> None:
        """Overwrite the contiguous array ``buf`` with root's, in place, on every rank."""
        raise NotImplementedError

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        """Root's ``obj`` (any picklable value) on every rank."""
        raise NotImplementedError

    def allreduce_object(self, value: Any, op: str = "sum") -> Any:
        """``op`` ("sum", "max" or "min") of a number over all ranks."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Return once every rank has called ``barrier``."""
        raise NotImplementedError

    def wait(self) -> None:
        """Block until the collectives queued so far have finished (device backends queue them)."""

    def abort(self, code: int = 1, message: str | None = None) -> None:
        """Print ``message`` to stderr and end every process of the job with exit status ``code``."""
        _print_err(message)
        os._exit(code)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} rank {self.rank} of {self.size}, local rank {self.local_rank}>"


def _print_err(message: str | None) -> None:
    if message:
        try:
            sys.stderr.write(message.rstrip("\n") + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - stderr closed
            pass


class LocalCommunicator(Communicator):
    """A world of one process (``init(backend="local")``): every collective is a no-op."""

    backend = "local"

    def allreduce(self, buf: Any) -> None:
        return None

    def broadcast(self, buf: Any, root: int = 0) -> None:
        _check_root(root, 1)

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        _check_root(root, 1)
        return obj

    def allreduce_object(self, value: Any, op: str = "sum") -> Any:
        _check_op(op)
        return value

    def barrier(self) -> None:
        return None


def _check_root(root: int, size: int) -> None:
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < size:
        raise ValueError(f"root must be a rank in [0, {size}), got {root!r}")


def _check_op(op: str) -> None:
    if op not in ("sum", "max", "min"):
        raise ValueError(f"allreduce_object: op must be 'sum', 'max' or 'min', got {op!r}")


def _host_view(buf: Any) -> tuple:
    """(a C-contiguous NumPy array to communicate, whether it must be copied back into ``buf``)."""
    if type(buf) is np.ndarray and buf.flags.c_contiguous:
        return buf, False
    return np.ascontiguousarray(backend_of(buf).to_numpy(buf)), True


def _copy_back(buf: Any, host: np.ndarray) -> None:
    buf[...] = backend_of(buf).asarray(host)


class MpiCommunicator(Communicator):
    """Collectives over an mpi4py communicator (``MPI.COMM_WORLD`` by default, duplicated so
    that user code on ``COMM_WORLD`` cannot interleave with ours). Device arrays go through a
    host copy (use the ``nccl`` backend for GPUs)."""

    backend = "mpi"

    def __init__(self, mpi_comm: Any = None, timeout: float | None = None, MPI: Any = None):
        MPI = import_mpi() if MPI is None else MPI
        self._MPI = MPI
        self._comm = (MPI.COMM_WORLD if mpi_comm is None else mpi_comm).Dup()
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()
        self._node = self._comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = self._node.Get_rank(), self._node.Get_size()
        self._shared: shm.SharedAllreduce | None = None
        self._shared_decided = False  # set up on the first large allreduce (collective)
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self.timeout = None if timeout is None else float(timeout)
        self._watchdog = None
        if self.timeout is not None:
            if self.timeout <= 0:
                raise ValueError(f"init: timeout must be positive seconds or None, got {timeout!r}")
            self._watchdog = _Watchdog(self.timeout, self._expired)

    def _expired(self, what: str) -> None:
        self.abort(1, f"chainrule.distributed: rank {self.rank} of {self.size}: {what} did not complete "
                      f"within the {self.timeout:g} s timeout (another rank has died, hangs, or did not "
                      f"reach the same collective); aborting the job")

    def _shared_allreduce(self) -> shm.SharedAllreduce | None:
        """The shared-memory allreduce (``shm.py``), set up on the first large allreduce; None
        where it cannot serve (one rank per node, nodes of different sizes, switched off).
        Collective: every rank decides alike."""
        if not self._shared_decided:
            self._shared_decided = True
            MPI, comm = self._MPI, self._comm
            lows = np.array([self.local_size, -self.local_size, shm.enabled_by_env()], dtype=np.int64)
            comm.Allreduce(MPI.IN_PLACE, lows, op=MPI.MIN)  # smallest node, largest node, all enabled
            usable = bool(lows[2]) and lows[0] == -lows[1] and self.local_size > 1
            cross = None
            if usable and self.local_size < self.size:
                cross = comm.Split(color=self.local_rank, key=self.rank)
            self._shared = shm.SharedAllreduce(MPI, self._node, cross) if usable else None
        return self._shared

    def shared_staging(self, nbytes: int) -> np.ndarray | None:
        """This rank's slot (uint8, at least ``nbytes``) of the node's shared window, for
        ``allreduce_staged``; None where the shared path cannot serve (collective)."""
        shared = self._shared_allreduce() if self.size > 1 else None
        if shared is None or not self._guarded("shared window allocation", shared.reserve, nbytes):
            return None
        return shared.staging()

    def allreduce_staged(self, fill: Callable[[], None], pieces: list) -> None:
        """Sum over all ranks arrays that ``fill()`` writes into ``shared_staging``'s slot:
        ``pieces`` lists their (byte offset, length, dtype). The sums replace them in the slot,
        which stays this rank's alone until its next call (collective)."""
        shared = self._shared
        assert shared is not None, "allreduce_staged needs shared_staging first"
        w = self._watchdog
        if w is not None:
            w.arm(f"allreduce of {sum(n for _, n, _ in pieces)} values in shared memory")
        try:
            shared.begin()
            fill()
            for offset, n, dtype in pieces:
                shared.reduce_staged(offset, n, dtype)
            shared.end()
        finally:
            if w is not None:
                w.disarm()

    def allreduce(self, buf: Any) -> None:
        host, copied = _host_view(buf)
        w = self._watchdog
        if w is not None:
            w.arm(f"allreduce of {host.size} {host.dtype} values")
        try:
            shared = (self._shared_allreduce() if host.nbytes >= shm.MIN_BYTES and self.size > 1
                      and host.dtype.kind in "fiuc" else None)
            if shared is None or not shared(host):
                self._comm.Allreduce(self._MPI.IN_PLACE, host, op=self._MPI.SUM)
        finally:
            if w is not None:
                w.disarm()
        if copied:
            _copy_back(buf, host)

    def broadcast(self, buf: Any, root: int = 0) -> None:
        _check_root(root, self.size)
        host, copied = _host_view(buf)
        w = self._watchdog
        if w is not None:
            w.arm(f"broadcast of {host.size} {host.dtype} values from rank {root}")
        try:
            self._comm.Bcast(host, root=root)
        finally:
            if w is not None:
                w.disarm()
        if copied:
            _copy_back(buf, host)

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        _check_root(root, self.size)
        return self._guarded(f"broadcast of an object from rank {root}", self._comm.bcast, obj, root=root)

    def allreduce_object(self, value: Any, op: str = "sum") -> Any:
        _check_op(op)
        return self._guarded(f"allreduce ({op}) of a value", self._comm.allreduce, value, op=self._ops[op])

    def barrier(self) -> None:
        self._guarded("barrier", self._comm.Barrier)

    def _guarded(self, what: str, fn: Callable, *args: Any, **kw: Any) -> Any:
        w = self._watchdog
        if w is not None:
            w.arm(what)
        try:
            return fn(*args, **kw)
        finally:
            if w is not None:
                w.disarm()

    def abort(self, code: int = 1, message: str | None = None) -> None:
        _print_err(message)
        try:
            self._comm.Abort(code)
        finally:
            os._exit(code)


_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
               "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "uint32": "NCCL_UINT32",
               "int64": "NCCL_INT64", "uint64": "NCCL_UINT64"}


class NcclCommunicator(Communicator):
    """Array collectives on NCCL (CuPy arrays, one GPU per local rank); objects, barriers,
    aborts and host (NumPy) arrays on the ``host`` communicator (MPI).

    NCCL queues its collectives on the current CUDA stream; ``wait()`` synchronises that stream
    under the host's timeout. ``create(host)`` makes one the usual way; the constructor takes
    its collaborators explicitly (the NCCL module, a communicator, the device array type, how to
    get an array's pointer and the stream) so that tests can pass fakes.
    """

    backend = "nccl"

    def __init__(self, host: Communicator, nccl_comm: Any, nccl: Any, array_type: type,
                 pointer: Callable[[Any], int], stream: Callable[[], Any]):
        self.host = host
        self.rank, self.size = host.rank, host.size
        self.local_rank, self.local_size = host.local_rank, host.local_size
        self.timeout = host.timeout
        self._nccl = nccl
        self._comm = nccl_comm
        self._array_type: Any = array_type
        self._pointer = pointer
        self._stream = stream
        self._types: dict = {}
        self._watchdog = _Watchdog(self.timeout, self._expired) if self.timeout is not None else None

    @classmethod
    def create(cls, host: Communicator) -> "NcclCommunicator":
        """Pick GPU ``local_rank % device count``, share NCCL's unique id over ``host`` and
        open the NCCL communicator (collective: every rank must call it)."""
        try:
            import cupy
            from cupy.cuda import nccl
        except ImportError as e:
            raise ImportError(f"backend 'nccl' needs CuPy with NCCL: pip install 'chainrule[gpu]' ({e})") from e
        if not getattr(nccl, "available", True):
            raise ImportError("backend 'nccl': this CuPy was built without NCCL; install a cupy-cuda12x wheel "
                              "(it loads NCCL from the nvidia-nccl-cu12 package) or use backend='mpi'")
        count = cupy.cuda.runtime.getDeviceCount()
        if count == 0:
            raise RuntimeError("backend 'nccl': no GPU is visible (check CUDA_VISIBLE_DEVICES)")
        # NCCL refuses two ranks on one GPU; every rank learns of any node that has too few
        if not host.allreduce_object(int(host.local_size <= count), "min"):
            raise RuntimeError(f"backend 'nccl' needs one GPU per rank: rank {host.rank} has {host.local_size} "
                               f"ranks on its node and {count} GPU(s) on some node fall short; start at most "
                               f"as many ranks per node as it has GPUs, or use backend='mpi'")
        cupy.cuda.Device(host.local_rank % count).use()
        uid = nccl.get_unique_id() if host.rank == 0 else None
        uid = host.broadcast_object(uid, 0)
        comm = nccl.NcclCommunicator(host.size, uid, host.rank)
        return cls(host, comm, nccl, cupy.ndarray, lambda a: a.data.ptr,
                   lambda: cupy.cuda.get_current_stream().ptr)

    def _expired(self, what: str) -> None:
        try:
            self._comm.abort()
        finally:
            self.host.abort(1, f"chainrule.distributed: rank {self.rank} of {self.size}: {what} did not "
                               f"complete within the {self.timeout:g} s timeout (another rank has died, hangs, "
                               f"or did not reach the same collective); aborting the job")

    def _nccl_type(self, dtype: Any) -> Any:
        t = self._types.get(dtype)
        if t is None:
            name = _NCCL_TYPES.get(np.dtype(dtype).name)
            if name is None:
                raise TypeError(f"backend 'nccl': arrays of dtype {np.dtype(dtype)} cannot be communicated; "
                                f"supported: {sorted(_NCCL_TYPES)}")
            t = self._types[dtype] = getattr(self._nccl, name)
        return t

    def _device(self, buf: Any, what: str) -> bool:
        if not isinstance(buf, self._array_type):
            return False
        if not buf.flags.c_contiguous:
            raise ValueError(f"backend 'nccl': {what} needs a C-contiguous array, got shape {tuple(buf.shape)} "
                             f"with strides {tuple(buf.strides)}")
        return True

    def allreduce(self, buf: Any) -> None:
        if not self._device(buf, "allreduce"):
            return self.host.allreduce(buf)
        ptr = self._pointer(buf)
        self._comm.allReduce(ptr, ptr, buf.size, self._nccl_type(buf.dtype), self._nccl.NCCL_SUM, self._stream())

    def broadcast(self, buf: Any, root: int = 0) -> None:
        _check_root(root, self.size)
        if not self._device(buf, "broadcast"):
            return self.host.broadcast(buf, root)
        self._comm.bcast(self._pointer(buf), buf.size, self._nccl_type(buf.dtype), root, self._stream())
        self.wait()

    def wait(self) -> None:
        w = self._watchdog
        if w is not None:
            w.arm("an NCCL collective")
        try:
            synchronize = getattr(self._stream(), "synchronize", None)
            if synchronize is not None:
                synchronize()
            else:
                self._synchronize_current_stream()
        finally:
            if w is not None:
                w.disarm()

    def _synchronize_current_stream(self) -> None:
        try:
            import cupy
        except ImportError:  # fakes in tests run without CuPy
            return
        cupy.cuda.get_current_stream().synchronize()

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        return self.host.broadcast_object(obj, root)

    def allreduce_object(self, value: Any, op: str = "sum") -> Any:
        return self.host.allreduce_object(value, op)

    def barrier(self) -> None:
        self.wait()
        self.host.barrier()

    def abort(self, code: int = 1, message: str | None = None) -> None:
        self.host.abort(code, message)


def install_abort_hook(comm: Communicator) -> None:
    """Make an uncaught exception on any rank end the whole job (``comm.abort``) after printing
    its traceback with the rank, instead of leaving the other ranks waiting forever in their
    next collective. Installed by ``init``; a world of one keeps Python's usual behaviour."""
    previous = sys.excepthook

    def abort_on_exception(kind: type, value: BaseException, tb: Any) -> None:
        if comm.size == 1:
            previous(kind, value, tb)
            return
        try:
            text = "".join(traceback.format_exception(kind, value, tb))
        except Exception:  # pragma: no cover - a broken exception object
            text = f"{kind.__name__}: {value}\n"
        head = f"chainrule.distributed: rank {comm.rank} of {comm.size}"
        comm.abort(1, "".join(f"[rank {comm.rank}] {line}\n" for line in text.rstrip("\n").split("\n"))
                   + f"{head} raised {kind.__name__}: {value}; aborting the job")

    sys.excepthook = abort_on_exception
