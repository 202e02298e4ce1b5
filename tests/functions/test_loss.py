"""Losses: gradients to second order, PyTorch oracle, ignore_index, stability, bad input."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(4)

LABEL_CASES = [
    np.array([0, 2, 1, 3]),
    np.array([0, -100, 1, -100]),       # some ignored
    np.array([7, 7, 1, 0]),             # custom ignore_index 7
    np.array([-100, -100, -100, -100]),  # all ignored
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(LABEL_CASES)))
def test_softmax_cross_entropy_grads(reduction, case):
    t = LABEL_CASES[case]
    ignore = 7 if case == 2 else -100
    x = RNG.standard_normal((4, 5))
    f = lambda v: F.softmax_cross_entropy(v, t, ignore_index=ignore, reduction=reduction)  # noqa: E731
    gradcheck(f, x)
    gradgradcheck(f, x)


def test_softmax_cross_entropy_third_order():
    t = np.array([1, 0, 3])

    def grad_of_loss(v):
        with cr.enable_grad():  # finite differences run under no_grad; the inner gradient needs a graph
            return cr.gradients([F.softmax_cross_entropy(v, t)], [v], create_graph=True)[0]

    gradgradcheck(grad_of_loss, RNG.standard_normal((3, 4)))  # second order of the gradient = third order


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_against_torch(reduction):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((6, 5)) * 4
    t = np.array([1, -100, 4, 0, -100, 2])
    gy = RNG.standard_normal(6) if reduction == "none" else np.array(1.7)
    xv = cr.Variable(x.copy())
    y = F.cross_entropy(xv, t, reduction=reduction)
    (y * gy).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), ignore_index=-100, reduction=reduction)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_cross_entropy_stable_and_float32():
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4]])
    y = F.softmax_cross_entropy(x, np.array([1, 2]))
    np.testing.assert_allclose(y.data, 0.5 * 1e4, rtol=1e-12)
    x32 = RNG.standard_normal((3, 4)).astype(np.float32)
    xv = cr.Variable(x32)
    y32 = F.softmax_cross_entropy(xv, np.array([0, 1, 2]))
    y32.backward()
    assert y32.dtype == np.float32 and xv.grad.dtype == np.float32
    assert F.softmax_cross_entropy(np.zeros((2, 3)), np.array([-100, -100])).item() == 0.0


def test_softmax_cross_entropy_labels_get_no_gradient():
    t = cr.Variable(np.array([0, 1]))
    x = cr.Variable(RNG.standard_normal((2, 3)))
    F.softmax_cross_entropy(x, t).backward()
    assert t.grad is None and x.grad is not None


def test_softmax_cross_entropy_bad_input():
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: label 3 out of range for 3 classes "
                                         r"\(logits shape \(2, 3\)\)$"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="label -1 out of range"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, -1]))
    with pytest.raises(TypeError, match="labels must be integers"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"labels shape \(3,\)"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="logits must be 2-D"):
        F.softmax_cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="reduction"):
        F.softmax_cross_entropy(np.zeros((1, 3)), np.array([0]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(reduction):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4)) * 3
    t = RNG.random((3, 4))
    f = lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction)  # noqa: E731
    gradcheck(f, x, t)
    gradgradcheck(f, x, t)
    xv, tv = cr.Variable(x.copy()), cr.Variable(t.copy())
    y = f(xv, tv)
    y.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, requires_grad=True)
    yt = torch.nn.functional.binary_cross_entropy_with_logits(xt, tt, reduction=reduction)
    yt.sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(tv.grad.data, tt.grad.numpy(), rtol=1e-10)


def test_bce_stable_and_errors():
    y = F.binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([1.0, 0.0]))
    assert y.item() == 0.0
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: shapes \(2,\) and \(3,\)"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.zeros(3))


def test_mean_squared_error():
    torch = pytest.importorskip("torch")
    y, t = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    gradcheck(F.mean_squared_error, y, t)
    gradgradcheck(F.mean_squared_error, y, t)
    yv = cr.Variable(y.copy())
    loss = F.mean_squared_error(yv, t)
    loss.backward()
    yt = torch.tensor(y, requires_grad=True)
    lt = torch.nn.functional.mse_loss(yt, torch.tensor(t))
    lt.backward()
    np.testing.assert_allclose(loss.data, lt.item(), rtol=1e-12)
    np.testing.assert_allclose(yv.grad.data, yt.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="mean_squared_error: shapes"):
        F.mean_squared_error(np.zeros((3, 1)), np.zeros(3))


def test_accuracy():
    y = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    acc = F.accuracy(y, np.array([1, 0, 0, 1]))
    assert isinstance(acc, cr.Variable) and acc.creator is None
    assert acc.item() == pytest.approx(0.5)
    assert F.accuracy(cr.Variable(y), np.array([1, 0, -1, -1]), ignore_index=-1).item() == 1.0
    with pytest.raises(ValueError, match="accuracy"):
        F.accuracy(y, np.array([1, 0]))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.uint64, np.dtype(">i8")])
def test_softmax_cross_entropy_any_integer_label_dtype(dtype):
    x, t = np.random.default_rng(0).standard_normal((5, 4)), np.array([3, 0, 2, 2, 1])
    ref = F.softmax_cross_entropy(cr.Variable(x), t)
    xv = cr.Variable(x)
    loss = F.softmax_cross_entropy(xv, t.astype(dtype))
    loss.backward()
    assert loss.item() == ref.item()
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    p[np.arange(5), t] -= 1
    np.testing.assert_allclose(xv.grad.data, p / 5, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_forward_mode_match_torch(reduction):
    """cr.jvp (one forward sweep through the jvp rules) against torch.func.jvp."""
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x, tx = RNG.standard_normal((6, 5)) * 3, RNG.standard_normal((6, 5))
    labels = np.array([1, -100, 4, 0, 2, 2])
    _, got = cr.jvp(lambda v: F.softmax_cross_entropy(v, labels, reduction=reduction), (x,), (tx,))
    _, ref = torch.func.jvp(lambda v: tF.cross_entropy(v, torch.tensor(labels), reduction=reduction),
                            (torch.tensor(x),), (torch.tensor(tx),))
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10, atol=1e-12)
    u, tu = RNG.random((6, 5)), RNG.standard_normal((6, 5))
    _, got = cr.jvp(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), (x, u), (tx, tu))
    _, ref = torch.func.jvp(lambda a, b: tF.binary_cross_entropy_with_logits(a, b, reduction=reduction),
                            (torch.tensor(x), torch.tensor(u)), (torch.tensor(tx), torch.tensor(tu)))
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10, atol=1e-12)
    _, got = cr.jvp(F.mean_squared_error, (x, u), (tx, tu))
    _, ref = torch.func.jvp(tF.mse_loss, (torch.tensor(x), torch.tensor(u)), (torch.tensor(tx), torch.tensor(tu)))
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10, atol=1e-12)
