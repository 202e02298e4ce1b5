"""The backend layer: registry, NumPy backend, device transfer, the CuPy backend (GPU-marked)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

import numpy as np
import pytest

import chainrule.backend.base as base
from chainrule.backend import Backend, NumpyBackend, available_devices, backend_of, get_backend, xp_of
from chainrule.backend import register_backend
from chainrule.core.variable import Variable
from chainrule.functions.broadcast import sum_to


def _cuda_ok() -> bool:
    try:
        get_backend("cuda")
        return True
    except Exception:
        return False


CUPY_INSTALLED = importlib.util.find_spec("cupy") is not None


def total(v):
    return sum_to(v, ())


# ----- registry -----
def test_default_and_cpu_backend_are_numpy():
    b = get_backend()
    assert isinstance(b, NumpyBackend)
    assert b is get_backend("cpu") is get_backend("CPU") is get_backend("numpy") is get_backend("cpu:0")
    assert b.name == "cpu" and b.xp is np
    assert get_backend(b) is b


def test_unknown_device_lists_known_ones():
    with pytest.raises(ValueError) as e:
        get_backend("tpu")
    msg = str(e.value)
    assert "'tpu'" in msg and "cpu" in msg and "cuda" in msg


def test_device_must_be_a_string():
    with pytest.raises(TypeError, match="device must be a string"):
        get_backend(3)


@pytest.mark.skipif(_cuda_ok(), reason="CUDA is available here")
@pytest.mark.parametrize("name", ["cuda", "gpu", "cuda:0"])
def test_cuda_unavailable_gives_clear_message(name):
    with pytest.raises(ImportError) as e:
        get_backend(name)
    assert isinstance(e.value, RuntimeError)  # catchable as either
    msg = str(e.value)
    assert "cuda" in msg
    if not CUPY_INSTALLED:
        assert "pip install 'chainrule[gpu]'" in msg and "cupy-cuda12x" in msg
    assert available_devices() == ["cpu"]
    with pytest.raises(ImportError):
        Variable(np.ones(2)).to(name)


def test_backend_of_and_xp_of_on_host_data():
    cpu = get_backend("cpu")
    for a in (np.ones(3), np.float32(2.0), np.ones((2, 2), dtype=np.int64)[0], 1.5, None):
        assert backend_of(a) is cpu
    assert xp_of(np.ones(2)) is np and xp_of(np.float64(1)) is np


# ----- the NumPy backend -----
def test_numpy_backend_methods():
    b = get_backend("cpu")
    a = b.asarray([1, 2, 3], dtype=np.float32)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    assert isinstance(b.to_numpy(a), np.ndarray)
    np.testing.assert_array_equal(b.to_numpy(a), [1, 2, 3])
    target = np.zeros(4)
    b.scatter_add(target, np.array([1, 3, 1, 1]), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(target, [0, 8, 0, 2])  # repeated index 1 accumulates
    g1, g2 = b.generator(7), b.generator(7)
    r = g1.random((2, 3))
    assert r.shape == (2, 3) and np.array_equal(r, g2.random((2, 3)))
    assert g1.standard_normal((4,)).shape == (4,)
    b.synchronize()
    assert "cpu" in repr(b)


# ----- Variable devices -----
def test_variable_device_and_to_cpu_is_identity_with_gradient():
    x = Variable(np.array([1.0, -2.0, 3.0]))
    assert x.device == "cpu"
    y = x.to("cpu")
    assert y is x  # no copy, no op
    assert x.to(get_backend("cpu")) is x
    z = total(x.to("cpu") * x)
    z.backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_variable_to_unknown_device_raises():
    with pytest.raises(ValueError, match="unknown device"):
        Variable(np.ones(2)).to("abacus")


# ----- a third backend is one module: here, an array subclass living on "tagged" -----
class _TaggedArray(np.ndarray):
    """Host memory, but owned by the test backend (stands in for another device's arrays)."""


class _TaggedBackend(Backend):
    name = "tagged"
    xp = np
    array_types = (_TaggedArray,)

    def asarray(self, data, dtype=None):
        if hasattr(data, "data") and isinstance(data, Variable):
            data = data.data
        return np.asarray(data, dtype=dtype).view(_TaggedArray)

    def to_numpy(self, a):
        return np.asarray(a).view(np.ndarray).copy()


@pytest.fixture
def tagged(monkeypatch):
    monkeypatch.setattr(base, "_by_name", dict(base._by_name))
    monkeypatch.setattr(base, "_by_type", dict(base._by_type))
    return register_backend(_TaggedBackend(), "tag")


def test_third_backend_registration_and_round_trip(tagged):
    assert get_backend("tagged") is tagged and get_backend("tag") is tagged
    assert "tagged" in str(pytest.raises(ValueError, get_backend, "nope").value)
    x = Variable(np.array([0.5, -1.0, 2.0]))
    xt = x.to("tagged")
    assert xt.device == "tagged" and type(xt.data) is _TaggedArray
    y = xt * xt + xt  # ops run on the backend's arrays and stay there
    assert y.device == "tagged"
    loss = total(y)
    loss.backward()
    assert x.grad.device == "cpu"  # the gradient went back through the transfer
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 1)
    np.testing.assert_allclose(xt.to("cpu").data, x.data)
    assert type(xt.to("cpu").data) is np.ndarray


