"""Power with a Variable exponent at the edges (zero base, zero exponent, Python-number base)
against PyTorch, first and second order; finite differences away from the edges."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

BASE = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 0.0, -1.5, 0.7, 3.0])
EXPO = np.array([2.0, 0.0, 3.0, 0.5, 1.5, -1.0, 2.0, 0.0, -0.3])


def _grads(f, arrays, order2=True):
    torch = pytest.importorskip("torch")
    xs = [cr.Variable(a.copy()) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y, yt = f(*xs), f(*ts)
        gs = cr.gradients([F.sum(y)], xs, create_graph=True)
        gts = torch.autograd.grad(yt.sum(), ts, create_graph=True)
        out = [(y.data, yt.detach().numpy())] + [(g.data, gt.detach().numpy()) for g, gt in zip(gs, gts)]
        if order2:
            g2 = cr.gradients([sum(F.sum(g * g) for g in gs)], xs)
            g2t = torch.autograd.grad(sum((g * g).sum() for g in gts), ts)
            out += [(g.data, gt.numpy()) for g, gt in zip(g2, g2t)]
        # the first-order (array) path gives the same as the graph path
        xs2 = [cr.Variable(a.copy()) for a in arrays]
        F.sum(f(*xs2)).backward()
        for x2, g in zip(xs2, gs):
            np.testing.assert_allclose(x2.grad.data, g.data, rtol=1e-14, atol=0)
    return out


def test_variable_base_and_exponent_first_order_match_torch_at_zero_base():
    y, gx, gp, *_ = _grads(lambda a, b: a ** b, [BASE, EXPO], order2=False)
    for ours, theirs in (y, gx, gp):
        np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)  # NaN and inf where PyTorch has them
    assert gp[0][0] == 0.0 and gx[0][1] == 0.0  # not NaN: zero base with p >= 0, zero exponent


def test_relu_power_has_finite_gradients_to_second_order():
    x = np.array([-1.0, 0.0, 0.5, 2.0, -0.2])
    p = np.array([2.0, 2.5, 3.0, 2.0, 3.0])
    out = _grads(lambda a, b: F.relu(a) ** b if isinstance(a, cr.Variable) else a.relu() ** b, [x, p])
    for ours, theirs in out:
        assert np.all(np.isfinite(ours))
        ok = np.isfinite(theirs)  # PyTorch's second order is NaN at the zero base (0 * log 0 inside)
        np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-12, atol=1e-14)
    # the true second derivatives there: s = sum(g_x^2 + g_p^2) is flat in x at relu(x) = 0 for p >= 2
    gg_x = out[3][0]
    assert gg_x[0] == 0.0 and gg_x[1] == 0.0 and gg_x[4] == 0.0


@pytest.mark.parametrize("c", [0.0, -2.0, 2.0, 0.5])
def test_python_number_base_matches_torch_and_never_raises(c):
    p = np.array([2.0, 0.0, 3.0, 1.5, -1.0, 2.0])
    y, gp, gg = _grads(lambda b: c ** b, [p])
    np.testing.assert_allclose(y[0], y[1], rtol=1e-14)
    np.testing.assert_allclose(gp[0], gp[1], rtol=1e-14)  # NaN for c < 0, -inf at c == 0, p < 0
    if c > 0:
        np.testing.assert_allclose(gg[0], gg[1], rtol=1e-12)
    else:
        ok = np.isfinite(gg[1])
        np.testing.assert_allclose(gg[0][ok], gg[1][ok], rtol=1e-12)


def test_pow_gradcheck_away_from_edges():
    a = np.array([[0.5, 1.7, 2.2], [0.9, 1.1, 3.0]])
    b = np.array([[-0.4, 2.0, 0.3], [1.5, -1.2, 0.8]])
    assert gradcheck(lambda u, v: u ** v, a, b)
    assert gradgradcheck(lambda u, v: u ** v, a, b)
    assert gradcheck(lambda u, v: u ** v, a, b[0])  # broadcasting exponent
    assert gradgradcheck(lambda v: 1.7 ** v, b)
