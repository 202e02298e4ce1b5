"""The reverse pass: walk creators in generation order and propagate gradients."""
from __future__ import annotations

import heapq
from typing import Any, Sequence

import numpy as np

from ..backend import xp_of
from . import _gcscope
from .config import _Switch
from .config import _state as _config_state
from .variable import _RETAIN, Variable, _hook_state, as_variable

_ndarray = np.ndarray
_np_ones = np.ones
_np_array = np.array


def _check_float(v: Variable, who: str) -> None:
    if v.data.dtype.kind not in "fc":
        raise TypeError(f"{who}: cannot differentiate with respect to integer/bool data "
                        f"(dtype {v.data.dtype}, shape {v.shape})")


def _seed(outputs: Sequence[Variable], grad_outputs: Any) -> list:
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Variable) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"backward: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    seeds = []
    for y, gy in zip(outputs, grad_outputs):
        _check_float(y, "backward")
        if gy is None:
            gy = Variable._new(_ones_like(y._data))
        else:
            gy = as_variable(gy)
            if gy.shape != y.shape:
                raise ValueError(f"backward: grad_output shape {gy.shape} does not match output shape {y.shape}")
        seeds.append(gy)
    return seeds


def _ones_like(a: Any) -> Any:
    return xp_of(a).ones_like(a)


def _start(outputs: Sequence[Variable], seeds: Any) -> tuple:
    """The opening of a pass: ``grads`` holding the seeds, and the heap (``(-generation,
    order, function)``) and ``seen`` set holding the outputs' creators."""
    grads: dict = {}
    heap: list = []
    seen: set = set()
    for y, gy in zip(outputs, seeds):
        g = grads.get(y)
        grads[y] = gy if g is None else g + gy
        f = y.creator
        if f is not None and f not in seen:
            seen.add(f)
            heapq.heappush(heap, (-f.generation, len(heap) + 1, f))
    return grads, heap, seen


def _take(f: Any, grads: dict, retain: Any, kept: dict, hooked: bool, create_graph: bool) -> list:
    """The gradients of a multi-output function's outputs (None where one got none), taken
    out of ``grads`` (after the outputs' hooks ran); those to retain (``retain`` True or a set)
    are also put in ``kept``."""
    gys: list = []
    for i, r in enumerate(f.outputs):
        o = r()
        if o is None:
            gys.append(None)
            continue
        if o._version:
            raise _modified_output(f, o, i)
        g = grads.pop(o, None)
        if hooked and g is not None:
            g = _run_hooks(o, g, create_graph, kept)
        if g is not None and (retain is True or (retain and o in retain)):
            kept[o] = g
        gys.append(g)
    return gys


# ----- data changed between the forward and the backward pass -----
def _describe(v: Variable) -> str:
    label = f"{v.name!r} " if v.name else ""
    return f"{label}(shape {tuple(v._data.shape)}, dtype {v._data.dtype})"


def _modified_input(f: Any) -> RuntimeError:
    """The error for an op whose inputs' versions add up to more than when it was recorded.
    Versions start at 0, so an input still at 0 is not the one; the others are named."""
    changed = [f"input {i} {_describe(x)} is at version {x._version}" for i, x in enumerate(f.inputs) if x._version]
    which = changed[0] if len(changed) == 1 else "one of: " + "; ".join(changed)
    return RuntimeError(
        f"backward: an input of {f.name} was modified in place (or its .data replaced) after the op was "
        f"recorded ({which}; the versions added up to {f._inputs_version} then), so the gradients would "
        f"use the new values; run the forward again after changing it, or change a copy instead")


def _modified_output(f: Any, o: Variable, i: int) -> RuntimeError:
    return RuntimeError(
        f"backward: output {i} of {f.name} {_describe(o)} was modified in place after the op computed it "
        f"(it is at version {o._version}), so the gradients would use the new values; change a copy "
        f"instead (y = y + ...)")


def _check_versions(f: Any) -> None:
    """Raise if an input of ``f`` changed since ``f`` was recorded (called when its backward failed)."""
    if sum([x._version for x in f.inputs]) != f._inputs_version:
        raise _modified_input(f)


