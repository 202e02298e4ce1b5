"""Norm, embedding and attention layers, and the small causal LM."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.layers as L
import chainrule.models as M
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)


def test_batchnorm_lazy_running_stats_state_dict():
    bn = L.BatchNorm()
    assert [p.initialized for p in bn.params()] == [False, False]  # placeholders until the first call
    x = RNG.standard_normal((8, 3, 2, 2)) * 2 + 1
    y = bn(x)
    assert y.shape == x.shape and bn.num_features == 3
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=(0, 2, 3)))
    sd = bn.state_dict()
    assert set(sd) == {"gamma", "beta", "running_mean", "running_var"}
    bn.eval()
    y_eval = bn(x).data
    expected = (x - bn.running_mean.reshape(3, 1, 1)) / np.sqrt(bn.running_var.reshape(3, 1, 1) + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-12)
    before = bn.running_mean.copy()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean, before)  # eval leaves the statistics alone
    bn2 = L.BatchNorm()
    bn2.load_state_dict(sd)
    np.testing.assert_array_equal(bn2.running_var, sd["running_var"])
    bn2.eval()
    np.testing.assert_allclose(bn2(x).data, bn(x).data)
    with pytest.raises(ValueError, match="BatchNorm: input must be"):
        L.BatchNorm()(np.zeros(3))


def test_batchnorm_against_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = L.BatchNorm(3, momentum=0.3), torch.nn.BatchNorm2d(3, momentum=0.3).double()
    for _ in range(3):
        x = RNG.standard_normal((4, 3, 2, 3))
        gy = RNG.standard_normal(x.shape)
        ours.cleargrads()
        xv = cr.Variable(x)
        (ours(xv) * gy).sum().backward()
        xt = torch.tensor(x, requires_grad=True)
        theirs.zero_grad()
        (theirs(xt) * torch.tensor(gy)).sum().backward()
        np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ours.gamma.grad.data, theirs.weight.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    with cr.test_mode():  # test_mode alone also switches to the running statistics
        ours.train()
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("make", [lambda: L.LayerNorm(), lambda: L.RMSNorm(), lambda: L.BatchNorm()])
def test_norm_layers_grad_and_dtype(make):
    layer = make()
    x = RNG.standard_normal((4, 3))
    gradcheck(layer, x)
    gradgradcheck(layer, x)
    layer32 = make()
    y = layer32(x.astype(np.float32))
    assert y.dtype == np.float32 and all(p.dtype == np.float32 for p in layer32.params())


def test_layernorm_explicit_shape_adopts_input_dtype():
    ln = L.LayerNorm((2, 3))
    assert [n for n, _ in ln.named_params()] == ["gamma", "beta"] and ln.gamma.shape == (2, 3)
    y = ln(RNG.standard_normal((4, 2, 3)).astype(np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data.reshape(4, 6).mean(-1), 0.0, atol=1e-6)
    assert L.RMSNorm(3, affine=False).params() == []


def test_embedding_layer():
    emb = L.Embedding(10, 4, rng=0)
    assert emb.w.shape == (10, 4)
    ids = np.array([[1, 2, 1]])
    y = emb(ids)
    assert y.shape == (1, 3, 4)
    y.sum().backward()
    np.testing.assert_allclose(emb.w.grad.data[1], 2.0)
    np.testing.assert_allclose(emb.w.grad.data[0], 0.0)
    np.testing.assert_array_equal(L.Embedding(10, 4, rng=0).w.data, emb.w.data)
    with pytest.raises(ValueError, match="Embedding: dim"):
        L.Embedding(3, 0)


def _causal_bool(t):
    return np.tril(np.ones((t, t), dtype=bool))


@pytest.mark.parametrize("causal", [False, True])
def test_mha_against_torch(causal):
    torch = pytest.importorskip("torch")
    d, h, t = 8, 2, 5
    mha = L.MultiHeadAttention(d, h, causal=causal, rng=0)
    ref = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.tensor(mha.qkv.w.data.T))
        ref.in_proj_bias.copy_(torch.tensor(RNG.standard_normal(3 * d)))
        ref.out_proj.weight.copy_(torch.tensor(mha.out.w.data.T))
        ref.out_proj.bias.copy_(torch.tensor(RNG.standard_normal(d)))
    mha.qkv.b.data = ref.in_proj_bias.detach().numpy().copy()
    mha.out.b.data = ref.out_proj.bias.detach().numpy().copy()
    x = RNG.standard_normal((3, t, d))
    gy = RNG.standard_normal(x.shape)
    xv = cr.Variable(x)
    (mha(xv) * gy).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    mask = torch.tensor(~_causal_bool(t)) if causal else None  # torch: True = masked out
    yt, _ = ref(xt, xt, xt, attn_mask=mask, need_weights=False)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(mha(x).data, yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xv.grad.data, xt.grad.numpy(), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(mha.qkv.w.grad.data, ref.in_proj_weight.grad.numpy().T, rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(mha.out.b.grad.data, ref.out_proj.bias.grad.numpy(), rtol=1e-8, atol=1e-11)


def test_mha_grads_and_errors(device):
    be = cr.get_backend(device)
    mha = L.MultiHeadAttention(4, 2, causal=True, rng=1).to(device)
    x = be.asarray(RNG.standard_normal((2, 3, 4)))
    gradcheck(mha, x)
    gradgradcheck(mha, x)
    assert mha(x[0]).shape == (3, 4)  # no batch axis
    with pytest.raises(ValueError, match="not divisible"):
        L.MultiHeadAttention(6, 4)
    with pytest.raises(ValueError, match=r"MultiHeadAttention: input must be \(\.\.\., T, 4\)"):
        mha(be.asarray(np.zeros((2, 3, 5))))


@pytest.mark.parametrize("ff", ["gelu", "swiglu"])
def test_transformer_block(ff, device):
    be = cr.get_backend(device)
    block = L.TransformerBlock(4, 2, ff=ff, causal=True, rng=2).to(device)
    names = [n for n, _ in block.named_params()]
    assert names[:2] == ["ln1.gamma", "ln1.beta"] and any(n.startswith("ff.fc1") for n in names)
    x = RNG.standard_normal((1, 3, 4))
    gradcheck(block, x)
    gradgradcheck(block, x)
    y = be.to_numpy(block(be.asarray(x)).data)
    x2 = x.copy()
    x2[:, -1] += 1.0
    y2 = be.to_numpy(block(be.asarray(x2)).data)
    np.testing.assert_allclose(y2[:, :-1], y[:, :-1], rtol=1e-12)  # causal: the past ignores the future
    assert not np.allclose(y2[:, -1], y[:, -1])
    with pytest.raises(ValueError, match="ff must be"):
        L.TransformerBlock(4, 2, ff="relu")


def test_transformer_block_dropout_only_in_training():
    block = L.TransformerBlock(8, 2, dropout=0.5, rng=3)
    x = RNG.standard_normal((2, 4, 8))
    block.eval()
    np.testing.assert_array_equal(block(x).data, block(x).data)
    block.train()
    assert not np.allclose(block(x).data, block(x).data)


def test_transformer_lm_learns_a_repeating_sequence():
    model = M.TransformerLM(6, d_model=16, n_heads=2, n_layers=1, max_len=8, rng=0)
    seq = np.tile(np.arange(6), 3)
    ids = np.stack([seq[i:i + 9] for i in range(6)])
    first = None
    for _ in range(60):
        model.cleargrads()
        loss = model.loss(ids[:, :-1], ids[:, 1:])
        loss.backward()
        for p in model.params():
            p.data -= 0.5 * p.grad.data
        first = first if first is not None else loss.item()
    assert loss.dtype == np.float32
    assert loss.item() < 0.3 * first
    out = model.generate(np.array([0, 1, 2]), 5, temperature=0)
    assert out.shape == (8,) and list(out[:3]) == [0, 1, 2]
    with pytest.raises(ValueError, match="exceeds max_len"):
        model(np.zeros((1, 9), dtype=np.int64))
