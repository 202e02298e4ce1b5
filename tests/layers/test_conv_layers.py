"""Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d layers and the CNN model."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
import chainrule.layers as L
from chainrule import models
from chainrule.testing import gradcheck, gradgradcheck

rng = np.random.default_rng(6)


def test_conv2d_lazy_init_shapes_dtype_and_he_scale():
    layer = L.Conv2d(8, 3, padding=1, groups=2, rng=0)
    assert not layer.w.initialized and [p.initialized for p in layer.params()] == [False, False]
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    y = layer(x)
    assert y.shape == (2, 8, 5, 5) and y.dtype == np.float32
    assert layer.w.shape == (8, 2, 3, 3) and layer.b.shape == (8,) and layer.w.dtype == np.float32
    assert [n for n, _ in layer.named_params()] == ["w", "b"]
    big = L.Conv2d(64, 3, in_channels=32, rng=1)  # He normal: std = sqrt(2 / (32 * 9))
    assert big.w.shape == (64, 32, 3, 3) and big.w.dtype == np.float64
    assert abs(big.w.data.std() / np.sqrt(2 / 288) - 1) < 0.05


def test_conv2d_layer_equals_function_and_gradchecks():
    layer = L.Conv2d(3, (2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2), bias=True, rng=2)
    x = rng.standard_normal((1, 2, 5, 6))
    y = layer(x)
    ref = F.conv2d(x, layer.w, layer.b, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    np.testing.assert_array_equal(y.data, ref.data)
    layer.b.data = rng.standard_normal(3)

    def f(x, w, b):
        layer.w.data, layer.b.data = w.data, b.data  # finite differences perturb these arrays
        return F.conv2d(x, w, b, layer.stride, layer.padding, layer.dilation)

    gradcheck(f, x, layer.w.data.copy(), layer.b.data.copy())
    gradgradcheck(lambda v: layer(v) ** 2, x)


def test_conv2d_layer_backward_fills_param_grads():
    layer = L.Conv2d(4, 3, bias=False, rng=3)
    x = cr.Variable(rng.standard_normal((2, 3, 6, 6)))
    (layer(x) ** 2).sum().backward()
    assert layer.b is None and layer.w.grad.shape == layer.w.shape and x.grad.shape == x.shape


def test_conv_transpose2d_layer_shape_and_grads(device):
    layer = L.ConvTranspose2d(6, 3, stride=2, padding=1, output_padding=1, groups=2, rng=4).to(device)
    x = cr.get_backend(device).asarray(rng.standard_normal((2, 4, 3, 4)))
    y = layer(x)
    assert layer.w.shape == (4, 3, 3, 3) and y.shape == (2, 6, 6, 8)
    gradgradcheck(lambda v: layer(v) ** 2, x[:1])
    (y * y).sum().backward()
    assert layer.w.grad.shape == layer.w.shape and layer.b.grad.shape == (6,)


def test_conv_transpose2d_layer_matches_torch():
    torch = pytest.importorskip("torch")
    layer = L.ConvTranspose2d(4, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), rng=5)
    x = rng.standard_normal((2, 3, 4, 5))
    y = layer(x)
    ty = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(layer.w.data), torch.tensor(layer.b.data),
                                              stride=(2, 1), padding=(1, 0), output_padding=(1, 0))
    np.testing.assert_allclose(y.data, ty.numpy(), atol=1e-12)


def test_pool_layers_equal_functions():
    x = cr.Variable(rng.standard_normal((2, 3, 7, 6)))
    np.testing.assert_array_equal(L.MaxPool2d(3, 2, 1)(x).data, F.max_pool2d(x, 3, 2, 1).data)
    np.testing.assert_array_equal(L.AvgPool2d(2)(x).data, F.avg_pool2d(x, 2).data)
    np.testing.assert_array_equal(L.AvgPool2d(3, 1, 1, count_include_pad=False)(x).data,
                                  F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).data)
    np.testing.assert_array_equal(L.AdaptiveAvgPool2d((2, 3))(x).data, F.adaptive_avg_pool2d(x, (2, 3)).data)
    assert L.MaxPool2d(2).params() == [] and "kernel_size=(2, 2)" in repr(L.MaxPool2d(2))


def test_layer_errors():
    with pytest.raises(ValueError, match="Conv2d: out_channels"):
        L.Conv2d(0, 3)
    with pytest.raises(ValueError, match="Conv2d: out_channels=5 is not divisible by groups=2"):
        L.Conv2d(5, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: input must be 4-D.*\(3, 5, 5\)"):
        L.Conv2d(4, 3)(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match="Conv2d: in_channels=3 is not divisible by groups=2"):
        L.Conv2d(4, 3, groups=2)(np.zeros((1, 3, 5, 5)))
    layer = L.Conv2d(4, 3, rng=0)
    layer(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"Conv2d\(out_channels=4, in_channels=3.*input must be \(N, 3, H, W\), got shape \(1, 2, 5, 5\)"):
        layer(np.zeros((1, 2, 5, 5)))


def test_cnn_model_shapes_and_a_few_steps_reduce_loss():
    from chainrule import optim

    model = models.CNN(rng=0)
    x = rng.random((16, 1, 8, 8)).astype(np.float32)
    t = rng.integers(0, 10, 16)
    assert model(x).shape == (16, 10)
    names = [n for n, _ in model.named_params()]
    assert names == ["conv1.w", "conv1.b", "conv2.w", "conv2.b", "fc1.w", "fc1.b", "fc2.w", "fc2.b"]
    assert model.fc1.w.shape == (32 * 4 * 4, 64) and model.conv1.w.dtype == np.float32
    opt = optim.Adam(lr=1e-2)
    losses = []
    for _ in range(15):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update(model)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
