"""F.lstm_cell: the fused LSTM state update against its composition of elementary ops."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)
GATES = [RNG.standard_normal((3, 4)) for _ in range(5)]


def composed(af, ai, ao, au, cp=None):
    f, i, o, u = F.sigmoid(af), F.sigmoid(ai), F.sigmoid(ao), F.tanh(au)
    c = i * u if cp is None else f * cp + i * u
    return o * F.tanh(c), c


def fused(*xs):
    return F.lstm_cell(*xs)


@pytest.mark.parametrize("k", [4, 5], ids=["first-step", "with-c_prev"])
def test_values_match_the_composition(k):
    xs = [cr.Variable(a) for a in GATES[:k]]
    for got, want in zip(fused(*xs), composed(*xs)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("k", [4, 5], ids=["first-step", "with-c_prev"])
def test_gradcheck_and_gradgradcheck(k):
    assert gradcheck(fused, *GATES[:k])
    assert gradgradcheck(fused, *GATES[:k])
    assert gradgradcheck(lambda *xs: fused(*xs)[0], *GATES[:k])  # c gets no gradient
    assert gradgradcheck(lambda *xs: fused(*xs)[1], *GATES[:k])  # h gets no gradient


@pytest.mark.parametrize("k", [4, 5], ids=["first-step", "with-c_prev"])
def test_higher_orders_match_the_composition(k):
    """Up to the fourth derivative, with create_graph=True at every level."""
    def derivatives(fn):
        xs = [cr.Variable(a) for a in GATES[:k]]
        h, c = fn(*xs)
        s = (h * h).sum() + (c * h).sum()
        out = []
        for power in (2, 3, 2):
            gs = cr.gradients(s, xs, create_graph=True)
            out += [g.numpy() for g in gs]
            s = sum(((g ** power).sum() for g in gs), cr.variable(0.0))
        return out + [g.numpy() for g in cr.gradients(s, xs)]

    for got, want in zip(derivatives(fused), derivatives(composed)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"lstm_cell: .*\(3, 4\).*\(3, 5\)"):
        F.lstm_cell(GATES[0], GATES[1], GATES[2], np.ones((3, 5)))


def test_float32_stays_float32():
    h, c = F.lstm_cell(*[a.astype(np.float32) for a in GATES])
    assert h.dtype == np.float32 and c.dtype == np.float32


@pytest.mark.parametrize("out", [0, 1], ids=["h-only", "c-only"])
@pytest.mark.parametrize("k", [4, 5], ids=["first-step", "with-c_prev"])
def test_fused_first_order_rule_with_one_output_matches_the_reference(k, out):
    """The fused first-order rule's branches for an output without gradient (h unused, or c
    at the last step of a sequence) agree with the reference composition's gradient."""
    from chainrule.core.composite import reference_mode
    from chainrule.functions.recurrent import LSTMCell

    def grads():
        xs = [cr.Variable(a) for a in GATES[:k]]
        y = F.lstm_cell(*xs)[out]
        return [g.numpy() for g in cr.gradients([y], xs, grad_outputs=[cr.Variable(GATES[4] ** 2)])]

    fast = grads()
    with reference_mode(LSTMCell):
        ref = grads()
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    if k == 4:
        assert not fast[0].any()  # the forget gate has no cell state to forget on the first step


def test_one_definition_of_the_derivative():
    """lstm_cell is a Composite: no hand-written gradient Function sits beside it."""
    import chainrule.functions.recurrent as rec
    from chainrule.core.composite import Composite

    assert issubclass(rec.LSTMCell, Composite)
    assert not hasattr(rec, "LSTMCellGrad") and not hasattr(rec, "_cell_grads")
    from chainrule.functions import math as m

    assert rec._sigmoid is m._sigmoid  # math.py's sigmoid numerics, not a private copy


# ----- F.lstm_step: the gate maps and the cell as one op -----
def _step_params(rng, n_in, hidden, dtype=np.float64):
    return ([rng.standard_normal((n_in, hidden)).astype(dtype) for _ in range(4)]
            + [rng.standard_normal(hidden).astype(dtype) for _ in range(4)]
            + [rng.standard_normal((hidden, hidden)).astype(dtype) for _ in range(4)])


def test_lstm_step_with_a_raw_input_gives_the_same_gradients_and_none_for_x():
    rng = np.random.default_rng(3)
    x, h, c = rng.standard_normal((5, 2)), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    ps = _step_params(rng, 2, 3)

    def grads(x_arg):
        vs = [cr.Variable(p) for p in [h, c, *ps]]
        hn, cn = F.lstm_step(x_arg, vs[0], vs[1], *vs[2:])
        F.sum(hn * hn + cn).backward()
        return [v.grad.data for v in vs]

    xv = cr.Variable(x)
    with_x = grads(xv)
    assert xv.grad is not None
    for a, b in zip(grads(x), with_x):  # x as a plain array: its GEMMs are skipped
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_lstm_step_shape_and_state_errors_name_the_op():
    rng = np.random.default_rng(4)
    ps = _step_params(rng, 2, 3)
    x, h = rng.standard_normal((5, 2)), rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match="lstm_step: give both h and c"):
        F.lstm_step(x, h, None, *ps)
    with pytest.raises(ValueError, match=r"lstm_step: shapes .* do not fit"):
        F.lstm_step(rng.standard_normal((5, 4)), h, h, *ps)
    with pytest.raises(ValueError, match="lstm_step: expected 8 arrays"):
        F.lstm_step(x, h, h, *ps[:8])


def test_lstm_step_keeps_float32():
    rng = np.random.default_rng(5)
    ps = [cr.Variable(p) for p in _step_params(rng, 2, 3, np.float32)]
    x = rng.standard_normal((4, 2)).astype(np.float32)
    h, c = F.lstm_step(x, None, None, *ps)
    h, c = F.lstm_step(x, h, c, *ps)
    F.sum(h).backward()
    assert h.dtype == c.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in ps)


def test_truncated_bptt_through_the_layer_stops_at_the_cut():
    """Window 2's gradients after ``unchain_backward`` and an update equal those of the same
    window started from the carried state as plain arrays (the fused step returns h and c from
    one op; both are cut)."""
    from chainrule import layers as L
    from chainrule import optim

    rng = np.random.default_rng(6)
    xs = [rng.standard_normal((3, 1)) for _ in range(6)]
    lstm = L.LSTM(4, 1, rng=1)
    opt = optim.SGD(lr=0.1)

    def window(model, steps):
        return F.sum(F.stack([F.sum(model(x) ** 2) for x in steps]))

    loss = window(lstm, xs[:3])
    lstm.cleargrads()
    loss.backward()
    loss.unchain_backward()
    opt.update(lstm)
    assert lstm.h.creator is None and lstm.c.creator is None
    state = (lstm.h.data.copy(), lstm.c.data.copy())
    loss = window(lstm, xs[3:])
    lstm.cleargrads()
    loss.backward()  # reached the old step through c before the cut included siblings: a version error
    got = {n: p.grad.data.copy() for n, p in lstm.named_params()}

    twin = L.LSTM(4, 1, rng=1)
    twin(xs[0])
    twin(xs[0])  # sized like lstm
    for (_, p), (_, q) in zip(twin.named_params(), lstm.named_params()):
        p.data = q.data.copy()
    twin.h, twin.c = cr.Variable(state[0]), cr.Variable(state[1])
    twin.cleargrads()
    window(twin, xs[3:]).backward()
    for n, p in twin.named_params():
        np.testing.assert_allclose(got[n], p.grad.data, rtol=1e-12, err_msg=n)
