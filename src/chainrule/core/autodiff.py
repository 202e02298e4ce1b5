"""The reverse pass: walk creators in generation order and propagate gradients."""
from __future__ import annotations

import heapq
import sys
from typing import Any, Sequence

import numpy as np

from ..backend import xp_of
from .config import _Switch
from .config import _state as _config_state
from .variable import Variable, as_variable

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
            gy = Variable._new(_ones_like(y.data))
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


def _take(outs: tuple, grads: dict, retain: Any, kept: dict) -> list:
    """The gradients of a multi-output function's outputs (None where one got none), taken
    out of ``grads``; those to retain (``retain`` True or a set) are also put in ``kept``."""
    gys = []
    for r in outs:
        o = r()
        g = None if o is None else grads.pop(o, None)
        if g is not None and (retain is True or (retain and o in retain)):
            kept[o] = g
        gys.append(g)
    return gys


def _walk(outputs: Sequence[Variable], seeds: list, create_graph: bool, retain: Any, stop: Any = None) -> dict:
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
                gys = (grads.pop(o, None),)
                if retain and gys[0] is not None and (retain_all or o in retain):
                    kept[o] = gys[0]
            else:
                gys = _take(outs, grads, retain, kept)
            bd = None if create_graph else f.backward_data
            if bd is not None:
                gxs = bd(*gys)
            elif create_graph:
                gxs = f.backward(*gys)
            else:
                if token is None:
                    token = _recording(False)
                gxs = _unwrap(f.backward(*[None if g is None else Variable._new(g) for g in gys]))
            inputs = f.inputs
            if gxs.__class__ is not tuple and gxs.__class__ is not list:
                if len(inputs) != 1:
                    raise TypeError(f"{f.name}.backward returned 1 gradient for {len(inputs)} inputs")
                gxs = (gxs,)
            nxt = None
            for x, gx in zip(inputs, gxs):
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
            gys = gxs = gx = g = None  # hold no gradient across steps: an op may reuse one only it holds
            if nxt is not None and heap:
                count += 1
                push(heap, (-nxt.generation, count, nxt))
                nxt = None
            f = nxt if nxt is not None else pop(heap)[2] if heap else None
    finally:
        if token is not None:
            _config_state.reset(token)
    if kept:
        grads.update(kept)
    return grads


def sole_holder(a: Any) -> bool:
    """Whether the gradient array ``a`` that ``_walk`` just passed to a ``backward_data``
    (which calls this directly) is held by the pass alone: no retained gradient, leaf grad,
    caller's seed, view or other op holds it, so the op may overwrite it in place. Decided by
    the reference count, whose baseline ``_SOLE`` is measured at import with the same calls."""
    return (a.__class__ is _ndarray and a.base is None and _refcount(a) <= _SOLE
            and a.flags.writeable)


_refcount = sys.getrefcount


def _count_in_helper(a: Any) -> int:
    return _refcount(a)


class _Probe:
    def backward_data(self, gy: Any) -> int:
        return _count_in_helper(gy)  # as deep as sole_holder's own call


def _sole_baseline() -> int:
    grads = {0: np.empty(1)}
    bd = _Probe().backward_data
    gys = (grads.pop(0),)  # as in _walk: gys = (grads.pop(o, None),); gxs = bd(*gys)
    return bd(*gys)


_SOLE = _sole_baseline()


def _recording(on: bool) -> Any:
    """Switch graph recording on or off; returns the token that restores it."""
    return _config_state.set(_config_state.get().replace(enable_backprop=on))


def _unwrap(gxs: Any) -> Any:
    """A ``backward`` result (Variable, None, or a sequence of them) as arrays."""
    if gxs.__class__ is tuple or gxs.__class__ is list:
        return [None if g is None else g.data if g.__class__ is Variable else as_variable(g).data
                for g in gxs]
    if gxs is None:
        return None
    return gxs.data if gxs.__class__ is Variable else as_variable(gxs).data


def _grads(outputs: list, grad_outputs: Any, create_graph: bool, retain: Any, stop: Any = None) -> dict:
    """{variable: gradient Variable} (first-order array results wrapped)."""
    grads = _pass(outputs, _seed(outputs, grad_outputs), create_graph, retain, stop)
    if create_graph:
        return grads
    wrap = Variable._new
    return {v: wrap(g) for v, g in grads.items()}


def _pass(outputs: list, seeds: list, create_graph: bool, retain: Any, stop: Any = None) -> dict:
    """``_walk`` from seed Variables: gradient Variables with ``create_graph``, else arrays."""
    return _walk(outputs, seeds if create_graph else [s.data for s in seeds], create_graph, retain, stop)


def backward(outputs: Sequence[Variable], grad_outputs: Any = None, create_graph: bool = False,
             retain_grad: bool = False) -> None:
    """Accumulate gradients of ``outputs`` into the ``grad`` of every leaf they depend on."""
    outputs = [as_variable(y) for y in outputs]
    _store(_pass(outputs, _seed(outputs, grad_outputs), create_graph, retain_grad), create_graph, retain_grad)


def backward_from(y: Variable, create_graph: bool = False, retain_grad: bool = False) -> None:
    """``y.backward()``: ``backward([y])`` with the common first-order case kept short."""
    if create_graph or retain_grad:
        return backward([y], None, create_graph, retain_grad)
    data = y.data
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
    """Put the gradients of a pass on ``.grad``: every leaf's, and every variable's with
    ``retain_grad``; arrays (first-order passes) are wrapped as Variables first."""
    for v in grads:
        if v.creator is None and v.data.dtype.kind not in "fc":
            _check_float(v, "backward")  # raises before any .grad is touched
    wrap = None if create_graph else Variable._new
    pending = None
    for v, g in grads.items():
        if v.creator is not None and not retain_grad:
            continue
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
    grads = _grads(outputs, grad_outputs, create_graph, set(inputs))
    result = []
    for x in inputs:
        g = grads.get(x)
        if g is None:
            g = Variable._new(_zeros_like(x.data))
        result.append(g)
    return result


def _zeros_like(a: Any) -> Any:
    return xp_of(a).zeros_like(a)


def local_gradients(output: Variable, inputs: Sequence[Variable], constants: Sequence[Variable] = (),
                    create_graph: bool = True, grad_output: Any = None) -> list:
    """d(output)/d(inputs) through the graph *between* them only: ``inputs`` and ``constants``
    are treated as leaves (nothing above them is visited). For Functions that rebuild a local
    expression of their own inputs to get their backward: what lies above those inputs, and
    above the incoming gradients (``constants``), is the outer backward pass's business.
    ``grad_output`` seeds the pass (ones when None), as in ``backward``."""
    stop = set(inputs)
    stop.update(c for c in constants if c is not None)
    grads = _grads([output], None if grad_output is None else [grad_output], create_graph, False, stop)
    return [grads.get(x) for x in inputs]
