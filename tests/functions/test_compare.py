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


# ----- the op table's entries of this family (declared with orders=0: not differentiable) -----
TORCH = {
    "equal": lambda t, a, b: t.eq(t.as_tensor(a), t.as_tensor(b)),
    "not_equal": lambda t, a, b: t.ne(t.as_tensor(a), t.as_tensor(b)),
    "less": lambda t, a, b: t.lt(t.as_tensor(a), t.as_tensor(b)),
    "less_equal": lambda t, a, b: t.le(t.as_tensor(a), t.as_tensor(b)),
    "greater": lambda t, a, b: t.gt(t.as_tensor(a), t.as_tensor(b)),
    "greater_equal": lambda t, a, b: t.ge(t.as_tensor(a), t.as_tensor(b)),
    "logical_and": lambda t, a, b: t.logical_and(t.as_tensor(a), t.as_tensor(b)),
    "logical_or": lambda t, a, b: t.logical_or(t.as_tensor(a), t.as_tensor(b)),
    "logical_not": lambda t, x: t.logical_not(t.as_tensor(x)),
    "sign": lambda t, x: t.sign(t.as_tensor(x)),
    "argmax": lambda t, x, axis, keep: t.argmax(t.as_tensor(x)) if axis is None else t.argmax(t.as_tensor(x), axis, keep),
    "argmin": lambda t, x, axis, keep: t.argmin(t.as_tensor(x)) if axis is None else t.argmin(t.as_tensor(x), axis, keep),
}


def test_every_op_of_the_family_is_declared_not_differentiable():
    from chainrule.core.op import OPS
    from chainrule.functions import compare

    for name in compare.__all__:
        entry = OPS[name]
        assert entry.orders == 0 and entry.ops == () and entry.function is getattr(F, name)
    assert set(TORCH) == set(compare.__all__)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_declared_samples_match_pytorch_and_stay_out_of_the_graph(name):
    torch = pytest.importorskip("torch")
    from chainrule.core.op import OPS

    for case in OPS[name].samples(np.random.default_rng(7)):
        expect = TORCH[name](torch, *case).numpy()
        args = [cr.Variable(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in case]
        y = getattr(F, name)(*args)
        assert y.creator is None
        assert y.shape == expect.shape
        np.testing.assert_array_equal(y.data, expect)
        if name in ("argmax", "argmin"):
            assert y.dtype == np.int64
        elif name != "sign":
            assert y.dtype == np.bool_


def test_forward_mode_gives_comparisons_no_tangent():
    """A comparison inside ``cr.jvp`` is a constant: the output's tangent comes only through
    the differentiable path (here ``x * mask``)."""
    x = np.array([-1.0, 0.5, 2.0])
    t = np.array([1.0, 2.0, 3.0])

    def f(v):
        return v * F.cast(F.greater(v, 0.0), np.float64)

    y, ty = cr.jvp(f, (x,), (t,))
    np.testing.assert_array_equal(y, [0.0, 0.5, 2.0])
    np.testing.assert_array_equal(ty, [0.0, 2.0, 3.0])
