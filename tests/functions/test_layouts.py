"""Every op gives the same values and gradients (first and second order, both backward paths)
on non-contiguous inputs -- Fortran-ordered, transposed, strided and reversed views -- as on
C-contiguous copies. Guards against writes into ``reshape``/``ravel`` results that are copies
for such layouts (softmax_cross_entropy once lost its -onehot term that way)."""
import zlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

LABELS = np.array([0, 3, 1, 2, 3])
IDS = np.array([[0, 2], [1, 2]])
GATHER = np.array([[0, 2, 1, 0], [3, 1, 0, 2], [1, 1, 3, 0], [2, 0, 0, 3], [0, 3, 2, 1]])
MASK = np.array([[True, False, True, False]] * 5)

# name -> (function of Variables, input shapes, positive inputs?)
CASES = {
    "exp": (F.exp, [(5, 4)]),
    "log": (lambda x: F.log(x * x + 1.0), [(5, 4)]),
    "sqrt": (lambda x: F.sqrt(x * x + 0.5), [(5, 4)]),
    "sin_cos_tan": (lambda x: F.sin(x) * F.cos(x) + F.tan(x * 0.3), [(5, 4)]),
    "tanh_sigmoid": (lambda x: F.tanh(x) + F.sigmoid(x), [(5, 4)]),
    "relu_abs_clip": (lambda x: F.relu(x) * F.abs(x) + F.clip(x, -0.5, 0.5), [(5, 4)]),
    "gelu": (lambda x: F.gelu(x * 2.0), [(5, 4)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(5, 4)]),
    "erf_silu_softplus": (lambda x: F.erf(x) + F.silu(x) + F.softplus(x), [(5, 4)]),
    "leaky_elu": (lambda x: F.leaky_relu(x, 0.1) + F.elu(x), [(5, 4)]),
    "arith": (lambda a, b: (a + b) * a - b / (a * a + 1.0), [(5, 4), (5, 4)]),
    "pow": (lambda a, b: (a * a + 0.5) ** b, [(5, 4), (5, 4)]),
    "max_min": (lambda a, b: F.maximum(a, b) + F.minimum(a, b * 2.0), [(5, 4), (5, 4)]),
    "broadcast": (lambda a, b: a * b + b, [(5, 4), (1, 4)]),
    "sum_mean_var": (lambda x: F.sum(x, 0) + F.mean(x, 0) + F.var(x, 0), [(5, 4)]),
    "max_min_reduce": (lambda x: F.max(x, 1) - F.min(x, 1), [(5, 4)]),
    "logsumexp": (lambda x: F.logsumexp(x, 1), [(5, 4)]),
    "softmax": (lambda x: F.softmax(x, 0) + F.log_softmax(x, 1), [(5, 4)]),
    "reshape_flatten": (lambda x: F.reshape(x, (4, 5)) * F.reshape(F.flatten(x), (4, 5)), [(5, 4)]),
    "transpose_swap": (lambda x: F.transpose(x) * 2.0 + F.swapaxes(x, 0, 1), [(5, 4)]),
    "concat_stack_split": (lambda x: F.concat(F.split(x, [1, 3], axis=1)[::-1], axis=1) * F.unstack(F.stack([x, x]))[0],
                           [(5, 4)]),
    "tril_flip": (lambda x: F.tril(x) + F.flip(F.triu(x, 1), 0), [(5, 4)]),
    "getitem": (lambda x: x[1:4, ::-1] * x[np.array([0, 0, 2])], [(5, 4)]),
    "gather_take": (lambda x: F.gather(x, 1, GATHER) + F.take(x, np.array([1, 1, 0, 3]), axis=1), [(5, 4)]),
    "where_masked": (lambda a, b: F.where(MASK, a, b) + F.masked_fill(a, ~MASK, 0.5), [(5, 4), (5, 4)]),
    "broadcast_to": (lambda x: F.broadcast_to(x, (3, 5, 4)) * 1.5, [(5, 4)]),
    "matmul": (lambda a, b: F.matmul(a, b), [(5, 4), (4, 3)]),
    "matmul_batched": (lambda a, b: F.matmul(a, b), [(2, 5, 4), (4, 3)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(5, 4), (4, 3), (3,)]),
    "linear_relu": (lambda x, w, b: F.linear_relu(x, w, b), [(5, 4), (4, 3), (3,)]),
    "relu_mlp": (lambda x, w1, b1, w2, b2: F.relu_mlp(x, [w1, b1, w2, b2]), [(5, 4), (4, 3), (3,), (3, 2), (2,)]),
    "cross_entropy": (lambda x: F.softmax_cross_entropy(x, LABELS), [(5, 4)]),
    "cross_entropy_none": (lambda x: F.softmax_cross_entropy(x, LABELS, reduction="none"), [(5, 4)]),
    "mse_bce": (lambda a, b: F.mean_squared_error(a, b) + F.binary_cross_entropy_with_logits(a, F.sigmoid(b)),
                [(5, 4), (5, 4)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), [(2, 3, 5, 4), (4, 3, 3, 2), (4,)]),
    "conv2d_1x1": (lambda x, w: F.conv2d(x, w), [(1, 3, 5, 4), (2, 3, 1, 1)]),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2), [(2, 3, 4, 3), (3, 2, 2, 2)]),
    "max_pool": (lambda x: F.max_pool2d(x, 2, stride=1, padding=1), [(2, 3, 5, 4)]),
    "avg_pool": (lambda x: F.avg_pool2d(x, 2, padding=1, count_include_pad=False), [(2, 3, 5, 4)]),
    "adaptive_pool": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(2, 3, 5, 4)]),
    "im2col": (lambda x: F.col2im(F.im2col(x, 2), (5, 4)), [(2, 3, 5, 4)]),
    "batch_norm": (lambda x, g, b: F.batch_norm(x, g, b, training=True), [(5, 4), (4,), (4,)]),
    "batch_norm_4d": (lambda x: F.batch_norm(x, training=True), [(2, 3, 5, 4)]),
    "layer_rms_norm": (lambda x, g: F.layer_norm(x, g) + F.rms_norm(x, g), [(5, 4), (4,)]),
    "embedding": (lambda w: F.embedding(w, IDS), [(5, 4)]),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True), [(2, 5, 4), (2, 5, 4), (2, 5, 3)]),
    "lstm_cell": (lambda a, b, c, d, e: F.lstm_cell(a, b, c, d, e)[0], [(5, 4)] * 5),
}