# ----- gradient hooks -----
def _run_hooks(v: Any, g: Any, create_graph: bool, kept: dict) -> Any:
    """Pass ``g``, the finished gradient of ``v``, through ``v``'s hooks; a ``retain_grad()``
    marker puts the result in ``kept``. First-order passes hand hooks a wrapped array and run
    them with recording off."""
    hooks = getattr(v, "_hooks", None)
    if not hooks:
        return g
    for h in list(hooks):
        if h is _RETAIN:
            continue
        if create_graph:
            r = h(g)
        else:
            with _Switch(enable_backprop=False):
                r = h(Variable._new(g))
        if r is None:
            continue
        r = as_variable(r)
        shape = g.shape
        if r.shape != shape:
            raise ValueError(f"backward: a hook of a variable of shape {tuple(v.shape)} returned a gradient of "
                             f"shape {tuple(r.shape)}, expected {tuple(shape)}")
        g = r if create_graph else r._data
    if _RETAIN in hooks:
        kept[v] = g
    return g


def _walk(outputs: Sequence[Variable], seeds: Sequence[Any], create_graph: bool, retain: Any, stop: Any = None) -> dict:
    """The reverse pass. Propagates ``seeds`` from ``outputs`` through the creators in
    generation order (a heap); returns {variable: gradient} for every leaf reached, and for
    intermediates too when ``retain`` is True or a set that holds them. Variables in the set
    ``stop`` are treated as leaves (nothing above them is visited).

    With ``create_graph`` gradients are Variables and every ``backward`` runs with recording on,
    so the gradients are differentiable. Otherwise (every first-order pass) gradients are
    arrays: a Function's ``backward_data``, when it has one, computes them without building
    Variables; any other gets its ``backward`` called on wrapped gradients, with recording
    switched off (once, when first needed), and the results unwrapped.

    When a step discovers exactly one new function and nothing else is waiting, that function
    runs next without a trip through the heap: everything downstream of it is done already."""
    retain_all = retain is True
    hooked = _hook_state[0] > 0
    grads, heap, seen = _start(outputs, seeds)
    count = len(heap)
    push = heapq.heappush
    pop = heapq.heappop
    kept: dict = {}
    token = _recording(True) if create_graph else None
    f = pop(heap)[2] if heap else None
    try:
        while f is not None:
            outs = f.outputs
            if len(outs) == 1:
                o = outs[0]()
                g = grads.pop(o, None)
                if o is not None and o._version:
                    raise _modified_output(f, o, 0)
                if hooked and g is not None:
                    g = _run_hooks(o, g, create_graph, kept)
                if retain and g is not None and (retain_all or o in retain):
                    kept[o] = g
                gys: Any = None  # one output: its gradient is passed as ``g``
            else:
                gys = _take(f, grads, retain, kept, hooked, create_graph)
            bd = None if create_graph else f.backward_data
            try:
                if bd is not None:
                    gxs = bd(g) if gys is None else bd(*gys)
                elif create_graph:
                    gxs = f.backward(g) if gys is None else f.backward(*gys)
                else:
                    if token is None:
                        token = _recording(False)
                    if gys is None:
                        gys = (g,)
                    gxs = _unwrap(f.backward(*[None if g is None else Variable._new(g) for g in gys]))
            except Exception:
                _check_versions(f)  # a changed input explains the failure better
                raise
            inputs = f.inputs
            nxt = None
            if gxs.__class__ is not tuple and gxs.__class__ is not list:
                if len(inputs) != 1:
                    raise TypeError(f"{f.name}.backward returned 1 gradient for {len(inputs)} inputs")
                # one input (most ops): the loop below, unrolled
                x = inputs[0]
                version = x._version
                if gxs is not None:
                    g = grads.get(x)
                    grads[x] = gxs if g is None else g + gxs
                    c = x.creator
                    if c is not None and c not in seen and (stop is None or x not in stop):
                        seen.add(c)
                        nxt = c
                gxs = ()
            else:
                version = 0
            for x, gx in zip(inputs, gxs):
                version += x._version
                if gx is None:
                    continue
                g = grads.get(x)
                grads[x] = gx if g is None else g + gx
                c = x.creator
                if c is not None and c not in seen and (stop is None or x not in stop):
                    seen.add(c)
                    if nxt is None:
                        nxt = c
                    else:
                        count += 1
                        push(heap, (-c.generation, count, c))
            if version != f._inputs_version:  # an input changed since the op was recorded
                _check_versions(f)  # (or backward returned fewer gradients than inputs: recount)
            gys = gxs = gx = g = None  # hold no gradient across steps: an op may reuse one only it holds
            if nxt is not None and heap:
                count += 1
                push(heap, (-nxt.generation, count, nxt))
                nxt = None
            f = nxt if nxt is not None else pop(heap)[2] if heap else None
        if hooked:  # the leaves' gradients are complete now (variables in ``stop`` are not ours)
            for v in list(grads):
                if stop is None or v not in stop:
                    g = grads[v]
                    grads[v] = _run_hooks(v, g, create_graph, kept)
    finally:
        if token is not None:
            _config_state.reset(token)
        if _gcscope.active:  # the graph is done with: let the collector see it again
            _gcscope.release()
    if kept:
        grads.update(kept)
    return grads


