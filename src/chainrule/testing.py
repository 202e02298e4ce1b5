"""Finite-difference checks of gradients, first and second order (use float64 inputs)."""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from .backend import backend_of, get_backend
from .core import Variable, gradients, no_grad
from .functions.broadcast import sum_to

__all__ = ["numerical_grad", "gradcheck", "gradgradcheck", "gradcheck_device"]


def numerical_grad(f: Callable[..., Any], x: Any, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by per-element central differences; ``f(x_array)`` returns a number or 1-element array.

    ``x`` is an array (or Variable) that is perturbed in place and restored.
    """
    data = x.data if isinstance(x, Variable) else x
    host = backend_of(data).to_numpy(data)
    grad = np.zeros(host.shape, dtype=np.float64)
    flat = data.reshape(-1) if data.flags.c_contiguous else None
    if flat is None:
        raise ValueError("numerical_grad: x must be C-contiguous")
    for i in range(flat.size):
        old = flat[i].item()
        flat[i] = old + eps
        fp = float(np.asarray(_to_float(f(x))))
        flat[i] = old - eps
        fm = float(np.asarray(_to_float(f(x))))
        flat[i] = old
        grad.reshape(-1)[i] = (fp - fm) / (2 * eps)
    return grad


def _to_float(y: Any) -> float:
    if isinstance(y, Variable):
        y = y.data
    return float(backend_of(y).to_numpy(y).sum())


def gradcheck_device() -> str:
    """The device ``gradcheck`` and ``gradgradcheck`` move their inputs to: ``CHAINRULE_DEVICE``
    in lower case, ``"cpu"`` when unset. Functions they check that close over constants or
    layers should put those there too (``layer.to(gradcheck_device())``)."""
    return (os.environ.get("CHAINRULE_DEVICE") or "cpu").strip().lower()


def _on_test_device(a: Any) -> Variable:
    """A leaf on ``gradcheck_device()`` (on the CPU: where ``a`` is)."""
    device = gradcheck_device()
    if device != "cpu":
        a = get_backend(device).asarray(a)
    return Variable(a)


def _prepare(inputs: Sequence[Any]) -> list:
    """Inputs as leaves; numbers become float64; with ``CHAINRULE_DEVICE=cuda`` they move to the GPU."""
    xs = []
    for x in inputs:
        if isinstance(x, Variable):
            x = x.data
        xs.append(_on_test_device(x.copy() if hasattr(x, "dtype") else np.array(x, dtype=np.float64)))
    return xs


def _outputs(f: Callable, xs: list) -> list:
    ys = f(*xs)
    return list(ys) if isinstance(ys, (tuple, list)) else [ys]


def _weighted_sum(ys: list, ws: list) -> Variable:
    total: Any = None
    for y, w in zip(ys, ws):
        t = sum_to(y * w, ())
        total = t if total is None else total + t
    return total


def _compare(name: str, analytic: Any, numeric: np.ndarray, atol: float, rtol: float, which: int) -> None:
    a = backend_of(analytic).to_numpy(analytic).astype(np.float64)
    if a.shape != numeric.shape:
        raise AssertionError(f"{name}: gradient of input {which} has shape {a.shape}, expected {numeric.shape}")
    if not np.allclose(a, numeric, atol=atol, rtol=rtol):
        err = np.max(np.abs(a - numeric))
        raise AssertionError(f"{name}: gradient of input {which} differs from finite differences "
                             f"(max abs error {err:.3g})\nanalytic:\n{a}\nnumeric:\n{numeric}")


def gradcheck(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-4, wrt: Sequence[int] | None = None, seed: int = 0) -> bool:
    """Check backprop through ``f(*inputs)`` against central differences.

    The outputs are contracted with fixed random weights, so every element of the Jacobian
    counts. ``wrt`` picks which inputs to check (default: every floating one). Raises
    ``AssertionError`` on a mismatch; returns True.
    """
    xs = _prepare(inputs)
    rng = np.random.default_rng(seed)
    with no_grad():
        ys0 = _outputs(f, xs)
    ws = [_on_test_device(rng.standard_normal(y.shape)) for y in ys0]
    idx = [i for i, x in enumerate(xs) if x.dtype.kind == "f"] if wrt is None else list(wrt)
    loss = _weighted_sum(_outputs(f, xs), ws)
    analytic = gradients(loss, [xs[i] for i in idx])

    def scalar(_x: Any) -> float:
        with no_grad():
            return _to_float(_weighted_sum(_outputs(f, xs), ws))

    for k, i in enumerate(idx):
        _compare("gradcheck", analytic[k].data, numerical_grad(scalar, xs[i], eps), atol, rtol, i)
    return True


def gradgradcheck(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-4,
                  rtol: float = 1e-3, wrt: Sequence[int] | None = None, seed: int = 0) -> bool:
    """Check second-order gradients: differentiate ``<grad f(x), v>`` (built with
    ``create_graph=True``) and compare with central differences of it."""
    xs = _prepare(inputs)
    rng = np.random.default_rng(seed)
    with no_grad():
        ys0 = _outputs(f, xs)
    ws = [_on_test_device(rng.standard_normal(y.shape)) for y in ys0]
    idx = [i for i, x in enumerate(xs) if x.dtype.kind == "f"] if wrt is None else list(wrt)
    vs = [_on_test_device(rng.standard_normal(xs[i].shape)) for i in idx]

    def first_order() -> Variable:
        loss = _weighted_sum(_outputs(f, xs), ws)
        gs = gradients(loss, [xs[i] for i in idx], create_graph=True)
        return _weighted_sum(gs, vs)

    h = first_order()
    analytic = gradients(h, [xs[i] for i in idx])

    def scalar(_x: Any) -> float:
        return _to_float(first_order())

    for k, i in enumerate(idx):
        _compare("gradgradcheck", analytic[k].data, numerical_grad(scalar, xs[i], eps), atol, rtol, i)
    return True
