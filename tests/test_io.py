"""save/load in the safetensors format: round trips, atomic writes, mismatch and corrupt-file errors."""
import os

import numpy as np
import pytest

from chainrule import io, optim
from chainrule.core import Variable


class StandIn:
    """A model-like object with named parameters (no checks of its own in load_state_dict)."""

    def __init__(self, shapes):
        rng = np.random.default_rng(0)
        self.p = {n: Variable(rng.standard_normal(s)) for n, s in shapes.items()}

    def params(self):
        return list(self.p.values())

    def state_dict(self):
        return {n: v.data.copy() for n, v in self.p.items()}

    def load_state_dict(self, state):
        for n, a in state.items():
            self.p[n].data = np.array(a)


def test_dict_round_trip_keeps_names_order_dtypes(tmp_path):
    state = {"z.w": np.arange(6, dtype=np.float32).reshape(2, 3), "a.b[0]": np.array(2.5),
             "m": np.arange(4, dtype=np.int64), "v": Variable(np.ones(2))}
    path = tmp_path / "s.safetensors"
    io.save(state, path)
    back = io.load(path)
    assert list(back) == list(state)
    for n in state:
        expected = state[n].data if isinstance(state[n], Variable) else state[n]
        assert back[n].dtype == expected.dtype and back[n].shape == expected.shape
        np.testing.assert_array_equal(back[n], expected)


def test_stand_in_model_round_trip_and_mismatch(tmp_path):
    model = StandIn({"l.w": (3, 2), "l.b": (2,)})
    path = str(tmp_path / "m.safetensors")
    io.save(model, path)
    other = StandIn({"l.w": (3, 2), "l.b": (2,)})
    for p in other.params():
        p.data[...] = 0
    io.load(path, into=other)
    for a, b in zip(model.params(), other.params()):
        np.testing.assert_array_equal(a.data, b.data)
    wrong = StandIn({"l.w": (2, 2), "x.b": (2,)})
    with pytest.raises(ValueError) as e:
        io.load(path, into=wrong)
    msg = str(e.value)
    assert path in msg and "missing names ['x.b']" in msg and "unexpected names ['l.b']" in msg
    assert "l.w: file (3, 2) vs model (2, 2)" in msg


def test_real_layer_round_trip(tmp_path):
    L = pytest.importorskip("chainrule.layers")
    if not hasattr(L, "Linear"):
        pytest.skip("chainrule.layers.Linear not available")
    model = L.Linear(3, in_size=4, rng=0)
    path = tmp_path / "linear.safetensors"
    io.save(model, path)
    assert list(io.load(path)) == [n for n, _ in model.named_params()]
    fresh = L.Linear(3, in_size=4, rng=1)
    io.load(fresh, path)  # (model, path) order is accepted too
    np.testing.assert_array_equal(fresh.w.data, model.w.data)
    with pytest.raises(ValueError, match=r"(?s)linear.safetensors.*w.*\(5, 3\)"):
        io.load(path, into=L.Linear(3, in_size=5))


