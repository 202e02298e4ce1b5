"""True forward mode (core/forward.py): jvp, jacfwd, hessian as forward-over-reverse."""
from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.core.config import get_config
from chainrule.core.forward import ForwardMode
from chainrule.core.function import Function
from chainrule.core.op import MissingJvpRule
from chainrule.core.transforms import grad, hessian, jacfwd, jacobian, jacrev, jvp
from chainrule.functions.broadcast import sum_to

RNG = np.random.default_rng(3)
X = RNG.standard_normal(5)
A = RNG.standard_normal((3, 1))
B = RNG.standard_normal(4)


def f_vec(x, y):  # (3, 1), (4,) -> (3, 4)
    return F.sin(x * y) + F.exp(y) / (x * x + 1.0) - F.tanh(x) ** 2


def f_vec_torch(torch, x, y):
    return torch.sin(x * y) + torch.exp(y) / (x * x + 1.0) - torch.tanh(x) ** 2


def f_scalar(x):
    return sum_to(F.sin(x) * x ** 3 / (x * x + 1.0) - F.sigmoid(x), ())


def f_scalar_torch(torch, x):
    return (torch.sin(x) * x ** 3 / (x * x + 1.0) - torch.sigmoid(x)).sum()


def _fd(f, xs, ts, eps=1e-6):
    with cr.no_grad():
        p = f(*[cr.Variable(x + eps * t) for x, t in zip(xs, ts)]).data
        m = f(*[cr.Variable(x - eps * t) for x, t in zip(xs, ts)]).data
    return (p - m) / (2 * eps)


def test_jvp_matches_finite_differences_and_returns_arrays():
    ta, tb = RNG.standard_normal(A.shape), RNG.standard_normal(B.shape)
    out, t = jvp(f_vec, (A, B), (ta, tb))
    assert type(out) is np.ndarray and type(t) is np.ndarray and t.shape == (3, 4)
    np.testing.assert_allclose(t, _fd(f_vec, [A, B], [ta, tb]), rtol=1e-7, atol=1e-8)


def test_jvp_matches_torch_func_jvp():
    torch = pytest.importorskip("torch")
    ta, tb = RNG.standard_normal(A.shape), RNG.standard_normal(B.shape)
    out, t = jvp(f_vec, (A, B), (ta, tb))
    eo, et = torch.func.jvp(lambda a, b: f_vec_torch(torch, a, b), (torch.tensor(A), torch.tensor(B)),
                            (torch.tensor(ta), torch.tensor(tb)))
    np.testing.assert_allclose(out, eo.numpy(), rtol=1e-13)
    np.testing.assert_allclose(t, et.numpy(), rtol=1e-12, atol=1e-14)


def test_jvp_on_arrays_records_no_reverse_graph():
    seen = []

    def f(x):
        y = F.exp(F.sin(x)) * 2.0
        seen.append(y)
        return y

    jvp(f, (X,), (np.ones(5),))
    assert seen[0].creator is None and not seen[0].requires_grad


