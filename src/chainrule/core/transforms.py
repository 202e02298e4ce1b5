"""Functional transforms: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacobian`` (``jacrev``),
``jacfwd``, ``hessian``, ``hvp``.

Each takes a function of Variables (or of arrays and numbers) and returns derivatives:

* given arrays/numbers, results are arrays (the graph is built internally and dropped);
* given Variables, results are Variables, differentiable again (``create_graph`` is on), so
  the transforms compose: ``grad(grad(f))``, ``jacobian(grad(f))``, ``grad(f)`` inside a loss.

A transform called inside another transform's function always returns Variables, so closures
over an outer variable differentiate correctly. As in ``torch.func``, the function is run with
gradient recording on even inside ``no_grad()``.

``jvp`` and ``jacfwd`` are true forward mode (``core/forward.py``): tangents go through each
op's JVP rule as the op runs, in one sweep, and on array input no reverse graph is recorded.
``hessian`` is forward-over-reverse: ``jacfwd`` of the reverse-mode gradient.
"""
from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable, Sequence

from ..backend import backend_of, xp_of
from .autodiff import _check_float, _gradients_of
from .config import _state, _Switch, is_grad_enabled
from .forward import ForwardMode, carry_tangent
from .op import MissingJvpRule, Op
from .variable import Variable, as_variable

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd", "hessian", "hvp"]

# How many transforms are currently running a user function (nested transforms keep Variables).
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("chainrule_transform_depth", default=0)


class _Tracing:
    """Run the user function with recording on, one transform level deeper."""

    __slots__ = ("_switch", "_token")

    def __enter__(self) -> None:
        self._token = _depth.set(_depth.get() + 1)
        self._switch = _Switch(enable_backprop=True)
        self._switch.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._switch.__exit__(*exc)
        _depth.reset(self._token)


# ----- helpers -----
def _argnums(argnums: Any, who: str) -> tuple:
    """(single, tuple_of_ints) from an int or a sequence of ints."""
    if isinstance(argnums, int):
        return True, (argnums,)
    try:
        nums = tuple(argnums)
    except TypeError:
        raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}") from None
    if not nums or not all(isinstance(n, int) for n in nums):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    return False, nums


class _Position(Op):
    """The identity, giving one argument position its own Variable: a Variable passed at two
    positions (``grad(f, argnums=(0, 1))(x, x)``), or closed over and passed again (a nested
    ``grad``), gets one derivative per position, and gradients still flow on to the Variable."""

    __slots__ = ()
    elementwise = True

    def forward(self, x: Any) -> Any:
        return x

    def vjp(self, ns: Any, gy: Any, y: Any, x: Any) -> Any:
        return gy


def _lift(x: Any) -> Variable:
    """A Variable of its own for one differentiated argument: a new leaf for an array or number;
    for a Variable, ``_Position(x)`` when the graph can reach ``x``, else a new leaf on its data
    (carrying ``x``'s tangent in an active forward mode)."""
    if not isinstance(x, Variable):
        return Variable(x)
    if x._requires_grad and is_grad_enabled():
        return _Position()(x)
    v = Variable._new(x._data)
    if _state.get().interceptors:
        carry_tangent(x, v)
    return v


def _grads_wrt(outs: list, xs: list, grad_outputs: Any, create: bool) -> list:
    """d(outs)/d(xs) for the Variables ``_lift`` made: the pass stops at them."""
    for x in xs:
        _check_float(x, "transforms")
    return _gradients_of(outs, xs, grad_outputs, create, stop=set(xs))


def _lift_args(given: tuple, nums: tuple, who: str) -> tuple:
    """Replace the differentiated positional args by Variables; returns (args, variables, keep)."""
    n = len(given)
    args = list(given)
    xs = []
    keep = _depth.get() > 0
    for i in nums:
        if not -n <= i < n:
            raise ValueError(f"{who}: argnums {i} is out of range for {n} positional argument(s)")
        a = args[i]
        if isinstance(a, Variable):
            keep = True
        a = args[i] = _lift(a)
        xs.append(a)
    return args, xs, keep


def _like(value: Any, ref: Variable, who: str, what: str) -> Variable:
    """``value`` as a Variable on ref's device and in ref's dtype, with ref's shape."""
    if not isinstance(value, Variable):
        value = Variable._new(backend_of(ref.data).asarray(value, dtype=ref.data.dtype))
    if value.shape != ref.shape:
        raise ValueError(f"{who}: {what} has shape {value.shape}, expected {ref.shape}")
    return value


