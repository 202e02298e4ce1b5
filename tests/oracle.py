"""Shared helpers of the op tests: random inputs, first+second-order checks, the PyTorch oracle."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradcheck, gradgradcheck


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def check(f, *arrays):
    """``f`` passes gradcheck and gradgradcheck (float64 finite differences)."""
    assert gradcheck(f, *arrays)
    assert gradgradcheck(f, *arrays)


def torch_compare(f_cr, f_torch, *arrays, rtol=1e-12, atol=1e-12):
    """Values and vector-Jacobian products of ``f_cr`` against ``f_torch`` (PyTorch); both may
    return one output or a list/tuple of them. Skips when PyTorch is not installed."""
    torch = pytest.importorskip("torch")
    xs = [cr.Variable(a.copy()) for a in arrays]
    ys = f_cr(*xs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    yts = f_torch(*ts)
    yts = list(yts) if isinstance(yts, (list, tuple)) else [yts]
    assert len(ys) == len(yts)
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal(y.shape) for y in ys]
    for y, yt in zip(ys, yts):
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    gs = cr.gradients(ys, xs, grad_outputs=[cr.Variable(w) for w in ws])
    gts = torch.autograd.grad(yts, ts, grad_outputs=[torch.tensor(w) for w in ws])
    for g, gt in zip(gs, gts):
        assert g.shape == tuple(gt.shape)
        np.testing.assert_allclose(g.data, gt.numpy(), rtol=rtol, atol=atol)
