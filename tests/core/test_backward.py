"""Backward: seeding, accumulation, retain_grad, create_graph, gradients(), unchain (seeds 002, 003).

The quick start value, the sin series and Newton's method are in tests/functions/test_math.py."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F


def test_matyas_gradients():
    def matyas(x, y):
        return 0.26 * (x ** 2.0 + y ** 2.0) - 0.48 * x * y

    x, y = cr.variable(1.0), cr.variable(1.0)
    matyas(x, y).backward()
    assert repr(x.grad) == "variable(0.040000000000000036)"
    assert repr(y.grad) == "variable(0.040000000000000036)"


def test_gradients_accumulate_until_cleargrad():
    x = cr.variable(3.0)
    F.square(x).backward()
    assert x.grad.item() == 6.0
    F.square(x).backward()
    assert x.grad.item() == 12.0
    x.cleargrad()
    F.square(x).backward()
    assert x.grad.item() == 6.0


def test_same_variable_used_twice():
    x = cr.variable(3.0)
    (x + x).backward()
    assert x.grad.item() == 2.0
    x.cleargrad()
    y = x * x
    (y + y * x).backward()  # 2x + 3x^2
    assert x.grad.item() == 2 * 3 + 3 * 9


def test_intermediate_grads_released_unless_retained():
    x = cr.variable(2.0)
    a = x * 3.0
    y = a * a
    y.backward()
    assert a.grad is None and y.grad is None and x.grad.item() == 36.0
    x.cleargrad()
    a = x * 3.0
    y = a * a
    y.backward(retain_grad=True)
    assert a.grad.item() == 12.0 and y.grad.item() == 1.0


def test_create_graph_controls_whether_grad_is_differentiable():
    x = cr.variable(2.0)
    (x ** 3).backward()
    assert x.grad.creator is None
    x.cleargrad()
    (x ** 3).backward(create_graph=True)
    assert x.grad.creator is not None
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.item() == pytest.approx(6 * 2.0)


def test_broadcast_gradients_reduce_to_input_shape():
    a = cr.Variable(np.ones((2, 3)))
    b = cr.Variable(np.arange(3.0))
    c = cr.Variable(np.ones((2, 1)))
    (a * b + c).backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (3,) and c.grad.shape == (2, 1)
    np.testing.assert_array_equal(b.grad.numpy(), [2, 2, 2])
    np.testing.assert_array_equal(c.grad.numpy(), [[3], [3]])


def test_gradients_function_leaves_grad_untouched():
    x = cr.variable(3.0)
    h = x * x
    y = h * x
    gx, gh = cr.gradients(y, [x, h])
    assert x.grad is None and h.grad is None
    assert gx.item() == 27.0  # d(x^3)/dx through both paths
    assert gh.item() == 3.0
    unused = cr.variable(1.0)
    g, = cr.gradients(y, [unused])
    assert g.item() == 0.0


def test_gradients_with_grad_outputs_and_create_graph():
    x = cr.Variable(np.array([1.0, 2.0]))
    y = x ** 3
    g, = cr.gradients([y], [x], grad_outputs=[cr.Variable(np.array([1.0, 10.0]))], create_graph=True)
    np.testing.assert_allclose(g.numpy(), [3.0, 120.0])
    g2, = cr.gradients(g.sum(), [x])
    np.testing.assert_allclose(g2.numpy(), [6.0, 120.0])  # d/dx sum(3x^2 * g) = 6x * g
    with pytest.raises(ValueError, match="grad_output"):
        cr.gradients([y], [x], grad_outputs=[cr.Variable(np.ones(3))])


def test_differentiating_integer_data_is_an_error():
    x = cr.Variable(np.array([1, 2]))
    assert not x.requires_grad  # integer data takes no gradient, as in PyTorch
    with pytest.raises(RuntimeError, match="requires_grad"):
        (x * 2.0).backward()
    with pytest.raises(TypeError, match="integer"):
        cr.gradients(cr.variable(1.0) * 2.0, [x])
    with pytest.raises(TypeError, match="floating-point"):
        cr.Variable(np.array([1, 2]), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        x.requires_grad = True


@pytest.mark.parametrize("mask", [np.array([True, False, True]), np.array([1, 0, 2]),
                                  cr.Variable(np.array([True, False, True]))])
def test_backward_through_an_integer_or_bool_operand_gives_the_float_input_its_gradient(mask):
    x = cr.Variable(np.array([1.0, 2.0, 3.0]))
    F.sum(x * mask * 2.0).backward()
    m = mask.data if isinstance(mask, cr.Variable) else mask
    np.testing.assert_array_equal(x.grad.data, 2.0 * m)
    if isinstance(mask, cr.Variable):
        assert mask.grad is None


def test_unchain():
    x = cr.variable(1.0)
    y = x ** 2.0
    y.unchain()
    assert y.creator is None


def test_unchain_backward_keeps_own_creator_cuts_ancestors():
    x = cr.variable(1.0)
    y = x ** 2.0
    z = F.sin(y)
    z.unchain_backward()
    assert y.creator is None
    assert z.creator is not None
    z.backward()
    assert x.grad is None and z.creator is not None


def test_unchain_backward_cuts_the_other_outputs_of_ops_above_but_not_its_own_siblings():
    x = cr.Variable(np.arange(6.0))
    a, b = F.split(x * 2.0, 2)  # a multi-output op above the loss
    loss = F.sum(a * a)
    p, q = F.split(loss * 1.0 + x, 2)  # loss's consumers: not above it
    loss.unchain_backward()
    assert a.creator is None and b.creator is None  # b is cut too: its op is above the loss
    assert loss.creator is not None and p.creator is not None and q.creator is not None
    F.sum(b).backward()  # b is a leaf of the cut graph now
    assert x.grad is None


def test_truncated_graph_stops_gradient():
    x = cr.variable(2.0)
    h = x * 3.0
    loss = h * h
    loss.unchain_backward()
    out = loss * 2.0
    out.backward()
    assert x.grad is None
