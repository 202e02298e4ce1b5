"""Shape ops: finite-difference checks (first and second order), NumPy/PyTorch oracles, errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from oracle import check, rand, torch_compare


# ----- reshape / transpose / squeeze / unsqueeze / flatten -----
@pytest.mark.parametrize("src,dst", [((2, 3), (3, 2)), ((2, 3), (-1,)), ((6,), (1, 2, 3, 1)),
                                     ((2, 3, 4), (4, -1)), ((), (1, 1))])
def test_reshape(src, dst):
    a = rand(*src)
    y = F.reshape(cr.Variable(a), dst)
    np.testing.assert_array_equal(y.data, a.reshape(dst))
    check(lambda x: F.reshape(x, dst), a)


def test_reshape_int_and_method():
    a = rand(2, 3)
    x = cr.Variable(a)
    assert F.reshape(x, 6).shape == (6,)
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape(-1, 1).shape == (6, 1)
    y = x.reshape(3, 2)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_reshape_wrong_size():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        F.reshape(cr.Variable(rand(2, 3)), (4,))


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1)])
def test_transpose(axes):
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(F.transpose(cr.Variable(a), axes).data, np.transpose(a, axes))
    check(lambda x: F.transpose(x, axes), a)


def test_transpose_methods_and_oracle():
    a = rand(2, 3)
    x = cr.Variable(a)
    np.testing.assert_array_equal(x.T.data, a.T)
    np.testing.assert_array_equal(x.transpose(1, 0).data, a.T)
    np.testing.assert_array_equal(x.transpose().data, a.T)
    torch_compare(lambda x: F.transpose(x, (2, 0, 1)), lambda t: t.permute(2, 0, 1), rand(2, 3, 4))


def test_transpose_bad_axes():
    with pytest.raises(ValueError, match=r"transpose.*\(2, 3\)"):
        F.transpose(cr.Variable(rand(2, 3)), (0, 0))
    with pytest.raises(ValueError, match="transpose"):
        F.transpose(cr.Variable(rand(2, 3)), (0, 1, 2))


def test_swapaxes():
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(F.swapaxes(cr.Variable(a), 0, -1).data, np.swapaxes(a, 0, -1))
    check(lambda x: F.swapaxes(x, 1, 2), a)


@pytest.mark.parametrize("axis", [None, 0, 2, (0, 2), -1])
def test_squeeze(axis):
    a = rand(1, 3, 1)
    np.testing.assert_array_equal(F.squeeze(cr.Variable(a), axis).data, np.squeeze(a, axis))
    check(lambda x: F.squeeze(x, axis), a)
    assert cr.Variable(a).squeeze().shape == (3,)


def test_squeeze_non_unit_axis():
    with pytest.raises(ValueError, match=r"squeeze: axis 1 of shape \(1, 3, 1\)"):
        F.squeeze(cr.Variable(rand(1, 3, 1)), 1)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_unsqueeze(axis):
    a = rand(2, 3)
    np.testing.assert_array_equal(F.unsqueeze(cr.Variable(a), axis).data, np.expand_dims(a, axis))
    np.testing.assert_array_equal(F.expand_dims(cr.Variable(a), axis).data, np.expand_dims(a, axis))
    check(lambda x: F.unsqueeze(x, axis), a)
    assert cr.Variable(a).unsqueeze(axis).shape == np.expand_dims(a, axis).shape


def test_unsqueeze_out_of_range():
    with pytest.raises(ValueError, match="unsqueeze"):
        F.unsqueeze(cr.Variable(rand(2, 3)), 3)


def test_flatten():
    a = rand(2, 3, 4)
    x = cr.Variable(a)
    assert F.flatten(x).shape == (24,)
    assert x.flatten().shape == (24,)
    assert F.flatten(x, start_dim=1).shape == (2, 12)
    assert F.flatten(x, 0, 1).shape == (6, 4)
    check(lambda x: F.flatten(x, start_dim=1), a)
    torch_compare(lambda x: F.flatten(x, 1), lambda t: t.flatten(1), a)


# ----- concat / stack / split / chunk -----
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    shapes = {0: [(1, 3), (2, 3), (3, 3)], 1: [(2, 1), (2, 4), (2, 2)], -1: [(2, 1), (2, 4), (2, 2)]}[axis]
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    y = F.concat([cr.Variable(a) for a in arrays], axis=axis)
    np.testing.assert_array_equal(y.data, np.concatenate(arrays, axis=axis))
    check(lambda *xs: F.concat(xs, axis=axis), *arrays)
    torch_compare(lambda *xs: F.cat(xs, axis), lambda *ts: __import__("torch").cat(ts, axis), *arrays)


def test_concat_mismatch():
    with pytest.raises(ValueError, match=r"concat: shapes \(2, 3\), \(3, 4\)"):
        F.concat([cr.Variable(rand(2, 3)), cr.Variable(rand(3, 4))], axis=0)
    with pytest.raises(ValueError, match="concat"):
        F.concat([], axis=0)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(axis):
    arrays = [rand(2, 3, seed=i) for i in range(3)]
    y = F.stack([cr.Variable(a) for a in arrays], axis=axis)
    np.testing.assert_array_equal(y.data, np.stack(arrays, axis=axis))
    check(lambda *xs: F.stack(xs, axis=axis), *arrays)
    torch_compare(lambda *xs: F.stack(xs, axis), lambda *ts: __import__("torch").stack(ts, axis), *arrays)


def test_stack_mismatch():
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\), \(3, 2\)"):
        F.stack([cr.Variable(rand(2, 3)), cr.Variable(rand(3, 2))])


def test_unstack_partial_gradient():
    a = rand(3, 2)
    check(lambda x: F.unstack(x, axis=1), a)
    check(lambda x: F.unstack(x, axis=0)[1], a)  # the other outputs get no gradient: zeros
    x = cr.Variable(a)
    F.unstack(x)[2].backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 0], [0, 0], [1, 1]])


@pytest.mark.parametrize("sections,axis", [(2, 0), (3, 1), ([1, 3], 1), ([2], -1), ([0, 5], 1)])
def test_split(sections, axis):
    a = rand(4, 6)
    ys = F.split(cr.Variable(a), sections, axis=axis)
    assert isinstance(ys, list)
    for y, ref in zip(ys, np.split(a, sections, axis=axis)):
        np.testing.assert_array_equal(y.data, ref)
    check(lambda x: F.split(x, sections, axis=axis), a)


def test_split_unused_outputs_are_zero():
    a = rand(4, 6)
    check(lambda x: F.split(x, [1, 4], axis=1)[1], a)
    x = cr.Variable(a)
    F.split(x, 2)[0].backward()
    np.testing.assert_array_equal(x.grad.data, np.r_[np.ones((2, 6)), np.zeros((2, 6))])


def test_split_unequal():
    with pytest.raises(ValueError, match=r"split: axis 0 of shape \(5, 3\).*2 equal sections"):
        F.split(cr.Variable(rand(5, 3)), 2)


@pytest.mark.parametrize("size,n", [(5, 2), (6, 4), (6, 3), (2, 5)])
def test_chunk(size, n):
    torch = pytest.importorskip("torch")
    a = rand(3, size)
    ys = F.chunk(cr.Variable(a), n, axis=1)
    ref = torch.chunk(torch.tensor(a), n, dim=1)
    assert [y.shape for y in ys] == [tuple(r.shape) for r in ref]
    check(lambda x: F.chunk(x, n, axis=1), a)
    torch_compare(lambda x: F.chunk(x, n, axis=1), lambda t: torch.chunk(t, n, dim=1), a)


def test_chunk_sizes_without_torch():
    ys = F.chunk(cr.Variable(rand(7)), 3)
    assert [y.shape for y in ys] == [(3,), (3,), (1,)]
    check(lambda x: F.chunk(x, 3)[1], rand(7))


def test_concat_split_third_order():
    x = cr.Variable(np.array([0.5, -1.0, 2.0]))
    a, b = F.split(F.concat([x, x * x], 0), 2)
    y = F.sum_to(a * b * x, ())  # sum x^4
    g, = cr.gradients(y, [x], create_graph=True)
    gg, = cr.gradients(F.sum_to(g, ()), [x], create_graph=True)
    ggg, = cr.gradients(F.sum_to(gg, ()), [x])
    np.testing.assert_allclose(g.data, 4 * x.data ** 3)
    np.testing.assert_allclose(gg.data, 12 * x.data ** 2)
    np.testing.assert_allclose(ggg.data, 24 * x.data)


# ----- tril / triu / flip -----
@pytest.mark.parametrize("k", [0, 1, -1])
def test_tril_triu(k):
    torch = pytest.importorskip("torch")
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(F.tril(cr.Variable(a), k).data, np.tril(a, k))
    np.testing.assert_array_equal(F.triu(cr.Variable(a), k).data, np.triu(a, k))
    check(lambda x: F.tril(x, k), a)
    check(lambda x: F.triu(x, k), a)
    torch_compare(lambda x: F.tril(x, k), lambda t: torch.tril(t, k), a)
    torch_compare(lambda x: F.triu(x, k), lambda t: torch.triu(t, k), a)


def test_tril_needs_matrix():
    with pytest.raises(ValueError, match=r"tril.*\(3,\)"):
        F.tril(cr.Variable(rand(3)))


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_flip(axis):
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(F.flip(cr.Variable(a), axis).data, np.flip(a, axis))
    check(lambda x: F.flip(x, axis), a)


def test_flip_oracle():
    torch = pytest.importorskip("torch")
    torch_compare(lambda x: F.flip(x, (0, 2)), lambda t: torch.flip(t, (0, 2)), rand(2, 3, 4))


@pytest.mark.parametrize("indices", [3, [2, 5], [5, 2], [0], [20], [-3], [-5, 4, 10]])
def test_split_matches_numpy_for_any_offsets(indices):
    x = np.arange(24.0).reshape(2, 12)
    got = [p.numpy() for p in F.split(x, indices, axis=1)]
    want = np.split(x, indices, axis=1)
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ----- forward mode (the jvp rules) -----
SHAPE_OPS = {
    "reshape": lambda x: F.reshape(x, (4, 6)),
    "transpose": lambda x: F.transpose(x, (2, 0, 1)),
    "swapaxes": lambda x: F.swapaxes(x, 0, 2),
    "squeeze_unsqueeze": lambda x: F.squeeze(F.unsqueeze(x, 1), 1),
    "flatten": lambda x: F.flatten(x, 1),
    "concat": lambda x: F.concat([x, x * 2.0], axis=1),
    "stack": lambda x: F.stack([x, x * 3.0], axis=-1),
    "split": lambda x: F.split(x, [1], axis=2),
    "chunk": lambda x: F.chunk(x, 2, axis=1),
    "unstack": lambda x: F.unstack(x, axis=1),
    "tril": lambda x: F.tril(x, 1),
    "triu": lambda x: F.triu(x, -1),
    "flip": lambda x: F.flip(x, (0, 2)),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_jvp_moves_the_tangent_like_the_values(name):
    """Every shape op is linear: its jvp is the op applied to the tangent (arrays in, arrays out)."""
    a = rand(2, 4, 3)[:, ::-1]  # non-contiguous
    t = rand(2, 4, 3)
    f = SHAPE_OPS[name]
    y, ty = cr.jvp(f, (a,), (t,))
    expect = f(cr.Variable(t))
    ys, tys, es = (list(v) if isinstance(v, (list, tuple)) else [v] for v in (y, ty, expect))
    assert len(tys) == len(es) == len(ys)
    for yi, ti, ei in zip(ys, tys, es):
        assert isinstance(ti, np.ndarray) and ti.shape == yi.shape
        np.testing.assert_array_equal(ti, ei.data)


def test_split_second_order_with_unused_outputs():
    """create_graph through split's rule (zeros for the outputs without gradient) and concat's."""
    a = rand(4, 6)
    x = cr.Variable(a)
    parts = F.split(x, [1, 4], axis=1)
    g, = cr.gradients(F.sum(parts[1] * parts[1]), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, np.c_[np.zeros((4, 1)), 2 * a[:, 1:4], np.zeros((4, 2))])
    h, = cr.gradients(F.sum(g * g), [x])
    np.testing.assert_allclose(h.data, np.c_[np.zeros((4, 1)), 8 * a[:, 1:4], np.zeros((4, 2))])
