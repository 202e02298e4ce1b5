"""What lands on ``.grad``: the variable's dtype, an ordinary writable array, shared with nobody."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F


def _cast64(x):
    """An op whose gradient comes back in float64 whatever its input's dtype."""

    class Up(cr.Function):
        def forward(self, a):
            return a.astype(np.float64)

        def backward(self, gy):
            return gy  # float64 on purpose: the store casts

    return Up()(x)


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_dtype_is_the_variable_dtype(create_graph):
    x32 = cr.Variable(np.array([1.0, 2.0], np.float32))
    c64 = cr.Variable(np.array(3.0))
    y = F.sum(_cast64(x32) * c64)
    y.backward(create_graph=create_graph)
    assert x32.grad.dtype == np.float32 and c64.grad.dtype == np.float64
    np.testing.assert_allclose(x32.grad.data, [3.0, 3.0])
    (g,) = cr.gradients(F.sum(_cast64(x32) * c64), [x32], create_graph=create_graph)
    assert g.dtype == np.float32


def test_accumulated_grad_keeps_the_dtype():
    x32 = cr.Variable(np.array([1.0, 2.0], np.float32))
    for _ in range(2):
        F.sum(_cast64(x32) * 2.0).backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad.data, [4.0, 4.0])


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("reduce", [F.sum, F.mean, lambda v: F.sum(v, axis=0), lambda v: F.mean(v, axis=1)])
def test_grads_from_reductions_are_writable(reduce, create_graph):
    x = cr.Variable(np.ones((3, 4)))
    y = reduce(x)
    (y if y.size == 1 else F.sum(y)).backward(create_graph=create_graph)
    before = x.grad.data.copy()
    x.grad.data *= 0.5  # read-only zero-stride views raised here
    np.testing.assert_allclose(x.grad.data, before * 0.5)
    assert x.grad.data.flags.writeable and 0 not in x.grad.data.strides


def test_two_leaves_never_share_a_grad_array():
    a, b = cr.Variable(np.ones(3)), cr.Variable(np.ones(3))
    F.sum(a + b).backward()  # add passes the same gradient array to both
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 2.0
    np.testing.assert_array_equal(b.grad.data, np.ones(3))
