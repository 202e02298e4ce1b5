"""Constructors (core/creation.py) against NumPy, dtype names and the default dtype."""
import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def float32_default():
    cr.set_default_dtype(cr.float32)
    try:
        yield
    finally:
        cr.set_default_dtype(cr.float64)


@pytest.mark.parametrize("make, ref", [
    (lambda: cr.zeros(2, 3), np.zeros((2, 3))),
    (lambda: cr.zeros((2, 3)), np.zeros((2, 3))),
    (lambda: cr.ones([4]), np.ones(4)),
    (lambda: cr.zeros(), np.zeros(())),
    (lambda: cr.ones(0, 3), np.ones((0, 3))),
    (lambda: cr.full((2, 2), 7.5), np.full((2, 2), 7.5)),
    (lambda: cr.full(3, -1), np.full(3, -1.0)),
    (lambda: cr.eye(3), np.eye(3)),
    (lambda: cr.eye(2, 4, 1), np.eye(2, 4, 1)),
    (lambda: cr.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25)),
    (lambda: cr.arange(5), np.arange(5)),
    (lambda: cr.arange(2, 11, 3), np.arange(2, 11, 3)),
    (lambda: cr.arange(1, 4.0), np.arange(1, 4.0)),
    (lambda: cr.linspace(-1, 1, 5), np.linspace(-1, 1, 5)),
    (lambda: cr.linspace(0, 1, 0), np.linspace(0, 1, 0)),
])
def test_constructors_match_numpy(make, ref):
    v = make()
    assert isinstance(v, cr.Variable)
    assert v.shape == ref.shape and v.dtype == ref.dtype
    np.testing.assert_array_equal(v.numpy(), ref)


def test_integer_arange_is_int64_and_float_arange_is_the_default():
    assert cr.arange(3).dtype == cr.int64
    assert cr.arange(3.0).dtype == cr.float64
    assert cr.arange(3, dtype=cr.float32).dtype == np.float32


def test_rand_randn_take_pytorch_and_numpy_shapes():
    # the old signature took randn(2, 3) as shape (2,) seeded with 3
    assert cr.randn(2, 3).shape == (2, 3)
    assert cr.rand(2, 3, 4).shape == (2, 3, 4)
    assert cr.randn((2, 3)).shape == (2, 3)
    assert cr.randn([5]).shape == (5,)
    assert cr.randn().shape == ()
    assert cr.rand(0, 2).shape == (0, 2)
    np.testing.assert_array_equal(cr.randn(2, 3, rng=5).numpy(), np.random.default_rng(5).standard_normal((2, 3)))
    np.testing.assert_array_equal(cr.rand(4, rng=5).numpy(), np.random.default_rng(5).random(4))


def test_rand_randn_dtype_casts_the_same_draws():
    a = cr.randn(3, 4, rng=1, dtype=cr.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a.numpy(), cr.randn(3, 4, rng=1).numpy().astype(np.float32))
    assert cr.rand(2, rng=const_source(), dtype=np.float32).dtype == np.float32


def const_source():
    return cr.random.const(1, 2)


def test_positional_rng_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"randn: .*keyword"):
        cr.randn((2, 3), 0)
    with pytest.raises(TypeError):
        cr.rand((2,), 7)  # rng and dtype are keyword-only
    with pytest.raises(TypeError, match="rand: the shape must be integers"):
        cr.rand(2.5)
    with pytest.raises(ValueError, match=r"zeros: negative dimension in shape \(2, -1\)"):
        cr.zeros(2, -1)
    with pytest.raises(TypeError, match="rng"):
        cr.randn(2, rng="seed")


def test_bad_ranges():
    with pytest.raises(ValueError, match="arange: step"):
        cr.arange(0, 3, 0)
    with pytest.raises(TypeError, match="arange"):
        cr.arange("3")
    with pytest.raises(ValueError, match="linspace"):
        cr.linspace(0, 1, -1)


def test_like_constructors_keep_shape_and_dtype():
    x = cr.Variable(np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2])  # non-contiguous
    z = cr.zeros_like(x)
    assert z.shape == (2, 2) and z.dtype == np.float32 and not z.numpy().any()
    o = cr.ones_like(x.numpy(), dtype=cr.float64)
    assert o.dtype == np.float64 and o.numpy().sum() == 4


