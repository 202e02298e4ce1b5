"""conv2d, conv_transpose2d, im2col/col2im: finite differences (1st and 2nd order), PyTorch oracle, errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck
from oracle import torch_compare

rng = np.random.default_rng(4)

# (x shape, weight shape, stride, padding, dilation, groups)
CONV_CASES = [
    ((1, 2, 5, 5), (3, 2, 3, 3), 1, 1, 1, 1),
    ((2, 2, 6, 5), (2, 2, 2, 3), (2, 1), (0, 1), 1, 1),
    ((1, 4, 6, 6), (4, 2, 2, 2), 2, 1, (2, 1), 2),
    ((1, 3, 5, 4), (3, 1, 1, 2), 1, 0, 1, 3),
]


def _data(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("xs, ws, s, p, d, g", CONV_CASES)
def test_conv2d_gradcheck(xs, ws, s, p, d, g):
    x, w, b = _data(*xs), _data(*ws), _data(ws[0])
    f = lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
    gradcheck(f, x, w, b)
    gradgradcheck(f, x, w, b)


@pytest.mark.parametrize("xs, ws, s, p, d, g", CONV_CASES[:3])
def test_conv_transpose2d_gradcheck(xs, ws, s, p, d, g):
    # transposed weight layout: (C_in, C_out/groups, kh, kw)
    c_in = xs[1]
    wt = (c_in, ws[0] // g, ws[2], ws[3])
    x, w, b = _data(*xs), _data(*wt), _data(wt[1] * g)
    op = 1 if (s if isinstance(s, int) else s[0]) > 1 else 0
    f = lambda x, w, b: F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=(op, 0),
                                           dilation=d, groups=g)
    gradcheck(f, x, w, b)
    gradgradcheck(f, x, w, b)


def test_third_order_through_conv():
    x, w = cr.Variable(_data(1, 1, 4, 4)), cr.Variable(_data(1, 1, 2, 2))
    y = (F.conv2d(x, w, padding=1) ** 3).sum()
    gx, = cr.gradients(y, [x], create_graph=True)
    gxw, = cr.gradients((gx * gx).sum(), [w], create_graph=True)
    g3, = cr.gradients(gxw.sum(), [x])
    assert g3.shape == x.shape and np.abs(g3.data).sum() > 0


@pytest.mark.parametrize("geo", [dict(kernel_size=(3, 2), stride=1, padding=1, dilation=(2, 1)),
                                 dict(kernel_size=(1, 1), stride=1, padding=0, dilation=1)])
def test_im2col_col2im_unit_stride(geo):
    x = _data(2, 2, 5, 6)
    cols = F.im2col(x, **geo)
    c = _data(*cols.shape)
    rest = {k: v for k, v in geo.items() if k != "kernel_size"}
    back = F.col2im(c, (5, 6), **rest)
    assert np.isclose(np.sum(cols.data * c), np.sum(x * back.data))
    kh, kw = geo["kernel_size"]
    p, (dh, dw) = geo["padding"], (geo["dilation"],) * 2 if isinstance(geo["dilation"], int) else geo["dilation"]
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    i, j, y, xx = kh - 1, kw - 1, cols.shape[4] - 1, cols.shape[5] - 1
    assert cols.data[1, 1, i, j, y, xx] == xpad[1, 1, y + i * dh, xx + j * dw]
    gradgradcheck(lambda v: F.im2col(v, **geo) ** 2, x[:1, :1])


def test_im2col_col2im_adjoint_and_gradcheck():
    geo = dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    x = _data(2, 2, 5, 7)
    cols = F.im2col(x, **geo)
    assert cols.shape == (2, 2, 2, 3, 3, 3)
    # cols[n, c, i, j, y, x] = xpad[n, c, y*sh + i*dh, x*sw + j*dw]
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    assert cols.data[1, 0, 1, 2, 2, 1] == xpad[1, 0, 2 * 2 + 1, 1 + 2 * 2]
    c = _data(*cols.shape)
    back = F.col2im(c, (5, 7), **{k: v for k, v in geo.items() if k != "kernel_size"})
    assert np.isclose(np.sum(cols.data * c), np.sum(x * back.data))
    gradgradcheck(lambda v: F.im2col(v, **geo) ** 2, x[:1, :1])
    gradgradcheck(lambda v: F.col2im(v, (5, 7), stride=(2, 1), padding=(1, 0), dilation=(1, 2)) ** 2, c[:1, :1])


def test_float32_stays_float32_and_raw_input():
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = cr.Variable(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    b = cr.Variable(np.zeros(4, np.float32))
    y = F.conv2d(x, w, b, padding=1)  # x as a raw array: its gradient is never needed
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    xv = cr.Variable(x)
    y = F.conv_transpose2d(xv, cr.Variable(w.data.transpose(1, 0, 2, 3).copy()), stride=2)
    assert y.dtype == np.float32
    y.sum().backward()
    assert xv.grad.dtype == np.float32


@pytest.mark.parametrize("xs, ws, s, p, d, g", CONV_CASES)
def test_conv2d_matches_torch(xs, ws, s, p, d, g):
    torch = pytest.importorskip("torch")
    x, w, b = _data(2, *xs[1:]), _data(*ws), _data(ws[0])
    torch_compare(lambda X, W, B: F.conv2d(X, W, B, stride=s, padding=p, dilation=d, groups=g),
                  lambda tx, tw, tb: torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d,
                                                                groups=g),
                  x, w, b, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("s, p, op, d, g", [(1, 0, 0, 1, 1), (2, 1, 1, 1, 2), ((3, 2), (1, 0), (2, 1), (1, 2), 1)])
def test_conv_transpose2d_matches_torch(s, p, op, d, g):
    torch = pytest.importorskip("torch")
    x, w, b = _data(2, 4, 4, 5), _data(4, 3, 3, 2), _data(3 * g)

    def ours(X, W, B):
        return F.conv_transpose2d(X, W, B, stride=s, padding=p, output_padding=op, dilation=d, groups=g)

    def theirs(tx, tw, tb):
        return torch.nn.functional.conv_transpose2d(tx, tw, tb, stride=s, padding=p, output_padding=op,
                                                    groups=g, dilation=d)

    assert ours(x, w, b).shape == tuple(theirs(*(torch.tensor(a) for a in (x, w, b))).shape)
    torch_compare(ours, theirs, x, w, b, rtol=1e-7, atol=1e-12)


def test_conv2d_double_backward_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = _data(2, 2, 5, 5), _data(4, 1, 3, 3)
    X, W = cr.Variable(x), cr.Variable(w)
    gx, = cr.gradients((F.conv2d(X, W, stride=2, padding=1, groups=2) ** 2).sum(), [X], create_graph=True)
    gw, = cr.gradients((gx ** 2).sum(), [W])
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    tgx, = torch.autograd.grad((torch.nn.functional.conv2d(tx, tw, stride=2, padding=1, groups=2) ** 2).sum(),
                               [tx], create_graph=True)
    tgw, = torch.autograd.grad((tgx ** 2).sum(), [tw])
    np.testing.assert_allclose(gw.data, tgw.numpy(), rtol=1e-10, atol=1e-10)


def test_conv_errors_name_op_and_shapes():
    x, w = np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: .*\(1, 3, 5, 5\).*\(2, 2, 3, 3\)"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match=r"conv2d: kernel \(7, 7\).*larger than the padded input \(7, 7\)|"
                                         r"conv2d: kernel \(7, 7\) \(dilated \(7, 7\)\)"):
        F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 7, 7)), padding=0)
    with pytest.raises(ValueError, match=r"conv2d: kernel \(3, 3\) \(dilated \(5, 5\)\) is larger .*\(1, 2, 3, 3\)"):
        F.conv2d(np.zeros((1, 2, 3, 3)), np.zeros((2, 2, 3, 3)), dilation=2)
    with pytest.raises(ValueError, match=r"conv2d: bias shape \(3,\)"):
        F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D.*\(2, 5, 5\)"):
        F.conv2d(np.zeros((2, 5, 5)), np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv_transpose2d: .*\(1, 3, 5, 5\).*\(2, 2, 3, 3\)"):
        F.conv_transpose2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding"):
        F.conv_transpose2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3)), stride=2, output_padding=2)
    with pytest.raises(TypeError, match=r"conv2d: stride"):
        F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3)), stride="x")


def test_conv_on_device(device):
    from chainrule.backend import get_backend

    be = get_backend(device)
    x, w = _data(2, 2, 6, 6).astype(np.float32), _data(4, 1, 3, 3).astype(np.float32)
    X, W = cr.Variable(be.asarray(x)), cr.Variable(be.asarray(w))
    y = F.conv2d(X, W, stride=2, padding=1, groups=2)
    (y * y).sum().backward()
    ref_x, ref_w = cr.Variable(x), cr.Variable(w)
    ref = F.conv2d(ref_x, ref_w, stride=2, padding=1, groups=2)
    (ref * ref).sum().backward()
    np.testing.assert_allclose(y.numpy(), ref.data, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(X.grad.numpy(), ref_x.grad.data, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(W.grad.numpy(), ref_w.grad.data, rtol=1e-4, atol=1e-4)


def test_results_are_never_overwritten_by_later_calls():
    # large outputs come from a buffer pool: one still referenced must not be handed out again
    w = cr.Variable(_data(8, 4, 3, 3).astype(np.float32))
    x1, x2 = (_data(16, 4, 16, 16).astype(np.float32) for _ in range(2))
    y1 = F.conv2d(x1, w, padding=1)
    keep = y1.data.copy()
    p1 = F.max_pool2d(y1, 2)
    pkeep = p1.data.copy()
    for _ in range(3):
        y2 = F.conv2d(x2, w, padding=1)
        F.max_pool2d(y2, 2)
    np.testing.assert_array_equal(y1.data, keep)
    np.testing.assert_array_equal(p1.data, pkeep)
    view = y2.data[0]
    del y2
    y3 = F.conv2d(x1, w, padding=1)
    assert not np.shares_memory(view, y3.data)
