"""Reductions: finite differences (1st and 2nd order) over axis/keepdims choices, PyTorch
oracle, tie rule of max/min, stability of logsumexp, and axis errors."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.functions import reduction as R
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(99)
SHAPE = (2, 3, 2)
AXES = [None, 0, -1, (0, 2), (1,)]

OPS = {
    "sum": lambda x, axis, keepdims: F.sum(x, axis, keepdims),
    "mean": lambda x, axis, keepdims: F.mean(x, axis, keepdims),
    "var": lambda x, axis, keepdims: F.var(x, axis, keepdims),
    "var_ddof1": lambda x, axis, keepdims: F.var(x, axis, keepdims, ddof=1),
    "max": lambda x, axis, keepdims: F.max(x, axis, keepdims),
    "min": lambda x, axis, keepdims: F.min(x, axis, keepdims),
    "logsumexp": lambda x, axis, keepdims: F.logsumexp(x, axis, keepdims),
}


def _distinct(shape):
    """Values without ties, at least 0.1 apart (so max/min are smooth under finite differences)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def _np_shape(shape, axis, keepdims):
    return np.sum(np.zeros(shape), axis=axis, keepdims=keepdims).shape


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(OPS))
def test_gradcheck(name, axis, keepdims):
    f = OPS[name]
    x = _distinct(SHAPE)
    y = f(cr.Variable(x), axis, keepdims)
    assert y.shape == _np_shape(SHAPE, axis, keepdims)
    gradcheck(lambda v: f(v, axis, keepdims), x)
    gradgradcheck(lambda v: f(v, axis, keepdims), x)


def _torch_op(torch, name, t, axis, keepdims):
    dim = tuple(range(t.ndim)) if axis is None else axis
    if name == "sum":
        return torch.sum(t, dim=dim, keepdim=keepdims)
    if name == "mean":
        return torch.mean(t, dim=dim, keepdim=keepdims)
    if name.startswith("var"):
        return torch.var(t, dim=dim, keepdim=keepdims, correction=1 if name == "var_ddof1" else 0)
    if name == "max":
        return torch.amax(t, dim=dim, keepdim=keepdims)
    if name == "min":
        return torch.amin(t, dim=dim, keepdim=keepdims)
    return torch.logsumexp(t, dim=dim, keepdim=keepdims)


@pytest.mark.parametrize("axis", [None, 1, (0, -1)], ids=str)
@pytest.mark.parametrize("name", list(OPS))
def test_matches_torch(name, axis):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4, 2))
    x[0, :2, 0] = x.max() + 1.0  # a tie at the maximum
    x[2, :2, 1] = x.min() - 1.0  # and at the minimum
    for keepdims in (False, True):
        xv = cr.Variable(x)
        y = OPS[name](xv, axis, keepdims)
        w = RNG.standard_normal(y.shape)
        (y * w).sum().backward()
        xt = torch.tensor(x, requires_grad=True)
        yt = _torch_op(torch, name, xt, axis, keepdims)
        (yt * torch.tensor(w)).sum().backward()
        assert y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", [R.LogSumExp, R.Max, R.Min])
def test_backward_recomputes_a_dropped_output(cls):
    x = cr.Variable(RNG.standard_normal((2, 3)))
    fn = cls((1,), False)
    y = fn(x)
    expected = fn.backward(cr.Variable(np.ones(2))).data.copy()
    del y
    assert fn.outputs[0]() is None
    np.testing.assert_allclose(fn.backward(cr.Variable(np.ones(2))).data, expected, rtol=1e-15)


def test_max_min_split_ties_equally():
    x = cr.Variable(np.array([1.0, 3.0, 3.0, -2.0]))
    F.max(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5, 0.0])
    x = cr.Variable(np.array([[4.0, 4.0, 4.0], [1.0, 1.0, 5.0]]))
    F.min(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]], rtol=1e-15)


def test_sum_of_broadcast_second_order():
    # d/dx of sum(x * sum(x)) = sum(x) + sum(x) * ... : Hessian is all 2s
    x = cr.Variable(RNG.standard_normal(4))
    g, = cr.gradients(F.sum(x * F.sum(x)), [x], create_graph=True)
    np.testing.assert_allclose(g.data, 2 * x.data.sum())
    h, = cr.gradients(g.sum(), [x])
    np.testing.assert_allclose(h.data, np.full(4, 8.0))


