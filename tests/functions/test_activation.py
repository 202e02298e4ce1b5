"""NN activations: finite-difference gradients (1st and 2nd order), PyTorch oracle, dropout statistics."""
import math
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(3)

CASES = [
    ("softmax_last", lambda x: F.softmax(x), (3, 4)),
    ("softmax_axis0", lambda x: F.softmax(x, axis=0), (3, 4)),
    ("softmax_axis1_3d", lambda x: F.softmax(x, axis=1), (2, 3, 2)),
    ("log_softmax_last", lambda x: F.log_softmax(x), (3, 4)),
    ("log_softmax_axis0_3d", lambda x: F.log_softmax(x, axis=0), (2, 3, 2)),
    ("gelu", lambda x: F.gelu(x), (2, 5)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), (2, 5)),
    ("silu", F.silu, (2, 5)),
    ("softplus", F.softplus, (2, 5)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), (2, 5)),
    ("elu", lambda x: F.elu(x, 0.7), (2, 5)),
    ("erf", F.erf, (2, 5)),
]


def _away_from_zero(shape):
    x = RNG.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.3, x)  # kinks of leaky_relu/elu sit at 0


@pytest.mark.parametrize("name,f,shape", CASES, ids=[c[0] for c in CASES])
def test_gradcheck_and_gradgradcheck(name, f, shape):
    x = _away_from_zero(shape)
    gradcheck(f, x)
    gradgradcheck(f, x)


def _torch_pairs(torch):
    tF = torch.nn.functional
    return [
        (lambda x: F.softmax(x, axis=0), lambda x: torch.softmax(x, 0)),
        (lambda x: F.softmax(x, axis=-1), lambda x: torch.softmax(x, -1)),
        (lambda x: F.log_softmax(x, axis=1), lambda x: torch.log_softmax(x, 1)),
        (lambda x: F.log_softmax(x, axis=-1), lambda x: torch.log_softmax(x, -1)),
        (lambda x: F.gelu(x), lambda x: tF.gelu(x)),
        (lambda x: F.gelu(x, approximate="tanh"), lambda x: tF.gelu(x, approximate="tanh")),
        (F.silu, tF.silu),
        (F.softplus, tF.softplus),
        (lambda x: F.leaky_relu(x, 0.2), lambda x: tF.leaky_relu(x, 0.2)),
        (lambda x: F.elu(x, 1.3), lambda x: tF.elu(x, 1.3)),
        (F.erf, torch.special.erf),
    ]


def test_against_torch_values_and_grads():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4, 5)) * 3
    gy = RNG.standard_normal((3, 4, 5))
    for ours, theirs in _torch_pairs(torch):
        xv = cr.Variable(x.copy())
        y = ours(xv)
        (y * gy).sum().backward()
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        (yt * torch.tensor(gy)).sum().backward()
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_second_derivative_against_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(7)
    tF = torch.nn.functional
    for ours, theirs in [(F.gelu, tF.gelu), (F.silu, tF.silu), (lambda v: F.softmax(v), lambda v: torch.softmax(v, -1))]:
        xv = cr.Variable(x.copy())
        g, = cr.gradients([(ours(xv) ** 3).sum()], [xv], create_graph=True)
        g2, = cr.gradients([(g * g).sum()], [xv])
        xt = torch.tensor(x, requires_grad=True)
        gt, = torch.autograd.grad((theirs(xt) ** 3).sum(), xt, create_graph=True)
        g2t, = torch.autograd.grad((gt * gt).sum(), xt)
        np.testing.assert_allclose(g2.data, g2t.numpy(), rtol=1e-7, atol=1e-10)


