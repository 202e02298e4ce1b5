"""Softmax cross-entropy on logits of every memory layout (transposed, F-ordered, column
slices): value and first/second-order gradients against PyTorch."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

RNG = np.random.default_rng(11)


def _layouts():
    base = RNG.standard_normal((5, 4))
    wide = RNG.standard_normal((5, 9))
    return {
        "transposed": base.T.copy().T,                 # a transposed view of a C array
        "fortran": np.asfortranarray(base),
        "column_slice": wide[:, [0, 2, 3, 7]],          # fancy index: C order, but see below
        "strided_columns": wide[:, ::2],                # a strided view
        "reversed_rows": base[::-1],
    }


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", list(_layouts()))
def test_cross_entropy_non_contiguous_logits_match_torch(layout, reduction):
    torch = pytest.importorskip("torch")
    x = _layouts()[layout]
    t = np.array([0, 3, 1, 2, 3])[: x.shape[0]]
    t[1] = -100 if reduction == "mean" else t[1]
    v = cr.Variable(x)
    y = F.softmax_cross_entropy(v, t, reduction=reduction)
    gy = RNG.standard_normal(y.shape)
    (gx,) = cr.gradients([y], [v], grad_outputs=[cr.Variable(gy)], create_graph=True)
    w = RNG.standard_normal(x.shape)
    (ggx,) = cr.gradients([F.sum(gx * w)], [v])

    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction)
    (gxt,) = torch.autograd.grad(yt, xt, torch.tensor(gy), create_graph=True)
    (ggxt,) = torch.autograd.grad((gxt * torch.tensor(w)).sum(), xt)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx.data, gxt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ggx.data, ggxt.numpy(), rtol=1e-10, atol=1e-12)

    # the first-order (array) path agrees too
    v2 = cr.Variable(x)
    F.sum(F.softmax_cross_entropy(v2, t, reduction=reduction) * gy).backward() if reduction == "none" else \
        (F.softmax_cross_entropy(v2, t, reduction=reduction) * float(gy)).backward()
    np.testing.assert_allclose(v2.grad.data, gxt.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_cross_entropy_of_transposed_weight():
    """The issue's case: ``softmax_cross_entropy(transpose(w), t)`` gets ``softmax - onehot``."""
    w = cr.Variable(RNG.standard_normal((3, 4)))
    t = np.array([0, 1, 2, 0])
    F.softmax_cross_entropy(F.transpose(w), t).backward()
    p = np.exp(w.data.T) / np.exp(w.data.T).sum(1, keepdims=True)
    p[np.arange(4), t] -= 1
    np.testing.assert_allclose(w.grad.data, (p / 4).T, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", list(_layouts()))
def test_cross_entropy_fused_paths_match_the_reference_on_every_layout(layout, reduction):
    """The fused kernel and fused first-order rule against the composite's reference
    (log_softmax, the label entries picked, the reduction) on non-contiguous logits."""
    from chainrule.core.composite import reference_mode
    from chainrule.functions.loss import SoftmaxCrossEntropy

    x = _layouts()[layout]
    t = np.array([0, 3, 1, 2, 3])
    t[2] = -100
    gy = RNG.standard_normal(5 if reduction == "none" else ())

    def run():
        v = cr.Variable(x)
        y = F.softmax_cross_entropy(v, t, reduction=reduction)
        return y.data, cr.gradients([y], [v], grad_outputs=[cr.Variable(gy)])[0].data

    fast = run()
    with reference_mode(SoftmaxCrossEntropy):
        ref = run()
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
