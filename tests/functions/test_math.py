"""Elementwise math ops: finite differences (1st and 2nd order), PyTorch oracle, higher-order
series from the reference documents, and bad input."""
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.functions import math as M
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)


def _away_from_zero(shape, lo=0.2, hi=1.5):
    """Random values with |x| in [lo, hi] (away from kinks at 0)."""
    return RNG.uniform(lo, hi, shape) * RNG.choice([-1.0, 1.0], shape)


# (name, chainrule function, torch function name, input generator)
UNARY = [
    ("square", F.square, "square", lambda s: RNG.standard_normal(s)),
    ("sqrt", F.sqrt, "sqrt", lambda s: RNG.uniform(0.5, 2.0, s)),
    ("rsqrt", F.rsqrt, "rsqrt", lambda s: RNG.uniform(0.5, 2.0, s)),
    ("exp", F.exp, "exp", lambda s: RNG.standard_normal(s)),
    ("log", F.log, "log", lambda s: RNG.uniform(0.5, 2.0, s)),
    ("sin", F.sin, "sin", lambda s: RNG.standard_normal(s)),
    ("cos", F.cos, "cos", lambda s: RNG.standard_normal(s)),
    ("tan", F.tan, "tan", lambda s: RNG.uniform(-1.2, 1.2, s)),
    ("tanh", F.tanh, "tanh", lambda s: RNG.standard_normal(s)),
    ("sigmoid", F.sigmoid, "sigmoid", lambda s: RNG.standard_normal(s) * 3),
    ("relu", F.relu, "relu", _away_from_zero),
    ("abs", F.abs, "abs", _away_from_zero),
]
UNARY_IDS = [u[0] for u in UNARY]


@pytest.mark.parametrize("name,f,tname,gen", UNARY, ids=UNARY_IDS)
def test_unary_gradcheck(name, f, tname, gen):
    x = gen((2, 3))
    gradcheck(f, x)
    gradgradcheck(f, x)


@pytest.mark.parametrize("name,f,tname,gen", UNARY, ids=UNARY_IDS)
def test_unary_matches_torch(name, f, tname, gen):
    torch = pytest.importorskip("torch")
    x = gen((3, 4))
    w = RNG.standard_normal((3, 4))
    xv = cr.Variable(x)
    y = f(xv)
    (y * w).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch, tname)(xt)
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,f,tname,gen", UNARY, ids=UNARY_IDS)
def test_unary_keeps_float32(name, f, tname, gen):
    x = cr.Variable(gen((2, 2)).astype(np.float32))
    y = f(x)
    assert y.dtype == np.float32 and y.shape == (2, 2)
    y.backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("f", [M.Exp, M.Tanh, M.Sigmoid, M.Sqrt, M.Rsqrt, M.Tan])
def test_backward_recomputes_a_dropped_output(f):
    x = cr.Variable(RNG.uniform(0.5, 1.0, (3,)))
    fn = f()
    y = fn(x)
    expected = fn.backward(cr.Variable(np.ones(3))).data.copy()
    del y
    assert fn.outputs[0]() is None
    np.testing.assert_allclose(fn.backward(cr.Variable(np.ones(3))).data, expected, rtol=1e-15)


# ----- the reference documents' examples -----
def test_quick_start_square_exp_square():
    x = cr.variable(0.5)
    y = F.square(F.exp(F.square(x)))
    assert repr(y) == "variable(1.648721270700128)"
    y.backward()
    assert repr(x.grad) == "variable(3.297442541400256)"


def test_higher_order_sin_series():
    x = cr.variable(1.0)
    y = F.sin(x)
    y.backward(create_graph=True)
    assert repr(y) == "variable(0.8414709848078965)"
    got = [x.grad.item()]
    for _ in range(5):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        got.append(x.grad.item())
    s, c = math.sin(1.0), math.cos(1.0)
    assert got == [c, -s, -c, s, c, -s]
    assert repr(x.grad) == "variable(-0.8414709848078965)"


