"""User-defined Functions: one, two and many inputs, multi-output, and what backward may return."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradgradcheck


class Cube(cr.Function):
    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        x, = self.inputs
        return gy * 3.0 * x * x


class AxPlusB(cr.Function):
    def forward(self, a, x, b):
        return a * x + b

    def backward(self, gy):
        a, x, b = self.inputs
        return gy * x, gy * a, gy


class SumAndProduct(cr.Function):
    """Two outputs from two inputs."""

    def forward(self, x, y):
        return x + y, x * y

    def backward(self, gs, gp):
        x, y = self.inputs
        gs = cr.zeros_like(x) if gs is None else gs
        gp = cr.zeros_like(x) if gp is None else gp
        return gs + gp * y, gs + gp * x


class NoGradForSecond(cr.Function):
    def forward(self, x, idx):
        return x[idx]

    def backward(self, gy):
        return None, None  # deliberately gives no gradient at all


def test_unary_function_is_differentiable_to_second_order():
    x = np.array([0.5, -1.5, 2.0])
    assert gradcheck(lambda v: Cube()(v), x)
    assert gradgradcheck(lambda v: Cube()(v), x)


def test_three_input_function():
    rng = np.random.default_rng(0)
    a, x, b = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    assert gradcheck(lambda *vs: AxPlusB()(*vs), a, x, b)
    out = AxPlusB()(a, x, b)
    assert out.generation == 1 and len(out.creator.inputs) == 3


def test_multi_output_function_returns_a_list_and_backprops_partial_outputs():
    x, y = cr.variable(2.0), cr.variable(3.0)
    s, p = SumAndProduct()(x, y)
    assert (s.item(), p.item()) == (5.0, 6.0)
    p.backward()  # the sum output gets no gradient: backward receives None for it
    assert (x.grad.item(), y.grad.item()) == (3.0, 2.0)
    assert gradcheck(lambda a, b: SumAndProduct()(a, b), np.array([1.0, 2.0]), np.array([0.5, -1.0]))


def test_backward_may_return_none():
    x = cr.Variable(np.arange(4.0))
    y = NoGradForSecond()(x, np.array([1, 3]))
    F.sum(y).backward()
    assert x.grad is None


def test_forward_not_implemented_and_numpy_errors_name_the_op():
    class Broken(cr.Function):
        def forward(self, x):
            return x.reshape(7)

    with pytest.raises(ValueError, match=r"^broken: .*\(input shapes \(3,\)\)"):
        Broken()(np.ones(3))
    with pytest.raises(NotImplementedError):
        cr.Function()(cr.variable(1.0))


def test_numpy_errors_that_take_no_message_are_wrapped_not_rebuilt():
    x = cr.Variable(np.ones(3))
    with pytest.raises(TypeError, match=r"^addscalar: ufunc 'add' did not contain a loop.*\(input shapes \(3,\)\)") as e:
        F.add_scalar(x, "a")  # NumPy's _UFuncNoLoopError(ufunc, dtypes) cannot be made from a message
    assert type(e.value) is TypeError and type(e.value.__cause__).__module__.startswith("numpy")
    with pytest.raises(TypeError, match=r"^conv_?transpose2d: .*int64"):  # NumPy's _UFuncOutputCastingError
        F.conv_transpose2d(np.ones((1, 1, 2, 2), np.int64), np.ones((1, 1, 2, 2), np.int64), np.ones(1))


def test_op_errors_keep_plain_subclasses_and_both_bases_of_odd_ones():
    class Plain(ValueError):
        pass

    class Odd(ValueError, IndexError):
        def __init__(self, axis, ndim):
            super().__init__(f"axis {axis} vs {ndim}")

    class RaisesPlain(cr.Function):
        def forward(self, x):
            raise Plain("bad")

    class RaisesOdd(cr.Function):
        def forward(self, x):
            raise Odd(3, 1)

    with pytest.raises(Plain, match=r"^raisesplain: bad \(input shapes \(2,\)\)"):
        RaisesPlain()(np.ones(2))
    with pytest.raises(ValueError, match=r"^raisesodd: axis 3 vs 1") as e:
        RaisesOdd()(np.ones(2))
    assert isinstance(e.value, IndexError) and isinstance(e.value.__cause__, Odd)