# ----- the CuPy backend module, driven by a stand-in "cupy" (no GPU needed) -----
class _FakeDeviceArray(np.ndarray):
    __cuda_array_interface__: dict = {}

    def get(self):
        return np.asarray(self).view(np.ndarray).copy()


def _fake_cupy(device_count):
    cp = types.ModuleType("cupy")
    cp.__getattr__ = lambda name: getattr(np, name)  # the rest of the namespace: NumPy
    cp.ndarray = _FakeDeviceArray
    cp.asarray = lambda data, dtype=None: np.array(data, dtype=dtype).view(_FakeDeviceArray)
    cp.random = types.SimpleNamespace(default_rng=np.random.default_rng)
    cp.synced = []
    cp.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=device_count),
        Device=lambda: types.SimpleNamespace(synchronize=lambda: cp.synced.append(True)))
    cpx = types.ModuleType("cupyx")
    cpx.scatter_add = np.add.at
    return cp, cpx


@pytest.fixture
def fake_cupy(monkeypatch):
    if CUPY_INSTALLED:
        pytest.skip("a real CuPy is installed")
    monkeypatch.setattr(base, "_by_name", dict(base._by_name))
    monkeypatch.setattr(base, "_by_type", dict(base._by_type))
    mod = "chainrule.backend.cupy_backend"

    def install(device_count):
        cp, cpx = _fake_cupy(device_count)
        monkeypatch.setitem(sys.modules, "cupy", cp)
        monkeypatch.setitem(sys.modules, "cupyx", cpx)
        sys.modules.pop(mod, None)
        return cp

    yield install
    sys.modules.pop(mod, None)


def test_cupy_backend_without_gpu_explains(fake_cupy):
    fake_cupy(lambda: 0)
    with pytest.raises(RuntimeError, match="no NVIDIA GPU is visible"):
        get_backend("cuda")

    def broken():
        raise OSError("CUDA driver version is insufficient")

    fake_cupy(broken)
    with pytest.raises(ImportError, match="CUDA is not usable here.*insufficient"):
        get_backend("gpu")


def test_cupy_backend_logic_with_stand_in(fake_cupy):
    cp = fake_cupy(lambda: 1)
    b = get_backend("cuda")
    assert b.name == "cuda" and b.xp is cp and get_backend("gpu") is b
    assert available_devices() == ["cpu", "cuda"]
    a = b.asarray(np.arange(3.0))
    assert type(a) is _FakeDeviceArray and backend_of(a) is b
    assert b.asarray(a) is a and b.asarray(a, dtype=np.float32).dtype == np.float32
    host = b.to_numpy(a)
    assert type(host) is np.ndarray and np.array_equal(host, [0, 1, 2])
    t = b.asarray(np.zeros(3))
    b.scatter_add(t, np.array([2, 2, 0]), b.asarray(np.array([1.0, 2.0, 5.0])))
    np.testing.assert_array_equal(b.to_numpy(t), [5, 0, 3])
    assert b.generator(0).random((2,)).shape == (2,)
    b.synchronize()
    assert cp.synced == [True]
    # a Variable makes the round trip and its gradient comes back to the host
    x = Variable(np.array([1.0, 2.0]))
    xc = x.to("cuda")
    assert xc.device == "cuda"
    loss = total(xc * xc * xc)
    loss.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.data, 3 * x.data ** 2)


