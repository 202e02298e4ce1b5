"""max_pool2d, avg_pool2d, adaptive_avg_pool2d: finite differences (1st and 2nd order), PyTorch oracle, errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

rng = np.random.default_rng(5)


def _distinct(*shape):
    """Values spaced 0.1 apart in random order: no ties, so the max is stable under finite differences."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
]
AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1), count_include_pad=False),
]


@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool2d_gradcheck(kw):
    x = _distinct(1, 2, 5, 6)
    gradcheck(lambda v: F.max_pool2d(v, **kw), x)
    # the pooled values enter squared, so the second derivative is not zero
    gradgradcheck(lambda v: F.max_pool2d(v, **kw) ** 2, x)


@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool2d_gradcheck(kw):
    x = rng.standard_normal((1, 2, 5, 6))
    gradcheck(lambda v: F.avg_pool2d(v, **kw), x)
    gradgradcheck(lambda v: F.avg_pool2d(v, **kw) ** 2, x)


@pytest.mark.parametrize("size", [1, (2, 4), (3, None)])
def test_adaptive_avg_pool2d_gradcheck(size):
    x = rng.standard_normal((1, 2, 5, 7))
    gradcheck(lambda v: F.adaptive_avg_pool2d(v, size), x)
    gradgradcheck(lambda v: F.adaptive_avg_pool2d(v, size) ** 2, x)


def test_max_pool_backward_of_backward_is_gather():
    x = cr.Variable(_distinct(2, 3, 4, 4))
    y = F.max_pool2d(x, 2)
    gy = cr.Variable(rng.standard_normal(y.shape))
    gx, = cr.gradients([y], [x], grad_outputs=[gy], create_graph=True)
    v = rng.standard_normal(x.shape)
    ggy, = cr.gradients((gx * v).sum(), [gy])
    # <scatter(gy), v> = <gy, gather(v)>: ggy is v read at each window's argmax
    expected = np.take_along_axis(_windows_2x2(v), _windows_2x2(x.data).argmax(-1)[..., None], -1)[..., 0]
    np.testing.assert_allclose(ggy.data, expected)


def _windows_2x2(a):
    """(N, C, H, W) -> (N, C, H/2, W/2, 4): the disjoint 2x2 windows."""
    n, c, h, w = a.shape
    return a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)


def test_pool_float32_stays_float32():
    x = cr.Variable(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), F.adaptive_avg_pool2d(x, 4)):
        assert y.dtype == np.float32
        gx, = cr.gradients([y.sum()], [x])
        assert gx.dtype == np.float32


def _torch_compare(ours, theirs, x, atol=1e-12):
    torch = pytest.importorskip("torch")
    X = cr.Variable(x)
    y = ours(X)
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=atol)
    gy = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    gx, = cr.gradients([y], [X], grad_outputs=[cr.Variable(gy)])
    np.testing.assert_allclose(gx.data, tx.grad.numpy(), atol=atol)


@pytest.mark.parametrize("kw", MAX_CASES + [dict(kernel_size=3, stride=1, padding=1)])
def test_max_pool2d_matches_torch_with_ties(kw):
    tf = pytest.importorskip("torch.nn.functional")
    x = np.round(rng.standard_normal((2, 3, 7, 8)) * 2) / 2  # many ties: the first index must win
    _torch_compare(lambda v: F.max_pool2d(v, **kw), lambda t: tf.max_pool2d(t, **kw), x)


@pytest.mark.parametrize("kw", AVG_CASES + [dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)])
def test_avg_pool2d_matches_torch(kw):
    tf = pytest.importorskip("torch.nn.functional")
    x = rng.standard_normal((2, 3, 7, 8))
    _torch_compare(lambda v: F.avg_pool2d(v, **kw), lambda t: tf.avg_pool2d(t, **kw), x)


@pytest.mark.parametrize("size", [1, (3, 5), (5, 3), (None, 2), 7])
def test_adaptive_avg_pool2d_matches_torch(size):
    tf = pytest.importorskip("torch.nn.functional")
    x = rng.standard_normal((2, 3, 7, 8))
    _torch_compare(lambda v: F.adaptive_avg_pool2d(v, size), lambda t: tf.adaptive_avg_pool2d(t, size), x)


def test_pool_errors_name_op_and_shapes():
    x = np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(4, 4\).*larger than the padded input \(3, 3\)"):
        F.max_pool2d(x, 4)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel \(6, 6\).*\(1, 2, 3, 3\)"):
        F.avg_pool2d(x, 6, padding=1)
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\)"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: input must be 4-D.*\(3, 3\)"):
        F.max_pool2d(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output size \(0, 0\)"):
        F.adaptive_avg_pool2d(x, 0)


def test_pool_on_device(device):
    from chainrule.backend import get_backend

    be = get_backend(device)
    x = _distinct(2, 3, 6, 6).astype(np.float32)
    for f in (lambda v: F.max_pool2d(v, 3, 2, 1), lambda v: F.avg_pool2d(v, 2), lambda v: F.adaptive_avg_pool2d(v, 4)):
        X, ref_x = cr.Variable(be.asarray(x)), cr.Variable(x)
        y, ref = f(X), f(ref_x)
        (y * y).sum().backward()
        (ref * ref).sum().backward()
        np.testing.assert_allclose(y.numpy(), ref.data, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(X.grad.numpy(), ref_x.grad.data, rtol=1e-5, atol=1e-5)


def test_max_pool_jvp_reads_the_tangent_at_the_argmax():
    x = _distinct(2, 3, 4, 4)
    t = rng.standard_normal(x.shape)
    y, ty = cr.jvp(lambda v: F.max_pool2d(v, 2), (x,), (t,))
    expected = np.take_along_axis(_windows_2x2(t), _windows_2x2(x).argmax(-1)[..., None], -1)[..., 0]
    np.testing.assert_allclose(ty, expected)
    assert not isinstance(ty, cr.Variable)


def test_avg_pool_results_survive_later_calls():
    # results are new arrays (only temporaries are pooled): a kept result is never overwritten
    x1, x2 = rng.standard_normal((16, 8, 20, 20)), rng.standard_normal((16, 8, 20, 20))
    y1 = F.avg_pool2d(x1, 3, 1, 1, count_include_pad=False)
    keep = y1.data.copy()
    for _ in range(3):
        F.avg_pool2d(x2, 3, 1, 1, count_include_pad=False)
    np.testing.assert_array_equal(y1.data, keep)
