"""Composites: fused ops defined by a reference composition of primitive ops.

A fused op (``linear_relu``, ``relu_mlp``, ``lstm_cell``, ``softmax_cross_entropy``, ...) is a
``Composite``. Its ``reference(ns, *xs)`` composes declared ops through ``ns`` and *is* the
definition: every derivative order and the JVP come from it. Two optional fast paths may
replace it where it pays:

* ``forward(*arrays)``: a fused kernel (default: the reference on arrays, ``ns = A``);
* ``fast_vjp(gy, y, *arrays)``: a fused first-order rule on arrays, used by first-order
  reverse passes (default: the reference differentiated on the spot).

``create_graph=True`` passes and forward mode always use the reference, so a fast path can
only be wrong at first order, and ``tests/test_ops_table.py`` compares every declared
composite's fast paths with its reference on the sample inputs (``reference_mode`` below
switches a composite to its reference for that comparison).

    class Softplus(Composite):
        elementwise = True

        def reference(self, ns, x):
            return ns.log(ns.exp(x) + 1.0)

        def forward(self, x):                    # optional fast kernel
            return np.logaddexp(x, 0.0)

        def fast_vjp(self, gy, y, x):            # optional fast first-order rule
            return gy / (1.0 + np.exp(-x))
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from .arrayns import A, V
from .autodiff import _gradients_of
from .config import _Switch
from .forward import ForwardMode
from .op import Op
from .variable import Variable

__all__ = ["Composite", "reference_mode"]


class Composite(Op):
    """A fused op: ``reference(ns, *xs)`` defines it; ``forward`` and ``fast_vjp`` may be
    faster replacements of the reference's value and first-order gradient."""

    fast_vjp: Any = None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.__dict__.get("fast_vjp") is not None:
            # first-order passes call the fast rule straight from the glue, and fetch the
            # output(s) only when the rule reads them (a dropped output is not recomputed)
            cls.backward_data = _fast_glue(cls)  # type: ignore[method-assign]

    def reference(self, ns: Any, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.reference")

    def forward(self, *xs: Any) -> Any:
        return self.reference(A, *xs)

    def vjp(self, ns: Any, gy: Any, y: Any, *xs: Any) -> Any:
        if ns is A and self.fast_vjp is not None:
            return self.fast_vjp(gy, y, *xs)
        return _reference_vjp(self, ns, gy, xs)

    def jvp(self, ns: Any, ts: tuple, y: Any, *xs: Any) -> Any:
        return _reference_jvp(self, ns, ts, xs)


# ``backward_data`` of a Composite with a fast first-order rule: ``fast_vjp`` called directly
# (``reference_mode`` sets it to None on the class: then the generic glue runs the reference).
_FAST_GLUE = """
def backward_data(self, {gys}):
    fast = self.fast_vjp
    if fast is None:
        return _generic(self, {gys})
    {get_y}
    return fast({gy}, {y}, {datas})
"""


def _fast_glue(cls: Any) -> Any:
    from .op import _GET_Y_DATA, _arity, _input_arrays, _loads, _output_arrays, _unpack_inputs

    fast = cls.__dict__["fast_vjp"]
    n = _arity(cls.forward)
    datas = _input_arrays(n)
    ys_name = fast.__code__.co_varnames[2] if fast.__code__.co_argcount > 2 else "y"
    uses_y = _loads(fast, ys_name)
    if cls.multi_output:
        gys, gy = "*gys", "gys"
        get_y = "y = _output_arrays(self)" if uses_y else "pass"
    else:
        gys = gy = "gy"
        get_y = _GET_Y_DATA if uses_y else "pass"
    get_y = _unpack_inputs(n, get_y)
    src = _FAST_GLUE.format(gys=gys, gy=gy, get_y=get_y, y="y" if uses_y else "None", datas=datas)
    scope: dict = {"_generic": cls.backward_data, "_output_arrays": _output_arrays}
    exec(compile(src, f"<chainrule vjp glue, fast rule of {cls.__name__}>", "exec"), scope)
    return scope["backward_data"]


def _leaves(xs: tuple, requires_grad: bool) -> list:
    out = []
    for x in xs:
        v = Variable._new(x)
        v._requires_grad = requires_grad and x.dtype.kind in "fc"
        out.append(v)
    return out


def _reference_vjp(op: Composite, ns: Any, gy: Any, xs: tuple) -> Any:
    """The reference differentiated between the op's inputs and its output: on Variables
    (``create_graph``) as a graph, on arrays as a first-order pass."""
    differentiable = ns is V
    vs = list(xs) if differentiable else _leaves(xs, True)
    with _Switch(enable_backprop=True):
        out = op.reference(V, *vs)
    outs = list(out) if op.multi_output else [out]
    gys = list(gy) if op.multi_output else [gy]
    seeds = []
    for o, g in zip(outs, gys):
        if g is None:
            g = V.zeros_like(o)
        elif not differentiable:
            g = Variable._new(g)
        seeds.append(g)
    wrt = [v for v in vs if v._requires_grad]
    gs = iter(_gradients_of(outs, wrt, seeds, differentiable, stop=set(vs)) if wrt else ())
    res = [next(gs) if v._requires_grad else None for v in vs]
    if not differentiable:
        res = [None if g is None else g._data for g in res]
    return res[0] if len(res) == 1 else tuple(res)


def _reference_jvp(op: Composite, ns: Any, ts: tuple, xs: tuple) -> Any:
    """The output tangent(s) of the reference, by a nested forward-mode sweep over it."""
    differentiable = ns is V
    vs = list(xs) if differentiable else _leaves(xs, False)
    mode = ForwardMode(differentiable=differentiable)
    for v, t in zip(vs, ts):
        mode.set(v, t)
    with mode:
        out = op.reference(V, *vs)
    outs = list(out) if op.multi_output else [out]
    res = []
    for o in outs:
        t = mode.get(o)
        if t is None:
            t = V.zeros_like(o) if differentiable else A.zeros_like(o._data)
        res.append(t)
    return tuple(res) if op.multi_output else res[0]


@contextlib.contextmanager
def reference_mode(*classes: type) -> Iterator[None]:
    """Run the given Composite classes on their reference alone (no fast kernel, no fast
    rule) inside the block: what the tests compare the fast paths against."""
    saved = []
    try:
        for cls in classes:
            saved.append((cls, cls.__dict__.get("forward"), cls.__dict__.get("fast_vjp")))
            for name, value in (("forward", Composite.forward), ("fast_vjp", None)):
                setattr(cls, name, value)
        yield
    finally:
        for cls, fwd, fast in reversed(saved):
            for name, value in (("forward", fwd), ("fast_vjp", fast)):
                if value is None:
                    if name in cls.__dict__:
                        delattr(cls, name)
                else:
                    setattr(cls, name, value)
