"""Data changed between the forward and the backward pass: versions, and the error backward raises."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F


def test_data_assignment_and_in_place_operators_bump_the_version():
    w = cr.Variable(np.ones(3))
    assert w._version == 0
    w.data = np.zeros(3)
    assert w._version == 1
    with cr.no_grad():
        w += 1.0
        w -= 0.5
        w *= 2.0
        w /= 4.0
    assert w._version == 5
    np.testing.assert_allclose(w.data, np.full(3, 0.25))
    assert cr.Variable(np.ones(2))._version == 0 and (w * 2.0)._version == 0


def test_backward_refuses_an_input_changed_in_place_after_the_forward():
    x, w = cr.Variable(np.ones(3)), cr.Variable(np.full(3, 2.0), name="w")
    y = F.sum(x * w)
    w._version += 1  # what an optimizer does after writing into w.data
    with pytest.raises(RuntimeError, match=r"input of Mul .*'w' \(shape \(3,\), dtype float64\) is at version 1"):
        y.backward()
    assert x.grad is None and w.grad is None  # nothing was stored


def test_no_grad_in_place_update_between_forward_and_backward_is_caught():
    x, w = cr.Variable(np.ones(3)), cr.Variable(np.full(3, 2.0))
    y = F.sum(x * w)
    with cr.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_replacing_data_is_caught_even_with_another_shape():
    x, w = cr.Variable(np.ones(3)), cr.Variable(np.full(3, 2.0))
    y = F.sum(x * w)
    w.data = np.ones(5)  # backward would otherwise fail on shapes, or silently use the new values
    with pytest.raises(RuntimeError, match="Mul"):
        y.backward()
    w2 = cr.Variable(np.full(3, 2.0))
    y2 = F.sum(F.exp(w2))
    w2.data = np.full(3, 7.0)
    with pytest.raises(RuntimeError, match=r"input of Exp .* is at version 1"):
        y2.backward()


def test_an_output_changed_in_place_is_caught():
    x = cr.Variable(np.array([0.5, 1.0]))
    y = F.exp(x)  # exp's gradient reads its output
    with cr.no_grad():
        y *= 2.0
    with pytest.raises(RuntimeError, match=r"output 0 of Exp .* version 1"):
        F.sum(y).backward()


def test_both_passes_and_gradients_check_versions():
    x = cr.Variable(np.array([0.5, 1.0]))
    y = F.sum(x * x * x)
    x.data = x.data.copy()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward(create_graph=True)
    with pytest.raises(RuntimeError, match="modified in place"):
        cr.gradients(y, x)


def test_a_change_before_the_forward_is_fine_and_a_new_forward_sees_it():
    x, w = cr.Variable(np.ones(3)), cr.Variable(np.full(3, 2.0))
    for step in range(3):
        y = F.sum(x * w * w)
        w.cleargrad()
        y.backward()
        np.testing.assert_allclose(w.grad.data, 2 * w.data)
        with cr.no_grad():
            w -= 0.1 * w.grad
    assert w._version == 3


def test_unchanged_inputs_of_a_multi_input_op_with_nonzero_versions_pass():
    a, b, c = (cr.Variable(np.full(2, v)) for v in (1.0, 2.0, 3.0))
    for v in (a, b, c):
        v._version = 7
    y = F.sum(F.concat([a, b, c], axis=0) ** 2)
    y.backward()
    np.testing.assert_allclose(c.grad.data, [6.0, 6.0])
    y = F.sum(F.concat([a, b, c], axis=0))
    b._version += 1
    with pytest.raises(RuntimeError, match=r"input 1 .* version 8"):
        y.backward()


def test_the_issue_case_an_optimizer_step_between_forward_and_backward():
    from chainrule import layers as L
    from chainrule import optim

    x, w = cr.Variable(np.ones(3)), L.Parameter(np.full(3, 2.0))
    opt = optim.SGD([w], lr=0.1)
    F.sum(x * w).backward()
    y = F.sum(x * w)
    opt.step()  # writes into w.data and bumps its version
    with pytest.raises(RuntimeError, match=r"input of Mul .*input 1 \(shape \(3,\), dtype float64\) is at version 1"):
        y.backward()