def _scalar(out: Any, who: str) -> Variable:
    if isinstance(out, (tuple, list)):
        raise TypeError(f"{who}: f must return a scalar Variable, got a {type(out).__name__} "
                        f"(use has_aux=True to return (value, aux))")
    out = as_variable(out)
    if out.size != 1:
        raise ValueError(f"{who}: f must return a scalar (one element), got shape {out.shape}; "
                         f"use jacobian or vjp for non-scalar outputs")
    return out


def _split_aux(out: Any, who: str) -> tuple:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{who}: with has_aux=True, f must return a pair (value, aux)")
    return out[0], out[1]


def _outputs(out: Any) -> tuple:
    """(is_multi, list of Variables) from f's result."""
    if isinstance(out, (tuple, list)):
        return True, [as_variable(o) for o in out]
    return False, [as_variable(out)]


def _finish(vs: Sequence[Variable], keep: bool) -> list:
    return list(vs) if keep else [v.data for v in vs]


def _pack(items: list, multi: bool) -> Any:
    return tuple(items) if multi else items[0]


def _as_primals(primals: Any, who: str) -> tuple:
    if isinstance(primals, (tuple, list)):
        return True, list(primals)
    return False, [primals]


# ----- grad / value_and_grad -----
def _grad_impl(f: Callable, argnums: Any, has_aux: bool, who: str, with_value: bool) -> Callable:
    single, nums = _argnums(argnums, who)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        args, xs, keep = _lift_args(args, nums, who)
        create = keep and is_grad_enabled()
        with _Tracing():
            out = f(*args, **kwargs)
        aux = None
        if has_aux:
            out, aux = _split_aux(out, who)
        out = _scalar(out, who)
        gs = _finish(_grads_wrt([out], xs, None, create), keep)
        g = gs[0] if single else tuple(gs)
        if not with_value:
            return (g, aux) if has_aux else g
        value = out if keep else out.data
        return ((value, aux), g) if has_aux else (value, g)

    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The gradient function of scalar-valued ``f`` with respect to positional arg(s) ``argnums``.

    ``grad(f)(x)`` has x's shape; with a tuple ``argnums`` a tuple of gradients is returned.
    With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the result is ``(grad, aux)``.
    """
    return _grad_impl(f, argnums, has_aux, "grad", with_value=False)


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Like ``grad`` but returns ``(value, grad)`` (``((value, aux), grad)`` with has_aux)."""
    return _grad_impl(f, argnums, has_aux, "value_and_grad", with_value=True)


# ----- vjp / jvp -----
def vjp(f: Callable, *primals: Any) -> tuple:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns a tuple with one
    ``cotangent @ J_i`` per primal (shape of that primal).

    The cotangent has the structure of ``f``'s output (a tuple for tuple outputs). ``vjp_fn``
    may be called any number of times.
    """
    xs = [_lift(p) for p in primals]
    keep = _depth.get() > 0 or any(isinstance(p, Variable) for p in primals)
    with _Tracing():
        out = f(*xs)
    multi, outs = _outputs(out)

    def vjp_fn(cotangents: Any) -> tuple:
        cts = list(cotangents) if multi else [cotangents]
        if len(cts) != len(outs):
            raise ValueError(f"vjp: f has {len(outs)} outputs but {len(cts)} cotangents were given")
        k = keep or any(isinstance(c, Variable) for c in cts)
        cts = [_like(c, o, "vjp", f"cotangent {i}") for i, (c, o) in enumerate(zip(cts, outs))]
        gs = _grads_wrt(outs, xs, cts, k and is_grad_enabled())
        return tuple(_finish(gs, k))

    return _pack(_finish(outs, keep), multi), vjp_fn


def _primals_and_tangents(primals: Any, tangents: Any, who: str) -> tuple:
    """(multi, primal Variables, tangents shaped like them, keep Variables?, create_graph?)."""
    multi, ps = _as_primals(primals, who)
    _, ts = _as_primals(tangents, who)
    if len(ps) != len(ts):
        raise ValueError(f"{who}: {len(ps)} primals but {len(ts)} tangents")
    xs = [_lift(p) for p in ps]
    keep = (_depth.get() > 0 or any(isinstance(p, Variable) for p in ps)
            or any(isinstance(t, Variable) for t in ts))
    ts = [_like(t, x, who, f"tangent {i}") for i, (t, x) in enumerate(zip(ts, xs))]
    return multi, xs, ts, keep, keep and is_grad_enabled()


def _constant(p: Any) -> Variable:
    """A leaf on ``p``'s data that requires no grad: ops on it record no reverse graph."""
    v = Variable._new(p._data) if isinstance(p, Variable) else Variable(p)
    v._requires_grad = False
    return v


