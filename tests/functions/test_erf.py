"""erf and GELU on NumPy alone: accuracy against math.erf/mpmath over dense grids and tails,
float32, special values, no SciPy import, and GELU (both forms) against PyTorch to second order."""
import math
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.functions.activation import _erf_array, _normal_cdf
from chainrule.testing import gradcheck, gradgradcheck

from ..oracle import torch_compare


def _grid():
    lin = np.linspace(-7.0, 7.0, 140001)
    geo = np.geomspace(1e-300, 1e3, 3000)
    edges = np.array([1.0, np.nextafter(1.0, 2), np.nextafter(1.0, 0), 5.9, 6.0, 27.0])
    return np.concatenate([lin, geo, -geo, edges, -edges])


def test_erf_float64_matches_math_erf_to_1e15():
    x = _grid()
    ref = np.array([math.erf(v) for v in x])
    got = _erf_array(x)
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
    assert rel.max() < 1e-15, (rel.max(), x[rel.argmax()])
    assert np.all(np.abs(got) <= 1.0)


def test_erf_against_mpmath_and_odd():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    x = np.linspace(0.0, 6.5, 2601)
    exact = np.array([float(mpmath.erf(mpmath.mpf(v))) for v in x])
    got = _erf_array(x)
    np.testing.assert_allclose(got, exact, rtol=4e-16, atol=0)
    np.testing.assert_array_equal(_erf_array(-x), -got)


def test_normal_cdf_tails_relative_accuracy():
    """Phi(x) = erfc(-x/sqrt2)/2 keeps full relative precision far into the lower tail."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    x = np.concatenate([-np.linspace(0.0, 37.0, 1851), np.linspace(0.0, 9.0, 451)])
    exact = np.array([float(mpmath.ncdf(mpmath.mpf(v))) for v in x])
    np.testing.assert_allclose(_normal_cdf(x), exact, rtol=2e-15, atol=0)


def test_erf_special_values_and_dtypes():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e308, -1e308, 5e-324])
    y = _erf_array(x)
    np.testing.assert_array_equal(y[[0, 1, 3, 5, 6]], [1.0, -1.0, 0.0, 1.0, -1.0])
    assert np.isnan(y[2]) and np.signbit(y[4]) and y[7] > 0
    np.testing.assert_array_equal(_normal_cdf(x[:3])[:2], [1.0, 0.0])
    assert _erf_array(np.float32([0.5, 3.0])).dtype == np.float32
    assert _erf_array(np.float16([0.5, 3.0])).dtype == np.float16
    assert _erf_array(np.array([0, 1, 2])).dtype == np.float64
    assert _erf_array(np.array(0.5)).shape == ()
    assert F.erf(0.5).data == pytest.approx(math.erf(0.5), rel=1e-15)


def test_erf_float32_within_a_few_ulp():
    x = np.linspace(-6, 6, 120001, dtype=np.float32)
    ref = np.array([math.erf(float(v)) for v in x])
    got = _erf_array(x)
    assert got.dtype == np.float32
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert (np.abs(got - ref) / ulp).max() <= 3


def test_erf_and_gelu_never_import_scipy():
    code = ("import sys, numpy as np; import chainrule.functions as F; x = np.linspace(-9, 9, 101);"
            "F.erf(x); F.gelu(x); F.gelu(x, approximate='tanh');"
            "assert not any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules), 'scipy imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_first_and_second_order(approximate):
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-12, 12, 97), [0.0, -1.4142, 1.4143, -30.0]]).reshape(-1, 101 // 101)
    torch_compare(lambda v: F.gelu(v, approximate=approximate),
                  lambda t: torch.nn.functional.gelu(t, approximate=approximate), x, rtol=1e-13, atol=1e-15)
    xv = cr.Variable(x)
    g, = cr.gradients([F.sum(F.gelu(xv, approximate=approximate) ** 3)], [xv], create_graph=True)
    g2, = cr.gradients([F.sum(g * g)], [xv])
    xt = torch.tensor(x, requires_grad=True)
    gt, = torch.autograd.grad((torch.nn.functional.gelu(xt, approximate=approximate) ** 3).sum(), xt,
                              create_graph=True)
    g2t, = torch.autograd.grad((gt * gt).sum(), xt)
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g2.data, g2t.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_matches_torch(approximate):
    torch = pytest.importorskip("torch")
    x = np.linspace(-10, 10, 2001, dtype=np.float32)
    v = cr.Variable(x)
    y = F.gelu(v, approximate=approximate)
    F.sum(y).backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.gelu(xt, approximate=approximate)
    yt.sum().backward()
    assert y.dtype == np.float32 and v.grad.dtype == np.float32
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(v.grad.data, xt.grad.numpy(), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_including_tails(approximate):
    x = np.array([[-9.0, -3.2, -1.5, -0.3, 0.0], [0.4, 1.2, 1.5, 3.7, 8.0]])
    f = lambda v: F.gelu(v, approximate=approximate)  # noqa: E731
    assert gradcheck(f, x)
    assert gradgradcheck(f, x)
    assert gradcheck(F.erf, x)
    assert gradgradcheck(F.erf, x)


@pytest.mark.parametrize("op", [lambda v: F.gelu(v), lambda v: F.gelu(v, approximate="tanh"), F.erf])
def test_first_order_array_path_agrees_with_graph_path(op):
    x = np.random.default_rng(0).standard_normal((4, 6)) * 3
    for dtype in (np.float64, np.float32):
        xs = x.astype(dtype)
        a, b = cr.Variable(xs), cr.Variable(xs)
        F.sum(op(a) * 1.5).backward()
        g, = cr.gradients([F.sum(op(b) * 1.5)], [b], create_graph=True)
        f32 = dtype is np.float32  # the tanh form cancels in 1 + tanh for x << 0: compare with an atol
        np.testing.assert_allclose(a.grad.data, g.data, rtol=1e-6 if f32 else 1e-14, atol=1e-6 if f32 else 1e-15)


def test_gelu_0d_and_integer_inputs():
    assert F.gelu(np.array(1.0)).shape == ()
    assert F.gelu(np.array(1.0), approximate="tanh").data == pytest.approx(0.8411919906082768, rel=1e-15)
    np.testing.assert_allclose(F.gelu(np.array([1, -2])).data, [0.8413447460685429, -0.04550026389635842],
                               rtol=1e-15)


def test_normal_cdf_float32_tails():
    mpmath = pytest.importorskip("mpmath")
    x = np.linspace(-13.0, 6.0, 1901, dtype=np.float32)
    exact = np.array([float(mpmath.ncdf(mpmath.mpf(float(v)))) for v in x])
    got = _normal_cdf(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=1e-5, atol=0)


def test_float16_gelu_stays_float16():
    x = cr.Variable(np.linspace(-4, 4, 9).astype(np.float16))
    for approximate in ("none", "tanh"):
        assert F.gelu(x, approximate=approximate).dtype == np.float16
    assert F.erf(x).dtype == np.float16
