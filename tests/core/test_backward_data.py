"""The first-order engine on raw arrays (``backward_data``) against the Variable engine.

``create_graph=False`` passes use a Function's ``backward_data`` when it has one; the
``create_graph=True`` pass uses ``backward``. Both must give the same gradients, and a Function
without ``backward_data`` must still work (its ``backward`` runs with recording off).
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.core.function import Function
from chainrule.functions.arithmetic import Add, AddScalar, Div, DivScalar, Mul, MulScalar, Neg, RSubScalar, Sub
from chainrule.functions.linalg import Linear, LinearNoBias, LinearReLU
from chainrule.functions.loss import SoftmaxCrossEntropy
from chainrule.functions.math import Cos, Exp, Log, ReLU, Sigmoid, Sin, Tanh
from chainrule.functions.reduction import Mean, Sum
from chainrule.functions.shape import Reshape, Transpose
from oracle import rand


def both_engines(f, *arrays):
    """Gradients of sum(f(*xs) * w) through the array engine and through the Variable engine."""
    out = []
    for create_graph in (False, True):
        xs = [cr.Variable(a.copy()) for a in arrays]
        y = f(*xs)
        w = cr.Variable(np.random.default_rng(3).standard_normal(y.shape))
        out.append([g.data for g in cr.gradients(y, xs, grad_outputs=w, create_graph=create_graph)])
    return out


CASES = {
    "linear 2-D": (lambda x, W, b: F.linear(x, W, b), (rand(5, 3), rand(3, 4, seed=1), rand(4, seed=2))),
    "linear 3-D": (lambda x, W, b: F.linear(x, W, b), (rand(2, 5, 3), rand(3, 4, seed=1), rand(4, seed=2))),
    "linear 1-D": (lambda x, W, b: F.linear(x, W, b), (rand(3), rand(3, 4, seed=1), rand(4, seed=2))),
    "linear (N, out) bias": (lambda x, W, b: F.linear(x, W, b), (rand(5, 3), rand(3, 4, seed=1), rand(5, 4, seed=2))),
    "linear (1,) bias": (lambda x, W, b: F.linear(x, W, b), (rand(5, 3), rand(3, 4, seed=1), rand(1, seed=2))),
    "linear no bias": (lambda x, W: F.linear(x, W), (rand(2, 5, 3), rand(3, 4, seed=1))),
    "linear+relu": (lambda x, W, b: F.linear_relu(x, W, b), (rand(2, 5, 3), rand(3, 4, seed=1), rand(4, seed=2))),
    "relu_mlp 2 layers": (lambda x, *ps: F.relu_mlp(x, ps),
                          (rand(5, 3), rand(3, 4, seed=1), rand(4, seed=2), rand(4, 2, seed=3), rand(2, seed=4))),
    "relu_mlp 3 layers, 3-D x": (lambda x, *ps: F.relu_mlp(x, ps),
                                 (rand(2, 5, 3), rand(3, 6, seed=1), rand(6, seed=2), rand(6, 4, seed=3),
                                  rand(4, seed=4), rand(4, 2, seed=5), rand(2, seed=6))),
    "relu": (F.relu, (rand(4, 6),)),
    "add (broadcast)": (lambda a, b: a + b, (rand(4, 6), rand(6, seed=1))),
    "sub (broadcast)": (lambda a, b: a - b, (rand(4, 1), rand(6, seed=1))),
    "mul (broadcast)": (lambda a, b: a * b, (rand(4, 6), rand(1, 6, seed=1))),
    "div (broadcast)": (lambda a, b: a / b, (rand(4, 6), np.abs(rand(6, seed=1)) + 0.5)),
    "neg": (lambda x: -x, (rand(4, 6),)),
    "add a number": (lambda x: x + 2.0, (rand(4, 6),)),
    "number minus": (lambda x: 3.0 - x, (rand(4, 6),)),
    "divide by a number": (lambda x: x / 4.0, (rand(4, 6),)),
    "exp": (F.exp, (rand(4, 6),)),
    "log": (F.log, (np.abs(rand(4, 6)) + 0.1,)),
    "sin": (F.sin, (rand(4, 6),)),
    "cos": (F.cos, (rand(4, 6),)),
    "tanh": (F.tanh, (rand(4, 6),)),
    "sigmoid": (F.sigmoid, (rand(4, 6),)),
    "sum over an axis": (lambda x: F.sum(x, axis=1), (rand(4, 6),)),
    "sum keepdims": (lambda x: F.sum(x, axis=0, keepdims=True), (rand(4, 6),)),
    "sum of all": (lambda x: F.sum(x), (rand(4, 6),)),
    "mean over axes": (lambda x: F.mean(x, axis=(0, 2)), (rand(2, 3, 4),)),
    "reshape": (lambda x: F.reshape(x, (6, 4)), (rand(4, 6),)),
    "transpose": (lambda x: F.transpose(x, (1, 2, 0)), (rand(2, 3, 4),)),
    "transpose (reverse)": (lambda x: F.transpose(x), (rand(2, 3, 4),)),
    "mul by constant": (lambda x: x * 2.5, (rand(4, 6),)),
    "mul by mask": (lambda x: MulScalar(np.arange(6) % 2)(x), (rand(4, 6),)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_array_engine_matches_variable_engine(name):
    f, arrays = CASES[name]
    fast, slow = both_engines(f, *arrays)
    for a, b in zip(fast, slow):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_engines_agree(reduction, ignore):
    t = np.array([0, 2, 1, 2, 0])
    if ignore:
        t[1] = -100
    fast, slow = both_engines(lambda x: F.softmax_cross_entropy(x, t, reduction=reduction), rand(5, 3))
    np.testing.assert_allclose(fast[0], slow[0], rtol=1e-13, atol=1e-13)
    if ignore:
        assert np.all(fast[0][1] == 0)


def test_hot_ops_have_backward_data():
    for cls in (Linear, LinearNoBias, LinearReLU, ReLU, MulScalar, SoftmaxCrossEntropy, Add, Sub, Mul, Div,
                Neg, AddScalar, RSubScalar, DivScalar, Exp, Log, Sin, Cos, Tanh, Sigmoid, Sum, Mean, Reshape,
                Transpose):
        assert cls.backward_data is not None, cls.__name__


class Cube(Function):  # a user op with no backward_data
    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        x, = self.inputs
        assert not cr.is_grad_enabled()  # the array engine switched recording off
        return gy * 3 * x * x


def test_function_without_backward_data_runs_with_recording_off():
    x = cr.Variable(np.array([1.0, 2.0]))
    y = F.sum(F.relu(Cube()(x)) * 2.0)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 24.0])
    assert x.grad.creator is None
    assert cr.is_grad_enabled()  # restored afterwards


def test_recording_restored_when_backward_raises():
    class Broken(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, gy):
            raise RuntimeError("boom")

    x = cr.Variable(np.array([1.0]))
    with pytest.raises(RuntimeError, match="boom"):
        Broken()(x).backward()
    assert cr.is_grad_enabled()


def two_layer(x, W1, b1, W2):
    return F.sum(F.linear(F.linear_relu(x, W1, b1), W2) ** 2)


def test_linear_relu_masks_only_its_own_gradient():
    """linear_relu's fast first-order rule masks the incoming gradient with ``y > 0``. The
    results must match the Variable engine, a second backward over the same graph must too,
    and a retained gradient must come out unmasked."""
    arrays = (rand(6, 3), rand(3, 5, seed=1), rand(5, seed=2), rand(5, 2, seed=3))
    fast, slow = both_engines(lambda *xs: two_layer(*xs), *arrays)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)

    x, W1, b1, W2 = [cr.Variable(a.copy()) for a in arrays]
    h = F.linear_relu(x, W1, b1)
    y = F.sum(F.linear(h, W2) ** 2)
    y.backward(retain_grad=True)
    expected = 2 * (h.data @ W2.data) @ W2.data.T  # d y / d h: no ReLU mask
    np.testing.assert_allclose(h.grad.data, expected, rtol=1e-13)
    first = W1.grad.data.copy()
    W1.cleargrad()
    y.backward()
    np.testing.assert_allclose(W1.grad.data, first, rtol=1e-13)


@pytest.mark.parametrize("f, df", [(F.exp, np.exp), (F.tanh, lambda x: 1 - np.tanh(x) ** 2),
                                   (F.sigmoid, lambda x: (1 / (1 + np.exp(-x))) * (1 - 1 / (1 + np.exp(-x))))])
def test_output_based_gradients_recompute_a_dropped_output(f, df):
    x = rand(3, 4)
    y = f(cr.Variable(x))
    fn = y.creator
    del y  # the op now holds only a dead weak reference to its output
    g = rand(3, 4, seed=1)
    np.testing.assert_allclose(fn.backward_data(g), g * df(x), rtol=1e-12)


@pytest.mark.parametrize("op", ["linear_relu", "relu_mlp"])
def test_first_order_rules_never_write_into_a_gradient_someone_else_holds(op):
    """The caller's grad_outputs array and a gradient a hook saw are left as they were (the
    fused rules of linear_relu and relu_mlp mask gradients: only arrays they made themselves)."""
    x, W1, b1, W2, b2 = rand(6, 3), rand(3, 5, seed=1), rand(5, seed=2), rand(5, 4, seed=3), rand(4, seed=4)
    vs = [cr.Variable(a) for a in (x, W1, b1, W2, b2)]
    if op == "linear_relu":
        y = F.linear_relu(F.linear(vs[0], vs[1], vs[2]), vs[3], vs[4])
    else:
        y = F.relu_mlp(vs[0], vs[1:])
    kept = rand(*y.shape, seed=5)
    before = kept.copy()
    seen = []
    y.register_hook(lambda g: seen.append((g, g.data.copy())))
    cr.gradients(y, vs, grad_outputs=cr.Variable(kept))
    np.testing.assert_array_equal(kept, before)
    np.testing.assert_array_equal(seen[0][0].data, seen[0][1])
