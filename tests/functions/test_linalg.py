"""matmul (2-D, batched with broadcast batch axes, 1-D), linear, dot, outer."""
import functools

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck
from oracle import check, rand, torch_compare as _torch_compare

torch_compare = functools.partial(_torch_compare, rtol=1e-10)  # matmul sums reorder in BLAS


SHAPES = [
    ((2, 3), (3, 4)),            # matrix @ matrix
    ((3,), (3,)),                # vector . vector -> scalar
    ((3,), (3, 2)),              # vector @ matrix
    ((2, 3), (3,)),              # matrix @ vector
    ((3,), (2, 3, 4)),           # vector @ stack
    ((2, 2, 3), (3,)),           # stack @ vector
    ((2, 3, 4), (4, 2)),         # stack @ matrix (shared right operand)
    ((3, 4), (2, 4, 2)),         # matrix @ stack (shared left operand)
    ((2, 1, 3, 4), (3, 4, 2)),   # broadcast batch axes on both sides
    ((1, 2, 3), (2, 1, 3, 2)),   # batch axes of different rank
]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul(sa, sb):
    a, b = rand(*sa, seed=1), rand(*sb, seed=2)
    y = F.matmul(cr.Variable(a), cr.Variable(b))
    assert y.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(y.data, np.matmul(a, b), rtol=1e-12, atol=1e-12)
    check(F.matmul, a, b)


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_torch(sa, sb):
    torch = pytest.importorskip("torch")
    torch_compare(F.matmul, torch.matmul, rand(*sa, seed=1), rand(*sb, seed=2))


def test_matmul_operators_and_arrays():
    a, b = rand(2, 3), rand(3, 2)
    x = cr.Variable(a)
    np.testing.assert_allclose((x @ b).data, a @ b)
    np.testing.assert_allclose((b @ x).data, b @ a)
    y = x @ cr.Variable(b)
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.ones((2, 2)) @ b.T)


def test_matmul_non_contiguous_stack():
    a = rand(4, 3, 2)
    b = rand(2, 5)
    at = cr.Variable(a).transpose(1, 0, 2)  # (3, 4, 2), a view that is not C-contiguous
    assert not at.data.flags.c_contiguous
    np.testing.assert_allclose(F.matmul(at, cr.Variable(b)).data, a.transpose(1, 0, 2) @ b, rtol=1e-12)
    check(lambda x, y: F.matmul(F.transpose(x, (1, 0, 2)), y), a, b)


