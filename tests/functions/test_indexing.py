"""Indexing ops: getitem with every kind of index, gather, take, where, masked_fill."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.functions.indexing import GetItem, _IndexAdd
from oracle import check, rand, torch_compare


MASK = np.array([True, False, True])
INDEXES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, -2)),
    "None": (None, 0),
    "ellipsis": (Ellipsis, 1),
    "int and slice": (2, slice(0, 3)),
    "integer array with repeats": np.array([0, 2, 0, 0]),
    "2-d integer array": np.array([[0, 1], [2, 0]]),
    "list": [2, 2, 1],
    "two arrays": (np.array([0, 0, 2]), np.array([3, 3, 1])),
    "array and slice": (slice(None), np.array([1, 1, 3])),
    "boolean mask": MASK,
    "2-d mask": rand(3, 4) > 0,
    "mask and int array": (MASK, np.array([1, 1])),
    "mixed": (np.array([1, 1]), None, slice(1, 3)),
}


@pytest.mark.parametrize("name", list(INDEXES))
def test_getitem(name):
    index = INDEXES[name]
    a = rand(3, 4)
    y = cr.Variable(a)[index]
    np.testing.assert_array_equal(y.data, a[index])
    check(lambda x: x[index], a)
    check(lambda x: F.getitem(x, index), a)


def test_getitem_repeated_indices_accumulate():
    x = cr.Variable(np.arange(4.0))
    F.sum_to(x[np.array([0, 0, 3, 0, 3])], ()).backward()
    np.testing.assert_array_equal(x.grad.data, [3, 0, 0, 2])
    y = cr.Variable(np.zeros((2, 3)))
    F.sum_to(y[np.array([1, 1]), np.array([2, 2])], ()).backward()
    np.testing.assert_array_equal(y.grad.data, [[0, 0, 0], [0, 0, 2]])


def test_getitem_variable_indices():
    a = rand(4, 3)
    idx = cr.Variable(np.array([3, 0, 3]))
    np.testing.assert_array_equal(cr.Variable(a)[idx].data, a[[3, 0, 3]])
    check(lambda x: x[idx], a)
    mask = cr.Variable(a > 0)
    np.testing.assert_array_equal(cr.Variable(a)[mask].data, a[a > 0])
    check(lambda x: x[mask], a)
    check(lambda x: x[idx, 1:], a)


def test_getitem_grad_is_the_scatter_adjoint_and_third_order():
    """The gradient of a selection is the scatter-add op, whose own gradient is the selection."""
    x = cr.Variable(np.array([0.5, -1.0, 2.0]))
    sel = x[np.array([0, 0, 2])]
    y = F.sum_to(sel ** 3, ())  # x0^3 twice, x2^3
    g, = cr.gradients(y, [x], create_graph=True)
    assert isinstance(g.creator, _IndexAdd)
    w = cr.Variable(np.array([1.0, 2.0, 3.0]))
    gw, = cr.gradients(sel, [x], grad_outputs=[w], create_graph=True)
    assert isinstance(gw.creator, _IndexAdd)
    np.testing.assert_array_equal(gw.data, [3.0, 0.0, 3.0])
    v = cr.Variable(np.array([1.0, 2.0, 3.0]))
    ggw, = cr.gradients(gw, [w], grad_outputs=[v], create_graph=True)
    assert isinstance(ggw.creator, GetItem)  # the adjoint of the scatter is the selection again
    np.testing.assert_array_equal(ggw.data, [1.0, 1.0, 3.0])
    gg, = cr.gradients(F.sum_to(g, ()), [x], create_graph=True)
    ggg, = cr.gradients(F.sum_to(gg, ()), [x])
    counts = np.array([2.0, 0.0, 1.0])
    np.testing.assert_allclose(g.data, counts * 3 * x.data ** 2)
    np.testing.assert_allclose(gg.data, counts * 6 * x.data)
    np.testing.assert_allclose(ggg.data, counts * 6)


@pytest.mark.parametrize("name", ["int", "slice", "integer array with repeats", "two arrays",
                                  "boolean mask", "mixed"])
def test_getitem_torch(name):
    torch = pytest.importorskip("torch")
    index = INDEXES[name]
    t_index = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index) \
        if isinstance(index, tuple) else (torch.tensor(index) if isinstance(index, np.ndarray) else index)
    torch_compare(lambda x: x[index], lambda t: t[t_index], rand(3, 4))


def test_getitem_out_of_range():
    with pytest.raises(IndexError, match=r"get_?item.*\(3, 4\)"):  # the op's name, either spelling
        cr.Variable(rand(3, 4))[5]
    with pytest.raises(IndexError, match="get_?item"):
        cr.Variable(rand(3, 4))[np.array([0, 7])]


# ----- gather / take -----
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather(axis):
    a = rand(3, 4)
    index = np.array([[0, 2, 2], [1, 0, 0]]) if axis == 0 else np.array([[3, 3], [0, 1], [2, 2]])
    ref = np.take_along_axis(a[:, :index.shape[1]] if axis == 0 else a, index, axis)
    np.testing.assert_array_equal(F.gather(cr.Variable(a), axis, index).data, ref)
    check(lambda x: F.gather(x, axis, index), a)
    torch = pytest.importorskip("torch")
    torch_compare(lambda x: F.gather(x, axis, index),
                  lambda t: torch.gather(t, axis, torch.tensor(index)), a)


def test_gather_accumulates_and_accepts_variable_index():
    x = cr.Variable(np.zeros((2, 3)))
    idx = cr.Variable(np.array([[1, 1, 1], [0, 2, 2]]))
    F.sum_to(F.gather(x, 1, idx), ()).backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 3, 0], [1, 0, 2]])


def test_gather_errors():
    x = cr.Variable(rand(2, 3))
    with pytest.raises(IndexError, match=r"gather: index out of range .*\(2, 3\).*\(2, 1\)"):
        F.gather(x, 1, np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"gather.*\(2,\).*\(2, 3\)"):
        F.gather(x, 1, np.array([0, 1]))
    with pytest.raises(TypeError, match="gather"):
        F.gather(x, 1, np.array([[0.5]]))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_take(axis):
    a = rand(3, 4)
    idx = np.array([2, 0, 2])
    np.testing.assert_array_equal(F.take(cr.Variable(a), idx, axis).data, np.take(a, idx, axis))
    check(lambda x: F.take(x, idx, axis), a)


def test_take_flat_is_one_selection_with_negative_indices_and_range_errors():
    a = rand(3, 4)
    for idx in (np.array([-1, 5, 5, -12]), np.array([[0], [11]]), 7, -1, [3, 3]):
        y = F.take(cr.Variable(a), idx)
        np.testing.assert_array_equal(y.data, np.take(a, idx))
        assert y.creator.inputs[0].creator is None  # no reshape in between
        check(lambda x, idx=idx: F.take(x, idx), a)
    for bad in (np.array([0, 12]), np.array([-13]), 12, -13):
        with pytest.raises(IndexError, match=r"^take: index.* out of range for 12 elements \(input shape \(3, 4\)"):
            F.take(cr.Variable(a), bad)
    np.testing.assert_array_equal(F.take(cr.Variable(np.array(2.5)), 0).data, 2.5)


# ----- where / masked_fill -----
@pytest.mark.parametrize("cshape,xshape,yshape", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4)),
                                                  ((4,), (3, 4), ())])
def test_where(cshape, xshape, yshape):
    cond = rand(*cshape, seed=5) > 0
    a, b = rand(*xshape, seed=1), rand(*yshape, seed=2)
    np.testing.assert_array_equal(F.where(cond, cr.Variable(a), cr.Variable(b)).data, np.where(cond, a, b))
    check(lambda x, y: F.where(cond, x, y), a, b)
    torch = pytest.importorskip("torch")
    torch_compare(lambda x, y: F.where(cond, x, y), lambda x, y: torch.where(torch.tensor(cond), x, y), a, b)


def test_where_numbers_and_variable_condition():
    a = rand(3, 4)
    cond = cr.Variable(a > 0)  # a boolean Variable, as comparisons return
    np.testing.assert_array_equal(F.where(cond, cr.Variable(a), 0.0).data, np.where(a > 0, a, 0.0))
    np.testing.assert_array_equal(F.where(cond, 2.0, cr.Variable(a)).data, np.where(a > 0, 2.0, a))
    check(lambda x: F.where(a > 0, x, -1.0), a)
    check(lambda x: F.where(a > 0, 3.0, x * x), a)
    np.testing.assert_array_equal(F.where(a > 0, 1.0, 0.0).data, (a > 0).astype(float))


@pytest.mark.parametrize("mshape", [(3, 4), (4,), (3, 1)])
def test_masked_fill(mshape):
    mask = rand(*mshape, seed=3) > 0
    a = rand(3, 4)
    np.testing.assert_array_equal(F.masked_fill(cr.Variable(a), mask, -5.0).data, np.where(mask, -5.0, a))
    check(lambda x: F.masked_fill(x, mask, -5.0), a)
    torch = pytest.importorskip("torch")
    torch_compare(lambda x: F.masked_fill(x, mask, -5.0),
                  lambda t: t.masked_fill(torch.tensor(mask), -5.0), a)


def test_masked_fill_keeps_dtype_and_variable_value():
    a = rand(2, 3).astype(np.float32)
    y = F.masked_fill(cr.Variable(a), a > 0, float("-inf"))
    assert y.dtype == np.float32
    assert np.isneginf(y.data[a > 0]).all()
    mask = rand(2, 3, seed=4) > 0
    check(lambda x, v: F.masked_fill(x, mask, v), rand(2, 3), np.array(0.7))
