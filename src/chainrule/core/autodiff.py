"""The reverse pass: walk creators in generation order and propagate gradients."""
from __future__ import annotations

import heapq
from typing import Any, Sequence

from ..backend import xp_of
from .config import _Switch
from .variable import Variable, as_variable


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


def _run(outputs: Sequence[Variable], seeds: list, create_graph: bool, retain: Any, stop: Any = None) -> dict:
    """Propagate ``seeds`` from ``outputs``; returns {variable: grad} for every leaf reached,
    and for intermediates too when ``retain`` is True or a set that holds them. Variables in
    the set ``stop`` are treated as leaves (nothing above them is visited)."""
    retain_all = retain is True
    grads: dict = {}
    heap: list = []
    seen: set = set()
    count = 0
    push = heapq.heappush
    pop = heapq.heappop
    for y, gy in zip(outputs, seeds):
        g = grads.get(y)
        grads[y] = gy if g is None else g + gy
        f = y.creator
        if f is not None and f not in seen:
            seen.add(f)
            count += 1
            push(heap, (-f.generation, count, f))
    kept: dict = {}
    with _Switch(enable_backprop=create_graph):
        while heap:
            f = pop(heap)[2]
            outs = f.outputs
            if len(outs) == 1:
                o = outs[0]()
                g = None if o is None else grads.pop(o, None)
                if g is not None and (retain_all or (retain and o in retain)):
                    kept[o] = g
                gxs = f.backward(g)
            else:
                gys = []
                for r in outs:
                    o = r()
                    g = None if o is None else grads.pop(o, None)
                    if g is not None and (retain_all or (retain and o in retain)):
                        kept[o] = g
                    gys.append(g)
                gxs = f.backward(*gys)
            inputs = f.inputs
            if gxs.__class__ is not tuple and gxs.__class__ is not list:
                if len(inputs) != 1:
                    raise TypeError(f"{f.name}.backward returned 1 gradient for {len(inputs)} inputs")
                gxs = (gxs,)
            for x, gx in zip(inputs, gxs):
                if gx is None:
                    continue
                g = grads.get(x)
                grads[x] = gx if g is None else g + gx
                c = x.creator
                if c is not None and c not in seen and (stop is None or x not in stop):
                    seen.add(c)
                    count += 1
                    push(heap, (-c.generation, count, c))
    grads.update(kept)
    return grads


def backward(outputs: Sequence[Variable], grad_outputs: Any = None, create_graph: bool = False,
             retain_grad: bool = False) -> None:
    """Accumulate gradients of ``outputs`` into the ``grad`` of every leaf they depend on."""
    outputs = [as_variable(y) for y in outputs]
    grads = _run(outputs, _seed(outputs, grad_outputs), create_graph, retain_grad)
    todo = []
    for v, g in grads.items():
        if v.creator is None:
            if v.data.dtype.kind not in "fc":
                _check_float(v, "backward")  # raises before any .grad is touched
        elif not retain_grad:
            continue
        todo.append((v, g))
    pending = []
    for v, g in todo:
        if v.grad is None:
            v.grad = g
        else:
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
    grads = _run(outputs, _seed(outputs, grad_outputs), create_graph, set(inputs))
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
                    create_graph: bool = True) -> list:
    """d(output)/d(inputs) through the graph *between* them only: ``inputs`` and ``constants``
    are treated as leaves (nothing above them is visited). For gradient Functions that rebuild a
    local expression of their own inputs to get their backward: what lies above those inputs,
    and above the incoming gradients (``constants``), is the outer backward pass's business."""
    stop = set(inputs)
    stop.update(c for c in constants if c is not None)
    grads = _run([output], _seed([output], None), create_graph, False, stop)
    return [grads.get(x) for x in inputs]