# ----- on a real GPU -----
def _to_host(a):
    return get_backend("cuda").to_numpy(a)


@pytest.mark.gpu
def test_gpu_backend_basics():
    import cupy

    b = get_backend("cuda")
    assert b.xp is cupy and b.name == "cuda" and "cuda" in available_devices()
    a = b.asarray(np.arange(4, dtype=np.float32))
    assert isinstance(a, cupy.ndarray) and backend_of(a) is b and xp_of(a) is cupy
    np.testing.assert_array_equal(b.to_numpy(a), [0, 1, 2, 3])
    t = b.asarray(np.zeros(3, dtype=np.float32))
    b.scatter_add(t, cupy.asarray([0, 0, 2]), cupy.asarray([1.0, 2.0, 4.0], dtype=np.float32))
    np.testing.assert_array_equal(b.to_numpy(t), [3, 0, 4])
    r = b.generator(0).standard_normal((3, 2))
    assert isinstance(r, cupy.ndarray) and r.shape == (3, 2)
    b.synchronize()


@pytest.mark.gpu
def test_gpu_ops_and_backward_match_cpu():
    rng = np.random.default_rng(0)
    xh, wh = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    results = {}
    for dev in ("cpu", "cuda"):
        x, w = Variable(xh).to(dev), Variable(wh).to(dev)
        x, w = x.detach().requires_grad_(), w.detach().requires_grad_()  # leaves on the device
        y = total((x * w + 1.0) ** 2 / (w * w + 1.0))
        assert y.device == dev
        y.backward()
        assert x.grad.device == dev and w.grad.device == dev
        results[dev] = [v.numpy() for v in (y, x.grad, w.grad)]
    for c, g in zip(results["cpu"], results["cuda"]):
        np.testing.assert_allclose(g, c, rtol=1e-10, atol=1e-12)


@pytest.mark.gpu
def test_gpu_round_trip_gradient_flows_back_to_host():
    x = Variable(np.array([0.5, -1.5, 2.0]))
    xc = x.to("cuda")
    assert xc.device == "cuda"
    back = (xc * xc).to("cpu")
    assert back.device == "cpu"
    loss = total(back * 3.0)
    loss.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.data, 6 * x.data)


@pytest.mark.gpu
def test_gpu_mixing_devices_names_both():
    a = Variable(np.ones(3))
    b = Variable(np.ones(3)).to("cuda")
    for fn in (lambda: a + b, lambda: b * a):
        with pytest.raises((TypeError, ValueError)) as e:
            fn()
        msg = str(e.value)
        assert "cpu" in msg and "cuda" in msg


@pytest.mark.gpu
def test_gpu_transforms_and_tape_stay_on_device():
    import cupy

    from chainrule.core.tape import GradientTape
    from chainrule.core.transforms import grad

    xc = cupy.asarray([1.0, 2.0, 3.0])
    g = grad(lambda x: total(x * x * x))(xc)
    assert isinstance(g, cupy.ndarray)
    np.testing.assert_allclose(_to_host(g), 3 * np.array([1.0, 4.0, 9.0]))
    x = Variable(xc)
    with GradientTape() as tape:
        y = total(x * x)
    gx = tape.gradient(y, x)
    assert gx.device == "cuda"
    np.testing.assert_allclose(gx.numpy(), 2 * _to_host(xc))


def test_selected_device_runs_a_backward_pass(device):
    """Runs on whatever ``--device`` / ``CHAINRULE_DEVICE`` selects."""
    x = Variable(np.array([1.0, -2.0, 0.5])).to(device).detach().requires_grad_()
    assert x.device == get_backend(device).name
    y = total(x * x * 2.0 + x)
    y.backward()
    assert x.grad.device == x.device
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy() + 1)
