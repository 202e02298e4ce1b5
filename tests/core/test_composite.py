"""Composites (core/composite.py): a reference composition defines a fused op; fast paths are
checked against it."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.core.composite import Composite, reference_mode
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(21)


class Softplus(Composite):
    elementwise = True
    fast_calls = 0

    def reference(self, ns, x):
        return ns.log(ns.exp(x) + 1.0)

    def forward(self, x):
        return np.logaddexp(x, 0.0)

    def fast_vjp(self, gy, y, x):
        Softplus.fast_calls += 1
        return gy / (1.0 + np.exp(-x))


class WrongFast(Softplus):
    def fast_vjp(self, gy, y, x):
        return gy * 0.5  # a broken fast path: the comparison with the reference must catch it


class MulSin(Composite):
    """Two inputs, two outputs, reference only: ``(sin(a) * b, a + b)``."""

    multi_output = True

    def reference(self, ns, a, b):
        return ns.sin(a) * b, a + b


def _grads(fn, *arrays, create_graph=False):
    vs = [cr.Variable(a) for a in arrays]
    ys = fn(*vs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    ws = [cr.Variable(np.random.default_rng(2).standard_normal(y.shape)) for y in ys]
    return [y.data for y in ys], [g.data for g in cr.gradients(ys, vs, grad_outputs=ws, create_graph=create_graph)]


def test_fast_paths_agree_with_the_reference():
    x = RNG.standard_normal((3, 4))
    Softplus.fast_calls = 0
    fast_y, fast_g = _grads(lambda v: Softplus()(v), x)
    assert Softplus.fast_calls == 1  # first order took the fast rule
    with reference_mode(Softplus):
        ref_y, ref_g = _grads(lambda v: Softplus()(v), x)
    assert Softplus.fast_calls == 1  # the reference run did not
    np.testing.assert_allclose(fast_y[0], ref_y[0], rtol=1e-14)
    np.testing.assert_allclose(fast_g[0], ref_g[0], rtol=1e-14)
    assert Softplus.forward is not Composite.forward and "fast_vjp" in vars(Softplus)  # restored


def test_a_wrong_fast_rule_shows_against_the_reference():
    x = RNG.standard_normal(5)
    _, fast_g = _grads(lambda v: WrongFast()(v), x)
    with reference_mode(WrongFast):
        _, ref_g = _grads(lambda v: WrongFast()(v), x)
    assert not np.allclose(fast_g[0], ref_g[0])


def test_higher_orders_and_forward_mode_come_from_the_reference():
    x = RNG.standard_normal((2, 3))
    assert gradgradcheck(lambda v: Softplus()(v), x)
    _, t = cr.jvp(lambda v: Softplus()(v), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, 1 / (1 + np.exp(-x)), rtol=1e-13)
    h = cr.hessian(lambda v: F.sum_to(Softplus()(v), ()))(x.ravel())
    s = 1 / (1 + np.exp(-x.ravel()))
    np.testing.assert_allclose(h, np.diag(s * (1 - s)), rtol=1e-12, atol=1e-15)


def test_a_reference_only_multi_output_composite():
    a, b = RNG.standard_normal(4), RNG.standard_normal(4)
    assert gradcheck(lambda p, q: MulSin()(p, q), a, b)
    assert gradgradcheck(lambda p, q: MulSin()(p, q), a, b)
    (y0, y1), (t0, t1) = cr.jvp(lambda p, q: MulSin()(p, q), (a, b), (np.ones(4), np.zeros(4)))
    np.testing.assert_allclose(y0, np.sin(a) * b)
    np.testing.assert_allclose(t0, np.cos(a) * b, rtol=1e-14)
    np.testing.assert_allclose(t1, np.ones(4))


def test_one_output_unused_gets_zeros():
    a, b = cr.Variable(RNG.standard_normal(3)), cr.Variable(RNG.standard_normal(3))
    y0, _ = MulSin()(a, b)
    F.sum_to(y0, ()).backward()
    np.testing.assert_allclose(a.grad.data, np.cos(a.data) * b.data, rtol=1e-14)
    np.testing.assert_allclose(b.grad.data, np.sin(a.data), rtol=1e-14)


def test_reference_mode_restores_on_error():
    with pytest.raises(RuntimeError):
        with reference_mode(Softplus):
            raise RuntimeError
    assert Softplus.forward is vars(Softplus)["forward"]