def quadratic_steps(opt, params, n):
    for _ in range(n):
        for p in params:
            p.grad = Variable(2 * p.data - 1)
        opt.step()


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Momentum, optim.Adam])
def test_optimizer_state_round_trip_resumes_exactly(tmp_path, opt_cls):
    def fresh():
        return [Variable(np.linspace(-1, 1, 6).reshape(2, 3)), Variable(np.array([0.5, -2.0]))]

    full = fresh()
    quadratic_steps(opt_cls(params=full, lr=0.05), full, 6)
    half = fresh()
    opt = opt_cls(params=half, lr=0.05)
    quadratic_steps(opt, half, 3)
    path = tmp_path / "opt.safetensors"
    io.save(opt, path)
    state = io.load(path)
    assert state["type"] == opt_cls.__name__ and state["step"] == 3
    resumed = opt_cls(params=half)
    io.load(path, into=resumed)
    assert resumed.lr == 0.05
    quadratic_steps(resumed, half, 3)
    for a, b in zip(half, full):
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(ValueError, match="holds 2 parameters but the optimizer has 1"):
        io.load(path, into=opt_cls(params=half[:1]))


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    io.save({"w": np.ones(3)}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        io.save({"w": np.zeros(3)}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temp file left behind
    np.testing.assert_array_equal(io.load(path)["w"], np.ones(3))  # old file intact


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncate"])
def test_corrupt_file_raises_value_error_naming_it(tmp_path, content):
    good = tmp_path / "good.safetensors"
    io.save({"w": np.ones((4, 4))}, good)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(good.read_bytes()[:-10] if content == "truncate" else content)
    with pytest.raises(ValueError, match="bad.safetensors"):
        io.load(bad)


def test_wrong_kind_of_target(tmp_path):
    path = tmp_path / "p.safetensors"
    io.save({"w": np.ones(2)}, path)
    with pytest.raises(ValueError, match="not optimizer state"):
        io.load(path, into=optim.SGD(params=[Variable(np.ones(2))]))
    with pytest.raises(TypeError, match="save"):
        io.save(42, path)


# ----- checksums -----
def test_checksum_is_written_and_a_flipped_data_byte_is_reported(tmp_path):
    import hashlib
    import json
    import struct

    path = tmp_path / "c.safetensors"
    io.save({"w": np.arange(12.0).reshape(3, 4), "b": np.ones(3, dtype=np.float32)}, path)
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    meta = json.loads(blob[8:8 + n])["__metadata__"]
    assert meta["sha256"] == hashlib.sha256(blob[8 + n:]).hexdigest()  # any tool can verify it
    for offset in (8 + n, len(blob) - 1, 8 + n + 17):
        bad = bytearray(blob)
        bad[offset] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(ValueError, match="c.safetensors: checksum mismatch"):
            io.load(path)
    path.write_bytes(blob)
    np.testing.assert_array_equal(io.load(path)["w"], np.arange(12.0).reshape(3, 4))


def test_files_without_a_checksum_still_load(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "plain.safetensors"
    stn.save_file({"w": np.ones(3)}, str(path))
    np.testing.assert_array_equal(io.load(path)["w"], np.ones(3))


def test_optimizer_groups_survive_a_save(tmp_path):
    ps = [Variable(np.ones(2)), Variable(np.ones(3))]
    opt = optim.Adam([{"params": ps[:1], "betas": (0.5, 0.6)}, {"params": ps[1:], "lr": 0.2}], lr=0.1)
    for p in ps:
        p.grad = Variable(np.ones_like(p.data))
    opt.step()
    io.save(opt, tmp_path / "o.safetensors")
    other = optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1)
    io.load(tmp_path / "o.safetensors", into=other)
    assert list(other.param_groups[0]["betas"]) == [0.5, 0.6] and other.param_groups[1]["lr"] == 0.2


# ----- what a crash leaves behind -----
def test_a_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "ckpt.safetensors"
    io.save({"w": np.ones(3)}, path)
    # a save killed between writing its temp file and the rename
    code = ("import os, numpy as np; from chainrule import io\n"
            "io.os.replace = lambda a, b: os._exit(9)\n"
            f"io.save({{'w': np.zeros(3)}}, {str(path)!r})\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    left = sorted(os.listdir(tmp_path))
    assert len(left) == 2 and left[0].startswith(".ckpt.safetensors.") and left[0].endswith(".tmp")
    np.testing.assert_array_equal(io.load(path)["w"], np.ones(3))  # the old file survived intact
    io.save({"w": np.full(3, 2.0)}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    np.testing.assert_array_equal(io.load(path)["w"], np.full(3, 2.0))


def test_stale_temp_cleanup_spares_live_writers_and_other_targets(tmp_path):
    import time

    path = tmp_path / "m.safetensors"
    live = tmp_path / f".m.safetensors.{os.getppid()}-abc.tmp"   # a save in progress elsewhere
    fresh_unknown = tmp_path / ".m.safetensors.k3j2.tmp"          # old naming, recent: kept
    old_unknown = tmp_path / ".m.safetensors.x9y8.tmp"            # old naming, stale: removed
    other = tmp_path / ".other.safetensors.1-abc.tmp"            # another target: kept
    for f in (live, fresh_unknown, old_unknown, other):
        f.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(old_unknown, (old, old))
    io.save({"w": np.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.safetensors", live.name, fresh_unknown.name, other.name])


def test_optimizer_state_loaded_before_the_first_call_of_a_lazy_model_resumes_exactly(tmp_path):
    import chainrule.functions as F
    from chainrule import models

    x = np.random.default_rng(0).standard_normal((16, 3))
    t = np.random.default_rng(1).standard_normal((16, 2))

    def steps(model, opt, n):
        for _ in range(n):
            loss = F.mean_squared_error(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.step()

    full = models.MLP([8, 2], activation=F.relu, rng=0)
    steps(full, optim.Adam(full.params(), lr=0.05), 6)
    half = models.MLP([8, 2], activation=F.relu, rng=0)
    opt = optim.Adam(half.params(), lr=0.05)
    steps(half, opt, 3)
    io.save(half, tmp_path / "m.safetensors")
    io.save(opt, tmp_path / "o.safetensors")

    resumed = models.MLP([8, 2], activation=F.relu, rng=5)
    ropt = optim.Adam(resumed.params(), lr=0.05)
    io.load(tmp_path / "o.safetensors", into=ropt)  # parameters still uninitialised: applied at the next step
    io.load(tmp_path / "m.safetensors", into=resumed)
    steps(resumed, ropt, 3)
    for a, b in zip(resumed.params(), full.params()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
