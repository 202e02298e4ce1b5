"""float32 stays float32: a 0-d operand (0-d Variable or array, NumPy scalar, Python number or
bool) does not promote an n-d operand of the same or a higher kind (PyTorch's rule), in the
outputs and in the gradients of both backward paths."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

BINARY = {
    "add": lambda a, b: a + b,
    "radd": lambda a, b: b + a,
    "sub": lambda a, b: a - b,
    "rsub": lambda a, b: b - a,
    "mul": lambda a, b: a * b,
    "rmul": lambda a, b: b * a,
    "div": lambda a, b: a / b,
    "rdiv": lambda a, b: b / a,
    "pow": lambda a, b: a ** b,
    "rpow": lambda a, b: b ** a,
    "maximum": F.maximum,
    "minimum": F.minimum,
    "where_x": lambda a, b: F.where(a.data > 1.2, a, b),
    "where_y": lambda a, b: F.where(a.data > 1.2, b, a),
    "masked_fill": lambda a, b: F.masked_fill(a, a.data > 1.2, b),
}

SCALARS = {
    "0d_variable_f64": lambda: cr.Variable(np.array(1.5)),
    "0d_array_f64": lambda: np.array(1.5),
    "numpy_f64": lambda: np.float64(1.5),
    "python_float": lambda: 1.5,
    "python_bool": lambda: True,
    "numpy_int64": lambda: np.int64(2),
}


@pytest.mark.parametrize("scalar", list(SCALARS))
@pytest.mark.parametrize("op", list(BINARY))
def test_float32_stays_float32(op, scalar):
    x = cr.Variable(np.linspace(0.5, 2.0, 6, dtype=np.float32).reshape(2, 3))
    y = BINARY[op](x, SCALARS[scalar]())
    assert y.dtype == np.float32, (op, scalar, y.dtype)
    g, = cr.gradients([F.sum(y)], [x])
    gg, = cr.gradients([F.sum(y)], [x], create_graph=True)
    assert g.dtype == np.float32 and gg.dtype == np.float32
    np.testing.assert_allclose(g.data, gg.data, rtol=1e-6)


@pytest.mark.parametrize("op", ["add", "mul", "div", "pow", "maximum", "where_x"])
def test_dtype_matches_torch(op):
    torch = pytest.importorskip("torch")
    tf = {"add": torch.add, "mul": torch.mul, "div": torch.div, "pow": torch.pow, "maximum": torch.maximum,
          "where_x": lambda a, b: torch.where(a > 1.2, a, b)}[op]
    cases = [(np.float32, (2, 3), np.float64, ()), (np.int64, (2, 3), np.float64, ()),
             (np.float32, (), np.float64, ()), (np.float32, (2, 3), np.float64, (3,)),
             (np.int32, (2, 3), np.int64, ()), (np.float16, (2, 3), np.float32, ())]
    for da, sa, db, sb in cases:
        a = (np.arange(6).reshape(2, 3)[tuple(slice(0, n) for n in sa)] + 1).astype(da)
        b = np.full(sb, 2, dtype=db)
        if op == "maximum" and np.dtype(da).kind != np.dtype(db).kind:
            continue  # torch.maximum refuses mixed kinds
        if op == "div" and np.dtype(da).kind == np.dtype(db).kind == "i":
            continue  # integer true division: float64 here (NumPy), torch's default float32 there
        ours = BINARY[op](cr.Variable(a), cr.Variable(b))
        theirs = tf(torch.tensor(a), torch.tensor(b))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (op, da, sa, db, sb)


def test_comparison_with_a_float64_scalar_happens_in_float32():
    x = cr.Variable(np.array([0.1, 0.2], dtype=np.float32))
    np.testing.assert_array_equal(F.equal(x, np.float64(0.1)).data, [True, False])
    np.testing.assert_array_equal((x <= cr.Variable(np.array(0.2))).data, [True, True])


def test_zero_d_float64_gradient_is_float64():
    """The 0-d float64 operand itself still gets a float64 gradient."""
    x = cr.Variable(np.ones((2, 3), dtype=np.float32))
    s = cr.Variable(np.array(3.0))
    y = x * s
    F.sum(y).backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert s.grad.dtype == np.float64 and s.grad.data == pytest.approx(6.0)


@pytest.mark.parametrize("bound", [np.float64(0.5), np.array(0.5), cr.Variable(np.array(0.5)), 0.5])
def test_clip_with_a_0d_bound_keeps_float32(bound):
    x = cr.Variable(np.linspace(-1, 1, 6, dtype=np.float32))
    y = F.clip(x, -0.5, bound)
    F.sum(y).backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(y.data, np.clip(x.data, -0.5, 0.5))
