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
