"""In-process stand-ins for MPI and NCCL: K ranks as K threads that meet at a barrier.

``ThreadWorld(k).run(fn)`` calls ``fn(comm)`` on K threads with a ``ThreadComm`` each and
returns their results in rank order. ``FakeNccl`` is a stand-in for ``cupy.cuda.nccl`` whose
communicators read and write the arrays through their raw pointers, as NCCL does.
"""
from __future__ import annotations

import ctypes
import pickle
import threading
from functools import reduce
from typing import Any, Callable

import numpy as np

from chainrule.distributed import Communicator, NcclCommunicator


class ThreadWorld:
    def __init__(self, size: int):
        self.size = size
        self.barrier = threading.Barrier(size, timeout=20)
        self.slots: list = [None] * size
        self.calls: list = []          # (rank, what, details) of every array collective
        self.compute = threading.Lock()  # run model code one rank at a time

    def exchange(self, rank: int, value: Any) -> list:
        self.slots[rank] = value
        self.barrier.wait()
        values = list(self.slots)
        self.barrier.wait()
        return values

    def run(self, fn: Callable[[Communicator], Any], nccl: bool = False) -> list:
        results: list = [None] * self.size
        errors: list = []

        def body(rank: int) -> None:
            try:
                comm: Communicator = ThreadComm(self, rank)
                if nccl:
                    comm = make_fake_nccl(comm, self)
                results[rank] = fn(comm)
            except BaseException as e:  # report, and release the others from the barrier
                errors.append((rank, e))
                self.barrier.abort()

        threads = [threading.Thread(target=body, args=(r,)) for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if errors:
            rank, e = min(errors, key=lambda re: isinstance(re[1], threading.BrokenBarrierError))
            raise AssertionError(f"rank {rank} failed: {type(e).__name__}: {e}") from e
        return results


class ThreadComm(Communicator):
    backend = "threads"

    def __init__(self, world: ThreadWorld, rank: int):
        self.world, self.rank, self.size = world, rank, world.size
        self.local_rank, self.local_size = rank, world.size

    def allreduce(self, buf: Any) -> None:
        self.world.calls.append((self.rank, "allreduce", (buf.dtype.name, buf.size)))
        buf[...] = reduce(np.add, self.world.exchange(self.rank, buf.copy()))

    def broadcast(self, buf: Any, root: int = 0) -> None:
        self.world.calls.append((self.rank, "broadcast", (buf.dtype.name, buf.size)))
        buf[...] = self.world.exchange(self.rank, buf.copy())[root]

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        return pickle.loads(pickle.dumps(self.world.exchange(self.rank, obj)[root]))

    def allreduce_object(self, value: Any, op: str = "sum") -> Any:
        values = self.world.exchange(self.rank, value)
        return {"sum": sum, "max": max, "min": min}[op](values)

    def barrier(self) -> None:
        self.world.barrier.wait()

    def abort(self, code: int = 1, message: str | None = None) -> None:
        raise RuntimeError(f"abort({code}): {message}")


class FakeNccl:
    """The names of ``cupy.cuda.nccl`` that NcclCommunicator uses."""
    NCCL_SUM = "sum"
    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = "float16", "float32", "float64"
    NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32 = "int8", "uint8", "int32", "uint32"
    NCCL_INT64, NCCL_UINT64 = "int64", "uint64"


def _at(ptr: int, count: int, dtype: str) -> np.ndarray:
    """The ``count`` values of ``dtype`` at address ``ptr`` (a view, as a device pointer would be)."""
    nbytes = count * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_char * nbytes).from_address(ptr), dtype=dtype)


class FakeNcclComm:
    def __init__(self, world: ThreadWorld, rank: int):
        self.world, self.rank = world, rank
        self.aborted = False

    def allReduce(self, send: int, recv: int, count: int, dtype: str, op: str, stream: int) -> None:
        assert op == FakeNccl.NCCL_SUM
        self.world.calls.append((self.rank, "nccl.allReduce", (dtype, count, send == recv)))
        values = self.world.exchange(self.rank, _at(send, count, dtype).copy())
        _at(recv, count, dtype)[...] = reduce(np.add, values)

    def bcast(self, buff: int, count: int, dtype: str, root: int, stream: int) -> None:
        self.world.calls.append((self.rank, "nccl.bcast", (dtype, count)))
        values = self.world.exchange(self.rank, _at(buff, count, dtype).copy())
        _at(buff, count, dtype)[...] = values[root]

    def abort(self) -> None:
        self.aborted = True


def make_fake_nccl(host: ThreadComm, world: ThreadWorld, array_type: type = np.ndarray) -> NcclCommunicator:
    return NcclCommunicator(host, FakeNcclComm(world, host.rank), FakeNccl, array_type,
                            pointer=lambda a: a.ctypes.data, stream=lambda: 0)
