"""chainrule.distributed without MPI: the sampler, and the gradient averaging, broadcasts and
the NCCL code path on K ranks simulated by threads (tests/distributed/dist_fakes.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
import chainrule.functions as F
from chainrule import layers, models, optim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dist_fakes import FakeNccl, ThreadComm, ThreadWorld, make_fake_nccl  # noqa: E402
from dist_reference import load_worker, train_one_process  # noqa: E402


def ranks(size):
    return [SimpleNamespace(rank=r, size=size) for r in range(size)]


# ----- importing -----

def test_importing_chainrule_and_distributed_never_imports_mpi4py():
    code = ("import sys, chainrule, chainrule.distributed, chainrule.cli\n"
            "chainrule.cli.build_parser()  # every program's flags, --distributed among them\n"
            "print('mpi4py' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_functions_without_init_or_comm_say_to_call_init():
    if dist.is_initialized():
        pytest.skip("a communicator was initialised in this process")
    with pytest.raises(RuntimeError, match=r"dist.init\(\)"):
        dist.ShardSampler(10)


def test_init_rejects_an_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of"):
        dist.init(backend="gloo")


# ----- ShardSampler -----

@pytest.mark.parametrize("n, size", [(12, 3), (12, 4), (7, 1), (8, 2)])
def test_shard_sampler_covers_every_index_exactly_once_per_epoch(n, size):
    samplers = [dist.ShardSampler(n, c, seed=4) for c in ranks(size)]
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        parts = [list(s) for s in samplers]
        assert all(len(p) == len(s) == n // size for p, s in zip(parts, samplers))
        assert sorted(sum(parts, [])) == list(range(n))
        assert all(isinstance(i, int) for i in parts[0])


@pytest.mark.parametrize("n, size", [(10, 4), (3, 4), (1, 3), (0, 2)])
def test_shard_sampler_gives_every_rank_the_same_count(n, size):
    for drop_last in (False, True):
        parts = [list(dist.ShardSampler(n, c, drop_last=drop_last)) for c in ranks(size)]
        counts = {len(p) for p in parts}
        assert len(counts) == 1
        count = counts.pop()
        if drop_last:
            assert count == n // size and len(set(sum(parts, []))) == count * size
        else:
            assert count == -(-n // size) and set(sum(parts, [])) == set(range(n))


def test_shard_sampler_batches_together_are_one_process_batches():
    # batch k of every rank together is batch k of one process at size x the batch size
    n, size, b = 24, 3, 2
    one = list(dist.ShardSampler(n, SimpleNamespace(rank=0, size=1), seed=9))
    parts = [list(dist.ShardSampler(n, c, seed=9)) for c in ranks(size)]
    for k in range(n // (size * b)):
        together = sorted(i for p in parts for i in p[k * b:(k + 1) * b])
        assert together == sorted(one[k * size * b:(k + 1) * size * b])


def test_shard_sampler_epochs_reshuffle_and_set_epoch_repeats():
    s = dist.ShardSampler(50, SimpleNamespace(rank=1, size=2), seed=0)
    e0, e1 = list(s), list(s)  # without set_epoch each pass is the next epoch
    assert e0 != e1
    s.set_epoch(0)
    assert list(s) == e0 and list(s) == e0  # with set_epoch the epoch is the caller's
    s.set_epoch(1)
    assert list(s) == e1
    assert list(dist.ShardSampler(6, SimpleNamespace(rank=0, size=2), shuffle=False)) == [0, 2, 4]


def test_shard_sampler_takes_a_data_set_and_refuses_bad_input():
    ds = cr.data.ArrayDataset(np.zeros((9, 2)))
    assert len(dist.ShardSampler(ds, SimpleNamespace(rank=0, size=2))) == 5
    with pytest.raises(ValueError, match="non-negative"):
        dist.ShardSampler(-1, SimpleNamespace(rank=0, size=2))
    with pytest.raises(ValueError, match=r"rank 2 is not in \[0, 2\)"):
        dist.ShardSampler(4, SimpleNamespace(rank=2, size=2))
    with pytest.raises(TypeError, match="number of examples"):
        dist.ShardSampler(object(), SimpleNamespace(rank=0, size=2))
    with pytest.raises(ValueError, match="set_epoch"):
        dist.ShardSampler(4, SimpleNamespace(rank=0, size=2)).set_epoch(-1)


def test_shard_sampler_feeds_a_data_loader_when_it_takes_samplers():
    import inspect

    if "sampler" not in inspect.signature(cr.data.DataLoader).parameters:
        pytest.skip("DataLoader has no sampler= yet")
    x = np.arange(20.0).reshape(10, 2)
    ds = cr.data.ArrayDataset(x, np.arange(10))
    seen = []
    for c in ranks(2):
        loader = cr.data.DataLoader(ds, batch_size=2, sampler=dist.ShardSampler(10, c, seed=1))
        batches = [t.data.tolist() for _, t in loader]
        assert len(batches) == 3
        seen += sum(batches, [])
    assert sorted(seen) == list(range(10))


# ----- gradient averaging on simulated ranks -----

def _shard_training(comm, ranks_, nccl=False, bucket_mb=25.0):
    w = load_worker()
    x, t = w.make_data()
    model = w.make_model()
    dist.broadcast_params(model, comm=comm)
    opt = dist.DistributedOptimizer(optim.Adam(lr=0.01), comm, bucket_mb=bucket_mb)
    sampler = dist.ShardSampler(w.N, comm, seed=w.SEED)
    world = comm.host.world if nccl else comm.world
    for epoch in range(w.EPOCHS):
        sampler.set_epoch(epoch)
        index = np.fromiter(sampler, dtype=np.int64)
        for k in range(0, len(index), w.B):
            i = index[k:k + w.B]
            with world.compute:
                loss = F.softmax_cross_entropy(model(x[i]), t[i])
                model.cleargrads()
                loss.backward()
            opt.update(model)
    return {n: p.data.copy() for n, p in model.named_params()}


@pytest.mark.parametrize("nccl", [False, True], ids=["host", "nccl"])
@pytest.mark.parametrize("bucket_mb", [25.0, 1e-4])  # 1e-4 MB: a bucket per parameter or so
def test_distributed_optimizer_on_threads_equals_one_process(nccl, bucket_mb):
    size = 3
    world = ThreadWorld(size)
    got = world.run(lambda c: _shard_training(c, size, nccl=nccl, bucket_mb=bucket_mb), nccl=nccl)
    want = train_one_process(load_worker(), size)
    for name, v in want.items():
        np.testing.assert_allclose(got[0][name], v, rtol=0, atol=1e-12, err_msg=name)
        for other in got[1:]:
            assert np.array_equal(other[name], got[0][name])
    kinds = {what for _, what, _ in world.calls}
    assert kinds == ({"nccl.allReduce", "nccl.bcast"} if nccl else {"allreduce", "broadcast"})
    if nccl:
        assert all(details[2] for _, what, details in world.calls if what == "nccl.allReduce")  # in place


class TwoDtypes(layers.Layer):
    """Parameters of two dtypes, and one (``unused``) that only some ranks use."""

    def __init__(self):
        super().__init__()
        self.a = layers.Parameter(np.ones((3, 2)))
        self.b = layers.Parameter(np.ones(5, dtype=np.float32))
        self.unused = layers.Parameter(np.ones(2))
        self.never = layers.Parameter(np.ones(4))


@pytest.mark.parametrize("nccl", [False, True], ids=["host", "nccl"])
def test_buckets_per_dtype_missing_gradients_count_as_zeros(nccl):
    world = ThreadWorld(2)

    def body(comm):
        m = TwoDtypes()
        m.a.grad = cr.variable(np.full((3, 2), float(comm.rank + 1)))
        m.b.grad = cr.variable(np.full(5, 10.0 * (comm.rank + 1), dtype=np.float32))
        if comm.rank == 1:
            m.unused.grad = cr.variable(np.array([4.0, 8.0]))
        dist.allreduce_grads(m, comm, bucket_mb=1e-5)
        return m

    m0, m1 = world.run(body, nccl=nccl)
    for m in (m0, m1):
        np.testing.assert_array_equal(m.a.grad.data, np.full((3, 2), 1.5))
        assert m.b.grad.dtype == np.float32
        np.testing.assert_array_equal(m.b.grad.data, np.full(5, 15.0, dtype=np.float32))
        np.testing.assert_array_equal(m.unused.grad.data, [2.0, 4.0])  # (0 + [4, 8]) / 2
        assert m.never.grad is None  # no rank had one: the optimizer will skip it
    sent = {(what, details[0]) for _, what, details in world.calls if "bcast" not in what and "broadcast" not in what}
    assert {d for _, d in sent} == {"float64", "float32"}  # each dtype in its own buffers


def test_ranks_with_different_models_get_an_error_not_a_deadlock():
    world = ThreadWorld(2)

    def body(comm):
        m = models.MLP([3, 2] if comm.rank == 0 else [4, 2], rng=0)
        m(np.zeros((1, 2)))
        dist.broadcast_params(m, comm=comm)

    with pytest.raises(AssertionError, match="do not hold the same parameters"):
        world.run(body)


def test_broadcast_params_of_a_lazy_model_waits_for_its_first_call():
    world = ThreadWorld(2)

    def body(comm):
        model = models.MLP([4, 2], activation=F.relu, rng=comm.rank)  # different weights per rank
        dist.broadcast_params(model, comm=comm)
        assert all(p.data is None for p in model.params())  # nothing to broadcast yet
        opt = dist.DistributedOptimizer(optim.SGD(lr=0.1), comm)
        x = np.ones((2, 3))
        with comm.world.compute:
            loss = F.sum(model(x))
            model.cleargrads()
            loss.backward()
        before = model.params()[0].data.copy()
        version = model.params()[0]._version
        opt.update(model)  # broadcasts root's parameters; this step's gradients are stale: skipped
        after = model.params()[0].data.copy()
        assert model.params()[0]._version > version
        with comm.world.compute:
            loss = F.sum(model(x))
            model.cleargrads()
            loss.backward()
        opt.update(model)  # an ordinary step
        return before, after, model.params()[0].data.copy(), opt.t

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (b0, a0, s0, t0), (b1, a1, s1, t1) = world.run(body)
    assert any("update was skipped" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert not np.array_equal(b0, b1)
    assert np.array_equal(a0, b0) and np.array_equal(a1, b0)  # root's weights, no update yet
    assert np.array_equal(s0, s1) and not np.array_equal(s0, a0)
    assert t0 == t1 == 1


def test_broadcast_optimizer_state_copies_root_state():
    world = ThreadWorld(2)

    def body(comm):
        model = models.MLP([3], rng=0)
        model(np.ones((1, 2)))
        opt = optim.Adam(lr=0.5 if comm.rank == 0 else 0.1)
        if comm.rank == 0:
            with comm.world.compute:
                F.sum(model(np.ones((1, 2)))).backward()
            opt.update(model)
        dist.broadcast_optimizer_state(opt, comm=comm)
        return opt.state_dict()

    s0, s1 = world.run(body)
    assert s1["step"] == s0["step"] == 1 and s1["hyper"] == s0["hyper"]
    for a, b in zip(s0["state"], s1["state"]):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_distributed_optimizer_forwards_attributes_to_the_wrapped_optimizer():
    inner = optim.SGD(lr=0.1)
    opt = dist.DistributedOptimizer(inner, dist.LocalCommunicator())
    opt.lr = 0.05  # what learning-rate schedules do
    assert inner.lr == 0.05 and opt.lr == 0.05
    model = models.MLP([2], rng=0)
    model(np.ones((1, 2)))
    F.sum(model(np.ones((1, 2)))).backward()
    w = model.params()[0].data.copy()
    opt.update(model)  # a world of one: the plain optimizer's step
    np.testing.assert_allclose(model.params()[0].data, w - 0.05 * np.ones((2, 2)))
    assert opt.t == 1
    with pytest.raises(TypeError, match="expected an optimizer"):
        dist.DistributedOptimizer(object(), dist.LocalCommunicator())


def test_local_world_of_one_runs_everything_unchanged(tmp_path):
    comm = dist.LocalCommunicator()
    assert (comm.rank, comm.size, comm.local_rank) == (0, 1, 0)
    model = models.MLP([2], rng=0)
    model(np.ones((1, 3)))
    dist.broadcast_params(model, comm=comm)
    dist.allreduce_grads(model, comm)
    dist.broadcast_optimizer_state(optim.Adam(), comm=comm)
    dist.save(model, tmp_path / "m.safetensors", comm=comm)
    assert set(cr.load(tmp_path / "m.safetensors")) == {"linear[0].w", "linear[0].b"}


# ----- the NCCL communicator -----

def test_nccl_communicator_refuses_unsupported_arrays_and_sends_host_arrays_over_mpi():
    world = ThreadWorld(1)

    class Device(np.ndarray):
        pass

    def body(host):
        comm = make_fake_nccl(host, world, array_type=Device)
        comm.allreduce(np.ones(3))  # a NumPy array: through the host communicator
        dev = np.ones(4).view(Device)
        comm.allreduce(dev)
        with pytest.raises(TypeError, match="dtype complex128 cannot be communicated"):
            comm.allreduce(np.ones(2, dtype=complex).view(Device))
        with pytest.raises(ValueError, match="C-contiguous"):
            comm.broadcast(np.ones((4, 4))[:, ::2].view(Device))
        return [what for _, what, _ in world.calls]

    assert world.run(body) == [["allreduce", "nccl.allReduce"]]


def test_nccl_communicator_timeout_aborts_with_a_message():
    import time

    host = ThreadComm(ThreadWorld(1), 0)
    host.timeout = 0.05
    messages = []
    host.abort = lambda code=1, message=None: messages.append(message)

    class SlowStream:
        def synchronize(self):
            time.sleep(0.5)

    comm = dist.NcclCommunicator(host, object.__new__(type("C", (), {"abort": lambda self: None})), FakeNccl,
                                 np.ndarray, pointer=lambda a: a.ctypes.data, stream=SlowStream)
    comm.wait()
    assert messages and "an NCCL collective did not complete within the 0.05 s timeout" in messages[0]


# ----- the command line -----

@pytest.mark.parametrize("program, why", [("lstm", "not data-parallel by nature"), ("cnn", "not wired for it")])
def test_programs_that_are_not_data_parallel_refuse_the_flag_with_the_reason(program, why, capsys):
    from chainrule.cli import main

    assert main([program, "--distributed"]) == 2
    err = capsys.readouterr().err
    assert f"chainrule {program}: error: --distributed: the {program} program is {why}" in err
    assert "Traceback" not in err


def test_a_parameter_list_updates_while_another_model_waits_for_its_broadcast():
    world = ThreadWorld(2)

    def body(comm):
        lazy = models.MLP([2], rng=0)
        dist.broadcast_params(lazy, comm=comm)  # deferred: not created yet
        ready = models.MLP([2], rng=0)
        ready(np.ones((1, 2)))
        with comm.world.compute:
            F.sum(ready(np.ones((1, 2)) * (comm.rank + 1))).backward()
        dist.allreduce_grads(ready.params(), comm)  # a list: no broadcast to run, no TypeError
        opt = dist.DistributedOptimizer(optim.SGD(lr=0.1), comm)
        opt.update(ready.params())
        return ready.params()[0].data.copy()

    a, b = world.run(body)
    np.testing.assert_array_equal(a, b)