def _recording(on: bool) -> Any:
    """Switch graph recording on or off; returns the token that restores it."""
    return _config_state.set(_config_state.get().replace(enable_backprop=on))


def _unwrap(gxs: Any) -> Any:
    """A ``backward`` result (Variable, None, or a sequence of them) as arrays."""
    if gxs.__class__ is tuple or gxs.__class__ is list:
        return [None if g is None else g._data if g.__class__ is Variable else as_variable(g)._data
                for g in gxs]
    if gxs is None:
        return None
    return gxs._data if gxs.__class__ is Variable else as_variable(gxs)._data


def _grads(outputs: list, grad_outputs: Any, create_graph: bool, retain: Any, stop: Any = None) -> dict:
    """{variable: gradient Variable} (first-order array results wrapped)."""
    grads = _pass(outputs, _seed(outputs, grad_outputs), create_graph, retain, stop)
    if create_graph:
        return grads
    wrap = Variable._new
    return {v: wrap(g) for v, g in grads.items()}


def _pass(outputs: list, seeds: list, create_graph: bool, retain: Any, stop: Any = None) -> dict:
    """``_walk`` from seed Variables: gradient Variables with ``create_graph``, else arrays."""
    return _walk(outputs, seeds if create_graph else [s._data for s in seeds], create_graph, retain, stop)


def backward(outputs: Sequence[Variable], grad_outputs: Any = None, create_graph: bool = False,
             retain_grad: bool = False) -> None:
    """Accumulate gradients of ``outputs`` into the ``grad`` of every leaf they depend on."""
    outputs = [as_variable(y) for y in outputs]
    for y in outputs:
        if y.creator is None and not y._requires_grad:
            _no_graph(y)
    _store(_pass(outputs, _seed(outputs, grad_outputs), create_graph, retain_grad), create_graph, retain_grad)


def _no_graph(y: Variable) -> None:
    raise RuntimeError(f"backward: the variable {_describe(y)} does not require grad and has no creator: no "
                       f"graph was recorded (it was computed under no_grad(), or from inputs that all have "
                       f"requires_grad False)")


def backward_from(y: Variable, create_graph: bool = False, retain_grad: bool = False) -> None:
    """``y.backward()``: ``backward([y])`` with the common first-order case kept short."""
    if y.creator is None and not y._requires_grad:
        _no_graph(y)
    if create_graph or retain_grad:
        return backward([y], None, create_graph, retain_grad)
    data = y._data
    if data.dtype.kind not in "fc":
        _check_float(y, "backward")
    if data.__class__ is not _ndarray:
        seed = _ones_like(data)
    elif data.ndim == 0:  # a loss: np.array is several times cheaper than np.ones here
        seed = _np_array(1, data.dtype)
    else:
        seed = _np_ones(data.shape, data.dtype)
    _store(_walk((y,), (seed,), False, False), False, False)


