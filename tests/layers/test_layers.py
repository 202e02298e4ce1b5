"""Layers: registration and naming, lazy Linear, containers, state dicts, modes, RNN/LSTM."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
import chainrule.layers as L
from chainrule.layers import Layer, Parameter
from chainrule.random import const
from chainrule.testing import gradcheck, numerical_grad


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ----- Layer / Parameter basics -----
class Affine(Layer):
    def __init__(self):
        super().__init__()
        self.w = Parameter(np.arange(6.0).reshape(2, 3))
        self.inner = L.Linear(2, in_size=3, rng=0)
        self.b = Parameter(np.zeros(3))
        self.note = "not a parameter"

    def forward(self, x):
        return self.inner(x @ self.w + self.b)


def test_registration_by_attribute_and_order():
    m = Affine()
    assert [n for n, _ in m.named_params()] == ["w", "b", "inner.w", "inner.b"]
    assert m.params()[0] is m.w and all(isinstance(p, Parameter) for p in m.params())
    assert [n for n, _ in m.named_layers()] == ["inner"]
    m.b = None  # a slot can be emptied and is then skipped
    assert [n for n, _ in m.named_params()] == ["w", "inner.w", "inner.b"]
    with pytest.raises(TypeError):
        m.w = np.zeros(3)  # a parameter slot takes Parameters only
    del m.inner
    assert [n for n, _ in m.named_params()] == ["w"]


def test_shared_parameter_listed_once_and_cleargrads():
    m = Affine()
    m.alias = m.inner.b  # the same object registered in two places
    assert [n for n, _ in m.named_params()] == ["w", "b", "alias", "inner.w"]  # first name wins
    y = m(cr.Variable(np.ones((4, 2)))).sum()
    y.backward()
    assert all(p.grad is not None for p in m.params())
    m.cleargrads()
    assert all(p.grad is None for p in m.params())


# ----- Linear -----
def test_linear_lazy_init_from_first_input():
    lin = L.Linear(3, rng=const())
    w, b = lin.params()  # the Parameter objects exist from construction, uninitialised
    assert not w.initialized and not b.initialized and "uninitialized" in repr(w)
    x = np.arange(8.0).reshape(2, 4)
    y = lin(x)
    assert lin.w is w and lin.b is b and w.initialized  # filled in place
    assert lin.w.shape == (4, 3) and lin.b.shape == (3,)
    assert [n for n, _ in lin.named_params()] == ["w", "b"]
    expected_w = const().standard_normal((4, 3)) / np.sqrt(4)
    np.testing.assert_allclose(lin.w.data, expected_w, rtol=1e-15)
    assert np.all(lin.b.data == 0)
    np.testing.assert_allclose(y.data, x @ lin.w.data + lin.b.data)
    with pytest.raises(ValueError, match=r"Linear\(out_size=3, in_size=4.*5 features.*in_size=4"):
        lin(np.ones((2, 5)))  # in_size is fixed by the first input


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_params_take_the_input_dtype(dtype):
    lin = L.Linear(3, rng=0)
    y = lin(np.ones((2, 4), dtype=dtype))
    assert lin.w.dtype == dtype and lin.b.dtype == dtype and y.dtype == dtype
    # with in_size the weights exist at once and are retyped by the first input
    lin2 = L.Linear(3, in_size=4, rng=0)
    assert lin2.w.dtype == np.float64
    assert lin2(np.ones((2, 4), dtype=dtype)).dtype == dtype and lin2.w.dtype == dtype


def test_linear_explicit_dtype_no_bias_and_bad_sizes():
    lin = L.Linear(5, in_size=2, bias=False, dtype=np.float32, rng=1)
    assert [n for n, _ in lin.named_params()] == ["w"] and lin.w.dtype == np.float32
    assert lin(np.ones((3, 2), dtype=np.float32)).shape == (3, 5)
    with pytest.raises(TypeError, match="Linear.*float64.*float32"):
        lin(np.ones((3, 2)))  # explicit dtype: parameters are not retyped, other floats refused
    assert lin.w.dtype == np.float32
    for bad in (0, -1, 2.5, None):
        with pytest.raises(ValueError, match="Linear"):
            L.Linear(bad)


def test_linear_gradients(device):
    be = cr.get_backend(device)
    lin = L.Linear(3, in_size=4, rng=0).to(device)
    x = be.asarray(np.random.default_rng(1).standard_normal((2, 4)))
    gradcheck(lambda v: lin(v), x)
    loss = (lin(x) ** 2).sum()
    loss.backward()

    def f(_):
        return float((lin(x).data ** 2).sum())

    for p in lin.params():
        np.testing.assert_allclose(be.to_numpy(p.grad.data), numerical_grad(f, p.data), atol=1e-6)


# ----- containers -----
def test_parameters_container():
    ps = L.Parameters()
    w = ps.add("w", Parameter(np.ones((2, 2))))
    ps.add("b", np.zeros(2))  # arrays are wrapped into Parameters
    assert w.name == "w" and ps["b"].name == "b" and isinstance(ps["b"], Parameter)
    assert list(ps) == ["w", "b"] and len(ps) == 2 and "w" in ps
    assert [n for n, _ in ps.named_params()] == ["w", "b"]
    ps.delete("w")
    assert list(ps) == ["b"] and "w" not in ps
    with pytest.raises(KeyError):
        ps["w"]
    ps.add("items", np.zeros(1))  # names that collide with methods stay reachable by key
    assert ps.items()[1][0] == "items"


def test_layers_container_and_sequential_naming():
    ls = L.Layers()
    ls.add("x2h", L.Linear(3, in_size=2, rng=0))
    ls.add("h2h", L.Linear(3, in_size=3, bias=False, rng=0))
    assert [n for n, _ in ls.named_params()] == ["x2h.w", "x2h.b", "h2h.w"]
    assert ls["x2h"].out_size == 3 and list(ls) == ["x2h", "h2h"]
    seq = L.Sequential(L.Linear(4, rng=0), F.relu, L.Linear(2, rng=0))
    x = np.ones((3, 5))
    y = seq(x)
    assert y.shape == (3, 2)
    assert [n for n, _ in seq.named_params()] == ["0.w", "0.b", "2.w", "2.b"]
    np.testing.assert_allclose(y.data, seq[2](F.relu(seq[0](x))).data)
    outer = L.Layers({"block": seq})
    assert outer.named_params()[0][0] == "block.0.w"


# ----- state dicts -----
def test_state_dict_round_trip_into_lazy_model():
    src = L.Sequential(L.Linear(4, rng=0), F.tanh, L.Linear(2, rng=0))
    x = np.random.default_rng(0).standard_normal((3, 5))
    y = src(x).data
    state = src.state_dict()
    assert list(state) == ["0.w", "0.b", "2.w", "2.b"] and all(isinstance(a, np.ndarray) for a in state.values())
    state["0.w"][...] = 0  # a copy: editing it does not touch the model
    assert np.any(src[0].w.data != 0)
    state = src.state_dict()
    dst = L.Sequential(L.Linear(4, rng=1), F.tanh, L.Linear(2, rng=1))  # lazy: nothing created yet
    dst.load_state_dict(state)
    np.testing.assert_array_equal(dst(x).data, y)
    other = L.Sequential(L.Linear(4, rng=5), F.tanh, L.Linear(2, rng=5))
    other(x)
    w_obj = other[0].w
    other.load_state_dict(state)
    assert other[0].w is w_obj  # parameters are updated in place, optimizers keep working
    np.testing.assert_array_equal(other(x).data, y)


def test_load_state_dict_reports_mismatches():
    m = L.Sequential(L.Linear(4, in_size=5, rng=0), L.Linear(2, in_size=4, rng=0))
    state = m.state_dict()
    bad = dict(state)
    bad["0.w"] = np.zeros((6, 4))
    del bad["1.b"]
    bad["extra.w"] = np.zeros(1)
    with pytest.raises(ValueError) as e:
        m.load_state_dict(bad)
    msg = str(e.value)
    assert "0.w" in msg and "(5, 4)" in msg and "(6, 4)" in msg
    assert "1.b" in msg and "missing" in msg and "extra.w" in msg and "unexpected" in msg
    np.testing.assert_array_equal(m[0].w.data, state["0.w"])  # nothing changed
    partial = {"0.w": np.ones((5, 4))}
    m.load_state_dict(partial, strict=False)
    assert np.all(m[0].w.data == 1)
    with pytest.raises(ValueError, match="0.w"):
        m.load_state_dict({"0.w": np.ones((1, 1))}, strict=False)  # shapes are checked regardless


def test_load_state_dict_keeps_parameter_dtype():
    m = L.Linear(2, in_size=3, dtype=np.float32, rng=0)
    m.load_state_dict({"w": np.ones((3, 2)), "b": np.ones(2)})
    assert m.w.dtype == np.float32 and np.all(m.w.data == 1)


# ----- modes and devices -----
def test_train_eval_propagate_and_dropout():
    seq = L.Sequential(L.Linear(3, rng=0), L.Dropout(0.5, rng=0))
    assert seq.training and seq[1].training
    x = np.ones((200, 4))
    seq(x)
    drop = seq[1]
    y = drop(cr.Variable(np.ones((50, 40))))
    assert np.any(y.data == 0) and np.allclose(y.data[y.data != 0], 2.0)
    y2 = drop(cr.Variable(np.ones((50, 40))))
    assert not np.array_equal(y.data, y2.data)  # a fresh mask each call
    assert seq.eval() is seq and not seq.training and not seq[1].training
    assert np.array_equal(drop(cr.Variable(np.ones((5, 4)))).data, np.ones((5, 4)))
    seq.train()
    with cr.test_mode():
        assert np.array_equal(drop(cr.Variable(np.ones((5, 4)))).data, np.ones((5, 4)))
    assert drop.is_training()
    with pytest.raises(ValueError):
        L.Dropout(1.5)


def test_to_device(device):
    m = L.Sequential(L.Linear(3, in_size=2, rng=0), L.Linear(1, rng=0))
    m.to(device)
    xp = cr.get_backend(device).xp
    y = m(xp.ones((4, 2)))
    assert all(p.device == cr.get_backend(device).name for p in m.params())
    assert y.device == cr.get_backend(device).name
    m.to("cpu")
    assert all(isinstance(p.data, np.ndarray) for p in m.params())


# ----- recurrent layers -----
def test_rnn_equations_and_reset_state():
    rnn = L.RNN(3, rng=0)
    assert [n for n, _ in rnn.named_params()] == ["x2h.w", "x2h.b", "h2h.w"]  # x2h is lazy:
    assert not rnn.x2h.w.initialized and rnn.h2h.w.initialized  # its parameters are placeholders
    xs = np.random.default_rng(2).standard_normal((3, 2, 4))
    h1 = rnn(xs[0])
    assert [n for n, _ in rnn.named_params()] == ["x2h.w", "x2h.b", "h2h.w"]
    W, b, U = rnn.x2h.w.data, rnn.x2h.b.data, rnn.h2h.w.data
    np.testing.assert_allclose(h1.data, np.tanh(xs[0] @ W + b))  # first step: x map only
    h2 = rnn(xs[1])
    np.testing.assert_allclose(h2.data, np.tanh(xs[1] @ W + b + h1.data @ U))
    rnn.reset_state()
    assert rnn.h is None
    np.testing.assert_allclose(rnn(xs[0]).data, h1.data)


def _lstm_reference(layer, xs):
    def lin(name, a):
        sub = getattr(layer, name)
        out = a @ sub.w.data
        return out + sub.b.data if sub.b is not None else out

    h = c = None
    hs = []
    for x in xs:
        pre = {g: lin("x2" + g, x) + (lin("h2" + g, h) if h is not None else 0) for g in "fiou"}
        f, i, o = _sigmoid(pre["f"]), _sigmoid(pre["i"]), _sigmoid(pre["o"])
        u = np.tanh(pre["u"])
        c = i * u if c is None else f * c + i * u
        h = o * np.tanh(c)
        hs.append(h)
    return hs


def test_lstm_gates_names_and_reset_state():
    lstm = L.LSTM(3, rng=const())
    xs = np.random.default_rng(3).standard_normal((3, 2, 4))
    hs = [lstm(x).data for x in xs]
    names = [n for n, _ in lstm.named_params()]
    assert names == ["x2f.w", "x2f.b", "x2i.w", "x2i.b", "x2o.w", "x2o.b", "x2u.w", "x2u.b",
                     "h2f.w", "h2i.w", "h2o.w", "h2u.w"]
    for got, want in zip(hs, _lstm_reference(lstm, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    lstm.reset_state()
    assert lstm.h is None and lstm.c is None
    np.testing.assert_allclose(lstm(xs[0]).data, hs[0])


def test_lstm_draw_order_follows_the_reference():
    # h2f..h2u are drawn at construction, x2f..x2u (in that order) at the first call
    lstm = L.LSTM(2, rng=const())
    lstm(np.ones((1, 3)))
    s = const()
    for g in "fiou":
        np.testing.assert_array_equal(getattr(lstm, "h2" + g).w.data, s.standard_normal((2, 2)) * (1 / np.sqrt(2)))
    for g in "fiou":
        np.testing.assert_array_equal(getattr(lstm, "x2" + g).w.data, s.standard_normal((3, 2)) * (1 / np.sqrt(3)))


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_recurrent_gradients(kind, device):
    be = cr.get_backend(device)
    layer = (L.RNN(3, rng=0) if kind == "rnn" else L.LSTM(3, rng=0)).to(device)  # moves h2*
    rng = np.random.default_rng(4)
    xs = [be.asarray(rng.standard_normal((2, 2))) for _ in range(3)]
    weights = be.asarray(rng.standard_normal((2, 3)))
    layer(xs[0])  # create the lazy parameters x2* (on the device of the input)

    def run(*seq):
        layer.reset_state()
        total = None
        for x in seq:
            h = layer(x)
            term = (h * weights).sum()
            total = term if total is None else total + term
        return total

    gradcheck(run, *xs)  # with respect to every input of the sequence
    layer.cleargrads()
    run(*[cr.Variable(x) for x in xs]).backward()
    for name, p in layer.named_params():
        num = numerical_grad(lambda _: float(run(*xs).data), p.data)
        np.testing.assert_allclose(be.to_numpy(p.grad.data), num, atol=1e-6, err_msg=name)


def test_lstm_float32_end_to_end():
    lstm = L.LSTM(4, rng=0)
    x = np.ones((2, 3), dtype=np.float32)
    h = lstm(x)
    h = lstm(x)
    assert h.dtype == np.float32 and all(p.dtype == np.float32 for p in lstm.params())
    h.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in lstm.params())
