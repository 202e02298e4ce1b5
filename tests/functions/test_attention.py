"""embedding and scaled_dot_product_attention: gradients to second order and PyTorch oracle."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(6)


@pytest.mark.parametrize("ids", [np.array([0, 3, 3, 1]), np.array([[0, 1], [4, 4]]), np.array(2)])
def test_embedding_grads(ids):
    w = RNG.standard_normal((5, 3))
    gradcheck(lambda w: F.embedding(w, ids), w)
    gradgradcheck(lambda w: F.embedding(w, ids) ** 2, w)


def test_embedding_against_torch_and_repeated_ids():
    torch = pytest.importorskip("torch")
    w = RNG.standard_normal((6, 4))
    ids = np.array([[1, 5, 1], [0, 1, 2]])
    gy = RNG.standard_normal((2, 3, 4))
    wv = cr.Variable(w.copy())
    y = F.embedding(wv, cr.Variable(ids))
    assert y.shape == (2, 3, 4)
    (y * gy).sum().backward()
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.embedding(torch.tensor(ids), wt)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_allclose(wv.grad.data, wt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(wv.grad.data[1], gy[0, 0] + gy[0, 2] + gy[1, 1])  # accumulates


def test_embedding_errors():
    w = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"embedding: ids must lie in \[0, 4\)"):
        F.embedding(w, np.array([0, 4]))
    with pytest.raises(ValueError, match="embedding: ids must lie"):
        F.embedding(w, np.array([-1]))
    with pytest.raises(TypeError, match="embedding: ids must be integers"):
        F.embedding(w, np.array([0.0]))
    with pytest.raises(ValueError, match="embedding: weight must be 2-D"):
        F.embedding(np.zeros(4), np.array([0]))


def _bool_mask(shape):
    m = RNG.random(shape) > 0.4
    m[..., 0] = True  # every query sees at least one key
    return m


ATTN_CASES = [
    ("plain", (2, 3, 4), (2, 5, 4), (2, 5, 2), {}),
    ("causal", (2, 4, 3), (2, 4, 3), (2, 4, 3), {"causal": True}),
    ("causal_rect", (1, 3, 2), (1, 5, 2), (1, 5, 2), {"causal": True}),
    ("bool_mask", (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), {"mask": _bool_mask((3, 5))}),
    ("mask_and_causal", (2, 4, 2), (2, 4, 2), (2, 4, 2), {"mask": _bool_mask((2, 4, 4)), "causal": True}),
    ("scale", (3, 2), (4, 2), (4, 3), {"scale": 0.3}),
]


@pytest.mark.parametrize("name,qs,ks,vs,kw", ATTN_CASES, ids=[c[0] for c in ATTN_CASES])
def test_sdpa_grads(name, qs, ks, vs, kw):
    q, k, v = RNG.standard_normal(qs), RNG.standard_normal(ks), RNG.standard_normal(vs)
    f = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw)  # noqa: E731
    gradcheck(f, q, k, v)
    gradgradcheck(f, q, k, v)


@pytest.mark.parametrize("name,qs,ks,vs,kw", ATTN_CASES, ids=[c[0] for c in ATTN_CASES])
def test_sdpa_against_torch(name, qs, ks, vs, kw):
    torch = pytest.importorskip("torch")
    q, k, v = RNG.standard_normal(qs), RNG.standard_normal(ks), RNG.standard_normal(vs)
    vars_ = [cr.Variable(a.copy()) for a in (q, k, v)]
    y = F.scaled_dot_product_attention(*vars_, **kw)
    gy = RNG.standard_normal(y.shape)
    (y * gy).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    mask = kw.get("mask")
    if kw.get("causal"):
        tri = np.tril(np.ones((qs[-2], ks[-2]), dtype=bool))
        mask = tri if mask is None else mask & tri
    yt = torch.nn.functional.scaled_dot_product_attention(
        *ts, attn_mask=None if mask is None else torch.tensor(mask), scale=kw.get("scale"))
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    for a, t in zip(vars_, ts):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_sdpa_causal_matches_torch_is_causal():
    torch = pytest.importorskip("torch")
    q, k, v = (RNG.standard_normal((2, 5, 3)) for _ in range(3))
    y = F.scaled_dot_product_attention(q, k, v, causal=True)
    yt = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)), is_causal=True)
    np.testing.assert_allclose(y.data, yt.numpy(), rtol=1e-10)
    # the first query only sees the first key
    np.testing.assert_allclose(y.data[:, 0], v[:, 0], rtol=1e-12)


def test_sdpa_float_mask_dropout_and_errors():
    q, k, v = (RNG.standard_normal((3, 2)) for _ in range(3))
    bias = RNG.standard_normal((3, 3))
    s = q @ k.T / np.sqrt(2) + bias
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, mask=bias).data, p @ v, rtol=1e-12)
    full = F.scaled_dot_product_attention(q, k, v).data
    with cr.test_mode():
        np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).data, full)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=0).data
    assert not np.allclose(dropped, full)
    assert F.scaled_dot_product_attention(q.astype(np.float32), k.astype(np.float32), v.astype(np.float32),
                                          causal=True).dtype == np.float32
    with pytest.raises(ValueError, match="scaled_dot_product_attention: shapes"):
        F.scaled_dot_product_attention(q, k[:, :1], v)


def test_embedding_forward_mode_and_third_order():
    """Embedding is linear in the weight: its tangent is the gather of the weight's tangent
    (forward mode, no reverse graph), and the gather/scatter-add pair differentiates to any order."""
    ids = np.array([[1, 4], [1, 0]])
    w, t = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    y, ty = cr.jvp(lambda v: F.embedding(v, ids), (w,), (t,))
    assert not isinstance(ty, cr.Variable)
    np.testing.assert_array_equal(y, w[ids])
    np.testing.assert_array_equal(ty, t[ids])
    wv = cr.Variable(w)
    (g,) = cr.gradients((F.embedding(wv, ids) ** 3).sum(), [wv], create_graph=True)
    (gg,) = cr.gradients(g.sum(), [wv], create_graph=True)
    (ggg,) = cr.gradients(gg.sum(), [wv])
    counts = np.bincount(ids.ravel(), minlength=5)[:, None]
    np.testing.assert_allclose(ggg.data, 6.0 * counts * np.ones((5, 3)), rtol=1e-14)


def test_embedding_has_one_derivative_definition():
    import chainrule.functions.attention as att
    from chainrule.core.op import Op

    assert issubclass(att.Embedding, Op) and not hasattr(att, "EmbeddingGrad")
