"""requires_grad, detach, register_hook and retain_grad (PyTorch as the oracle where it applies)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

X = np.array([0.5, -1.0, 2.0])


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# ----- requires_grad -----
def test_requires_grad_is_true_by_default_and_ops_on_non_requiring_inputs_record_nothing():
    x = cr.Variable(X)
    assert x.requires_grad and (x * 2.0).requires_grad
    c = cr.Variable(X, requires_grad=False)
    d = cr.Variable(X).requires_grad_(False)
    for y in (c * 2.0, c + d, F.exp(c), F.concat([c, d], axis=0), F.where(c > 0, c, d)):
        assert y.creator is None and not y.requires_grad
    y = c * x  # one input requires grad: recorded
    assert y.creator is not None and y.requires_grad


def test_a_leaf_that_does_not_require_grad_gets_no_grad():
    x, c = cr.Variable(X), cr.Variable(X * 2, requires_grad=False)
    F.sum(x * c).backward()
    np.testing.assert_allclose(x.grad.data, X * 2)
    assert c.grad is None


def test_no_grad_outputs_do_not_require_grad():
    x = cr.Variable(X)
    with cr.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.creator is None


def test_only_a_leaf_flag_can_be_set_to_false():
    y = cr.Variable(X) * 2.0
    with pytest.raises(RuntimeError, match="only a leaf"):
        y.requires_grad = False
    y.requires_grad = True  # harmless
    x = cr.Variable(X)
    assert x.requires_grad_(False) is x and not x.requires_grad


def test_backward_and_gradients_refuse_what_has_no_graph():
    c = cr.Variable(X, requires_grad=False)
    y = F.sum(c * c)
    with pytest.raises(RuntimeError, match="does not require grad and has no creator"):
        y.backward()
    with pytest.raises(RuntimeError, match="does not require grad and has no creator"):
        cr.backward([y])
    x = cr.Variable(X)
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.gradients(F.sum(x * c), [x, c])


def test_freezing_one_factor_matches_torch(torch):
    x, w = cr.Variable(X), cr.Variable(X[::-1].copy())
    w.requires_grad = False
    F.sum(F.sin(x * w) * x).backward()
    xt, wt = torch.tensor(X, requires_grad=True), torch.tensor(X[::-1].copy())
    (torch.sin(xt * wt) * xt).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
    assert w.grad is None


# ----- detach -----
def test_detach_shares_data_has_no_creator_and_stops_gradients():
    x = cr.Variable(X.copy())
    y = x * 3.0
    d = y.detach()
    assert d.creator is None and not d.requires_grad
    assert np.shares_memory(d.data, y.data)
    F.sum(x * d).backward()  # d is a constant
    np.testing.assert_allclose(x.grad.data, 3 * X)
    assert d.grad is None
    e = y.detach().requires_grad_()
    F.sum(e * e).backward()
    np.testing.assert_allclose(e.grad.data, 6 * X)


# ----- hooks -----
def test_hooks_see_and_replace_gradients_like_torch(torch):
    seen = []
    x = cr.Variable(X)
    y = x * x
    y.register_hook(lambda g: seen.append(g.data.copy()))
    y.register_hook(lambda g: g * 10.0)
    x.register_hook(lambda g: g + 1.0)
    F.sum(F.sin(y)).backward()
    xt = torch.tensor(X, requires_grad=True)
    yt = xt * xt
    yt.register_hook(lambda g: g * 10.0)
    xt.register_hook(lambda g: g + 1.0)
    torch.sin(yt).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(seen[0], np.cos(X * X), rtol=1e-12)
    assert isinstance(x.grad.data, np.ndarray)


def test_hooks_work_in_create_graph_passes_like_torch(torch):
    x = cr.Variable(X)
    y = x ** 3
    y.register_hook(lambda g: g * 2.0)
    (gx,) = cr.gradients(F.sum(y), [x], create_graph=True)
    F.sum(gx * gx).backward()
    xt = torch.tensor(X, requires_grad=True)
    yt = xt ** 3
    yt.register_hook(lambda g: g * 2.0)
    (gt,) = torch.autograd.grad(yt.sum(), [xt], create_graph=True)
    (gt * gt).sum().backward()
    np.testing.assert_allclose(gx.data, gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)


def test_hook_handles_remove_and_bad_hooks_are_refused():
    x = cr.Variable(X)
    h = x.register_hook(lambda g: g * 0.0)
    h.remove()
    h.remove()  # twice is fine
    F.sum(x * 2.0).backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.ones(3))
    x.register_hook(lambda g: np.ones(4))
    with pytest.raises(ValueError, match=r"hook .* shape \(4,\), expected \(3,\)"):
        F.sum(x * 2.0).backward()
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.Variable(X, requires_grad=False).register_hook(print)


# ----- retain_grad -----
def test_retain_grad_keeps_one_intermediate_like_torch(torch):
    x = cr.Variable(X)
    y = x * x
    z = F.sin(y)
    y.retain_grad()
    y.register_hook(lambda g: g * 3.0)  # retained after the hooks, as in PyTorch
    F.sum(z).backward()
    assert z.grad is None and y.retains_grad and not z.retains_grad
    xt = torch.tensor(X, requires_grad=True)
    yt = xt * xt
    yt.retain_grad()
    yt.register_hook(lambda g: g * 3.0)
    torch.sin(yt).sum().backward()
    np.testing.assert_allclose(y.grad.data, yt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
    x.retain_grad()  # a leaf: nothing to do
    assert not x.retains_grad


def test_hooks_and_retain_grad_on_outputs_of_a_multi_output_op_like_torch(torch):
    x = cr.Variable(np.arange(4.0))
    a, b = F.split(x, 2)
    a.register_hook(lambda g: g * 10.0)
    b.retain_grad()
    F.sum(a * b).backward()
    xt = torch.arange(4.0, dtype=torch.float64, requires_grad=True)
    at, bt = torch.split(xt, 2)
    at.register_hook(lambda g: g * 10.0)
    bt.retain_grad()
    (at * bt).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy())
    np.testing.assert_allclose(b.grad.data, bt.grad.numpy())
