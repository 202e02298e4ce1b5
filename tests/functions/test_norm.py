"""batch_norm / layer_norm / rms_norm: gradients to second order, PyTorch oracle, running statistics."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (3, 2, 2, 2)])
def test_batch_norm_train_grads(shape):
    c = shape[1]
    x, g, b = RNG.standard_normal(shape), RNG.standard_normal(c), RNG.standard_normal(c)
    f = lambda x, g, b: F.batch_norm(x, g, b, training=True)  # noqa: E731
    gradcheck(f, x, g, b)
    gradgradcheck(f, x, g, b)


def test_batch_norm_eval_grads(device):
    x, g, b = RNG.standard_normal((3, 2, 2, 2)), RNG.standard_normal(2), RNG.standard_normal(2)
    be = cr.get_backend(device)  # gradcheck moves x, g, b there; the running statistics go along
    rm, rv = be.asarray(RNG.standard_normal(2)), be.asarray(RNG.random(2) + 0.5)
    f = lambda x, g, b: F.batch_norm(x, g, b, rm, rv, training=False)  # noqa: E731
    gradcheck(f, x, g, b)
    gradgradcheck(f, x, g, b)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 2, 3)])
def test_batch_norm_against_torch_train_then_eval(shape):
    torch = pytest.importorskip("torch")
    c = shape[1]
    x = RNG.standard_normal(shape) * 2 + 1
    g, b = RNG.standard_normal(c), RNG.standard_normal(c)
    gy = RNG.standard_normal(shape)
    rm, rv = np.zeros(c), np.ones(c)
    rm_t, rv_t = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    for _ in range(2):  # two steps so the running statistics compound
        xv, gv, bv = cr.Variable(x.copy()), cr.Variable(g.copy()), cr.Variable(b.copy())
        y = F.batch_norm(xv, gv, bv, rm, rv, training=True, momentum=0.2)
        (y * gy).sum().backward()
        xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
        yt = torch.nn.functional.batch_norm(xt, rm_t, rv_t, gt, bt, training=True, momentum=0.2)
        (yt * torch.tensor(gy)).sum().backward()
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9, atol=1e-12)
        for ours, theirs in ((xv, xt), (gv, gt), (bv, bt)):
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-8, atol=1e-11)
        np.testing.assert_allclose(rm, rm_t.numpy(), rtol=1e-12)
        np.testing.assert_allclose(rv, rv_t.numpy(), rtol=1e-12)
        x = x * 0.5 + 0.3
    xv = cr.Variable(x.copy())
    with cr.test_mode():
        y = F.batch_norm(xv, g, b, rm, rv)
    (y * gy).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, rm_t, rv_t, torch.tensor(g), torch.tensor(b), training=False)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_modes_and_errors():
    x = RNG.standard_normal((4, 3))
    rm, rv = np.zeros(3), np.ones(3)
    with cr.test_mode():
        y = F.batch_norm(x, running_mean=rm, running_var=rv)
    np.testing.assert_allclose(y.data, x / np.sqrt(1 + 1e-5))
    np.testing.assert_array_equal(rm, 0.0)  # untouched in test mode
    y = F.batch_norm(x)  # default: training, batch statistics
    np.testing.assert_allclose(y.data.mean(axis=0), 0.0, atol=1e-12)
    rmv = cr.Variable(np.zeros(3))
    F.batch_norm(x, running_mean=rmv, running_var=cr.Variable(np.ones(3)), training=True)
    np.testing.assert_allclose(rmv.data, 0.1 * x.mean(axis=0))
    with pytest.raises(ValueError, match=r"batch_norm: gamma has shape \(4,\), expected \(3,\)"):
        F.batch_norm(x, np.ones(4))
    with pytest.raises(ValueError, match="batch_norm: input must be"):
        F.batch_norm(np.zeros(3))
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(np.zeros((1, 3)), training=True)
    assert F.batch_norm(x.astype(np.float32), np.ones(3, np.float32), np.zeros(3, np.float32)).dtype == np.float32


@pytest.mark.parametrize("shape,norm_shape", [((3, 4), (4,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4))])
def test_layer_norm(shape, norm_shape):
    torch = pytest.importorskip("torch")
    x, g, b = RNG.standard_normal(shape), RNG.standard_normal(norm_shape), RNG.standard_normal(norm_shape)
    f = lambda x, g, b: F.layer_norm(x, g, b)  # noqa: E731
    gradcheck(f, x, g, b)
    gradgradcheck(f, x, g, b)
    gy = RNG.standard_normal(shape)
    vs = [cr.Variable(a.copy()) for a in (x, g, b)]
    (f(*vs) * gy).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, g, b)]
    yt = torch.nn.functional.layer_norm(ts[0], norm_shape, ts[1], ts[2], eps=1e-5)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(f(x, g, b).data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for v, t in zip(vs, ts):
        np.testing.assert_allclose(v.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layer_norm_without_affine_and_errors():
    x = RNG.standard_normal((3, 5))
    y = F.layer_norm(x).data
    np.testing.assert_allclose(y, (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5))
    y2 = F.layer_norm(x.reshape(3, 5, 1), normalized_shape=(5, 1)).data
    np.testing.assert_allclose(y2.reshape(3, 5), y)
    with pytest.raises(ValueError, match=r"layer_norm: normalized shape \(4,\)"):
        F.layer_norm(x, np.ones(4))


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
def test_rms_norm(shape):
    x, g = RNG.standard_normal(shape), RNG.standard_normal(shape[-1])
    f = lambda x, g: F.rms_norm(x, g)  # noqa: E731
    gradcheck(f, x, g)
    gradgradcheck(f, x, g)
    expected = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * g
    np.testing.assert_allclose(f(x, g).data, expected, rtol=1e-12)
    torch = pytest.importorskip("torch")
    if not hasattr(torch.nn.functional, "rms_norm"):
        pytest.skip("this torch has no rms_norm")
    gy = RNG.standard_normal(shape)
    vs = [cr.Variable(a.copy()) for a in (x, g)]
    (f(*vs) * gy).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, g)]
    yt = torch.nn.functional.rms_norm(ts[0], (shape[-1],), ts[1], eps=1e-6)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(f(x, g).data, yt.detach().numpy(), rtol=1e-10)
    for v, t in zip(vs, ts):
        np.testing.assert_allclose(v.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_norms_are_in_the_op_table_with_forward_mode():
    """Declared: the op table checks them; forward mode runs through the ops they compose."""
    from chainrule.core.op import OPS

    for name in ("batch_norm", "layer_norm", "rms_norm"):
        assert OPS[name].function is getattr(F, name)
    x, g = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    t = RNG.standard_normal((3, 4))
    y, ty = cr.jvp(lambda v: F.layer_norm(v, g), (x,), (t,))
    eps = 1e-6
    fd = (F.layer_norm(x + eps * t, g).data - F.layer_norm(x - eps * t, g).data) / (2 * eps)
    np.testing.assert_allclose(ty, fd, rtol=1e-6, atol=1e-8)
