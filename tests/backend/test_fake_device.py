"""The library on the strict fake device (``tests/fake_device.py``): every op family, backward and
double backward, layers, models, optimizers, data loaders, save/load, transforms and the tape
must stay on the device (no host NumPy array may sneak in) and agree with the CPU."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fake_device as fd  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.data as D  # noqa: E402
import chainrule.functions as F  # noqa: E402
import chainrule.layers as L  # noqa: E402
import chainrule.models as M  # noqa: E402
import chainrule.optim as O  # noqa: E402
from chainrule import Variable  # noqa: E402
from chainrule.backend import backend_of, get_backend  # noqa: E402

FAKE = fd.NAME


@pytest.fixture(autouse=True, scope="module")
def fake_registered():
    with fd.installed() as b:
        yield b


def on_fake(*objs) -> None:
    for o in objs:
        assert fd.is_fake(o), f"expected a '{FAKE}' array, got {type(getattr(o, 'data', o)).__name__}"


def layer_on_fake(layer) -> None:
    for name, p in layer.named_params():
        assert fd.is_fake(p), f"parameter {name} is on {p.device}"
        if p.grad is not None:
            assert fd.is_fake(p.grad), f"gradient of {name} is on {p.grad.device}"
    for name, b in layer.named_buffers():
        assert b is None or fd.is_fake(b), f"buffer {name} is a {type(b).__name__}"


def host(v) -> np.ndarray:
    a = v.data if isinstance(v, Variable) else v
    return backend_of(a).to_numpy(a)


# ----- the harness itself -----
def test_harness_is_strict_like_cupy():
    b = get_backend(FAKE)
    a = b.asarray(np.ones((2, 3)))
    assert type(a) is fd.FakeArray and type(b.to_numpy(a)) is np.ndarray
    assert b.asarray(a) is a
    h = np.ones(3)
    for bad in (lambda: a + h, lambda: h * a, lambda: np.where(a > 0, h, 0.0), lambda: fd.fake_xp.exp(h),
                lambda: fd.fake_xp.stack([h, h]), lambda: np.concatenate([a, h[None]]), lambda: a[np.array([0])],
                lambda: a.__setitem__(0, h), lambda: fd.fake_xp.add.at(a, np.array([0]), 1.0),
                lambda: b.scatter_add(np.zeros(3), a[0] > 0, 1.0)):
        with pytest.raises(TypeError, match="fake and cpu"):
            bad()
    # scalars and 0-d host arrays mix; reductions and full indexing give 0-d device arrays
    assert type(a * np.float64(2.0) + np.array(1.0)) is fd.FakeArray
    for r in (a.sum(), a[0, 0], a.mean(), fd.fake_xp.max(a), a.argmax()):
        assert type(r) is fd.FakeArray and r.ndim == 0
    assert type(fd.fake_xp.asarray(h)) is fd.FakeArray and type(fd.fake_xp.zeros(2)) is fd.FakeArray
    t = b.asarray(np.zeros(3))
    b.scatter_add(t, b.asarray(np.array([2, 2, 0])), b.asarray(np.array([1.0, 2.0, 5.0])))
    np.testing.assert_array_equal(b.to_numpy(t), [5, 0, 3])
    r = fd.fake_xp.random.random((2, 2), dtype=np.float32)
    assert type(r) is fd.FakeArray and r.dtype == np.float32
    assert type(b.generator(0).standard_normal((3,))) is fd.FakeArray


def test_variable_to_fake_and_back_and_mixing_names_both_devices():
    x = Variable(np.array([1.0, -2.0, 3.0]))
    xf = x.to(FAKE)
    assert xf.device == FAKE
    y = (xf * xf).sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.data, 2 * x.data)
    a, c = Variable(np.ones((2, 3))), Variable(np.ones((2, 3))).to(FAKE)
    for fn in (lambda: a + c, lambda: c * a, lambda: F.matmul(a, F.transpose(c)), lambda: F.concat([a, c]),
               lambda: F.where(c.data > 0, a, c), lambda: F.linear(c, Variable(np.ones((3, 2)))),
               lambda: F.maximum(a, c), lambda: a > c):
        with pytest.raises((TypeError, ValueError)) as e:
            fn()
        assert "cpu" in str(e.value) and FAKE in str(e.value)


# ----- every op family: forward, backward and double backward on the device, equal to the CPU -----
_IDX = np.array([0, 2, 2])
_LABELS = np.array([0, 3, 1])
_GATHER = np.array([[0, 1, 2, 0], [1, 1, 1, 1], [2, 0, 0, 2]])
_BIN = (np.arange(12).reshape(3, 4) % 3 == 0).astype(np.float64)
_MASK = np.tril(np.ones((3, 3), dtype=bool))
_IDS = np.array([[0, 2], [1, 1]])

OPS = {
    # arithmetic and broadcasting
    "add": (lambda p, a, b: a + b, [(3, 4), (4,)]),
    "sub": (lambda p, a, b: F.sub(a, b), [(3, 4), (4,)]),
    "mul_div": (lambda p, a, b: a * b / (b * b + 1.0), [(3, 4), (4,)]),
    "pow_scalars": (lambda p, a: (F.abs(a) + 1.0) ** 2.5 + 2.0 ** a - 1.0 / (a * a + 1), [(3, 4)]),
    "maximum_minimum": (lambda p, a, b: F.maximum(a, b) + F.minimum(a, b * 0.5), [(3, 4), (3, 4)]),
    # math and activations
    "math": (lambda p, a: F.exp(a) + F.sin(a) * F.cos(a) + F.tanh(a) + F.log(a * a + 1) + F.sqrt(a * a + 1)
             + F.rsqrt(a * a + 1) + F.erf(a) + F.square(a) + F.tan(a * 0.3) + F.clip(a, -0.5, 0.5), [(3, 4)]),
    "activations": (lambda p, a: F.relu(a) + F.sigmoid(a) + F.gelu(a) + F.silu(a) + F.softplus(a) + F.elu(a)
                    + F.leaky_relu(a) + F.swish(a), [(3, 4)]),
    "softmax": (lambda p, a: F.softmax(a, axis=1) + F.log_softmax(a, axis=0), [(3, 4)]),
    # reductions
    "reductions": (lambda p, a: F.sum(a, axis=1) + F.mean(a, axis=1) + F.max(a, axis=1) + F.min(a, axis=1)
                   + F.var(a, axis=1) + F.logsumexp(a, axis=1), [(3, 4)]),
    "reduce_all": (lambda p, a: F.max(a) + F.min(a) + F.sum(a) + F.mean(a), [(3, 4)]),
    # shape
    "shape": (lambda p, a: F.reshape(F.transpose(a), (2, 6)) * F.flatten(F.swapaxes(a, 0, 1)).reshape(2, 6),
              [(3, 4)]),
    "expand": (lambda p, a: F.sum_to(F.broadcast_to(F.unsqueeze(a, 0), (2, 3, 4)), (1, 4))
               + F.squeeze(F.expand_dims(a, 0), 0)[:1], [(3, 4)]),
    "concat_stack_split": (lambda p, a, b: F.concat([a, F.reshape(b, (1, 4))], axis=0)[1:]
                           + F.stack([a, a])[1] + F.cat(F.split(a, 2, axis=1), axis=1)
                           + F.cat(F.chunk(a, 2, axis=1), axis=1) + F.stack(F.unstack(a)), [(3, 4), (4,)]),
    "flip_tri": (lambda p, a: F.flip(a, 1) + F.tril(a) + F.triu(a, 1) + F.cast(a, np.float32), [(4, 4)]),
    # indexing
    "getitem_basic": (lambda p, a: a[1] + a[:, 1:3].sum() + a[None, ..., 0].sum(), [(3, 4)]),
    "getitem_int_array": (lambda p, a: a[p(_IDX)] + a[Variable(p(_IDX))], [(3, 4)]),
    "getitem_host_index": (lambda p, a: a[_IDX] + a[_IDX.tolist()], [(3, 4)]),
    "getitem_tuple_arrays": (lambda p, a: a[p(_IDX), p(_IDX)] + a[:, p(_IDX)].sum(axis=1), [(3, 4)]),
    "getitem_bool": (lambda p, a: F.sum(a[a.data > 0]) + F.sum(a[a > 0.5]), [(3, 4)]),
    "take_gather": (lambda p, a: F.take(a, p(_IDX), axis=1).sum(axis=1) + F.gather(a, 0, p(_GATHER)).sum(axis=1)
                    + F.take(a, p(_IDX)), [(3, 4)]),
    "where_masked_fill": (lambda p, a, b: F.where(a.data > 0, a, b) + F.where(a > 0, 1.0, b)
                          + F.masked_fill(a, a.data > 0.3, -1.0) + F.where(a > 0, a, 0.0)
                          + F.where(p(_BIN) > 0, 2.0, 3.0), [(3, 4), (4,)]),
    # linear algebra
    "matmul": (lambda p, a, b: F.matmul(a, F.transpose(a)).sum(axis=0) + F.matmul(a, b).sum() + F.dot(b, b)
               + F.outer(b, b).sum(), [(3, 4), (4,)]),
    "linear": (lambda p, x, w, b: F.linear(x, w, b) + F.linear(x, w), [(3, 4), (4, 5), (5,)]),
    # losses (labels on the device, as Variables or raw arrays)
    "losses": (lambda p, a, b: F.softmax_cross_entropy(a, Variable(p(_LABELS))) + F.cross_entropy(a, p(_LABELS))
               + F.softmax_cross_entropy(a, p(_LABELS), reduction="sum")
               + F.mean_squared_error(a, b) + F.mse_loss(a, F.tanh(b))
               + F.binary_cross_entropy_with_logits(a, p(_BIN)), [(3, 4), (3, 4)]),
    # norms
    "layer_rms_norm": (lambda p, x, g, b: F.layer_norm(x, g, b) + F.rms_norm(x, g), [(3, 4), (4,), (4,)]),
    "batch_norm": (lambda p, x, g, b: F.batch_norm(x, g, b, p(np.zeros(4)), p(np.ones(4)), training=True)
                   + F.batch_norm(x, g, b, p(np.zeros(4)), p(np.ones(4)), training=False), [(3, 4), (4,), (4,)]),
    # attention and embedding
    "attention": (lambda p, q, k: F.scaled_dot_product_attention(q, k, k)
                  + F.scaled_dot_product_attention(q, k, q, causal=True)
                  + F.scaled_dot_product_attention(q, q, k, mask=p(_MASK)), [(2, 3, 4), (2, 3, 4)]),
    "embedding": (lambda p, e: F.embedding(e, p(_IDS)) + F.embedding(e, Variable(p(_IDS))) + F.embedding(e, _IDS),
                  [(3, 4)]),
    # convolution and pooling
    "conv2d": (lambda p, x, w, b: F.conv2d(x, w, b, stride=2, padding=1)[:, :, :2, :2]
               + F.conv2d(x, w, padding=1, dilation=2)[:, :, :2, :2], [(2, 3, 6, 6), (4, 3, 3, 3), (4,)]),
    "conv2d_groups": (lambda p, x, w: F.conv2d(x, w, padding=1, groups=3), [(1, 3, 5, 5), (6, 1, 3, 3)]),
    "conv_transpose2d": (lambda p, x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                         [(2, 3, 4, 4), (3, 2, 3, 3), (2,)]),
    "max_pool": (lambda p, x: F.max_pool2d(x, 2)[:, :, :2, :2] + F.max_pool2d(x, 3, stride=2, padding=1)[:, :, :2, :2]
                 + F.max_pool2d(x, 2, stride=1, dilation=2)[:, :, :2, :2], [(2, 3, 6, 6)]),
    "avg_pool": (lambda p, x: F.avg_pool2d(x, 2)[:, :, :2, :2]
                 + F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)[:, :, :2, :2]
                 + F.avg_pool2d(x, 3, stride=2, padding=1)[:, :, :2, :2], [(2, 3, 6, 6)]),
    "adaptive_avg_pool": (lambda p, x: F.adaptive_avg_pool2d(x, (2, 2)) + F.adaptive_avg_pool2d(x, 1),
                          [(2, 3, 5, 6)]),
}


def _run_op(device: str, fn, shapes: list) -> list:
    """Forward, gradients (create_graph) and second-order gradients of ``fn`` on ``device``."""
    b = get_backend(device)
    rng = np.random.default_rng(0)
    xs = [Variable(b.asarray(rng.standard_normal(s))) for s in shapes]
    y = fn(b.asarray, *xs)
    assert y.device == device
    w = Variable(b.asarray(rng.standard_normal(y.shape)))
    loss = F.sum(y * y * w)
    gs = cr.gradients([loss], xs, create_graph=True)
    gs = [g for g in gs if g is not None]
    assert gs and all(g.device == device for g in gs)
    ggs = cr.gradients([sum(F.sum(g * g) for g in gs)], xs)
    ggs = [g for g in ggs if g is not None]
    assert all(g.device == device for g in ggs)
    return [host(v) for v in (y, *gs, *ggs)]


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_family_on_fake_device_matches_cpu(name):
    fn, shapes = OPS[name]
    ref = _run_op("cpu", fn, shapes)
    got = _run_op(FAKE, fn, shapes)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-8)


def test_random_ops_stay_on_device():
    b = get_backend(FAKE)
    x = Variable(b.asarray(np.ones((4, 5))))
    with cr.train_mode() if hasattr(cr, "train_mode") else cr.enable_grad():
        for y in (F.dropout(x, 0.5, training=True), F.dropout(x, 0.5, training=True, rng=1),
                  F.scaled_dot_product_attention(x[None], x[None], x[None], dropout_p=0.3, training=True)):
            on_fake(y)
            g, = cr.gradients([F.sum(y * y)], [x], create_graph=True)
            on_fake(g)
            on_fake(*cr.gradients([F.sum(g * g)], [x]))


def test_compare_and_argmax_stay_on_device():
    a = Variable(np.array([[1.0, -2.0], [0.5, 3.0]])).to(FAKE)
    for r in (a > 0, a == a, F.less(a, 1.0), F.logical_and(a > 0, a < 2), F.logical_not(a > 0),
              F.argmax(a, axis=1), F.argmin(a), F.sign(a), F.accuracy(a, a.data.argmax(axis=1))):
        on_fake(r)


# ----- layers (parameters moved with .to, or created lazily from device input) -----
LAYERS = {
    "Linear": (lambda: L.Linear(5, 4, rng=0), (3, 4)),
    "Linear_lazy": (lambda: L.Linear(5, rng=0), (3, 4)),
    "RNN": (lambda: L.RNN(5, 4, rng=0), (3, 4)),
    "LSTM": (lambda: L.LSTM(5, 4, rng=0), (3, 4)),
    "Conv2d": (lambda: L.Conv2d(4, 3, padding=1, in_channels=3, rng=0), (2, 3, 5, 5)),
    "Conv2d_lazy": (lambda: L.Conv2d(4, 3, padding=1, rng=0), (2, 3, 5, 5)),
    "ConvTranspose2d": (lambda: L.ConvTranspose2d(4, 3, stride=2, rng=0), (2, 3, 4, 4)),
    "MaxPool2d": (lambda: L.MaxPool2d(2), (2, 3, 4, 4)),
    "AvgPool2d": (lambda: L.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 5, 5)),
    "AdaptiveAvgPool2d": (lambda: L.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 5)),
    "BatchNorm": (lambda: L.BatchNorm(4), (3, 4)),
    "BatchNorm_lazy": (lambda: L.BatchNorm(), (3, 4)),
    "BatchNorm2d": (lambda: L.BatchNorm2d(3), (2, 3, 4, 4)),
    "LayerNorm": (lambda: L.LayerNorm(), (3, 4)),
    "RMSNorm": (lambda: L.RMSNorm(4), (3, 4)),
    "MultiHeadAttention": (lambda: L.MultiHeadAttention(8, 2, causal=True, dropout=0.1, rng=0), (2, 5, 8)),
    "TransformerBlock": (lambda: L.TransformerBlock(8, 2, dropout=0.1, causal=True, rng=0), (2, 5, 8)),
    "TransformerBlock_swiglu": (lambda: L.TransformerBlock(8, 2, ff="swiglu", rng=0), (2, 5, 8)),
    "Dropout": (lambda: L.Dropout(0.5, rng=1), (3, 4)),
    "Sequential": (lambda: L.Sequential(L.Linear(5, rng=0), F.relu, L.Linear(2, rng=1)), (3, 4)),
    "MLP": (lambda: M.MLP([8, 3], rng=0), (3, 4)),
    "MLP_relu": (lambda: M.MLP([8, 5, 3], activation=F.relu, rng=0), (3, 4)),
    "CNN": (lambda: M.CNN(n_classes=3, channels=(2, 3), hidden=5, rng=0), (2, 1, 8, 8)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("raw", [False, True], ids=["variable", "raw_array"])
def test_layer_on_fake_device(name, raw):
    make, shape = LAYERS[name]
    layer = make().to(FAKE)
    x = Variable(np.random.default_rng(0).standard_normal(shape)).to(FAKE)
    for _ in range(2):  # the second step uses the recurrent state
        y = layer(x.data if raw else x)
    on_fake(y)
    F.sum(y * y).backward()
    layer_on_fake(layer)


@pytest.mark.parametrize("make", [lambda: L.Linear(3), lambda: L.Conv2d(2, 3), lambda: L.BatchNorm(),
                                  lambda: L.LayerNorm(), lambda: M.MLP([4, 2])],
                         ids=["Linear", "Conv2d", "BatchNorm", "LayerNorm", "MLP"])
def test_lazy_layer_created_from_device_input_lives_there(make):
    layer = make()
    shape = (2, 3, 5, 5) if isinstance(layer, L.Conv2d) else (2, 3)
    x = get_backend(FAKE).asarray(np.ones(shape))
    on_fake(layer(x))
    layer_on_fake(layer)


def test_models_forward_backward_on_fake_device():
    rng = np.random.default_rng(0)
    put = get_backend(FAKE).asarray
    lstm = M.LSTM(5, 2, rng=0).to(FAKE)
    for _ in range(3):
        y = lstm(put(rng.standard_normal((4, 1))))
    F.mean_squared_error(y, put(np.zeros((4, 2)))).backward()
    layer_on_fake(lstm)
    lm = M.TransformerLM(11, d_model=8, n_heads=2, n_layers=1, max_len=16, dropout=0.1, rng=0).to(FAKE)
    ids = rng.integers(0, 11, (2, 6))
    for given in (Variable(put(ids)), put(ids), ids):  # device Variable, device array, host ids
        logits = lm(given)
        on_fake(logits)
    loss = lm.loss(put(ids), put(ids))
    on_fake(loss)
    loss.backward()
    layer_on_fake(lm)
    on_fake(lm.loss(ids, ids))
    out = lm.generate(np.array([1, 2]), 3, rng=0)
    assert type(out) is np.ndarray and out.shape == (5,)


# ----- optimizers, hooks, schedules and state round trips -----
@pytest.mark.parametrize("cls", [O.SGD, O.Momentum, O.Adam, O.AdamW, O.AdaGrad, O.RMSprop])
def test_optimizer_update_and_state_on_fake_device(cls, tmp_path):
    rng = np.random.default_rng(0)
    put = get_backend(FAKE).asarray
    model = M.MLP([6, 2], rng=0).to(FAKE)
    opt = cls()
    opt.add_hook(O.WeightDecay(0.01))
    opt.add_hook(O.ClipGrad(1.0))
    sched = O.StepLR(opt, 1)

    def step(o):
        model.cleargrads()
        F.sum(model(put(rng.standard_normal((3, 4)))) ** 2).backward()
        o.update(model)

    for _ in range(2):
        step(opt)
        sched.step()
    layer_on_fake(model)
    for st in opt._state.values():
        on_fake(*st[1:])
    sd = opt.state_dict()
    assert all(type(a) is np.ndarray for s in sd["state"] for a in s.values())
    opt2 = cls()
    opt2.load_state_dict(sd, params=model.params())
    step(opt2)
    cr.save(opt, tmp_path / "opt.safetensors")
    opt3 = cls()
    opt3.load_state_dict(cr.load(tmp_path / "opt.safetensors"), params=model.params())
    step(opt3)
    for o in (opt2, opt3):
        for st in o._state.values():
            on_fake(*st[1:])
    layer_on_fake(model)


# ----- data loaders -----
class _ItemDataset(D.Dataset):
    """No ``batch()``: the loader stacks items (here device arrays) one field at a time."""

    def __init__(self, x, t):
        self.x, self.t = x, t

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.t[i]


def test_data_loaders_deliver_device_batches():
    rng = np.random.default_rng(0)
    put = get_backend(FAKE).asarray
    x, t = rng.standard_normal((10, 3)), rng.integers(0, 3, 10)
    seen = []
    for ds, device in ((D.ArrayDataset(x, t), FAKE), (D.ArrayDataset(put(x), put(t)), FAKE),
                       (D.ArrayDataset(put(x), put(t)), None), (_ItemDataset(put(x), put(t)), None)):
        for shuffle in (False, True):
            rows = 0
            for xb, tb in D.DataLoader(ds, 4, shuffle=shuffle, rng=0, device=device):
                on_fake(xb, tb)
                rows += len(xb)
                if not shuffle:
                    seen.append(host(xb))
            assert rows == 10
    np.testing.assert_allclose(seen[0], x[:4])
    for batch in D.SeqDataLoader(D.ArrayDataset(np.arange(12.0), np.arange(12.0) + 1), 5, device=FAKE):
        on_fake(*batch)
        assert batch[0].shape == (5, 1)


# ----- save / load of a model living on the device -----
def test_save_load_model_on_fake_device(tmp_path):
    put = get_backend(FAKE).asarray
    model = L.Sequential(L.Linear(4, rng=0), L.BatchNorm()).to(FAKE)
    model(put(np.random.default_rng(0).standard_normal((3, 2))))
    path = tmp_path / "m.safetensors"
    cr.save(model, path)
    state = cr.load(path)
    assert all(type(a) is np.ndarray for a in state.values())
    for name, p in model.named_params():
        np.testing.assert_array_equal(state[name], host(p))
    other = L.Sequential(L.Linear(4, rng=5), L.BatchNorm()).to(FAKE)
    other(put(np.ones((3, 2))))
    cr.load(path, into=other)
    layer_on_fake(other)
    for (_, p), (_, q) in zip(model.named_params(), other.named_params()):
        np.testing.assert_array_equal(host(p), host(q))


# ----- transforms and the gradient tape -----
def _all_fake(obj) -> None:
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _all_fake(o)
    else:
        on_fake(obj)


def test_transforms_and_tape_on_fake_device():
    rng = np.random.default_rng(0)
    xh = rng.standard_normal(3)
    x = get_backend(FAKE).asarray(xh)

    def f(v):
        return F.sum(F.sin(v) * v)

    def g(v):
        return F.sin(v) * v

    results = [cr.grad(f)(x), cr.value_and_grad(f)(x), cr.vjp(g, x)[0], cr.jvp(g, (x,), (x,)),
               cr.jacobian(g)(x), cr.hessian(f)(x), cr.hvp(f, (x,), (x,))]
    for r in results:
        _all_fake(r)
    np.testing.assert_allclose(host(results[0]), np.cos(xh) * xh + np.sin(xh), rtol=1e-12)
    v = Variable(x)
    with cr.GradientTape() as tape:
        y = F.sum(v * v * v)
    gv, = tape.gradient(y, [v])
    on_fake(gv)
    np.testing.assert_allclose(host(gv), 3 * xh ** 2, rtol=1e-12)