def _sweep(f: Callable, ps: list, ts: list, keep: bool, who: str) -> tuple:
    """One forward-mode sweep: ``f(*ps)`` with tangents ``ts``; returns (multi, output
    Variables, output tangents: Variables when ``keep``, else arrays; zeros where an output
    does not depend on the primals)."""
    xs = [_lift(p) for p in ps] if keep else [_constant(p) for p in ps]
    ts = [_like(t, x, who, f"tangent {i}") for i, (t, x) in enumerate(zip(ts, xs))]
    mode = ForwardMode(differentiable=keep)
    for x, t in zip(xs, ts):
        mode.set(x, t if keep else t._data)
    with _Tracing(), mode:
        out = f(*xs)
    multi, outs = _outputs(out)
    touts = []
    for o in outs:
        t = mode.get(o)
        if t is None:
            z = xp_of(o._data).zeros_like(o._data)
            t = Variable._new(z) if keep else z
        touts.append(t)
    return multi, outs, touts


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """``(f(*primals), J @ tangents)``: the forward-mode directional derivative.

    ``primals`` and ``tangents`` are tuples of the same length and shapes; the tangent output
    has the structure of ``f``'s output. One forward sweep pushes the tangents through each
    op's JVP rule; on arrays no reverse graph is recorded (memory stays that of the primal
    computation). Given Variables (or inside another transform) the tangents are Variables,
    differentiable again. An op without a JVP rule raises ``MissingJvpRule``.
    """
    _, ps = _as_primals(primals, "jvp")
    _, ts = _as_primals(tangents, "jvp")
    if len(ps) != len(ts):
        raise ValueError(f"jvp: {len(ps)} primals but {len(ts)} tangents")
    keep = (_depth.get() > 0 or any(isinstance(p, Variable) for p in ps)
            or any(isinstance(t, Variable) for t in ts))
    multi, outs, touts = _sweep(f, ps, ts, keep, "jvp")
    return _pack(_finish(outs, keep), multi), _pack(touts, multi)


# ----- jacobian / hessian / hvp -----
class _StackRows(Op):
    """Stack same-shape rows and reshape to ``shape`` (assembles a Jacobian; differentiable)."""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, *rows: Any) -> Any:
        return xp_of(rows[0]).stack(rows).reshape(self.shape)

    def vjp(self, ns: Any, gy: Any, y: Any, *rows: Any) -> Any:
        return tuple(ns.call(_SplitRows(len(rows), tuple(rows[0].shape)), gy))

    def jvp(self, ns: Any, ts: tuple, y: Any, *rows: Any) -> Any:
        return ns.call(_StackRows(self.shape), *ts)


class _SplitRows(Op):
    """Inverse of ``_StackRows``: ``n`` rows of ``row_shape`` from an array of n * row elements."""

    multi_output = True

    def __init__(self, n: int, row_shape: tuple):
        self.n = n
        self.row_shape = row_shape

    def forward(self, y: Any) -> tuple:
        flat = y.reshape((self.n,) + self.row_shape)
        return tuple(flat[i] for i in range(self.n))

    def vjp(self, ns: Any, gys: tuple, ys: tuple, y: Any) -> Any:  # type: ignore[override]  # the multi-output form
        some = next(g for g in gys if g is not None)
        rows = [ns.zeros_like(some) if g is None else g for g in gys]
        return ns.call(_StackRows(tuple(y.shape)), *rows)

    def jvp(self, ns: Any, ts: tuple, ys: tuple, y: Any) -> Any:  # type: ignore[override]  # the multi-output form
        return ns.call(_SplitRows(self.n, self.row_shape), ts[0])


