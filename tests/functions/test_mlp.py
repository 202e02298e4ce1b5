"""relu_mlp: a ReLU multilayer perceptron as one op, against the same network built layer by layer."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule import models
from oracle import check, rand, torch_compare


def params(*sizes, seed=1, dtype=np.float64):
    out = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        out += [rand(a, b, seed=seed + 2 * i).astype(dtype), rand(b, seed=seed + 2 * i + 1).astype(dtype)]
    return out


def by_layers(x, ps):
    h = x
    for i in range(0, len(ps) - 2, 2):
        h = np.maximum(h @ ps[i] + ps[i + 1], 0)
    return h @ ps[-2] + ps[-1]


@pytest.mark.parametrize("xshape,sizes", [((5, 3), (3, 4, 2)), ((4, 3), (3, 5, 4, 2)), ((2, 4, 3), (3, 4, 2)),
                                          ((3,), (3, 4, 2))])
def test_values_and_gradients(xshape, sizes):
    x, ps = rand(*xshape), params(*sizes)
    y = F.relu_mlp(cr.Variable(x), [cr.Variable(p) for p in ps])
    assert y.shape == xshape[:-1] + (sizes[-1],)
    np.testing.assert_allclose(y.data, by_layers(x, ps), rtol=1e-12, atol=1e-12)
    check(lambda x, *ps: F.relu_mlp(x, ps), x, *ps)


def test_matches_torch():
    x, ps = rand(6, 3), params(3, 5, 4, 2)

    def torch_mlp(x, W1, b1, W2, b2, W3, b3):
        return ((x @ W1 + b1).relu() @ W2 + b2).relu() @ W3 + b3

    torch_compare(lambda x, *ps: F.relu_mlp(x, ps), torch_mlp, x, *ps, rtol=1e-10)


def test_third_order_matches_the_layer_by_layer_network():
    x, ps = rand(4, 3), params(3, 4, 2)
    grads = []
    for fused in (True, False):
        xv = cr.Variable(x)
        vs = [cr.Variable(p) for p in ps]
        y = F.relu_mlp(xv, vs) if fused else F.linear(F.linear_relu(xv, vs[0], vs[1]), vs[2], vs[3])
        g, = cr.gradients(F.sum(F.tanh(y)), [xv], create_graph=True)
        gg, = cr.gradients(F.sum(g * g), [xv], create_graph=True)
        ggg = cr.gradients(F.sum(gg ** 3), [xv] + vs)
        grads.append([v.data for v in ggg])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_raw_input_gets_no_gradient_and_zero_preactivations_pass_none():
    x = rand(6, 3)
    x[2] = 0.0  # with zero biases this row's pre-activations are exactly 0: ReLU's gradient there is 0
    ps = params(3, 4, 2)
    ps[1][:] = 0.0
    vs = [cr.Variable(p) for p in ps]
    F.sum(F.relu_mlp(x, vs) * 2.0).backward()
    fused = [v.grad.data for v in vs]
    for v in vs:
        v.cleargrad()
    F.sum(F.linear(F.relu(F.linear(x, vs[0], vs[1])), vs[2], vs[3]) * 2.0).backward()
    for a, v in zip(fused, vs):
        np.testing.assert_allclose(a, v.grad.data, rtol=1e-13, atol=1e-13)


def test_float32_keeps_dtype_and_mixed_dtypes_promote_like_linear():
    x, ps = rand(5, 3).astype(np.float32), params(3, 4, 2, dtype=np.float32)
    vs = [cr.Variable(p) for p in ps]
    y = F.relu_mlp(x, vs)
    assert y.dtype == np.float32
    y.sum().backward()
    assert all(v.grad.dtype == np.float32 for v in vs)
    ps64 = list(ps)
    ps64[3] = ps64[3].astype(np.float64)  # a float64 bias of the last layer
    y = F.relu_mlp(x, ps64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, by_layers(x.astype(np.float64), ps64), rtol=1e-5)


def test_bad_shapes_name_the_op_and_the_layer():
    x, ps = rand(5, 3), params(3, 4, 2)
    with pytest.raises(ValueError, match=r"relu_mlp: layer 1 has W \(5, 2\) and b \(2,\); expected W \(4, out\)"):
        F.relu_mlp(x, [ps[0], ps[1], rand(5, 2), ps[3]])
    with pytest.raises(ValueError, match=r"relu_mlp: layer 0 has W \(3, 4\) and b \(3,\)"):
        F.relu_mlp(x, [ps[0], rand(3), ps[2], ps[3]])
    with pytest.raises(ValueError, match="relu_mlp: params must be"):
        F.relu_mlp(x, ps[:3])
    with pytest.raises(ValueError, match="0-d"):
        F.relu_mlp(np.float64(1.0), ps)


def test_mlp_with_relu_runs_as_one_op_and_matches_the_per_layer_path():
    x, t = rand(8, 3), np.random.default_rng(0).integers(0, 2, 8)
    results = []
    for fused in (True, False):
        # F.relu itself: the model calls F.relu_mlp; any other callable: layer by layer
        m = models.MLP([5, 4, 2], activation=F.relu if fused else (lambda h: F.relu(h)), rng=0)
        first = m(x)  # lazy initialisation (per layer)
        assert type(first.creator).__name__ == "Linear"
        loss = F.softmax_cross_entropy(m(x), t)
        assert (type(loss.creator.inputs[0].creator).__name__ == "ReluMlp") == fused
        loss.backward()
        results.append([loss.data] + [p.grad.data for p in m.params()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_params_may_be_one_list_or_separate_arguments():
    x, ps = rand(5, 3), params(3, 4, 2)
    np.testing.assert_array_equal(F.relu_mlp(x, ps).data, F.relu_mlp(x, *ps).data)
    np.testing.assert_array_equal(F.relu_mlp(x, tuple(ps)).data, by_layers(x, ps))


def test_fast_rule_matches_the_reference_composition_for_a_raw_3d_input():
    from chainrule.core.composite import reference_mode
    from chainrule.functions.mlp import ReluMlp

    x, ps = rand(2, 5, 3), params(3, 6, 4, 2)
    out = []
    for ref in (False, True):
        vs = [cr.Variable(p) for p in ps]
        with reference_mode(ReluMlp) if ref else _nothing():
            y = F.relu_mlp(x, vs)  # raw x: no input gradient
            F.sum(y * y).backward()
        out.append([y.data] + [v.grad.data for v in vs])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _nothing():
    import contextlib

    return contextlib.nullcontext()
