"""A list of Variables given to an op is stacked differentiably; making a leaf of one is refused."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

X = np.array([0.5, -1.0, 2.0])
Y = np.array([1.5, 0.25, -3.0])


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_ops_stack_lists_of_variables_like_torch_stack(torch):
    cases = [
        (lambda x, y: F.mean([x, x + 2.0]), lambda x, y: torch.stack([x, x + 2.0]).mean()),
        (lambda x, y: F.sum([x * y, y]), lambda x, y: torch.stack([x * y, y]).sum()),
        (lambda x, y: F.sum(x + [x, y]), lambda x, y: (x + torch.stack([x, y])).sum()),
        (lambda x, y: F.sum(F.exp((x, y))), lambda x, y: torch.exp(torch.stack([x, y])).sum()),
        (lambda x, y: F.sum(F.matmul([[x[0], y[1]], [y[2], 1.0]], [x[1], y[0]])),
         lambda x, y: (torch.stack([torch.stack([x[0], y[1]]), torch.stack([y[2], torch.tensor(1.0, dtype=x.dtype)])])
                       @ torch.stack([x[1], y[0]])).sum()),
    ]
    for f, ft in cases:
        x, y = cr.Variable(X), cr.Variable(Y)
        f(x, y).backward()
        xt, yt = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
        ft(xt, yt).backward()
        np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
        if yt.grad is None:
            assert y.grad is None
        else:
            np.testing.assert_allclose(y.grad.data, yt.grad.numpy(), rtol=1e-12)


def test_nested_lists_mixing_numbers_and_0d_variables():
    a, b = cr.variable(2.0), cr.variable(3.0)
    m = cr.as_variable([[a, 1.0], [4.0, b * a]])
    assert m.shape == (2, 2)
    F.sum(m * m).backward()
    np.testing.assert_allclose(a.grad.data, 2 * 2.0 + 2 * (3.0 * 2.0) * 3.0)
    np.testing.assert_allclose(b.grad.data, 2 * (3.0 * 2.0) * 2.0)


def test_a_new_leaf_from_variables_is_refused_and_plain_lists_still_work():
    x, y = cr.Variable(X), cr.Variable(Y)
    with pytest.raises(TypeError, match=r"Variable: a list of Variables .* F\.stack"):
        cr.Variable([x, y])
    with pytest.raises(TypeError, match="F.stack"):
        cr.Variable([[1.0, 2.0], (3.0, cr.variable(4.0))])
    v = cr.Variable([[1.0, 2.0], (3, 4)])
    assert v.shape == (2, 2) and v.dtype == np.float64
    assert F.sum([1.0, 2.0]).creator is not None  # numbers: a constant leaf as before