def test_tensor_copies_and_casts():
    a = np.arange(3.0)
    t = cr.tensor(a)
    a[0] = 100.0
    assert t.numpy()[0] == 0.0  # a copy, unlike Variable(a)
    assert t.creator is None
    assert cr.tensor([1, 2]).dtype == np.float64
    i = cr.tensor([2 ** 60 + 1], dtype=cr.int64)
    assert i.dtype == np.int64 and int(i.numpy()[0]) == 2 ** 60 + 1  # not rounded through float64
    assert cr.tensor(a, dtype=cr.float32).dtype == np.float32
    assert cr.tensor(cr.variable(1.5), name="w").name == "w"
    assert cr.tensor([1.0]).requires_grad is True
    assert cr.tensor([1.0], requires_grad=False).requires_grad is False
    with pytest.raises(TypeError, match="tensor"):
        cr.tensor("abc")
    with pytest.raises(TypeError, match="tensor"):
        cr.tensor([[1, 2], [3]], dtype=cr.float32)


def test_dtype_names():
    assert cr.float32 == np.float32 and cr.float64 == np.float64
    assert cr.int64 == np.int64 and cr.bool == np.bool_ and cr.bool_ == np.bool_
    assert cr.zeros(2, dtype=cr.bool).dtype == np.bool_
    assert bool(1) is True  # cr.bool shadows nothing outside the package namespace


def test_default_dtype_reaches_numbers_lists_and_constructors(float32_default):
    assert cr.get_default_dtype() == np.float32
    assert cr.Variable(1.0).dtype == np.float32
    assert cr.Variable([1, 2]).dtype == np.float32
    assert cr.variable(0.5).dtype == np.float32 and cr.variable(1.0, 2.0).dtype == np.float32
    assert cr.as_variable(3).dtype == np.float32
    for v in (cr.zeros(2), cr.ones(2), cr.full(2, 1.0), cr.eye(2), cr.arange(0.0, 1.0, 0.5),
              cr.linspace(0, 1, 3), cr.rand(2), cr.randn(2), cr.tensor([1.0])):
        assert v.dtype == np.float32, v
    assert cr.arange(3).dtype == np.int64  # integer ranges stay integer
    assert cr.Variable(np.zeros(2)).dtype == np.float64  # arrays keep their dtype


def test_default_dtype_is_float64_and_only_floating():
    assert cr.get_default_dtype() == np.float64
    with pytest.raises(TypeError, match="floating"):
        cr.set_default_dtype(cr.int64)
    with pytest.raises(TypeError, match="set_default_dtype"):
        cr.set_default_dtype(None)
    with pytest.raises(TypeError, match="set_default_dtype"):
        cr.set_default_dtype("no such dtype")
    assert cr.get_default_dtype() == np.float64


def test_device_argument_cpu():
    assert cr.randn(2, device="cpu").device == "cpu"
    assert cr.arange(3, device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        cr.zeros(2, device="tpu")


def test_constructors_on_a_device_stay_there():
    import fake_device as fd

    with fd.installed():
        made = [cr.zeros(2, 3, device=fd.NAME), cr.ones(2, device=fd.NAME), cr.full(2, 3.0, device=fd.NAME),
                cr.eye(2, device=fd.NAME), cr.arange(4, device=fd.NAME), cr.linspace(0, 1, 3, device=fd.NAME),
                cr.rand(2, 2, rng=0, device=fd.NAME), cr.randn(3, rng=0, device=fd.NAME),
                cr.tensor([1.0, 2.0], device=fd.NAME)]
        assert all(fd.is_fake(v) for v in made)
        like = cr.zeros_like(made[0])
        assert fd.is_fake(like) and like.shape == (2, 3)
        copy = cr.tensor(made[7])
        assert fd.is_fake(copy) and copy.data is not made[7].data
        np.testing.assert_array_equal(made[7].numpy(), np.random.default_rng(0).standard_normal(3))
        y = made[7].exp().softmax(0).clone().view(3, 1)
        assert fd.is_fake(y)