def _store(grads: dict, create_graph: bool, retain_grad: bool) -> None:
    """Put the gradients of a pass on ``.grad``: every leaf's that requires grad, every
    variable's with ``retain_grad`` (the pass's or the variable's own ``retain_grad()``); arrays
    (first-order passes) are wrapped as Variables first. What is stored has the variable's
    dtype and is an ordinary writable array that no other stored gradient shares."""
    for v in grads:
        if v.creator is None and v._requires_grad and v._data.dtype.kind not in "fc":
            _check_float(v, "backward")  # raises before any .grad is touched
    wrap = None if create_graph else Variable._new
    pending = None
    stored: set = set()
    for v, g in grads.items():
        if v.creator is not None:
            if not retain_grad and _RETAIN not in (getattr(v, "_hooks", None) or ()):
                continue
        elif not v._requires_grad:
            continue
        g = _own(v, g, stored) if wrap is not None else _own_variable(v, g)
        if wrap is not None:
            g = wrap(g)
        if v.grad is None:
            v.grad = g
        else:
            if pending is None:
                pending = []
            pending.append((v, g))
    if pending:  # accumulation is an op: differentiable when create_graph
        with _Switch(enable_backprop=create_graph):
            for v, g in pending:
                v.grad = v.grad + g


def _own(v: Variable, g: Any, stored: set) -> Any:
    """The array ``g`` fit to be ``v.grad``: cast to ``v``'s dtype, and copied when it is
    read-only (a broadcast view from ``sum``/``mean``) or already stored for another variable."""
    dt = v._data.dtype
    gd = g.dtype
    if gd is not dt and gd != dt:
        g = g.astype(dt)
    elif id(g) in stored or (g.__class__ is _ndarray and not g.flags.writeable):
        g = g.copy()
    stored.add(id(g))
    return g


def _own_variable(v: Variable, g: Variable) -> Variable:
    """``_own`` for a gradient Variable (``create_graph``): the cast is an op (differentiable)."""
    dt = v._data.dtype
    if g._data.dtype != dt:
        from .arrayns import V  # the op table's differentiable ``cast``

        with _Switch(enable_backprop=True):
            g = V.cast(g, dt)
    d = g._data
    if d.__class__ is _ndarray and not d.flags.writeable:
        g._data = d.copy()  # the same values: not a change of the data
    return g


def gradients(outputs: Any, inputs: Any, grad_outputs: Any = None, create_graph: bool = False) -> list:
    """d(outputs)/d(inputs) as a list of Variables, without touching any ``.grad``.

    ``outputs`` and ``inputs`` are Variables or sequences of them. An input that the outputs do
    not depend on gets zeros. With ``create_graph=True`` the results are differentiable.
    """
    if isinstance(outputs, Variable):
        outputs = [outputs]
    single = isinstance(inputs, Variable)
    if single:
        inputs = [inputs]
    outputs = [as_variable(y) for y in outputs]
    for x in inputs:
        if not isinstance(x, Variable):
            raise TypeError(f"gradients: inputs must be Variables, got {type(x).__name__}")
        _check_float(x, "gradients")
        if not x._requires_grad:
            raise RuntimeError(f"gradients: an input {_describe(x)} does not require grad "
                               f"(requires_grad is False); set x.requires_grad = True before the forward")
    return _gradients_of(outputs, inputs, grad_outputs, create_graph)


def _gradients_of(outputs: list, inputs: Sequence[Variable], grad_outputs: Any, create_graph: bool,
                  stop: Any = None) -> list:
    """``gradients`` once its arguments are checked: one gradient Variable per input (zeros for
    an input not reached), in the input's dtype."""
    grads = _grads(outputs, grad_outputs, create_graph, set(inputs), stop)
    result = []
    for x in inputs:
        g = grads.get(x)
        if g is None:
            g = Variable._new(_zeros_like(x._data))
        elif g._data.dtype != x._data.dtype:
            g = _own_variable(x, g) if create_graph else Variable._new(g._data.astype(x._data.dtype))
        result.append(g)
    return result


def _zeros_like(a: Any) -> Any:
    return xp_of(a).zeros_like(a)
