"""Variable methods made from the F namespace (functions/_methods.py)."""
import numpy as np
import pytest
from oracle import check, rand

import chainrule as cr
import chainrule.functions as F
from chainrule.functions import _methods

# method name -> (call on a Variable, the F call it stands for)
CASES = {
    "exp": (lambda x: x.exp(), lambda x: F.exp(x)),
    "log": (lambda x: abs(x).log(), lambda x: F.log(abs(x))),
    "sqrt": (lambda x: abs(x).sqrt(), lambda x: F.sqrt(abs(x))),
    "abs": (lambda x: x.abs(), lambda x: F.abs(x)),
    "sin": (lambda x: x.sin(), lambda x: F.sin(x)),
    "cos": (lambda x: x.cos(), lambda x: F.cos(x)),
    "tanh": (lambda x: x.tanh(), lambda x: F.tanh(x)),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: F.sigmoid(x)),
    "relu": (lambda x: x.relu(), lambda x: F.relu(x)),
    "square": (lambda x: x.square(), lambda x: F.square(x)),
    "softmax": (lambda x: x.softmax(0), lambda x: F.softmax(x, 0)),
    "log_softmax": (lambda x: x.log_softmax(), lambda x: F.log_softmax(x)),
    "logsumexp": (lambda x: x.logsumexp(1, True), lambda x: F.logsumexp(x, 1, True)),
    "sum": (lambda x: x.sum(1, keepdims=True), lambda x: F.sum(x, 1, True)),
    "mean": (lambda x: x.mean(), lambda x: F.mean(x)),
    "max": (lambda x: x.max(axis=0), lambda x: F.max(x, 0)),
    "var": (lambda x: x.var(0), lambda x: F.var(x, 0)),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: F.clip(x, -0.5, 0.5)),
    "pow": (lambda x: x.pow(3), lambda x: x ** 3),
    "view": (lambda x: x.view(4, 3), lambda x: F.reshape(x, (4, 3))),
    "view tuple": (lambda x: x.view((2, 6)), lambda x: F.reshape(x, (2, 6))),
    "reshape": (lambda x: x.reshape(-1), lambda x: F.reshape(x, (-1,))),
    "permute": (lambda x: x.permute(1, 0), lambda x: F.transpose(x, (1, 0))),
    "expand": (lambda x: x[:1].expand(2, 3, 4), lambda x: F.broadcast_to(x[:1], (2, 3, 4))),
    "flatten": (lambda x: x.flatten(), lambda x: F.reshape(x, (-1,))),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda x: F.reshape(x, (3, 1, 4))),
    "squeeze": (lambda x: x[:1].squeeze(), lambda x: F.reshape(x[:1], (4,))),
    "clone": (lambda x: x.clone(), lambda x: x * 1.0),
    "matmul": (lambda x: x.matmul(x.T), lambda x: x @ x.T),
    "flip": (lambda x: x.flip(1), lambda x: F.flip(x, 1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_method_equals_the_op_and_is_differentiable(name):
    method, op = CASES[name]
    a = rand(3, 4, seed=1)
    np.testing.assert_allclose(method(cr.Variable(a)).numpy(), op(cr.Variable(a)).numpy(), rtol=1e-14)
    check(lambda x: method(x).sum(), a)


def test_every_listed_op_is_a_method():
    for name in _methods.METHODS:
        assert hasattr(F, name), f"F.{name} is gone: update functions/_methods.py"
        assert hasattr(cr.Variable, name)
    for name in [*_methods.ALIASES, *_methods.SHAPE_METHODS, "clone", "tolist", "argmax", "softmax"]:
        assert callable(getattr(cr.Variable, name))


def test_plain_ops_are_installed_without_a_wrapper():
    assert cr.Variable.exp is F.exp and cr.Variable.clamp is F.clip


def test_existing_methods_are_not_replaced():
    class Probe:
        def exp(self):
            return "mine"

    added = _methods.install(Probe)
    assert Probe().exp() == "mine" and "exp" not in added and "sqrt" in added
    assert _methods.install() == []  # Variable already has everything
    assert cr.Variable.reshape.__qualname__ == "Variable.reshape"  # the class's own stays


def test_argmax_tolist_and_clone_are_new_data():
    x = cr.Variable(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    assert x.argmax().item() == 3
    assert x.argmax(axis=1).numpy().tolist() == [1, 0]
    assert x.tolist() == [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]
    assert cr.variable(2.5).tolist() == 2.5
    c = x.clone()
    c.data[0, 0] = 100.0
    assert x.data[0, 0] == 1.0 and c.creator is not None


def test_clone_gradient_and_second_order():
    x = cr.Variable(rand(2, 3, seed=4))
    y = (x.clone() * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    check(lambda v: (v.clone() ** 3).sum(), rand(2, 2, seed=5))


def test_methods_work_on_float32_noncontiguous_and_0d():
    a = np.asfortranarray(rand(3, 4).astype(np.float32))[:, ::2]
    x = cr.Variable(a)
    assert x.exp().dtype == np.float32 and x.view(6).shape == (6,)
    np.testing.assert_allclose(x.softmax(1).numpy(), np.exp(a) / np.exp(a).sum(1, keepdims=True), rtol=1e-6)
    z = cr.variable(0.25)
    assert z.sqrt().item() == 0.5 and z.unsqueeze(0).shape == (1,)


def test_bad_input_names_the_op():
    x = cr.Variable(np.zeros((2, 3)))
    with pytest.raises(Exception, match="reshape"):
        x.view(4, 4)
    with pytest.raises(Exception, match="expand"):
        x.expand(3)


def test_type_declarations_match_the_installed_methods():
    import ast
    import inspect

    from chainrule.core import _variable_methods

    tree = ast.parse(inspect.getsource(_variable_methods))
    declared = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}

    class Probe:
        pass

    assert declared == set(_methods.install(Probe))
    assert issubclass(cr.Variable, _variable_methods.VariableMethods)
    assert not hasattr(cr.Variable(1.0), "__dict__")  # the base adds no instance dict


def test_shape_method_signature_is_its_own():
    import inspect

    assert list(inspect.signature(cr.Variable.view).parameters) == ["self", "shape"]
    assert "reshape" in cr.Variable.view.__doc__