def test_jvp_through_a_long_chain_holds_a_few_arrays():
    """100,000 ops on 1,000-element arrays: the tangents die with their Variables."""
    n_ops, size = 100_000, 1000
    x0 = np.full(size, 0.5)

    def chain(x, n=n_ops):
        for _ in range(n // 2):
            x = F.sin(x) * 1.0001
        return x

    def peak_of(n: int) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            jvp(lambda x: chain(x, 4000), (x0,), (np.ones(size),))  # fills CPython's free lists first
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            _, t = jvp(lambda x: chain(x, n), (x0,), (np.ones(size),))
            assert np.all(np.isfinite(t))
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    array_bytes = size * 8
    peak = peak_of(n_ops)
    assert peak < 12 * array_bytes, f"peak {peak} bytes: {peak / array_bytes:.1f} arrays"
    assert peak < peak_of(100) + 2 * array_bytes  # flat in the chain's length


def test_jvp_of_an_op_without_a_rule_names_it():
    class Cube(Function):  # a user op with only a reverse rule
        def forward(self, x):
            return x ** 3

        def backward(self, gy):
            return gy * 3.0 * self.inputs[0] ** 2

    with pytest.raises(MissingJvpRule, match="Cube has no jvp rule"):
        jvp(lambda x: Cube()(x), (X,), (X,))
    assert isinstance(MissingJvpRule("x"), NotImplementedError)
    # reverse mode still works on it, and so does hessian (by its reverse-over-reverse fallback)
    np.testing.assert_allclose(hessian(lambda x: sum_to(Cube()(x), ()))(X), np.diag(6 * X), rtol=1e-12)


def test_jvp_of_jvp_and_grad_of_jvp_are_second_derivatives():
    v = np.ones(5)

    def d1(x):
        return jvp(lambda x: F.sin(x) * x, (x,), (v,))[1]

    second = -np.sin(X) * X + 2 * np.cos(X)
    np.testing.assert_allclose(jvp(d1, (X,), (v,))[1], second, rtol=1e-12)
    np.testing.assert_allclose(grad(lambda x: sum_to(d1(x), ()))(X), second, rtol=1e-12)


def test_jvp_given_variables_returns_differentiable_tangents():
    x = cr.Variable(X.copy())
    _, t = jvp(lambda x: F.exp(x), (x,), (np.ones(5),))
    assert isinstance(t, cr.Variable)
    g, = cr.gradients(sum_to(t, ()), [x])
    np.testing.assert_allclose(g.data, np.exp(X), rtol=1e-13)


def test_jacfwd_matches_jacrev_shapes_and_structure():
    jf = jacfwd(f_vec, argnums=(0, 1))(A, B)
    jr = jacrev(f_vec, argnums=(0, 1))(A, B)
    assert jacrev is jacobian
    for a, b in zip(jf, jr):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    two = jacfwd(lambda x: (F.sin(x), x * 2.0))(X)
    assert isinstance(two, tuple) and two[1].shape == (5, 5)
    np.testing.assert_allclose(two[0], np.diag(np.cos(X)), atol=1e-15)


def test_jacfwd_of_a_0d_input_and_an_empty_input():
    s = np.array(0.3)
    np.testing.assert_allclose(jacfwd(lambda x: F.exp(x) * np.arange(3.0))(s), np.exp(0.3) * np.arange(3.0))
    assert jacfwd(lambda x: x * 2.0)(np.zeros((0, 2))).shape == (0, 2, 0, 2)


def test_hessian_is_forward_over_reverse_and_matches_torch():
    torch = pytest.importorskip("torch")
    h_fwd = jacfwd(grad(f_scalar))(X)  # what hessian computes when every op has a jvp rule
    expect = torch.func.hessian(lambda x: f_scalar_torch(torch, x))(torch.tensor(X)).numpy()
    np.testing.assert_allclose(h_fwd, expect, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(hessian(f_scalar)(X), expect, rtol=1e-11, atol=1e-12)


def test_hessian_does_not_fall_back_when_every_op_has_a_rule(monkeypatch):
    import chainrule.core.transforms as T

    calls = []
    real = T.jacobian
    monkeypatch.setattr(T, "jacobian", lambda *a, **k: calls.append(1) or real(*a, **k))
    h = T.hessian(f_scalar)
    h(X)
    assert calls == [1]  # built once at hessian() time, never called on the forward path


def test_forward_mode_is_an_interceptor_scoped_to_its_block():
    mode = ForwardMode()
    before = get_config().interceptors
    with mode:
        assert get_config().interceptors == before + (mode,)
        with cr.no_grad():  # forward mode sees ops run under no_grad as well
            x = cr.Variable(X.copy())
            mode.set(x, np.ones(5))
            y = F.sin(x)
        np.testing.assert_allclose(mode.get(y), np.cos(X))
    assert get_config().interceptors == before


def test_a_tangent_is_dropped_with_its_variable():
    mode = ForwardMode()
    with mode:
        x = cr.Variable(X.copy())
        mode.set(x, np.ones(5))
        y = F.sin(x)
        assert len(mode.tangents) == 2
        del y
        gc.collect()
        assert len(mode.tangents) == 1


def test_tangents_keep_the_primal_dtype():
    x32 = X.astype(np.float32)
    out, t = jvp(lambda x: F.exp(x) * np.float64(2.0), (x32,), (np.ones(5),))
    assert out.dtype == np.float32 and t.dtype == np.float32


def test_hvp_is_forward_over_reverse_and_falls_back_for_ops_without_a_rule(monkeypatch):
    import chainrule.core.transforms as T

    v = RNG.standard_normal(5)
    expect = hessian(f_scalar)(X) @ v
    real = T._hvp_reverse
    monkeypatch.setattr(T, "_hvp_reverse", lambda *a: pytest.fail("fell back"))
    value, hv = T.hvp(f_scalar, X, v)
    np.testing.assert_allclose(hv, expect, rtol=1e-12)
    np.testing.assert_allclose(value, f_scalar(cr.Variable(X)).data, rtol=1e-15)
    monkeypatch.setattr(T, "_hvp_reverse", real)

    class Cube(Function):
        def forward(self, x):
            return x ** 3

        def backward(self, gy):
            return gy * 3.0 * self.inputs[0] ** 2

    _, hv = T.hvp(lambda x: sum_to(Cube()(x), ()), X, v)
    np.testing.assert_allclose(hv, 6 * X * v, rtol=1e-12)
