"""A variable that feeds several ops gets the sum of their gradients, and the reverse pass never
writes into an array that a rule, a hook or the caller has been given (guards any future reuse
of gradient buffers in core/autodiff.py)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F


class Keep(cr.Function):
    """Identity that records every gradient array it is given (and a copy) and returns the
    array itself as its input's gradient."""

    def __init__(self, seen: list):
        self.seen = seen

    def forward(self, a):
        return a.copy()

    def backward(self, gy):
        self.seen.append((gy.data, gy.data.copy()))
        return gy


def test_fan_out_sums_every_gradient():
    x = cr.Variable(np.array([0.5, -1.0, 2.0]))
    a = x * 2.0
    y = F.sum(a + a + a * 3.0 + F.exp(a) + a * a)
    y.backward()
    av = 2.0 * x.data
    want = 2.0 * (1 + 1 + 3.0 + np.exp(av) + 2 * av)
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-14)


def test_arrays_given_to_rules_and_hooks_are_never_written_afterwards():
    seen: list = []
    hooked: list = []
    x = cr.Variable(np.linspace(-1.0, 1.0, 6))
    a = Keep(seen)(x)
    a.register_hook(lambda g: hooked.append((g.data, g.data.copy())))
    b = Keep(seen)(a)  # b's gradient is handed to Keep, which returns it as a's: not ours to write
    y = F.sum(b * 2.0 + b + a * 4.0 + a)  # a and b each get several gradients
    y.backward()
    for array, copy in seen + hooked:
        np.testing.assert_array_equal(array, copy)
    np.testing.assert_allclose(x.grad.data, np.full(6, 8.0))


def test_a_leaf_that_two_rules_give_the_same_array_keeps_its_own_grad():
    x = cr.Variable(np.ones(4))
    w = cr.Variable(np.ones(4))
    y = F.sum((x + w) + (x + w) * 2.0)  # add hands one array to both of its inputs
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.full(4, 3.0))
    np.testing.assert_allclose(w.grad.data, np.full(4, 3.0))
    assert not np.shares_memory(x.grad.data, w.grad.data)


def test_float32_and_float64_gradients_for_one_variable_sum_without_casting_down():
    x = cr.Variable(np.ones(3, np.float32))
    c = cr.Variable(np.ones(3, np.float64))
    y = F.sum(x * 2.0) + F.sum(x * 3.0) + F.sum(F.cast(x, np.float64) * c)
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, np.full(3, 6.0))


@pytest.mark.parametrize("create_graph", [False, True])
def test_second_order_through_accumulated_gradients(create_graph):
    x = cr.Variable(np.array([0.3, -0.7]))
    y = F.sum(x * x * x + x * x + F.sin(x) * x)
    (g,) = cr.gradients([y], [x], create_graph=True)
    (h,) = cr.gradients([F.sum(g)], [x], create_graph=create_graph)
    a = x.data
    np.testing.assert_allclose(g.data, 3 * a * a + 2 * a + np.cos(a) * a + np.sin(a), rtol=1e-14)
    np.testing.assert_allclose(h.data, 6 * a + 2 - np.sin(a) * a + 2 * np.cos(a), rtol=1e-14)


def test_a_sum_passed_through_a_rule_is_not_added_into_later():
    """b's two gradients make a sum (this pass's own); Keep hands it on as t's first gradient,
    and t's second gradient arrives after that: it must go into a new array, not into the one
    Keep was given. (The other branch is longer, so Keep runs first among equal generations.)"""
    seen: list = []
    x = cr.Variable(np.arange(1.0, 5.0))
    t = x * 1.0
    b = Keep(seen)(t)
    y = F.sum(b + b * 2.0) + F.sum(((t * 5.0) * 1.0) * 1.0)
    y.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0][0], seen[0][1])
    np.testing.assert_allclose(x.grad.data, np.full(4, 8.0))
