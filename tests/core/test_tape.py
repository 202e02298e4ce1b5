"""GradientTape: recording, gradients (single / list / dict), persistence, recording control."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.core.config import get_config, no_grad
from chainrule.core.tape import GradientTape
from chainrule.core.variable import Variable
from chainrule.functions.broadcast import sum_to


def total(v):
    return sum_to(v, ())


def _creators(y):
    """Distinct Functions reachable from y (an independent count of the ops in its graph)."""
    seen, stack = set(), [y.creator] if y.creator else []
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        stack.extend(x.creator for x in f.inputs if x.creator is not None)
    return seen


def _loss(x, w):
    return total((x * w + 1.0) ** 2 / (w * w + 1.0))


@pytest.fixture
def xw():
    rng = np.random.default_rng(3)
    return Variable(rng.standard_normal((3, 2))), Variable(rng.standard_normal((2,)))


def test_tape_is_scoped_in_config(xw):
    assert get_config().tapes == ()
    with GradientTape() as tape:
        assert get_config().tapes == (tape,)
        assert tape.active and tape.recording
        with GradientTape() as inner:
            assert get_config().tapes == (tape, inner)
        assert get_config().tapes == (tape,)
    assert get_config().tapes == ()
    assert not tape.active and not tape.recording


def test_num_ops_counts_every_recorded_op(xw):
    x, w = xw
    with GradientTape() as tape:
        y = x * w
        assert tape.num_ops == 1
        z = _loss(x, w)
    assert tape.num_ops == 1 + len(_creators(z))
    assert tape.operations[0] is y.creator
    x * w  # outside the block: not recorded
    assert tape.num_ops == 1 + len(_creators(z))


def test_gradient_single_list_dict_match_torch(xw):
    torch = pytest.importorskip("torch")
    x, w = xw
    with GradientTape(persistent=True) as tape:
        y = _loss(x, w)
    gx = tape.gradient(y, x)
    assert isinstance(gx, Variable) and gx.shape == x.shape
    glist = tape.gradient(y, [x, w])
    assert isinstance(glist, list) and len(glist) == 2
    gdict = tape.gradient(y, {"x": x, "w": w})
    assert list(gdict) == ["x", "w"]

    tx = torch.tensor(x.data, requires_grad=True)
    tw = torch.tensor(w.data, requires_grad=True)
    ty = (((tx * tw + 1.0) ** 2) / (tw * tw + 1.0)).sum()
    ex, ew = torch.autograd.grad(ty, (tx, tw))
    for got in (gx, glist[0], gdict["x"]):
        np.testing.assert_allclose(got.data, ex.numpy(), rtol=1e-12)
    for got in (glist[1], gdict["w"]):
        np.testing.assert_allclose(got.data, ew.numpy(), rtol=1e-12)
    assert x.grad is None and w.grad is None  # .grad untouched


def test_non_persistent_tape_refuses_second_gradient(xw):
    x, w = xw
    with GradientTape() as tape:
        y = _loss(x, w)
    tape.gradient(y, x)
    assert tape.num_ops == 0  # released after use
    with pytest.raises(RuntimeError, match="persistent=True"):
        tape.gradient(y, x)


def test_persistent_tape_gives_the_same_gradient_twice(xw):
    x, w = xw
    with GradientTape(persistent=True) as tape:
        y = _loss(x, w)
    g1 = tape.gradient(y, [x, w])
    g2 = tape.gradient(y, [x, w])
    for a, b in zip(g1, g2):
        np.testing.assert_array_equal(a.data, b.data)


def test_stop_recording_treats_ops_as_constants():
    torch = pytest.importorskip("torch")
    xs = np.array([0.3, -1.2, 2.0])
    x = Variable(xs)
    with GradientTape() as tape:
        a = x * 2.0
        with tape.stop_recording():
            assert not tape.recording
            b = a * x            # constant to this tape
        assert tape.recording
        c = total(b + a * a)
    assert tape.num_ops == len(_creators(c)) - 1  # every op of the graph except b's
    g = tape.gradient(c, x)
    tx = torch.tensor(xs, requires_grad=True)
    ta = tx * 2.0
    tc = ((ta * tx).detach() + ta * ta).sum()
    np.testing.assert_allclose(g.data, torch.autograd.grad(tc, tx)[0].numpy(), rtol=1e-12)
    c.backward()  # the graph itself is intact: plain backward sees everything
    np.testing.assert_allclose(x.grad.data, 4 * xs + 8 * xs, rtol=1e-12)


def test_stop_and_start_recording_as_calls():
    x = Variable(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        x * x
        tape.stop_recording()
        x * x
        x + x
        tape.start_recording()
        y = x * 3.0
    assert tape.num_ops == 2
    assert tape.operations[-1] is y.creator
    with pytest.raises(RuntimeError, match="not active"):
        tape.stop_recording()
    with pytest.raises(RuntimeError, match="not active"):
        tape.start_recording()


def test_target_made_while_stopped_gives_zeros():
    x = Variable(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        with tape.stop_recording():
            y = total(x * x)
    assert tape.num_ops == 0
    np.testing.assert_array_equal(tape.gradient(y, x).data, [0.0, 0.0])


def test_tape_no_grad_records_nothing():
    x = Variable(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        with tape.no_grad():
            y = x * x
        z = x + x
    assert y.creator is None and z.creator is not None
    assert tape.num_ops == 1


def test_global_no_grad_inside_tape_records_nothing():
    x = Variable(np.array([1.0]))
    with GradientTape() as tape:
        with no_grad():
            x * x
    assert tape.num_ops == 0


def test_clear_forgets_recorded_ops():
    x = Variable(np.array([1.0, 2.0]))
    with GradientTape(persistent=True) as tape:
        y = total(x * x)
        assert tape.num_ops == 2
        tape.clear()
        assert tape.num_ops == 0
        z = total(y * x)  # only this part is on the tape now
    assert tape.num_ops == 2
    # dz/dx with y constant: y itself = sum(x^2) = 5
    np.testing.assert_allclose(tape.gradient(z, x).data, [5.0, 5.0])


def test_nested_tapes_give_second_derivatives():
    torch = pytest.importorskip("torch")
    xs = np.array([0.7, -0.4, 1.3])
    x = Variable(xs)
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = total(x ** 3 / (x * x + 1.0))
        dy = inner.gradient(y, x)  # recorded on the outer tape
        s = total(dy)
    d2 = outer.gradient(s, x)
    assert inner.num_ops == 0  # non-persistent: released
    tx = torch.tensor(xs, requires_grad=True)
    tdy, = torch.autograd.grad((tx ** 3 / (tx * tx + 1.0)).sum(), tx, create_graph=True)
    td2, = torch.autograd.grad(tdy.sum(), tx)
    np.testing.assert_allclose(dy.data, tdy.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(d2.data, td2.numpy(), rtol=1e-10)


def test_create_graph_off_without_outer_tape():
    x = Variable(np.array([2.0]))
    with GradientTape() as tape:
        y = total(x * x * x)
    g = tape.gradient(y, x)
    assert g.creator is None
    with GradientTape() as tape:
        y = total(x * x * x)
    g = tape.gradient(y, x, create_graph=True)
    assert g.creator is not None


def test_watch_supplies_default_sources_and_list_target_sums():
    x = Variable(np.array([1.0, 2.0]))
    w = Variable(np.array([3.0, -1.0]))
    with GradientTape(persistent=True) as tape:
        tape.watch(x, w)
        tape.watch(x)  # once only
        y1 = total(x * w)
        y2 = total(x * x)
    assert tape.watched_variables() == [x, w]
    gx, gw = tape.gradient([y1, y2])
    np.testing.assert_allclose(gx.data, w.data + 2 * x.data)
    np.testing.assert_allclose(gw.data, x.data)
    with pytest.raises(TypeError):
        tape.watch(np.ones(2))


def test_gradient_argument_errors():
    x = Variable(np.array([1.0]))
    with GradientTape(persistent=True) as tape:
        y = total(x * x)
    with pytest.raises(TypeError, match="sources"):
        tape.gradient(y, "x")
    with pytest.raises(TypeError, match="target"):
        tape.gradient(np.ones(1), [x])
    with pytest.raises(ValueError, match="no sources"):
        tape.gradient(y)
    assert "persistent=True" in repr(tape)
