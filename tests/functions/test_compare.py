"""Non-differentiable ops: comparisons, logical ops, argmax/argmin, sign (against NumPy)."""
import operator

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

RNG = np.random.default_rng(7)

BINARY = [
    ("equal", np.equal, operator.eq),
    ("not_equal", np.not_equal, operator.ne),
    ("less", np.less, operator.lt),
    ("less_equal", np.less_equal, operator.le),
    ("greater", np.greater, operator.gt),
    ("greater_equal", np.greater_equal, operator.ge),
]


def _ints(shape):
    return RNG.integers(-2, 3, shape).astype(np.float64)  # small integers: plenty of ties


@pytest.mark.parametrize("name,npf,op", BINARY, ids=[b[0] for b in BINARY])
def test_comparisons_broadcast_and_accept_mixed_inputs(name, npf, op):
    f = getattr(F, name)
    a, b = _ints((2, 3)), _ints((3,))
    expected = npf(a, b)
    for x0, x1 in [(cr.Variable(a), cr.Variable(b)), (cr.Variable(a), b), (a, cr.Variable(b)), (a, b)]:
        y = f(x0, x1)
        assert isinstance(y, cr.Variable) and y.dtype == np.bool_ and y.creator is None
        np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(f(cr.Variable(a), 1).data, npf(a, 1))
    np.testing.assert_array_equal(f(0.5, cr.Variable(a)).data, npf(0.5, a))
    z = f(1.0, 2.0)
    assert isinstance(z.data, np.ndarray) and z.shape == () and z.item() == npf(1.0, 2.0)
    # the Variable operator calls the same op, also reflected from the left operand
    np.testing.assert_array_equal(op(cr.Variable(a), cr.Variable(b)).data, expected)
    np.testing.assert_array_equal(op(cr.Variable(a), 0.0).data, npf(a, 0.0))


def test_comparison_result_is_not_in_the_graph():
    x = cr.Variable(np.array([-1.0, 0.5, 2.0]))
    mask = x > 0
    assert mask.creator is None
    y = (x * F.cast(mask, np.float64)).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0])


def test_logical_ops():
    a = cr.Variable(np.array([0.0, 1.0, 2.0, 0.0]))
    b = np.array([True, True, False, False])
    np.testing.assert_array_equal(F.logical_and(a, b).data, [False, True, False, False])
    np.testing.assert_array_equal(F.logical_or(a, b).data, [True, True, True, False])
    np.testing.assert_array_equal(F.logical_not(a).data, [True, False, False, True])
    np.testing.assert_array_equal(F.logical_and(a > 0.5, a < 1.5).data, [False, True, False, False])
    assert F.logical_not(a).dtype == np.bool_ and F.logical_or(a, 0).creator is None
    np.testing.assert_array_equal(F.logical_or(cr.Variable(np.zeros((2, 1))), np.array([0, 1])).data,
                                  [[False, True], [False, True]])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    f, npf = getattr(F, name), getattr(np, name)
    x = RNG.standard_normal((3, 4, 2))
    x[1, 0, 0] = x[1, 2, 0] = x.max() + 1 if name == "argmax" else x.min() - 1  # ties: first index wins
    v = cr.Variable(x)
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            y = f(v, axis=axis, keepdims=keepdims)
            expected = npf(x, axis=axis, keepdims=keepdims)
            assert y.dtype == np.int64 and y.creator is None
            np.testing.assert_array_equal(y.data, expected)
            assert y.shape == np.shape(expected)
    assert f(v).item() == npf(x)
    with pytest.raises(ValueError, match=rf"^{name}: axis 3 .*\(3, 4, 2\)"):
        f(v, 3)
    with pytest.raises(TypeError, match=rf"^{name}: axis"):
        f(v, (0, 1))
    with pytest.raises(ValueError, match=rf"^{name}: .*empty"):
        f(cr.Variable(np.zeros((0,))))


def test_sign():
    x = cr.Variable(np.array([-2.5, 0.0, 3.0], dtype=np.float32))
    s = F.sign(x)
    assert s.dtype == np.float32 and s.creator is None
    np.testing.assert_array_equal(s.data, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(F.sign(-4.0).data, -1.0)
    np.testing.assert_array_equal(F.sign(np.array([3, -3])).data, [1, -1])


def test_bad_input():
    x = cr.Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^less: .*\(2, 3\).*\(4,\)"):
        F.less(x, np.ones(4))
    with pytest.raises(TypeError, match="^equal: "):
        F.equal(x, "abc")
    with pytest.raises(TypeError, match="^greater: non-numeric"):
        F.greater(x, np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match="^sign: "):
        F.sign(None)
    with pytest.raises(TypeError, match="^logical_not: "):
        F.logical_not({"a": 1})
