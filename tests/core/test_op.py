"""Ops declared once (core/op.py): one vjp rule on arrays and on Variables, generated glue, the
one recording path with its interceptors, the two namespaces."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.core import function as function_module
from chainrule.core.arrayns import NAMES, A, V
from chainrule.core.config import _Switch, get_config
from chainrule.core.function import Function
from chainrule.core.op import OPS, Op, declare
from chainrule.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(9)


class Cube(Op):
    """A user op written the new way: one rule for every order and for forward mode."""

    elementwise = True
    calls: list = []

    def forward(self, x):
        return x * x * x

    def vjp(self, ns, gy, y, x):
        Cube.calls.append(ns)
        return gy * x * x * 3.0


class ScaledDiff(Op):
    """Two inputs, reads its output: ``(a - b) * exp(a)``."""

    def forward(self, a, b):
        return (a - b) * np.exp(a)

    def vjp(self, ns, gy, y, a, b):
        e = ns.exp(a)
        return gy * (y + e), -(gy * e)

    def jvp(self, ns, ts, y, a, b):
        e = ns.exp(a)
        return ts[0] * (y + e) - ts[1] * e


def test_one_rule_gives_every_order_and_forward_mode():
    x = RNG.standard_normal((3, 2))
    assert gradcheck(lambda v: Cube()(v), x)
    assert gradgradcheck(lambda v: Cube()(v), x)
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    assert gradcheck(lambda p, q: ScaledDiff()(p, q), a, b)
    assert gradgradcheck(lambda p, q: ScaledDiff()(p, q), a, b)
    _, t = cr.jvp(lambda v: Cube()(v), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, 3 * x * x, rtol=1e-14)  # elementwise: the vjp rule on the tangent


def test_first_order_runs_the_rule_on_arrays_and_create_graph_on_variables():
    x = cr.Variable(RNG.standard_normal(4))
    Cube.calls.clear()
    Cube()(x).backward()
    assert Cube.calls == [A]
    Cube.calls.clear()
    cr.gradients(Cube()(x), [x], grad_outputs=[cr.Variable(np.ones(4))], create_graph=True)
    assert Cube.calls == [V]


def test_an_op_cannot_define_backward_by_hand():
    with pytest.raises(TypeError, match="defines vjp"):
        class Bad(Op):
            def forward(self, x):
                return x

            def backward(self, gy):
                return gy


def test_the_output_is_fetched_only_when_the_rule_reads_it():
    class Counted(Op):
        elementwise = True
        forwards = 0

        def forward(self, x):
            Counted.forwards += 1
            return x * 2.0

        def vjp(self, ns, gy, y, x):  # does not read y
            return gy * 2.0

    x = cr.Variable(np.ones(3))
    f = Counted()(x).creator  # the output is dropped at once
    gc.collect()
    assert f.outputs[0]() is None and Counted.forwards == 1
    f.backward_data(np.ones(3))
    f.backward(cr.Variable(np.ones(3)))
    assert Counted.forwards == 1  # neither form re-ran forward to get an output it does not read


def test_a_dropped_output_is_rerun_as_a_graph_node_for_create_graph():
    x = cr.Variable(RNG.standard_normal(3))
    y = F.exp(x)
    f = y.creator
    del y
    gc.collect()
    assert f.outputs[0]() is None
    g = f.backward(cr.Variable(np.ones(3)))  # the rule reads y: it is recomputed, recorded
    assert g.creator is not None
    gg, = cr.gradients(F.sum(g) if hasattr(F, "sum") else g, [x])
    np.testing.assert_allclose(gg.data, np.exp(x.data), rtol=1e-14)


def test_both_namespaces_have_every_name_rules_use():
    for name in NAMES:
        assert callable(getattr(A, name)), name
        assert callable(getattr(V, name)), name  # registered by the op table / the families


def test_unknown_namespace_names_fail_clearly():
    with pytest.raises(AttributeError, match="no differentiable function 'frobnicate'"):
        V.frobnicate  # noqa: B018


def test_declare_refuses_a_second_op_of_the_same_name():
    with pytest.raises(ValueError, match="already in the table"):
        declare(Cube, samples=lambda rng: [], name="exp")(lambda x: x)
    assert OPS["exp"].function is F.exp


def test_the_recording_path_is_one_template():
    seen = set()
    for cls in (type(F.exp(cr.Variable(1.0)).creator), Function):
        seen.add(cls.__call__.__code__.co_filename)
    add = cr.Variable(np.ones(2)) + cr.Variable(np.ones(2))
    seen.add(type(add.creator).__call__.__code__.co_filename)
    assert seen == {"<chainrule recording path, arity 1>", "<chainrule recording path, arity -1>",
                    "<chainrule recording path, arity 2>"}
    assert set(function_module._ENTRY) == {-1, 1, 2, 3}


def test_interceptors_see_every_op_with_or_without_recording():
    seen = []

    def spy(fn, inputs, out):
        first = out[0] if isinstance(out, list) else out
        seen.append((fn.name, len(inputs), first.creator is fn))

    cfg = get_config()
    x = cr.Variable(np.ones(3))
    with _Switch(interceptors=cfg.interceptors + (spy,)):
        F.exp(x)
        with cr.no_grad():
            F.sin(x)
        F.split(x, 3) if hasattr(F, "split") else None
    assert seen[:2] == [("Exp", 1, True), ("Sin", 1, False)]
    if hasattr(F, "split"):
        assert len(seen) == 3  # a multi-output op: the interceptor gets the list of outputs


def test_tapes_record_through_their_interceptor():
    x = cr.Variable(np.ones(3))
    with cr.GradientTape() as tape:
        y = F.exp(x) * 2.0
        with cr.no_grad():
            F.sin(x)
    assert [f.name for f in tape.operations] == ["Exp", "MulScalar"]
    g, = tape.gradient(y, [x])
    np.testing.assert_allclose(g.data, 2 * np.e * np.ones(3))


@pytest.mark.parametrize("name,args", [
    ("reshape", ((2, 6),)), ("transpose", ((1, 0, 2),)), ("swapaxes", (0, 2)), ("expand_dims", (1,)),
    ("squeeze", (None,)), ("sum", ((0, 2), True)), ("sum", ()), ("mean", (1,)), ("getitem", ((0, slice(None), 1),)),
])
def test_shape_helpers_of_the_two_namespaces_agree(name, args):
    a = RNG.standard_normal((3, 1, 4)) if name == "squeeze" else RNG.standard_normal((3, 2, 2))
    if name == "reshape":
        a = RNG.standard_normal((3, 4))
    got = getattr(A, name)(a, *args)
    expect = getattr(V, name)(cr.Variable(a), *args)
    assert type(got) is np.ndarray and got.shape == expect.shape
    np.testing.assert_allclose(got, expect.data, rtol=1e-15)


def test_where_matmul_and_stack_of_the_two_namespaces_agree():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    np.testing.assert_allclose(A.matmul(a, b), V.matmul(cr.Variable(a), cr.Variable(b)).data, rtol=1e-14)
    m = a > 0
    np.testing.assert_allclose(A.where(m, a, 0.0), V.where(m, cr.Variable(a), 0.0).data)
    np.testing.assert_allclose(A.stack([a, a], 1), V.stack([cr.Variable(a), cr.Variable(a)], 1).data)
