"""Variable: constructors, inspection, repr, operators (seed 003's Variable API)."""
import numpy as np
import pytest

import chainrule as cr


def test_numbers_and_lists_become_float64_arrays_keep_dtype():
    assert cr.Variable(1).dtype == np.float64
    assert cr.Variable([1, 2]).dtype == np.float64
    assert cr.Variable(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert cr.Variable(np.zeros(3, dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("bad", ["abc", {"a": 1}, ["a", "b"], None, np.array(["x"])])
def test_non_numeric_data_is_rejected(bad):
    with pytest.raises(TypeError, match="Variable"):
        cr.Variable(bad)


def test_variable_constructor_shapes():
    assert cr.variable(0.5).shape == ()
    assert cr.variable(1.0, 2.0, 3.0).shape == (3,)
    assert cr.variable(1.0, name="x").name == "x"


def test_filled_constructors():
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).numpy().sum() == 0
    assert cr.ones(2, 3).numpy().sum() == 6
    a = cr.variable(1.0, 2.0, 3.0)
    np.testing.assert_array_equal(cr.zeros_like(a).numpy(), np.zeros(3))
    np.testing.assert_array_equal(cr.ones_like(a).numpy(), np.ones(3))
    assert cr.zeros(2, dtype=np.float32).dtype == np.float32


def test_rand_and_randn_are_reproducible_with_seed_or_generator():
    np.testing.assert_array_equal(cr.rand((2, 3), rng=7).numpy(), np.random.default_rng(7).random((2, 3)))
    np.testing.assert_array_equal(cr.randn((4,), rng=np.random.default_rng(3)).numpy(),
                                  np.random.default_rng(3).standard_normal(4))
    r = cr.rand((1000,), rng=0).numpy()
    assert r.min() >= 0 and r.max() < 1
    with pytest.raises(TypeError, match="rng"):
        cr.rand((2,), rng="seed")


def test_inspection():
    x = cr.Variable(np.arange(1.0, 7.0).reshape(2, 3))
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3), 2, 6, 2)
    assert x.at(1, 2) == 6.0 and x.at() == 1.0
    assert isinstance(x.at(0, 1), float)
    assert cr.variable(2.5).item() == 2.5
    assert isinstance(x.numpy(), np.ndarray)
    with pytest.raises(ValueError, match="item"):
        x.item()
    with pytest.raises(IndexError, match="at"):
        x.at(1)
    with pytest.raises(TypeError):
        len(cr.variable(1.0))


def test_repr_in_reference_style():
    assert repr(cr.variable(0.5)) == "variable(0.5)"
    assert repr(cr.variable(1.0, name="x")) == "x(1.0)"
    assert repr(cr.variable(1.0, 2.0, 3.0)) == "variable([1. 2. 3.])"
    assert str(cr.Variable(np.eye(2))) == "variable([[1. 0.]\n          [0. 1.]])"


def test_operators_with_numbers_and_arrays_match_numpy():
    a = np.array([1.0, 2.0, 4.0])
    v = cr.Variable(a)
    cases = [
        (v + 2, a + 2), (2 + v, 2 + a), (v - 2, a - 2), (2 - v, 2 - a), (v * 3, a * 3), (3 * v, 3 * a),
        (v / 4, a / 4), (4 / v, 4 / a), (v ** 2, a ** 2), (2 ** v, 2 ** a), (-v, -a),
        (v + a, a + a), (a + v, a + a), (a - v, a - a), (a * v, a * a), (a / v, a / a),
        (v ** v, a ** a),
    ]
    for got, want in cases:
        assert isinstance(got, cr.Variable)
        np.testing.assert_allclose(got.numpy(), want)


def test_scalar_ops_keep_float32():
    v = cr.Variable(np.ones(3, dtype=np.float32))
    for y in (v + 1.5, 2.0 * v, v / 3.0, 1.0 - v, 2.0 / v, v ** 2):
        assert y.dtype == np.float32


def test_variables_are_hashable_and_comparisons_elementwise():
    v = cr.variable(1.0, 2.0)
    assert len({v, v}) == 1
    w = cr.variable(2.0, 2.0)
    np.testing.assert_array_equal((v == w).numpy(), [False, True])
    np.testing.assert_array_equal((v < w).numpy(), [True, False])
    np.testing.assert_array_equal((v >= 2.0).numpy(), [False, True])


def test_numpy_ufunc_on_variable_is_an_error_not_a_silent_copy():
    with pytest.raises(TypeError):
        np.exp(cr.variable(1.0))


def test_shape_mismatch_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: .*\(2, 3\), \(4,\)"):
        cr.Variable(np.ones((2, 3))) + cr.Variable(np.ones(4))
    with pytest.raises(ValueError, match=r"mul: .*\(2,\), \(3,\)"):
        cr.Variable(np.ones(2)) * cr.Variable(np.ones(3))


def test_reshape_transpose_astype_are_differentiable():
    x = cr.Variable(np.arange(6.0))
    y = x.reshape(2, 3).T.astype(np.float32)
    assert y.shape == (3, 2) and y.dtype == np.float32
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(6.0))
    assert x.grad.dtype == np.float64


def test_getitem_is_differentiable():
    x = cr.Variable(np.arange(5.0))
    y = x[1:4] * 2.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 2, 2, 2, 0])


def test_repr_follows_numpy_printing_for_every_dtype():
    assert repr(cr.Variable(np.array(0.1, dtype=np.float32))) == "variable(0.1)"
    assert repr(cr.Variable(np.array(3))) == "variable(3)"
    assert repr(cr.Variable(np.array([True, False]))) == "variable([ True False])"