def _layouts(a):
    """Views with the values of the C array ``a`` in other memory layouts."""
    out = {"fortran": np.asfortranarray(a)}
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
    wide[..., ::2] = a
    out["strided"] = wide[..., ::2]
    out["reversed"] = np.flip(np.flip(a).copy())
    if a.ndim >= 2:
        out["swapped"] = np.swapaxes(np.swapaxes(a, 0, -1).copy(), 0, -1)
    return out


def _run(f, arrays):
    xs = [cr.Variable(a) for a in arrays]
    y = f(*xs)
    w = np.random.default_rng(7).standard_normal(y.shape)
    loss = F.sum(y * w)
    g1 = cr.gradients([loss], xs)  # first-order path (array gradients)
    g2 = cr.gradients([loss], xs, create_graph=True)  # graph path
    v = [np.random.default_rng(8 + i).standard_normal(a.shape) for i, a in enumerate(arrays)]
    gg = cr.gradients([sum(F.sum(g * vi) for g, vi in zip(g2, v))], xs)
    return [y.data] + [g.data for g in g1] + [g.data for g in g2] + [g.data for g in gg]


@pytest.mark.parametrize("layout", ["fortran", "strided", "reversed", "swapped"])
@pytest.mark.parametrize("name", list(CASES))
def test_non_contiguous_inputs_match_contiguous(name, layout):
    f, shapes = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [rng.standard_normal(s) for s in shapes]
    expected = _run(f, arrays)
    views = [_layouts(a).get(layout, a) for a in arrays]
    assert any(not v.flags.c_contiguous for v in views)
    got = _run(f, views)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-12)
    for a, v in zip(arrays, views):
        np.testing.assert_array_equal(a, v)  # no op wrote into its inputs
