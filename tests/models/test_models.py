"""Models: the reference library's MLP example reproduced exactly, MLP and LSTM structure."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule import models
from chainrule.layers import Layer
from chainrule.random import const


def _sgd(model, lr):
    for p in model.params():
        p.data = p.data - lr * p.grad.data


def test_mlp_reproduces_the_reference_loss_sequence():
    # 001_fd2f9c29bccb3710.txt: rand.Const(), MLP([10, 1], ReLU), SGD 0.2, every 10th loss
    s = const()
    x = cr.rand((100, 1), rng=s)
    t = cr.rand((100, 1), rng=s)
    m = models.MLP([10, 1], activation=F.relu, rng=s)
    printed = []
    for i in range(100):
        y = m(x)
        loss = F.mean_squared_error(y, t)
        m.cleargrads()
        loss.backward()
        _sgd(m, 0.2)
        if i % 10 == 0:
            printed.append(f"{loss.item():.8f}")
    assert printed == ["0.17547970", "0.07741569", "0.07284688", "0.07090371", "0.07005858",
                       "0.06968885", "0.06952675", "0.06945531", "0.06942337", "0.06940859"]


def test_mlp_structure_and_activation_between_layers_only():
    calls = []

    def act(h):
        calls.append(h.shape)
        return F.tanh(h)

    m = models.MLP([5, 4, 2], activation=act, rng=0)
    assert isinstance(m, models.Model) and isinstance(m, Layer)
    y = m(np.ones((3, 6)))
    assert y.shape == (3, 2) and calls == [(3, 5), (3, 4)]
    assert [n for n, _ in m.named_params()] == ["linear[0].w", "linear[0].b", "linear[1].w", "linear[1].b",
                                                 "linear[2].w", "linear[2].b"]
    assert m.named_params()[0][1].shape == (6, 5)
    with pytest.raises(ValueError):
        models.MLP([])


def test_mlp_default_activation_is_sigmoid_and_float32_works():
    m = models.MLP([3, 1], rng=0)
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    y = m(x)
    l0, l1 = m.layers()
    h = 1 / (1 + np.exp(-(x @ l0.w.data + l0.b.data)))
    np.testing.assert_allclose(y.data, h @ l1.w.data + l1.b.data, rtol=1e-5)
    assert y.dtype == np.float32 and all(p.dtype == np.float32 for p in m.params())


def test_lstm_model_names_reset_and_training_step():
    m = models.LSTM(4, 1, rng=const())
    xs = np.sin(np.linspace(0, 3, 6)).reshape(6, 1, 1)
    ys = [m(x) for x in xs]
    assert ys[-1].shape == (1, 1)
    names = [n for n, _ in m.named_params()]
    assert names[:2] == ["lstm.x2f.w", "lstm.x2f.b"] and names[-2:] == ["linear.w", "linear.b"]
    assert "lstm.h2u.w" in names and len(names) == 14
    m.reset_state()
    assert m.lstm.h is None and m.lstm.c is None
    np.testing.assert_allclose(m(xs[0]).data, ys[0].data)
    # a few truncated-BPTT steps reduce the loss on a fixed target
    target = np.cos(np.linspace(0, 3, 6)).reshape(6, 1, 1)

    def epoch():
        m.reset_state()
        loss = None
        for x, t in zip(xs, target):
            term = F.mean_squared_error(m(x), t)
            loss = term if loss is None else loss + term
        m.cleargrads()
        loss.backward()
        loss.unchain_backward()
        _sgd(m, 0.05)
        return loss.item()

    first = epoch()
    for _ in range(20):
        last = epoch()
    assert last < first


def test_model_state_dict_round_trip():
    a = models.MLP([4, 2], rng=0)
    x = np.ones((2, 3))
    ya = a(x).data
    b = models.MLP([4, 2], rng=1)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b(x).data, ya)