def test_erf_matches_math_erf_whether_or_not_scipy_is_importable(monkeypatch):
    from chainrule.functions import activation

    x = np.concatenate([np.linspace(-7, 7, 301), [0.0, 1e-8, -2.9999, 3.0, 3.0001, 27.0]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(activation._erf_array(x), expected, rtol=1e-14, atol=1e-16)
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # erf is NumPy-only: the same either way
    np.testing.assert_allclose(activation._erf_array(x), expected, rtol=1e-14, atol=1e-16)
    assert activation._erf_array(x.astype(np.float32)).dtype == np.float32


def test_softmax_is_stable_for_huge_inputs():
    x = np.array([[1000.0, 1001.0, -1000.0], [-1e4, -1e4, -1e4]])
    y = F.softmax(x).data
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0)
    ly = F.log_softmax(x).data
    np.testing.assert_allclose(ly[0, :2], np.log([1 / (1 + math.e), math.e / (1 + math.e)]), rtol=1e-12)
    np.testing.assert_allclose(ly[1], -math.log(3.0), rtol=1e-12)
    assert np.all(np.isfinite(F.softplus(np.array([-1e4, 0.0, 1e4])).data))


def test_float32_stays_float32():
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    for f in [F.softmax, F.log_softmax, F.gelu, F.silu, F.softplus, F.leaky_relu, F.elu, F.erf]:
        assert f(x).dtype == np.float32, f
    assert F.gelu(x, approximate="tanh").dtype == np.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="softmax: axis 2"):
        F.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(np.zeros(3), approximate="fast")
    with pytest.raises(ValueError, match="dropout: p"):
        F.dropout(np.zeros(3), p=1.5)


def test_dropout_statistics_and_gradient():
    x = cr.Variable(np.ones((400, 500)))
    y = F.dropout(x, p=0.3, training=True, rng=0)
    zero_frac = float((y.data == 0).mean())
    assert abs(zero_frac - 0.3) < 0.01
    kept = y.data[y.data != 0]
    np.testing.assert_allclose(kept, 1 / 0.7)
    assert abs(float(y.data.mean()) - 1.0) < 0.02  # inverted dropout keeps the expectation
    y.backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # d y / d x is the scaled mask
    gradcheck(lambda v: F.dropout(v, 0.5, training=True, rng=1), RNG.standard_normal((3, 4)))
    gradgradcheck(lambda v: F.dropout(v, 0.5, training=True, rng=1) ** 2, RNG.standard_normal((3, 4)))


def test_dropout_seeded_and_identity_in_test_mode():
    x = RNG.standard_normal((20, 30))
    a = F.dropout(x, 0.5, training=True, rng=5).data
    b = F.dropout(x, 0.5, training=True, rng=5).data
    np.testing.assert_array_equal(a, b)
    xv = cr.Variable(x)
    with cr.test_mode():
        assert F.dropout(xv, 0.5) is xv
    assert F.dropout(xv, 0.5, training=False) is xv
    assert F.dropout(xv, 0.0, training=True) is xv
    assert not np.array_equal(F.dropout(xv, 0.5).data, x)  # default mode is training
    assert F.dropout(x.astype(np.float32), 0.5, training=True).dtype == np.float32


def test_silu_and_softplus_use_the_one_array_sigmoid():
    """silu's forward and softplus's derivative are math.py's sigmoid bit for bit (there used to
    be a second, tanh-based logistic here with other roundings)."""
    x = np.concatenate([RNG.standard_normal(2000) * 4, [-800.0, -30.0, 0.0, 30.0, 800.0]])
    for dtype in (np.float64, np.float32):
        xs = x.astype(dtype)
        s = F.sigmoid(xs).data
        np.testing.assert_array_equal(F.silu(xs).data, xs * s)
        v = cr.Variable(xs)
        F.sum(F.softplus(v)).backward()
        np.testing.assert_array_equal(v.grad.data, s)


def test_first_order_rules_keep_what_the_forward_computed():
    """gelu/silu/leaky_relu take their first-order gradient from the forward's kept arrays and
    agree with the graph (create_graph) path, which runs the declared reference."""
    x = RNG.standard_normal((5, 7)) * 3
    for f in (F.gelu, lambda v: F.gelu(v, approximate="tanh"), F.silu, lambda v: F.leaky_relu(v, 0.2),
              lambda v: F.elu(v, 0.7), F.softplus, F.erf, lambda v: F.log_softmax(v, 0)):
        a, b = cr.Variable(x), cr.Variable(x)
        F.sum(f(a) * x).backward()
        g, = cr.gradients([F.sum(f(b) * x)], [b], create_graph=True)
        np.testing.assert_allclose(a.grad.data, g.data, rtol=1e-13, atol=1e-15)


def test_forward_mode_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4)) * 2
    t = RNG.standard_normal((3, 4))
    for ours, theirs in _torch_pairs(torch):
        _, tout = cr.jvp(ours, (x,), (t,))
        _, tt = torch.func.jvp(theirs, (torch.tensor(x),), (torch.tensor(t),))
        np.testing.assert_allclose(tout, tt.numpy(), rtol=1e-10, atol=1e-12)
