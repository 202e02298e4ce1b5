"""Functional transforms against torch.func on random inputs, plus composition and errors."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.core.config import no_grad
from chainrule.core.transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from chainrule.core.variable import Variable
from chainrule.functions.broadcast import sum_to


def total(v):
    return sum_to(v, ())


# Written with operators only, so the same function runs on chainrule Variables and torch tensors.
def scalar_f(x):
    return total(x ** 3 / (x * x + 1.0) - 2.0 * x)


def scalar_f_torch(x):
    return (x ** 3 / (x * x + 1.0) - 2.0 * x).sum()


def two_arg(x, y):       # x (3, 1), y (4,) -> scalar
    return total(x * y ** 2 + x / (y * y + 1.0))


def two_arg_torch(x, y):
    return (x * y ** 2 + x / (y * y + 1.0)).sum()


def vector_f(x, y):      # x (3, 1), y (4,) -> (3, 4)
    return x * y + x ** 2 / (1.0 + y * y)


RNG = np.random.default_rng(42)
X = RNG.standard_normal(5)
A = RNG.standard_normal((3, 1))
B = RNG.standard_normal(4)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def T(torch, a):
    return torch.tensor(a, dtype=torch.float64)


def close(got, expected, rtol=1e-10):
    got = got.data if isinstance(got, Variable) else got
    np.testing.assert_allclose(np.asarray(got), expected.detach().numpy(), rtol=rtol, atol=1e-12)


def test_grad_matches_torch_and_returns_arrays(torch):
    g = grad(scalar_f)(X)
    assert type(g) is np.ndarray and g.shape == X.shape
    close(g, torch.func.grad(scalar_f_torch)(T(torch, X)))


def test_grad_argnums_tuple_and_second_arg(torch):
    gx, gy = grad(two_arg, argnums=(0, 1))(A, B)
    ex, ey = torch.func.grad(two_arg_torch, argnums=(0, 1))(T(torch, A), T(torch, B))
    close(gx, ex)
    close(gy, ey)
    close(grad(two_arg, argnums=1)(A, B), ey)
    close(grad(two_arg, argnums=-1)(A, B), ey)


def test_value_and_grad_matches_torch(torch):
    value, g = value_and_grad(scalar_f)(X)
    eg, ev = torch.func.grad_and_value(scalar_f_torch)(T(torch, X))
    close(value, ev)
    close(g, eg)


def test_grad_of_grad_matches_torch(torch):
    f = lambda x: x ** 4 / (x * x + 1.0)  # noqa: E731
    for x0 in (0.3, -1.7):
        d2 = grad(grad(f))(x0)
        e2 = torch.func.grad(torch.func.grad(f))(T(torch, x0))
        close(d2, e2)
    d3 = grad(grad(grad(f)))(0.8)
    e3 = torch.func.grad(torch.func.grad(torch.func.grad(f)))(T(torch, 0.8))
    close(d3, e3)


def test_vjp_matches_torch(torch):
    ct = RNG.standard_normal((3, 4))
    out, fn = vjp(vector_f, A, B)
    gx, gy = fn(ct)
    tout, tfn = torch.func.vjp(vector_f, T(torch, A), T(torch, B))
    ex, ey = tfn(T(torch, ct))
    close(out, tout)
    close(gx, ex)
    close(gy, ey)
    gx2, _ = fn(2.0 * ct)  # callable again, linear in the cotangent
    np.testing.assert_allclose(gx2, 2 * gx, rtol=1e-12)


def test_vjp_tuple_outputs(torch):
    f = lambda x: (x * x, x * 3.0)  # noqa: E731
    (o1, o2), fn = vjp(f, X)
    c1, c2 = RNG.standard_normal(5), RNG.standard_normal(5)
    g, = fn((c1, c2))
    np.testing.assert_allclose(g, 2 * X * c1 + 3 * c2, rtol=1e-12)
    with pytest.raises(ValueError, match="2 outputs but 1"):
        fn((c1,))


def test_jvp_matches_torch(torch):
    ta, tb = RNG.standard_normal((3, 1)), RNG.standard_normal(4)
    out, tout = jvp(vector_f, (A, B), (ta, tb))
    eout, etout = torch.func.jvp(vector_f, (T(torch, A), T(torch, B)), (T(torch, ta), T(torch, tb)))
    close(out, eout)
    close(tout, etout)


def test_jvp_of_function_not_depending_on_input():
    out, t = jvp(lambda x, y: y * 2.0, (X, X), (np.ones(5), np.ones(5)))
    np.testing.assert_allclose(t, 2 * np.ones(5))
    out, t = jvp(lambda x: x, (X,), (X,))
    np.testing.assert_allclose(t, X)


def test_jacobian_matches_jacrev_and_jacfwd(torch):
    jx, jy = jacobian(vector_f, argnums=(0, 1))(A, B)
    assert jx.shape == (3, 4, 3, 1) and jy.shape == (3, 4, 4)
    ex, ey = torch.func.jacrev(vector_f, argnums=(0, 1))(T(torch, A), T(torch, B))
    close(jx, ex)
    close(jy, ey)
    fx = torch.func.jacfwd(vector_f, argnums=0)(T(torch, A), T(torch, B))
    close(jacobian(vector_f)(A, B), fx)


def test_jacobian_tuple_output_and_scalar_shapes():
    f = lambda x: (x * 2.0, total(x * x))  # noqa: E731
    j1, j2 = jacobian(f)(X)
    np.testing.assert_allclose(j1, 2 * np.eye(5))
    np.testing.assert_allclose(j2, 2 * X)
    j = jacobian(lambda s: Variable(np.arange(3.0)) * s)(2.0)  # scalar input -> output shape
    np.testing.assert_allclose(j, np.arange(3.0))


def test_hessian_matches_torch(torch):
    h = hessian(scalar_f)(X)
    assert h.shape == (5, 5)
    close(h, torch.func.hessian(scalar_f_torch)(T(torch, X)))
    hs = hessian(two_arg, argnums=(0, 1))(A, B)
    es = torch.func.hessian(two_arg_torch, argnums=(0, 1))(T(torch, A), T(torch, B))
    for i in range(2):
        for j in range(2):
            close(hs[i][j], es[i][j])


def test_hvp_matches_hessian_and_torch(torch):
    v = RNG.standard_normal(5)
    value, hv = hvp(scalar_f, (X,), (v,))
    assert isinstance(hv, tuple) and len(hv) == 1
    _, ehv = torch.func.jvp(torch.func.grad(scalar_f_torch), (T(torch, X),), (T(torch, v),))
    close(hv[0], ehv)
    close(value, scalar_f_torch(T(torch, X)))
    _, single = hvp(scalar_f, X, v)
    np.testing.assert_allclose(single, hessian(scalar_f)(X) @ v, rtol=1e-10)


def test_variables_in_variables_out_and_differentiable(torch):
    x = Variable(X.copy())
    g = grad(scalar_f)(x)
    assert isinstance(g, Variable) and g.creator is not None
    penalty = total(g * g)
    penalty.backward()
    tx = T(torch, X).requires_grad_()
    tg, = torch.autograd.grad(scalar_f_torch(tx), tx, create_graph=True)
    (tg * tg).sum().backward()
    close(x.grad, tx.grad)


def test_closure_over_outer_variable_is_differentiated():
    # d/dx [ d/dy (x * y^2) at y = 2 ] = d/dx [4 x] = 4
    outer = grad(lambda x: grad(lambda y: x * y * y)(2.0))
    np.testing.assert_allclose(outer(1.5), 4.0)


def test_has_aux_and_dtype_and_no_grad():
    f = lambda x: (total(x * x), "aux")  # noqa: E731
    g, aux = grad(f, has_aux=True)(X)
    assert aux == "aux"
    np.testing.assert_allclose(g, 2 * X)
    (v, aux), g = value_and_grad(f, has_aux=True)(X)
    np.testing.assert_allclose(v, np.sum(X * X))
    g32 = grad(scalar_f)(X.astype(np.float32))
    assert g32.dtype == np.float32
    with no_grad():  # the transform records its own graph anyway
        np.testing.assert_allclose(grad(lambda x: total(x * x))(X), 2 * X)


def test_kwargs_pass_through_and_non_differentiated_args():
    f = lambda x, c, scale=1.0: total(x * c) * scale  # noqa: E731
    np.testing.assert_allclose(grad(f)(X, 3.0, scale=2.0), 6 * np.ones(5))


def test_errors_are_clear():
    with pytest.raises(ValueError, match="grad: f must return a scalar"):
        grad(lambda x: x * 2.0)(X)
    with pytest.raises(TypeError, match="has_aux"):
        grad(lambda x: (total(x), 1))(X)
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        grad(two_arg, argnums=2)(A, B)
    with pytest.raises(TypeError, match="argnums"):
        grad(two_arg, argnums="x")
    with pytest.raises(ValueError, match="jvp: tangent 0 has shape"):
        jvp(scalar_f, (X,), (np.ones(3),))
    with pytest.raises(ValueError, match="1 primals but 2 tangents"):
        jvp(scalar_f, (X,), (X, X))
    with pytest.raises(TypeError, match="integer"):
        grad(lambda x: total(x * 1.0))(np.arange(3))


# ----- one Variable at several argument positions -----
def test_each_argument_position_gets_its_own_derivative(torch):
    x = Variable(np.array(2.0))
    f = lambda a, b: a * 3.0 + b * 3.0  # noqa: E731
    ga, gb = grad(f, argnums=(0, 1))(x, x)
    assert float(ga.data) == 3.0 and float(gb.data) == 3.0
    (value, (ga, gb)) = value_and_grad(lambda a, b: a * a * b, argnums=(0, 1))(x, x)
    ea, eb = torch.func.grad(lambda a, b: a * a * b, argnums=(0, 1))(T(torch, 2.0), T(torch, 2.0))
    close(ga, ea)
    close(gb, eb)
    v = Variable(B)
    _, fn = vjp(lambda a, b: a * b, v, v)
    ct = RNG.standard_normal(4)
    g1, g2 = fn(ct)
    np.testing.assert_allclose(g1.data, ct * B, rtol=1e-12)
    np.testing.assert_allclose(g2.data, ct * B, rtol=1e-12)
    j0, j1 = jacobian(lambda a, b: a * b * b, argnums=(0, 1))(v, v)
    np.testing.assert_allclose(j0.data, np.diag(B * B), rtol=1e-12)
    np.testing.assert_allclose(j1.data, np.diag(2 * B * B), rtol=1e-12)


def test_nested_grad_closing_over_the_outer_variable_matches_torch_func(torch):
    for inner in (lambda x: lambda y: x + y, lambda x: lambda y: x * y * y):
        f = lambda x: x * grad(inner(x))(x)  # noqa: E731
        for x0 in (2.0, Variable(np.array(2.0))):
            expected = torch.func.grad(lambda x: x * torch.func.grad(inner(x))(x))(T(torch, 2.0))
            close(grad(f)(x0), expected)


def test_positions_still_pass_gradients_to_the_variable(torch):
    x = Variable(A.ravel().copy())
    inner = grad(lambda a, b: total(a * a * b), argnums=0)
    g = grad(lambda z: total(inner(z, z) * z))(x)
    tf = torch.func.grad(lambda a, b: (a * a * b).sum(), argnums=0)
    expected = torch.func.grad(lambda z: (tf(z, z) * z).sum())(T(torch, A.ravel()))
    close(g, expected)
    y = x * 2.0  # a transform result that is itself differentiated by an ordinary backward
    total(grad(lambda a: total(a * a * a))(y)).backward()
    np.testing.assert_allclose(x.grad.data, 2 * 6 * (2 * A.ravel()), rtol=1e-12)


def test_a_variable_that_does_not_require_grad_can_be_differentiated_at():
    x = Variable(B, requires_grad=False)
    g = grad(lambda a: total(a * a))(x)
    np.testing.assert_allclose(g.data, 2 * B)
    assert x.grad is None
