"""Invalid arguments raise a TypeError naming the op (never truncated, parsed or ignored), and
every op converts its inputs first (lists, bools, integer images)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F

X = np.arange(12.0).reshape(3, 4)
IDX = np.zeros((3, 4), dtype=np.int64)
IMG = np.ones((1, 1, 4, 4))

BAD = [
    ("gather", lambda: F.gather(X, 1.5, IDX)),
    ("gather", lambda: F.gather(X, True, IDX)),
    ("take", lambda: F.take(X, [0], axis=0.5)),
    ("unsqueeze", lambda: F.unsqueeze(X, 1.7)),
    ("squeeze", lambda: F.squeeze(X[None], 1.5)),
    ("stack", lambda: F.stack([X, X], axis="0")),
    ("concat", lambda: F.concat([X, X], axis=0.0)),
    ("unstack", lambda: F.unstack(X, axis=None)),
    ("split", lambda: F.split(X, [1.9])),
    ("split", lambda: F.split(X, 2.0)),
    ("split", lambda: F.split(X, True)),
    ("chunk", lambda: F.chunk(X, 1.5)),
    ("swapaxes", lambda: F.swapaxes(X, 0, 1.0)),
    ("transpose", lambda: F.transpose(X, (1.0, 0))),
    ("flip", lambda: F.flip(X, 0.5)),
    ("flatten", lambda: F.flatten(X, 0.5)),
    ("tril", lambda: F.tril(X, 0.5)),
    ("triu", lambda: F.triu(X, "1")),
    ("reshape", lambda: F.reshape(X, None)),
    ("reshape", lambda: F.reshape(X, "12")),
    ("broadcast_to", lambda: F.broadcast_to(X, None)),
    ("expand", lambda: F.expand(X, "34")),
    ("sum_to", lambda: F.sum_to(X, None)),
    ("sum", lambda: F.sum(X, 1.0)),
    ("mean", lambda: F.mean(X, "0")),
    ("max", lambda: F.max(X, True)),
    ("var", lambda: F.var(X, ddof=1.5)),
    ("softmax", lambda: F.softmax(X, 1.0)),
    ("log_softmax", lambda: F.log_softmax(X, "1")),
    ("argmax", lambda: F.argmax(X, 0.5)),
    ("where", lambda: F.where("yes", X, 0.0)),
    ("where", lambda: F.where("yes", X, X)),
    ("where", lambda: F.where("yes", 1.0, 0.0)),
    ("masked_fill", lambda: F.masked_fill(X, "yes", 0.0)),
    ("masked_fill", lambda: F.masked_fill(X, X > 1, "a")),
    ("conv2d", lambda: F.conv2d(IMG, np.ones((1, 1, 2, 2)), stride=(1.5, 1))),
    ("conv2d", lambda: F.conv2d(IMG, np.ones((1, 1, 2, 2)), padding=0.5)),
    ("max_pool2d", lambda: F.max_pool2d(IMG, (2, 2.5))),
    ("avg_pool2d", lambda: F.avg_pool2d(IMG, 2, stride="1")),
    ("adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(IMG, 2.5)),
    ("adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(IMG, (2, 1.5))),
]


@pytest.mark.parametrize("op,call", BAD, ids=[f"{op}-{i}" for i, (op, _) in enumerate(BAD)])
def test_invalid_argument_is_a_type_error_naming_the_op(op, call):
    with pytest.raises(TypeError, match=rf"^{op}: "):
        call()


def test_numpy_integers_are_integers():
    v = cr.Variable(X)
    assert F.gather(v, np.int64(1), IDX).shape == (3, 4)
    assert F.unsqueeze(v, np.int32(0)).shape == (1, 3, 4)
    assert F.stack([v, v], axis=np.int64(1)).shape == (3, 2, 4)
    assert [p.shape for p in F.split(v, np.int64(3))] == [(1, 4)] * 3
    assert [p.shape for p in F.split(v, np.array([1, 2]))] == [(1, 4)] * 3
    assert F.sum(v, np.int8(0)).shape == (4,)
    assert F.squeeze(F.unsqueeze(v, 0), (np.int64(0),)).shape == (3, 4)
    assert F.adaptive_avg_pool2d(IMG, np.int64(2)).shape == (1, 1, 2, 2)


def test_softmax_of_a_list_and_of_bools():
    np.testing.assert_allclose(F.softmax([1.0, 2.0]).data, [0.2689414213699951, 0.7310585786300049])
    np.testing.assert_allclose(F.log_softmax([[1.0, 2.0]]).data, [[-1.3132616875182228, -0.3132616875182228]])
    np.testing.assert_allclose(F.softmax(np.array([True, False])).data, [0.7310585786300049, 0.2689414213699951])
    np.testing.assert_allclose(F.log_softmax(np.array([True, False])).data, np.log([0.7310585786300049,
                                                                                   0.2689414213699951]))
    np.testing.assert_allclose(F.sigmoid(np.array([True, False])).data, [0.7310585786300049, 0.5])


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64])
def test_max_pool2d_with_padding_on_integer_images(dtype):
    img = np.random.default_rng(0).integers(0, 200, (2, 3, 5, 5)).astype(dtype)
    y = F.max_pool2d(img, 3, stride=2, padding=1)
    ref = F.max_pool2d(img.astype(np.float64), 3, stride=2, padding=1)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, ref.data.astype(dtype))


def test_bool_variable_feeds_float_ops_with_gradients_for_the_float_input():
    b = cr.Variable(np.array([True, False, True]))
    x = cr.Variable(np.array([0.5, -1.0, 2.0]))
    y = F.sum(F.sigmoid(b) * x + F.softmax(b) * x - b * x + (1.0 - b) * x)
    gx, = cr.gradients([y], [x])
    p = np.exp([1.0, 0.0, 1.0]) / np.exp([1.0, 0.0, 1.0]).sum()
    np.testing.assert_allclose(gx.data, 1 / (1 + np.exp(-np.array([1.0, 0.0, 1.0]))) + p - [1, 0, 1] + [0, 1, 0])


ALIASES = {"rdiv": "div", "rsub": "sub", "sub_scalar": "add_scalar", "swish": "silu", "cat": "concat",
           "cross_entropy": "softmax_cross_entropy", "mse_loss": "mean_squared_error",
           "expand_dims": "unsqueeze", "expand": "expand"}
ARRAY_HELPERS = {"normalize_axis", "sum_to_array", "im2col_array", "col2im_array", "conv_output_size", "blas_sum"}
GOOD_ARGS = {"axis": 0, "shape": (2,), "t": np.array([0]), "ids": np.array([0]), "index": np.array([[0]]), "n": 2,
             "indices_or_sections": 1, "kernel_size": 1, "output_size": 1, "device": "cpu", "dtype": np.float32,
             "input_size": (1, 1), "params": [np.ones((1, 1))] * 4, "indices": [0], "c": 1.0, "value": 0.0,
             "mask": np.array([True]), "cond": np.array([True])}


def _public_ops():
    import inspect

    for name in sorted(dir(F)):
        f = getattr(F, name)
        if name.startswith("_") or name in ARRAY_HELPERS or inspect.isclass(f) or inspect.ismodule(f) or not callable(f):
            continue
        yield name


@pytest.mark.parametrize("bad", ["abc", None], ids=["str", "None"])
@pytest.mark.parametrize("name", list(_public_ops()))
def test_every_op_names_itself_when_its_input_is_not_an_array(name, bad):
    import inspect

    f = getattr(F, name)
    params = [p for p in inspect.signature(f).parameters.values()
              if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    args = [GOOD_ARGS.get(p.name, np.ones((1, 1))) for p in params]
    if name in ("where",):
        args[1] = bad  # the condition may be anything numeric; the values may not
    else:
        args[0] = [bad] if name in ("concat", "cat", "stack") else bad
    with pytest.raises((TypeError, ValueError)) as info:
        f(*args)
    msg = str(info.value).lower().replace("_", "")
    assert msg.startswith(ALIASES.get(name, name).replace("_", "")), str(info.value)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.bool_])
def test_average_pooling_of_integer_images_is_a_float_average(dtype):
    img = (np.arange(32).reshape(1, 2, 4, 4) % 7).astype(dtype)
    ref = img.astype(np.float64)
    for f in (lambda a: F.avg_pool2d(a, 2), lambda a: F.avg_pool2d(a, 3, 1, 1, count_include_pad=False),
              lambda a: F.adaptive_avg_pool2d(a, (2, 3))):
        y = f(img)
        assert y.dtype == np.float64
        np.testing.assert_allclose(y.data, f(ref).data, rtol=1e-15)
