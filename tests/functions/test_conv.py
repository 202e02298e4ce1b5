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
    def f(x, w, b):
        return F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)

    gradcheck(f, x, w, b)
    gradgradcheck(f, x, w, b)


@pytest.mark.parametrize("xs, ws, s, p, d, g", CONV_CASES[:3])
def test_conv_transpose2d_gradcheck(xs, ws, s, p, d, g):
    # transposed weight layout: (C_in, C_out/groups, kh, kw)
    c_in = xs[1]
    wt = (c_in, ws[0] // g, ws[2], ws[3])
    x, w, b = _data(*xs), _data(*wt), _data(wt[1] * g)
    op = 1 if (s if isinstance(s, int) else s[0]) > 1 else 0
    def f(x, w, b):
        return F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=(op, 0), dilation=d, groups=g)

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


# ----- scratch buffers: reuse by ownership (functions/_buffers.py) -----
def test_scratch_reuses_only_what_it_released():
    from chainrule.functions._buffers import Scratch, clear

    clear()
    shape = (64, 1024)  # 512 KiB of float64: pooled
    s1, s2 = Scratch(), Scratch()
    a = s1.take(np, shape, np.float64)
    b = s2.take(np, shape, np.float64)
    assert a is not b  # two live scratches never share a buffer
    s3 = Scratch()
    c = s3.take(np, shape, np.float64)
    assert c is not a and c is not b  # nothing released yet: a new array
    s1.release()
    s1.release()  # a second release gives nothing back twice
    d, e = Scratch().take(np, shape, np.float64), Scratch().take(np, shape, np.float64)
    assert d is a and e is not a  # a went back once, and only once
    z = Scratch().take(np, shape, np.float64, zero=True)
    assert z is not a and not z.any()
    small = Scratch()
    t = small.take(np, (3, 3), np.float64)
    small.release()
    assert Scratch().take(np, (3, 3), np.float64) is not t  # small arrays are not pooled
    clear()


def test_result_memory_is_lent_until_every_array_using_it_is_gone():
    # results are lent from the pool: their memory is reused only after the last array (or view)
    # using it died; the old pool decided by sys.getrefcount and kept every result alive
    import gc
    import weakref

    from chainrule.functions import _buffers

    assert "getrefcount" not in open(_buffers.__file__, encoding="utf-8").read()
    _buffers.clear()
    w = cr.Variable(_data(8, 4, 3, 3).astype(np.float32))
    x = _data(16, 4, 16, 16).astype(np.float32)  # output 16 * 8 * 16 * 16 float32: large enough to be pooled
    c = F.conv2d(x, w, padding=1)
    ref = weakref.ref(c.data)
    del c
    gc.collect()
    assert ref() is None  # the pool holds memory, never a result array
    c = F.conv2d(x, w, padding=1)
    addr, view = c.data.ctypes.data, c.data[3]
    del c
    c2 = F.conv2d(x, w, padding=1)
    assert not np.shares_memory(c2.data, view)  # a live view keeps the memory lent
    both = {addr, c2.data.ctypes.data}
    del view, c2
    gc.collect()
    assert {F.conv2d(x, w, padding=1).data.ctypes.data for _ in range(2)} <= both  # now both are reused
    _buffers.clear()


def test_conv_step_reuses_its_scratch_across_steps():
    from chainrule.functions._buffers import _pools, clear

    clear()
    w = cr.Variable(_data(8, 4, 3, 3))
    x = cr.Variable(_data(16, 4, 16, 16))

    def step():
        w.grad = x.grad = None
        F.max_pool2d(F.conv2d(x, w, padding=1), 2).sum().backward()
        return {id(a) for free in _pools().values() for a in free}

    first = step()
    assert first  # im2col columns, padded copies, GEMM products went back to the pool
    assert step() == first == step()  # and later steps take the same arrays again
    clear()


def test_two_live_convolutions_keep_their_own_columns():
    # both forwards run before either backward: each op owns its im2col columns until its rule ran
    w = cr.Variable(_data(8, 4, 3, 3))
    x1, x2 = _data(16, 4, 16, 16), _data(16, 4, 16, 16)
    y1, y2 = F.conv2d(x1, w, padding=1), F.conv2d(x2, w, padding=1)
    g1, g2 = _data(*y1.shape), _data(*y2.shape)
    (y1 * g1 + y2 * g2).sum().backward()
    w_sep = [cr.Variable(w.data.copy()) for _ in range(2)]
    for v, x, g in zip(w_sep, (x1, x2), (g1, g2)):
        (F.conv2d(x, v, padding=1) * g).sum().backward()
    np.testing.assert_allclose(w.grad.data, w_sep[0].grad.data + w_sep[1].grad.data, rtol=1e-12, atol=1e-12)


def test_backward_twice_and_create_graph_after_the_columns_were_used():
    x = cr.Variable(_data(2, 3, 6, 6))
    w = cr.Variable(_data(4, 3, 3, 3))
    y = F.conv2d(x, w, padding=1)
    gy = _data(*y.shape)
    g1 = cr.gradients([y], [x, w], grad_outputs=[cr.Variable(gy)])  # the graph stays usable
    g2 = cr.gradients([y], [x, w], grad_outputs=[cr.Variable(gy)], create_graph=True)  # columns recomputed
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-13, atol=1e-13)


def test_conv_jvp_matches_finite_differences_with_a_raw_input():
    # forward mode through conv2d with x a raw array (the first layer of a CNN): only w and b carry tangents
    x = _data(2, 3, 5, 5)
    w, b, tw, tb = _data(4, 3, 3, 3), _data(4), _data(4, 3, 3, 3), _data(4)
    _, t = cr.jvp(lambda w, b: F.conv2d(x, w, b, padding=1), (w, b), (tw, tb))
    expect = F.conv2d(x, tw, tb, padding=1).data  # linear in (w, b)
    np.testing.assert_allclose(t, expect, rtol=1e-12, atol=1e-12)