def _derivatives(f, x0, n):
    """The first ``n`` derivatives of ``f`` at ``x0`` by repeated double backprop."""
    x = cr.variable(x0)
    y = f(x)
    y.backward(create_graph=True)
    out = [x.grad.item()]
    for _ in range(n - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        out.append(x.grad.item())
    return out


def test_cos_series():
    s, c = math.sin(0.7), math.cos(0.7)
    np.testing.assert_allclose(_derivatives(F.cos, 0.7, 4), [-s, -c, s, c], rtol=1e-15)


def test_log_series():
    x0 = 1.7
    expected = [(-1) ** (n - 1) * math.factorial(n - 1) / x0 ** n for n in range(1, 6)]
    np.testing.assert_allclose(_derivatives(F.log, x0, 5), expected, rtol=1e-13)


def test_exp_series():
    np.testing.assert_allclose(_derivatives(F.exp, 0.3, 5), [math.exp(0.3)] * 5, rtol=1e-15)


def test_pow_series():
    x0, c = 1.3, 3.5
    expected, coef = [], 1.0
    for n in range(1, 5):
        coef *= c - n + 1
        expected.append(coef * x0 ** (c - n))
    np.testing.assert_allclose(_derivatives(lambda x: x ** c, x0, 4), expected, rtol=1e-13)


def test_sqrt_rsqrt_series():
    x0 = 1.9
    np.testing.assert_allclose(_derivatives(F.sqrt, x0, 3),
                               [0.5 * x0 ** -0.5, -0.25 * x0 ** -1.5, 0.375 * x0 ** -2.5], rtol=1e-13)
    np.testing.assert_allclose(_derivatives(F.rsqrt, x0, 3),
                               [-0.5 * x0 ** -1.5, 0.75 * x0 ** -2.5, -1.875 * x0 ** -3.5], rtol=1e-13)


def test_tanh_series_closed_form():
    x0 = 0.4
    t = math.tanh(x0)
    d1 = 1 - t * t
    d2 = -2 * t * d1
    d3 = -2 * d1 * (1 - 3 * t * t)
    d4 = 8 * t * d1 * (2 - 3 * t * t)
    np.testing.assert_allclose(_derivatives(F.tanh, x0, 4), [d1, d2, d3, d4], rtol=1e-13)


def test_sigmoid_series_closed_form():
    x0 = -0.6
    s = 1 / (1 + math.exp(-x0))
    d1 = s * (1 - s)
    d2 = d1 * (1 - 2 * s)
    d3 = d1 * (1 - 6 * s + 6 * s * s)
    np.testing.assert_allclose(_derivatives(F.sigmoid, x0, 3), [d1, d2, d3], rtol=1e-13)


def test_third_order_matches_torch():
    torch = pytest.importorskip("torch")
    x0 = RNG.standard_normal(4)
    for f, tf in [(F.tanh, torch.tanh), (F.sigmoid, torch.sigmoid), (F.tan, torch.tan)]:
        x = cr.Variable(x0 * 0.5)
        g1, = cr.gradients(f(x).sum(), [x], create_graph=True)
        g2, = cr.gradients(g1.sum(), [x], create_graph=True)
        g3, = cr.gradients(g2.sum(), [x])
        xt = torch.tensor(x0 * 0.5, requires_grad=True)
        t1, = torch.autograd.grad(tf(xt).sum(), xt, create_graph=True)
        t2, = torch.autograd.grad(t1.sum(), xt, create_graph=True)
        t3, = torch.autograd.grad(t2.sum(), xt)
        np.testing.assert_allclose(g3.data, t3.numpy(), rtol=1e-11, atol=1e-13)


def test_newton_method_by_double_backprop():
    x = cr.variable(2.0)
    for _ in range(10):
        y = x ** 4 - 2 * x ** 2
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        gx2 = x.grad
        x.cleargrad()
        x.data = x.data - gx.data / gx2.data
    assert abs(x.item() - 1.0) < 1e-12


# ----- stability -----
def test_sigmoid_is_stable_and_precise():
    x = cr.Variable(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.sigmoid(x)
        y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[2] == 0.5
    np.testing.assert_allclose(y.data[1], math.exp(-40.0) / (1 + math.exp(-40.0)), rtol=1e-14)
    np.testing.assert_allclose(x.grad.data[[0, 2, 4]], [0.0, 0.25, 0.0])


# ----- piecewise ops -----
def test_relu_abs_gradient_at_zero_is_zero():
    x = cr.Variable(np.array([-1.0, 0.0, 2.0]))
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])
    x.cleargrad()
    F.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("lo,hi", [(-0.5, 0.7), (None, 0.3), (-0.2, None)])
def test_clip_gradcheck_and_torch(lo, hi):
    x = RNG.uniform(-1, 1, (3, 4))
    x[np.abs(x - (lo if lo is not None else 9)) < 0.01] += 0.05
    x[np.abs(x - (hi if hi is not None else 9)) < 0.01] += 0.05
    gradcheck(lambda v: F.clip(v, lo, hi), x)
    gradgradcheck(lambda v: F.clip(v, lo, hi), x)
    torch = pytest.importorskip("torch")
    xv = cr.Variable(x)
    y = F.clip(xv, lo, hi)
    y.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.clamp(xt, lo, hi)
    yt.sum().backward()
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(xv.grad.data, xt.grad.numpy())


