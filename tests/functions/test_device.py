"""``to_device``: the gradient goes back to the source device, the tangent travels along."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.functions.device import ToDevice

RNG = np.random.default_rng(12)


class _HostArray(np.ndarray):
    """Host memory owned by a stand-in device, so that ``to_device`` really transfers."""


@pytest.fixture
def standin(monkeypatch):
    import chainrule.backend.base as base
    from chainrule.backend import Backend, register_backend

    class StandIn(Backend):
        name = "standin"
        xp = np
        array_types = (_HostArray,)

        def asarray(self, data, dtype=None):
            return np.asarray(data, dtype=dtype).view(_HostArray)

        def to_numpy(self, a):
            return np.asarray(a).view(np.ndarray).copy()

    monkeypatch.setattr(base, "_by_name", dict(base._by_name))
    monkeypatch.setattr(base, "_by_type", dict(base._by_type))
    register_backend(StandIn())
    return "standin"


def test_gradient_goes_back_to_the_source_device(standin):
    x = cr.Variable(RNG.standard_normal((2, 3)))
    y = F.to_device(x, standin)
    assert isinstance(y.creator, ToDevice) and type(y.data) is _HostArray
    w = RNG.standard_normal((2, 3))
    g, = cr.gradients([y * y], [x], grad_outputs=[cr.Variable(F.to_device(cr.Variable(w), standin).data)])
    assert type(g.data) is np.ndarray
    np.testing.assert_allclose(g.data, 2 * x.data * w, rtol=1e-14)
    # create_graph: the gradient is a graph whose transfers move back and forth again
    g2, = cr.gradients([F.sum(y * y * y)], [x], create_graph=True)
    assert type(g2.data) is np.ndarray and g2.creator is not None
    gg, = cr.gradients([F.sum(g2)], [x])
    assert type(gg.data) is np.ndarray
    np.testing.assert_allclose(gg.data, 6 * x.data, rtol=1e-14)


def test_forward_mode_moves_the_tangent(standin):
    x, t = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    y, ty = cr.jvp(lambda v: F.to_device(v, standin) * 2.0, (x,), (t,))
    assert type(y) is _HostArray and type(ty) is _HostArray
    np.testing.assert_allclose(ty, 2 * t, rtol=1e-14)
    y, ty = cr.jvp(lambda v: F.to_device(F.to_device(v, standin) ** 2, "cpu"), (x,), (t,))
    assert type(ty) is np.ndarray
    np.testing.assert_allclose(ty, 2 * x * t, rtol=1e-14)


def test_same_device_is_the_identity():
    x = cr.Variable(np.ones(3))
    assert F.to_device(x, "cpu") is x
