"""In-place operators: the hand-written SGD loop, PyTorch's error on a leaf, out-of-place in a graph."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F


def test_hand_written_sgd_loop_updates_the_parameter_in_place():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3))
    t = x @ np.array([[1.0], [-2.0], [0.5]])
    w = cr.Variable(np.zeros((3, 1)))
    array = w.data
    losses = []
    for _ in range(40):
        loss = F.mean_squared_error(x @ w, t)
        w.cleargrad()
        loss.backward()
        with cr.no_grad():
            w -= 0.3 * w.grad
        losses.append(float(loss.data))
    assert w.data is array  # the same array, changed in place
    assert w._version == 40
    assert losses[-1] < 0.01 * losses[0]


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad(op):
    w = cr.Variable(np.ones(3))
    with pytest.raises(RuntimeError, match=r"leaf Variable that requires grad .* in-place operation \(" + "\\" + op[0]):
        exec(f"w {op} 2.0", {"w": w})
    np.testing.assert_array_equal(w.data, np.ones(3))
    assert w._version == 0


@pytest.mark.parametrize("op, expected", [("+=", 3.0), ("-=", -1.0), ("*=", 2.0), ("/=", 0.5)])
def test_in_place_operators_match_numpy_and_bump_once(op, expected):
    for data in (np.ones(3), np.ones((2, 3), order="F"), np.array(1.0), np.ones(4, np.float32)):
        v = cr.Variable(data.copy())
        ref = v.data
        with cr.no_grad():
            env = {"v": v, "c": cr.Variable(np.array(2.0))}
            exec(f"v {op} c", env)
        assert env["v"] is v and v.data is ref
        assert v.dtype == data.dtype and v.shape == data.shape
        np.testing.assert_allclose(v.data, np.full(data.shape, expected))
        assert v._version == 1


def test_in_place_on_a_variable_that_does_not_require_grad_needs_no_no_grad():
    batch = cr.Variable(np.ones(3), requires_grad=False)
    batch *= 3.0
    np.testing.assert_array_equal(batch.data, [3.0, 3.0, 3.0])
    assert batch._version == 1 and batch.creator is None


def test_in_place_on_a_computed_variable_while_recording_is_out_of_place_and_differentiable():
    x = cr.Variable(np.array([1.0, 2.0]))
    y = x * x
    before = y
    y *= 3.0  # y = y * 3.0: a new Variable in the graph
    assert y is not before and y.creator is not None
    np.testing.assert_array_equal(before.data, [1.0, 4.0])
    loss = 0
    for k in range(3):
        loss += F.sum(y * float(k))  # the reference's loss accumulation
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 3 * 3 * 2 * x.data)


def test_in_place_with_a_bad_operand_names_the_operation_and_shapes():
    v = cr.Variable(np.ones(3), requires_grad=False)
    with pytest.raises(ValueError, match=r"in-place \+=.*shape \(3,\).*shape \(4,\)"):
        v += np.ones(4)
    i = cr.Variable(np.arange(3), requires_grad=False)
    with pytest.raises(TypeError, match=r"in-place \*="):
        i *= 0.5
    assert v._version == 0 and i._version == 0