def test_logsumexp_is_stable():
    x = cr.Variable(np.array([[1000.0, 1000.0], [-1000.0, -np.inf]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.logsumexp(x, axis=1)
        y.sum().backward()
    np.testing.assert_allclose(y.data, [1000.0 + np.log(2.0), -1000.0], rtol=1e-15)
    np.testing.assert_allclose(x.grad.data, [[0.5, 0.5], [1.0, 0.0]], rtol=1e-12)


def test_float32_kept_and_int_sum():
    x = cr.Variable(RNG.standard_normal((2, 3)).astype(np.float32))
    for f in (F.sum, F.mean, F.var, F.max, F.min, F.logsumexp):
        y = f(x, 1)
        assert y.dtype == np.float32
        x.cleargrad()
        y.sum().backward()
        assert x.grad.dtype == np.float32 and x.grad.shape == (2, 3)
    i = cr.Variable(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(F.sum(i, 0).data, [3, 5, 7])


def test_torch_style_spellings_and_methods():
    x = cr.Variable(RNG.standard_normal((2, 3, 4)))
    np.testing.assert_array_equal(F.sum_dim(x, 1).data, F.sum(x, 1).data)
    assert F.sum_dim(x, -1, keepdim=True).shape == (2, 3, 1)
    np.testing.assert_array_equal(F.mean_dim(x, 0, keepdim=True).data, F.mean(x, 0, keepdims=True).data)
    gradcheck(lambda v: F.mean_dim(v, 2) * F.sum_dim(v, 2), x.data)
    np.testing.assert_array_equal(x.sum(axis=2).data, x.data.sum(axis=2))
    np.testing.assert_array_equal(x.mean(1, keepdims=True).data, x.data.mean(1, keepdims=True))
    np.testing.assert_array_equal(x.max(0).data, x.data.max(0))
    np.testing.assert_array_equal(x.min().data, x.data.min())


def test_empty_axis_tuple_is_identity():
    x = cr.Variable(RNG.standard_normal((2, 3)))
    y = F.sum(x, ())
    np.testing.assert_array_equal(y.data, x.data)
    gradcheck(lambda v: F.sum(v, ()) * F.mean(v, ()), x.data)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "min", "logsumexp", "sum_dim", "mean_dim"])
def test_axis_errors_name_op_axis_and_shape(name):
    f = getattr(F, name)
    x = cr.Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"^{name}: axis 2 .*\(2, 3\)"):
        f(x, 2)
    with pytest.raises(ValueError, match=rf"^{name}: axis -3 .*\(2, 3\)"):
        f(x, -3)
    with pytest.raises(ValueError, match=rf"^{name}: repeated axis"):
        f(x, (1, -1))
    with pytest.raises(TypeError, match=rf"^{name}: axis"):
        f(x, 1.5)
    with pytest.raises(TypeError, match=rf"^{name}: axis"):
        f(x, "0")


def test_other_bad_input():
    with pytest.raises(ValueError, match="max: .*empty"):
        F.max(cr.Variable(np.zeros((0, 3))))
    with pytest.raises(TypeError, match="var: ddof"):
        F.var(cr.Variable(np.ones(3)), ddof=0.5)
    with pytest.raises(TypeError):
        F.sum("abc")
    assert R.normalize_axis("op", np.int64(-1), (2, 3)) == (1,)
    assert R.normalize_axis("op", [2, 0], (2, 3, 4)) == (0, 2)


# ----- forward mode (the jvp rules) -----
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)], ids=str)
@pytest.mark.parametrize("name", list(OPS))
def test_jvp_is_the_directional_derivative(name, axis, keepdims):
    """``cr.jvp`` pushes the tangent through each reduction's jvp rule (one sweep, arrays out);
    it agrees with the reverse-mode gradient: <J t, w> = <t, J^T w>."""
    x = _distinct(SHAPE)[:, ::-1]  # non-contiguous
    t = RNG.standard_normal(SHAPE)
    y, ty = cr.jvp(lambda v: OPS[name](v, axis, keepdims), (x,), (t,))
    assert isinstance(ty, np.ndarray) and ty.shape == y.shape == _np_shape(SHAPE, axis, keepdims)
    w = RNG.standard_normal(y.shape)
    xv = cr.Variable(x)
    g, = cr.gradients([OPS[name](xv, axis, keepdims)], [xv], grad_outputs=[cr.Variable(w)])
    np.testing.assert_allclose(np.sum(ty * w), np.sum(g.data * t), rtol=1e-12)


def test_jvp_of_max_splits_the_tangent_among_ties_as_the_gradient_does():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    t = np.array([[5.0, 1.0, 2.0], [4.0, 7.0, 6.0]])
    _, ty = cr.jvp(lambda v: F.max(v, axis=1), (x,), (t,))
    np.testing.assert_allclose(ty, [1.5, 5.0], rtol=1e-15)


def test_jvp_keeps_float32():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    for f in (F.sum, F.mean, F.var, F.logsumexp):
        y, ty = cr.jvp(lambda v, f=f: f(v, 1), (x,), (np.ones_like(x),))
        assert y.dtype == ty.dtype == np.float32, f.__name__


def test_the_one_rule_gives_every_order_of_mean_and_var():
    """Third derivative of sum(var(x)^2) from the same rule (create_graph reuses it on Variables)."""
    a = RNG.standard_normal((2, 3))
    assert gradgradcheck(lambda x: F.var(x, axis=1) * F.mean(x, axis=1), a)
    x = cr.Variable(a)
    g, = cr.gradients(F.sum(F.var(x) ** 2), [x], create_graph=True)
    h, = cr.gradients(F.sum(g * g), [x], create_graph=True)
    k, = cr.gradients(F.sum(h), [x])
    n = a.size
    c = a - a.mean()
    v = (c ** 2).mean()
    # g = 4 v c / n; sum(g^2) = 16 v^2 sum(c^2) / n^2 = 16 v^3 / n; h = 48 v^2 * 2c / n^2
    np.testing.assert_allclose(h.data, 96 * v ** 2 * c / n ** 2, rtol=1e-12)
    # k = d/dx sum(96 v^2 c / n^2) = 0 (sum(c) == 0, and d sum(c) = 0)
    np.testing.assert_allclose(k.data, np.zeros_like(a), atol=1e-12)