def _jacobian_of(o: Variable, xs: list, keep: bool, create: bool) -> list:
    """Reverse-mode Jacobian of ``o`` w.r.t. each x: one backward pass per element of ``o``."""
    xp = xp_of(o.data)
    n = o.size
    rows: list = [[] for _ in xs]
    for i in range(n):
        seed = xp.zeros(n, dtype=o.data.dtype)
        seed[i] = 1
        gs = _grads_wrt([o], xs, [Variable._new(seed.reshape(o.shape))], create)
        for k, g in enumerate(gs):
            rows[k].append(g)
    jacs = []
    for x, r in zip(xs, rows):
        shape = o.shape + x.shape
        if n == 0:
            j = xp.zeros(shape, dtype=x.data.dtype)
            jacs.append(Variable._new(j) if keep else j)
        elif keep:
            jacs.append(_StackRows(shape)(*r))
        else:
            jacs.append(xp.stack([g.data for g in r]).reshape(shape))
    return jacs


def jacobian(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian function of ``f`` (reverse mode, one backward pass per output element).

    For output shape ``O`` and input shape ``I`` the Jacobian has shape ``O + I``. A tuple
    ``argnums`` gives a tuple over inputs; a tuple-valued ``f`` gives a tuple over outputs
    (of Jacobians, or of tuples over inputs).
    """
    single, nums = _argnums(argnums, "jacobian")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        args, xs, keep = _lift_args(args, nums, "jacobian")
        create = keep and is_grad_enabled()
        with _Tracing():
            out = f(*args, **kwargs)
        multi, outs = _outputs(out)
        per_out = []
        for o in outs:
            jacs = _jacobian_of(o, xs, keep, create)
            per_out.append(jacs[0] if single else tuple(jacs))
        return _pack(per_out, multi)

    return wrapped


jacrev = jacobian


class _StackLast(Op):
    """Same-shape columns stacked along a new last axis and reshaped to ``shape`` (assembles a
    forward-mode Jacobian ``O + I`` from its ``prod(I)`` columns of shape ``O``)."""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, *cols: Any) -> Any:
        return xp_of(cols[0]).stack(cols, axis=-1).reshape(self.shape)

    def vjp(self, ns: Any, gy: Any, y: Any, *cols: Any) -> Any:
        return ns.call(_SplitLast(len(cols), tuple(cols[0].shape)), gy)

    def jvp(self, ns: Any, ts: tuple, y: Any, *cols: Any) -> Any:
        return ns.call(_StackLast(self.shape), *ts)


class _SplitLast(Op):
    """Inverse of ``_StackLast``: ``n`` columns of ``col_shape`` from an array of ``col_shape``
    times ``n`` elements."""

    multi_output = True

    def __init__(self, n: int, col_shape: tuple):
        self.n = n
        self.col_shape = col_shape

    def forward(self, y: Any) -> tuple:
        m = y.reshape(self.col_shape + (self.n,))
        return tuple(m[..., i] for i in range(self.n))

    def vjp(self, ns: Any, gys: tuple, ys: tuple, y: Any) -> Any:  # type: ignore[override]  # the multi-output form
        some = next(g for g in gys if g is not None)
        gys = [ns.zeros_like(some) if g is None else g for g in gys]  # type: ignore[assignment]
        return ns.call(_StackLast(tuple(y.shape)), *gys)

    def jvp(self, ns: Any, ts: tuple, ys: tuple, y: Any) -> Any:  # type: ignore[override]  # the multi-output form
        return ns.call(_SplitLast(self.n, self.col_shape), ts[0])


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian function of ``f`` by forward mode: one sweep per element of the inputs.

    Shapes and structure as ``jacobian`` (output shape ``O``, input shape ``I``: ``O + I``; a
    tuple ``argnums`` gives a tuple over inputs, a tuple-valued ``f`` a tuple over outputs).
    Cheaper than ``jacobian`` when the inputs have fewer elements than the outputs.
    """
    single, nums = _argnums(argnums, "jacfwd")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        n = len(args)
        for i in nums:
            if not -n <= i < n:
                raise ValueError(f"jacfwd: argnums {i} is out of range for {n} positional argument(s)")
        pos = [i % n for i in nums]
        keep = _depth.get() > 0 or any(isinstance(args[i], Variable) for i in pos)
        ps = [args[i] if isinstance(args[i], Variable) else Variable(args[i]) for i in pos]
        for p in ps:
            _check_float(p, "jacfwd")

        def g(*xs: Any) -> Any:
            full = list(args)
            for i, x in zip(pos, xs):
                full[i] = x
            return f(*full, **kwargs)

        zeros = [xp_of(p._data).zeros_like(p._data) for p in ps]
        per_in = []  # per input: per output: list of columns
        multi = False
        outs: list = []
        for k, p in enumerate(ps):
            cols: list = []
            for e in range(p._data.size):
                basis = zeros[k].copy()
                basis.reshape(-1)[e] = 1
                ts = [basis if j == k else zeros[j] for j in range(len(ps))]
                multi, outs, touts = _sweep(g, ps, ts, keep, "jacfwd")
                cols.append(touts)
            per_in.append(cols)
        if not outs:  # every input is empty: one sweep for the output shapes
            multi, outs, _ = _sweep(g, ps, zeros, keep, "jacfwd")
        per_out = []
        for oi, o in enumerate(outs):
            jacs = []
            for k, p in enumerate(ps):
                shape = tuple(o.shape) + tuple(p.shape)
                cols = [c[oi] for c in per_in[k]]
                xp = xp_of(o._data)
                if not cols or o._data.size == 0:
                    j = xp.zeros(shape, dtype=o._data.dtype)
                    jacs.append(Variable._new(j) if keep else j)
                elif keep:
                    jacs.append(_StackLast(shape)(*cols))
                else:
                    jacs.append(xp.stack(cols, axis=-1).reshape(shape))
            per_out.append(jacs[0] if single else tuple(jacs))
        return _pack(per_out, multi)

    return wrapped


def hessian(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Hessian function of scalar ``f``, forward-over-reverse: ``jacfwd(grad(f))``, shape
    ``I + I``. With a tuple ``argnums`` the result is a nested tuple ``H[i][j]`` of shape
    ``I_i + I_j``.

    Every declared op has a JVP rule; a function that calls an op without one (a user's own
    ``Function`` subclass with only ``backward``) falls back to reverse-over-reverse
    (``jacobian(grad(f))``), the same values.
    """
    forward = jacfwd(grad(f, argnums), argnums)
    reverse = jacobian(grad(f, argnums), argnums)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return forward(*args, **kwargs)
        except MissingJvpRule:
            return reverse(*args, **kwargs)

    return wrapped


def hvp(f: Callable, primals: Any, tangents: Any) -> tuple:
    """``(f(*primals), H @ tangents)`` for scalar ``f``, forward-over-reverse: one forward-mode
    sweep through the reverse-mode gradient (no Hessian is formed). The product has the
    structure of ``primals`` (tuple or single). A function that calls an op without a JVP rule
    (a user's own ``Function`` subclass) falls back to reverse-over-reverse (the same values)."""
    multi, ps = _as_primals(primals, "hvp")
    _, ts = _as_primals(tangents, "hvp")
    if len(ps) != len(ts):
        raise ValueError(f"hvp: {len(ps)} primals but {len(ts)} tangents")
    keep = (_depth.get() > 0 or any(isinstance(p, Variable) for p in ps)
            or any(isinstance(t, Variable) for t in ts))
    every = tuple(range(len(ps)))

    def value_and_gradients(*xs: Any) -> list:
        value, gs = value_and_grad(lambda *a: _scalar(f(*a), "hvp"), argnums=every)(*xs)
        return [value, *gs]

    try:
        _, outs, touts = _sweep(value_and_gradients, ps, ts, keep, "hvp")
    except MissingJvpRule:
        return _hvp_reverse(f, primals, tangents)
    value = outs[0] if keep else outs[0].data
    return value, _pack(touts[1:], multi)


def _hvp_reverse(f: Callable, primals: Any, tangents: Any) -> tuple:
    """``hvp`` by reverse-over-reverse (two reverse passes)."""
    multi, xs, ts, keep, create = _primals_and_tangents(primals, tangents, "hvp")
    with _Tracing():
        out = _scalar(f(*xs), "hvp")
        gs = _grads_wrt([out], xs, None, True)
    hv = _grads_wrt(gs, xs, ts, create)
    value = out if keep else out.data
    return value, _pack(_finish(hv, keep), multi)