def test_matmul_float32():
    a, b = rand(2, 3, 4).astype(np.float32), rand(4, 2).astype(np.float32)
    x = cr.Variable(a)
    y = F.matmul(x, cr.Variable(b))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, a @ b, rtol=1e-5)
    F.sum_to(y, ()).backward()
    assert x.grad.dtype == np.float32


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"^matmul: shapes \(2, 3\) and \(4, 5\) are not aligned$"):
        F.matmul(cr.Variable(rand(2, 3)), cr.Variable(rand(4, 5)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(2,\) are not aligned"):
        F.matmul(cr.Variable(rand(3)), cr.Variable(rand(2)))
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of shapes \(2, 2, 3\) and \(3, 3, 5\)"):
        F.matmul(cr.Variable(rand(2, 2, 3)), cr.Variable(rand(3, 3, 5)))
    with pytest.raises(ValueError, match="matmul.*at least 1 dimension"):
        F.matmul(cr.Variable(np.array(2.0)), cr.Variable(rand(3)))


def test_matmul_third_order():
    # d^3/dx^3 of sum((x @ x) @ x) for a 1x1 matrix is 6
    x = cr.Variable(np.array([[1.5]]))
    y = F.sum_to(F.matmul(F.matmul(x, x), x), ())
    g, = cr.gradients(y, [x], create_graph=True)
    gg, = cr.gradients(g, [x], create_graph=True)
    ggg, = cr.gradients(gg, [x])
    np.testing.assert_allclose([g.item(), gg.item(), ggg.item()], [3 * 1.5 ** 2, 6 * 1.5, 6.0])


# ----- linear -----
@pytest.mark.parametrize("xshape,bias", [((4, 3), True), ((4, 3), False), ((2, 4, 3), True), ((3,), True)])
def test_linear(xshape, bias):
    x, W, b = rand(*xshape, seed=1), rand(3, 2, seed=2), rand(2, seed=3)
    args = (x, W, b) if bias else (x, W)
    ref = x @ W + (b if bias else 0)
    np.testing.assert_allclose(F.linear(*[cr.Variable(a) for a in args]).data, ref, rtol=1e-12)
    check(F.linear, *args)
    if bias:
        torch_compare(F.linear, lambda x, W, b: x @ W + b, *args)
    else:
        torch_compare(F.linear, lambda x, W: x @ W, *args)


def test_linear_float32_keeps_dtype():
    x = cr.Variable(rand(4, 3).astype(np.float32))
    W = cr.Variable(rand(3, 2).astype(np.float32))
    b = cr.Variable(rand(2).astype(np.float32))
    y = F.linear(x, W, b)
    assert y.dtype == np.float32
    F.sum_to(y, ()).backward()
    assert W.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, [4.0, 4.0])


def test_linear_bias_of_a_wider_dtype_promotes_like_numpy():
    x, W = rand(4, 3).astype(np.float32), rand(3, 2).astype(np.float32)
    b = rand(2)  # float64: x @ W + b is float64 in NumPy, not cast down in place
    for op in (F.linear, F.linear_relu):
        y = op(x, W, b)
        assert y.dtype == np.float64
    np.testing.assert_allclose(F.linear(x, W, b).data, x @ W + b, rtol=1e-6)


def test_linear_errors():
    with pytest.raises(ValueError, match=r"linear: shapes \(4, 3\) and \(2, 5\) are not aligned"):
        F.linear(cr.Variable(rand(4, 3)), cr.Variable(rand(2, 5)))
    with pytest.raises(ValueError, match="linear"):
        F.linear(cr.Variable(rand(4, 3)), cr.Variable(rand(3)))


@pytest.mark.parametrize("xshape", [(5, 3), (2, 5, 3), (3,)])
def test_linear_relu(xshape):
    x, W, b = rand(*xshape, seed=1), rand(3, 4, seed=2), rand(4, seed=3)
    y = F.linear_relu(cr.Variable(x), cr.Variable(W), cr.Variable(b))
    np.testing.assert_allclose(y.data, np.maximum(x @ W + b, 0), rtol=1e-12)
    check(F.linear_relu, x, W, b)
    torch_compare(F.linear_relu, lambda x, W, b: (x @ W + b).relu(), x, W, b)


def test_linear_relu_raw_input_gets_no_gradient_and_matches_two_ops():
    x, W, b = rand(6, 3, seed=4), cr.Variable(rand(3, 4, seed=5)), cr.Variable(rand(4, seed=6))
    F.sum(F.linear_relu(x, W, b) * 2.0).backward()
    gW, gb = W.grad.data, b.grad.data
    W.cleargrad(), b.cleargrad()
    F.sum(F.relu(F.linear(x, W, b)) * 2.0).backward()
    np.testing.assert_allclose(gW, W.grad.data, rtol=1e-13)
    np.testing.assert_allclose(gb, b.grad.data, rtol=1e-13)


# ----- dot / outer -----
def test_dot_outer():
    a, b = rand(3, seed=1), rand(3, seed=2)
    np.testing.assert_allclose(F.dot(cr.Variable(a), cr.Variable(b)).data, np.dot(a, b))
    np.testing.assert_allclose(F.outer(cr.Variable(a), cr.Variable(rand(4))).data, np.outer(a, rand(4)))
    check(F.dot, a, b)
    check(F.outer, a, rand(4))
    with pytest.raises(ValueError, match="dot"):
        F.dot(cr.Variable(rand(2, 2, 2)), cr.Variable(rand(2)))


def test_linear_with_a_full_shape_bias_term():
    """``b`` may be another map's (N, out) result (the LSTM fuses x2*(x) + h2*(h) this way)."""
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((3, 5))
    np.testing.assert_allclose(F.linear(x, w, b).numpy(), x @ w + b)
    assert gradcheck(F.linear, x, w, b)
    assert gradgradcheck(F.linear, x, w, b)


# ----- declared once (issue 12): forward mode, rules on arrays, public names for callers -----
@pytest.mark.parametrize("name", ["matmul", "linear", "linear_relu", "outer"])
def test_forward_mode_through_linalg_ops_matches_reverse_mode(name):
    """``cr.jvp`` pushes tangents through each op's jvp rule (the old ops had none); the
    result equals the reverse-mode Jacobian applied to the tangent."""
    rng = np.random.default_rng(8)
    xs = {"matmul": (rand(2, 3, 4), rand(4, 5, seed=1)), "linear": (rand(2, 3, 4), rand(4, 5, seed=1), rand(5, seed=2)),
          "linear_relu": (rand(3, 4), rand(4, 5, seed=1), rand(5, seed=2)), "outer": (rand(3), rand(2, 2, seed=1))}[name]
    fn = getattr(F, name)
    ts = tuple(rng.standard_normal(x.shape) for x in xs)
    _, tout = cr.jvp(fn, xs, ts)
    vs = [cr.Variable(x) for x in xs]
    y = fn(*vs)
    w = rng.standard_normal(y.shape)
    gs = cr.gradients(y, vs, grad_outputs=cr.Variable(w))
    # <w, J t> (forward mode) == <J^T w, t> (reverse mode)
    np.testing.assert_allclose(np.sum(w * tout), sum(np.sum(g.data * t) for g, t in zip(gs, ts)), rtol=1e-12)


def test_first_order_matmul_builds_no_graph_and_second_order_does():
    a, b = cr.Variable(rand(2, 3, 4)), cr.Variable(rand(4, 5, seed=1))
    ga, gb = cr.gradients(F.sum(F.matmul(a, b) ** 2), [a, b])
    assert ga.creator is None and gb.creator is None
    ga2, _ = cr.gradients(F.sum(F.matmul(a, b) ** 2), [a, b], create_graph=True)
    assert ga2.creator is not None
    np.testing.assert_allclose(ga.data, ga2.data, rtol=1e-13)


def test_models_and_layers_call_ops_by_public_names():
    """No model or layer imports an op class or a private registry, reaches into another
    layer's lazy-initialisation state, or calls a private fused path (issue 12 item 2)."""
    import ast
    from pathlib import Path

    src = Path(cr.__file__).parent
    for rel in ("models/mlp.py", "layers/linear.py", "layers/recurrent.py"):
        tree = ast.parse((src / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and "functions" in node.module:
                assert all(a.name.islower() and not a.name.startswith("_") for a in node.names), (rel, node.module)
            if isinstance(node, ast.ImportFrom):
                assert not any(a.name == "_Registry" for a in node.names), rel
            if isinstance(node, ast.Attribute) and node.attr in ("_pending", "_materialize", "forward_relu"):
                assert isinstance(node.value, ast.Name) and node.value.id == "self", (rel, node.attr)


def test_lstm_first_steps_type_their_parameters_through_the_layers():
    """The LSTM's first step runs its x2* layers (and the second its h2* layers) as layers, so
    float32 input retypes every parameter; later steps give the same values as the layers."""
    import chainrule.layers as L

    lstm = L.LSTM(3, rng=0)
    x = rand(2, 4).astype(np.float32)
    h1 = lstm(x)
    h2 = lstm(x)
    lstm(x)
    assert h1.dtype == h2.dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in lstm.params())
    # the fused step against the layers called one by one
    h, c = lstm.h, lstm.c
    pre = [getattr(lstm, f"x2{k}")(x) + getattr(lstm, f"h2{k}")(h) for k in "fiou"]
    f, i, o = (F.sigmoid(p) for p in pre[:3])
    c_ref = f * c + i * F.tanh(pre[3])
    np.testing.assert_allclose(lstm(x).data, (o * F.tanh(c_ref)).data, rtol=1e-5, atol=1e-6)