def test_clip_bounds_are_inclusive_for_the_gradient():
    x = cr.Variable(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    y = F.clip(x, -1.0, 1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))])
@pytest.mark.parametrize("fname", ["maximum", "minimum"])
def test_maximum_minimum_broadcasting(shapes, fname):
    f = getattr(F, fname)
    a = RNG.standard_normal(shapes[0])
    b = RNG.standard_normal(shapes[1])
    gradcheck(f, a, b)
    gradgradcheck(f, a, b)
    torch = pytest.importorskip("torch")
    av, bv = cr.Variable(a), cr.Variable(b)
    w = RNG.standard_normal(np.broadcast_shapes(a.shape, b.shape))
    y = f(av, bv)
    (y * w).sum().backward()
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = getattr(torch, fname)(at, bt)
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_allclose(av.grad.data, at.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(bv.grad.data, bt.grad.numpy(), rtol=1e-14)


@pytest.mark.parametrize("fname", ["maximum", "minimum"])
def test_maximum_minimum_split_ties_like_torch(fname):
    f = getattr(F, fname)
    a = cr.Variable(np.array([1.0, 2.0, 3.0]))
    b = cr.Variable(np.array([1.0, 1.0, 4.0]))
    f(a, b).sum().backward()
    first = [0.5, 1.0, 0.0] if fname == "maximum" else [0.5, 0.0, 1.0]
    np.testing.assert_array_equal(a.grad.data, first)
    np.testing.assert_array_equal(b.grad.data, 1.0 - np.array(first))
    torch = pytest.importorskip("torch")
    at = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    getattr(torch, fname)(at, torch.tensor([1.0, 1.0, 4.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, at.grad.numpy())


@pytest.mark.parametrize("fname", ["maximum", "minimum"])
def test_maximum_minimum_with_a_number(fname):
    f = getattr(F, fname)
    x = cr.Variable(np.array([-1.0, 0.0, 2.0], dtype=np.float32))
    y = f(x, 0.0)
    assert y.dtype == np.float32
    y.sum().backward()
    ref = np.maximum(x.data, 0) if fname == "maximum" else np.minimum(x.data, 0)
    np.testing.assert_array_equal(y.data, ref)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 1.0] if fname == "maximum" else [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(f(0.0, x).data, ref)
    gradgradcheck(lambda v: f(v, 0.3) * v, RNG.standard_normal((2, 3)))


# ----- cast -----
def test_cast_between_floats_is_differentiable():
    x = cr.Variable(np.array([0.5, -1.5, 2.0]))
    y = F.cast(x, np.float32)
    assert y.dtype == np.float32 and y.creator is not None
    (y * y * y).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, 3 * x.data ** 2, rtol=1e-6)
    gx = x.grad
    x.cleargrad()
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data, rtol=1e-6)
    assert x.astype(np.float32).dtype == np.float32
    # float32 round trip: a large step keeps the finite differences above float32 rounding
    f = lambda v: F.cast(F.square(F.cast(v, np.float32)), np.float64)  # noqa: E731
    gradcheck(f, RNG.standard_normal((2, 3)), eps=1e-2, atol=1e-3, rtol=1e-3)
    gradgradcheck(f, RNG.standard_normal((2, 3)), eps=1e-2, atol=1e-3, rtol=1e-3)


def test_cast_to_and_from_integers_is_a_leaf():
    x = cr.Variable(np.array([0.7, -1.2, 2.0]))
    i = F.cast(x, np.int64)
    assert i.dtype == np.int64 and i.creator is None
    np.testing.assert_array_equal(i.data, [0, -1, 2])
    b = F.cast(x > 0, np.float64)
    assert b.creator is None and b.dtype == np.float64
    (x * b).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])


# ----- bad input -----
def test_bad_input_errors():
    with pytest.raises(TypeError):
        F.exp("abc")
    with pytest.raises(TypeError):
        F.sin(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="clip"):
        F.clip(cr.Variable(np.ones(2)), None, None)
    with pytest.raises(TypeError, match="clip"):
        F.clip(cr.Variable(np.ones(2)), "a", 1.0)
    with pytest.raises(TypeError, match="cast"):
        F.cast(cr.Variable(np.ones(2)), "not-a-dtype")
    with pytest.raises(TypeError, match="cast"):
        F.cast(cr.Variable(np.ones(2)), np.str_)
    with pytest.raises(ValueError, match="maximum"):
        F.maximum(cr.Variable(np.ones((2, 3))), cr.Variable(np.ones((4,))))
