"""relu_array: max(x, 0) through a cached zeros array for NumPy floats, the same values as
NumPy's maximum against 0 (NaN, -0.0, both float dtypes, in place or not)."""
import numpy as np
import pytest

from chainrule.functions.math import _ZEROS, _ZEROS_MAX_SIZE, relu_array


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5,), (256, 64), (2, 3, 40), (_ZEROS_MAX_SIZE + 1,)])
def test_same_values_as_maximum_with_zero(dtype, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:4] = [np.nan, -0.0, 0.0, -np.inf]
    want = np.maximum(x, 0)
    got = relu_array(x)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    out = x.copy()
    assert relu_array(out, out=out) is out
    np.testing.assert_array_equal(out, want)


def test_the_cached_zeros_stay_zero_and_read_only():
    x = -np.ones((100, 7))
    relu_array(x, out=x)
    zeros = _ZEROS[((100, 7), "d")]
    assert not zeros.flags.writeable and not zeros.any()
    np.testing.assert_array_equal(x, 0.0)


def test_integer_and_non_contiguous_inputs():
    x = np.arange(-50, 50).reshape(10, 10)
    np.testing.assert_array_equal(relu_array(x), np.maximum(x, 0))
    y = np.random.default_rng(1).standard_normal((30, 20))[:, ::2]
    np.testing.assert_array_equal(relu_array(y), np.maximum(y, 0))
