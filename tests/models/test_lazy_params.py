"""Lazy layers' Parameter objects exist from construction: optimizers built before the first
call train; uninitialised parameters are reported clearly; materialisation is thread-safe;
input of another float dtype or size is refused with the layer's name."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
import chainrule.layers as L
from chainrule import models, optim
from chainrule.layers import Parameter, UninitializedParameterError
from chainrule.random import const

REFERENCE = ["0.17547970", "0.07741569", "0.07284688", "0.07090371", "0.07005858",
             "0.06968885", "0.06952675", "0.06945531", "0.06942337", "0.06940859"]


def test_reference_mlp_example_in_pytorch_order_prints_the_reference_losses():
    # the model and the optimizer come first; the init draws happen at the first call, after x and t
    s = const()
    model = models.MLP([10, 1], activation=F.relu, rng=s)
    x = cr.rand((100, 1), rng=s)
    t = cr.rand((100, 1), rng=s)
    opt = optim.SGD(model.params(), lr=0.2)
    printed = []
    for i in range(100):
        loss = F.mean_squared_error(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % 10 == 0:
            printed.append(f"{loss.item():.8f}")
    assert printed == REFERENCE


@pytest.mark.parametrize("make_opt", [lambda m: optim.SGD(m, lr=0.5), lambda m: optim.Adam(m.params(), lr=0.05),
                                      lambda m: optim.Momentum(m.parameters(), lr=0.2)],
                         ids=["SGD(model)", "Adam(params)", "Momentum(parameters)"])
@pytest.mark.parametrize("make_model", [
    lambda: models.MLP([16, 3], activation=F.relu, rng=0),
    lambda: models.MLP([16, 3], rng=0),  # sigmoid: the per-layer path
    lambda: L.Sequential(L.Linear(16, rng=0), F.relu, L.LayerNorm(), L.Linear(3, rng=0)),
], ids=["relu_mlp", "sigmoid_mlp", "sequential"])
def test_optimizer_built_before_the_first_call_trains(make_opt, make_model):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 4))
    t = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    model = make_model()
    opt = make_opt(model)
    losses = []
    for _ in range(60):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_lazy_conv_batchnorm_and_lstm_parameters_exist_before_the_first_call():
    for model, x in ((models.CNN(rng=0), np.ones((2, 1, 8, 8))), (models.LSTM(4, 1, rng=0), np.ones((3, 2)))):
        before = model.params()
        lazy = [p for p in before if not p.initialized]
        assert lazy  # placeholders, listed from construction
        opt = optim.Adam(model.params(), lr=0.1)
        loss = F.sum(model(x) ** 2)
        model.cleargrads()
        loss.backward()
        start = [p.data.copy() for p in lazy]
        opt.step()
        assert all(a is b for a, b in zip(model.params(), before))  # the same objects, filled in
        for p, s0 in zip(lazy, start):
            assert p.initialized and p.grad is not None
            if np.any(p.grad.data):  # (an LSTM's forget gate gets no gradient at the first step)
                assert np.any(p.data != s0)  # updated
    bn = L.BatchNorm()
    gamma, beta = bn.params()
    bn(np.ones((4, 3)))
    assert bn.gamma is gamma and gamma.shape == (3,) and beta.shape == (3,)


def test_uninitialised_parameters_are_reported_clearly(tmp_path):
    model = models.MLP([5, 2], rng=0)
    names = [n for n, _ in model.named_params()]
    assert names == ["linear[0].w", "linear[0].b", "linear[1].w", "linear[1].b"]
    w = model.named_params()[0][1]
    assert not w.initialized and repr(w) == "parameter(uninitialized)"
    for touch in (lambda: w.shape, lambda: w.dtype, lambda: w.numpy()):
        with pytest.raises(UninitializedParameterError, match="not initialised yet.*first call"):
            touch()
    with pytest.raises(UninitializedParameterError, match=r"state_dict: MLP.*linear\[0\]\.w.*first call"):
        model.state_dict()
    with pytest.raises(UninitializedParameterError, match="uninitialised"):
        cr.save(model, tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())
    assert model.to("cpu") is model  # uninitialised parameters are left for the first call
    model(np.ones((2, 3)))
    cr.save(model, tmp_path / "m.safetensors")
    fresh = models.MLP([5, 2], rng=1)
    params = fresh.params()
    cr.load(tmp_path / "m.safetensors", into=fresh)  # fills the placeholders in place
    assert all(a is b for a, b in zip(fresh.params(), params)) and all(p.initialized for p in params)
    np.testing.assert_array_equal(fresh(np.ones((2, 3))).data, model(np.ones((2, 3))).data)
    with pytest.raises(RuntimeError, match="already initialised"):
        params[0].materialize(np.ones((3, 5)))


def test_an_optimizer_given_no_parameters_raises():
    for make in (lambda: optim.SGD([], lr=0.1), lambda: optim.Adam(L.Sequential(F.relu)),
                 lambda: optim.RMSprop(iter(())), lambda: optim.SGD([{"params": []}], lr=0.1)):
        with pytest.raises(ValueError, match="empty parameter list"):
            make()
    with pytest.raises(ValueError, match="no parameters"):
        optim.SGD(lr=0.1).update(L.Sequential(F.relu))


def test_threads_making_the_first_call_get_the_single_threaded_parameters():
    x = np.random.default_rng(0).standard_normal((8, 6))
    expected = models.MLP([32, 16, 4], activation=F.relu, rng=7)
    expected(x)
    want = [p.data.copy() for p in expected.params()]
    for _ in range(10):
        model = models.MLP([32, 16, 4], activation=F.relu, rng=7)
        barrier = threading.Barrier(4)
        outs, errors = [], []

        def work():
            try:
                barrier.wait()
                outs.append(model(x).data)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors
        for p, w in zip(model.params(), want):
            np.testing.assert_array_equal(p.data, w)
        for o in outs:
            np.testing.assert_array_equal(o, outs[0])


def test_lazy_conv_and_lstm_materialise_atomically_under_threads():
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 6))
    ref = L.Conv2d(4, 3, rng=3)
    ref(x)
    for _ in range(5):
        conv = L.Conv2d(4, 3, rng=3)
        threads = [threading.Thread(target=conv, args=(x,)) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        np.testing.assert_array_equal(conv.w.data, ref.w.data)


@pytest.mark.parametrize("make, x", [
    (lambda: L.Linear(3, rng=0), np.ones((2, 4))),
    (lambda: L.Conv2d(2, 3, rng=0), np.ones((1, 2, 5, 5))),
    (lambda: L.LayerNorm(), np.ones((2, 4))),
    (lambda: L.BatchNorm(), np.ones((2, 4))),
    (lambda: models.MLP([5, 2], activation=F.relu, rng=0), np.ones((2, 4))),
    (lambda: models.LSTM(3, 1, rng=0), np.ones((2, 4))),
], ids=["Linear", "Conv2d", "LayerNorm", "BatchNorm", "MLP", "LSTM"])
def test_input_of_another_float_dtype_is_refused_naming_the_layer(make, x):
    layer = make()
    y = layer(x.astype(np.float32))  # the first call sets the dtype
    layer(x.astype(np.float32))  # (an LSTM's h2* maps are sized at the second step)
    assert y.dtype == np.float32 and all(p.dtype == np.float32 for p in layer.params())
    with pytest.raises(TypeError, match=r"input dtype float64 differs from the parameters' dtype float32"):
        layer(x)
    with pytest.raises(TypeError, match=type(layer).__name__ if not isinstance(layer, models.LSTM) else "LSTM"):
        layer(cr.Variable(x))
    assert layer(x.astype(np.int64)).dtype == np.float32  # integers are cast to the parameters' dtype


def test_explicit_dtype_layer_refuses_other_floats():
    lin = L.Linear(2, in_size=3, dtype=np.float32, rng=0)
    with pytest.raises(TypeError, match=r"Linear\(out_size=2, in_size=3.*float64.*float32"):
        lin(np.ones((1, 3)))


def test_shape_mismatch_names_the_layer_and_the_sizes():
    lin = L.Linear(3, in_size=4, rng=0)
    with pytest.raises(ValueError, match=r"Linear\(out_size=3, in_size=4, bias=True\): input has 5 features "
                                         r"\(shape \(2, 5\)\) but the layer has in_size=4"):
        lin(np.ones((2, 5)))  # at the first call
    lazy = L.Linear(3, rng=0)
    lazy(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"Linear\(out_size=3, in_size=4.*6 features"):
        lazy(np.ones((2, 6)))  # later calls too
    mlp = models.MLP([5, 2], activation=F.relu, rng=0)
    mlp(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"MLP layer linear\[0\] \(Linear\(out_size=5, in_size=4.*3 features"):
        mlp(np.ones((2, 3)))


def test_requires_grad_false_freezes_a_layer():
    model = L.Sequential(L.Linear(3, in_size=2, rng=0), F.relu, L.Linear(1, in_size=3, rng=0))
    if not hasattr(model.params()[0], "requires_grad"):
        pytest.skip("Variable.requires_grad is not there yet")
    assert model[0].requires_grad_(False) is model[0]
    assert [p.requires_grad for p in model.params()] == [False, False, True, True]
    frozen = [p.data.copy() for p in model[0].params()]
    opt = optim.SGD(model.params(), lr=0.1, momentum=0.9)
    x = np.ones((4, 2))
    for _ in range(3):
        loss = F.sum(model(x) ** 2)
        model.zero_grad()
        loss.backward()
        for p in model[0].params():  # a gradient that is there anyway is not applied
            p.grad = cr.Variable(np.ones_like(p.data))
        opt.step()
    for p, f in zip(model[0].params(), frozen):
        np.testing.assert_array_equal(p.data, f)
    model.requires_grad_(True)
    assert all(p.requires_grad for p in model.params())


def test_parameter_aliases():
    lin = L.Linear(3, in_size=2, rng=0)
    assert [id(p) for p in lin.parameters()] == [id(p) for p in lin.params()]
    assert [(n, id(p)) for n, p in lin.named_parameters()] == [(n, id(p)) for n, p in lin.named_params()]
    assert L.Layer.zero_grad is L.Layer.cleargrads
    p = Parameter(None)
    assert p.data is None and p.grad is None


@pytest.mark.parametrize("layer, x, pattern", [
    (lambda: L.LayerNorm(4), np.ones((2, 5)), r"LayerNorm\(normalized_shape=\(4,\).*\(2, 5\)"),
    (lambda: L.RMSNorm(4), np.ones((2, 5)), r"RMSNorm\(normalized_shape=\(4,\).*\(2, 5\)"),
    (lambda: L.BatchNorm(3), np.ones((2, 4)), r"BatchNorm\(num_features=3.*\(2, 4\)"),
    (lambda: L.Embedding(5, 3), np.array([7]), r"Embedding\(num=5, dim=3\).*\[0, 5\)"),
    (lambda: L.ConvTranspose2d(2, 3, in_channels=4, rng=0), np.ones((1, 3, 4, 4)),
     r"ConvTranspose2d\(out_channels=2, in_channels=4.*\(N, 4, H, W\).*\(1, 3, 4, 4\)"),
], ids=["LayerNorm", "RMSNorm", "BatchNorm", "Embedding", "ConvTranspose2d"])
def test_other_layers_name_themselves_on_a_size_mismatch(layer, x, pattern):
    with pytest.raises((ValueError, IndexError), match=pattern):
        layer()(x)
