"""``CNN``: a small convolutional classifier for small images (e.g. the 8x8 digits)."""
from __future__ import annotations

from typing import Any

from .. import functions as F
from ..core.variable import Variable
from ..layers.conv import Conv2d, MaxPool2d
from ..layers.linear import Linear
from ..random import get_rng
from .base import Model

__all__ = ["CNN", "train_cnn_digits"]


class CNN(Model):
    """conv3x3(C -> c1, pad 1)-ReLU -> conv3x3(c1 -> c2, pad 1)-ReLU -> maxpool2 -> Linear(hidden)-ReLU
    -> Linear(n_classes).

    ``x`` (N, C, H, W) -> logits (N, n_classes); the input channels and the flattened size are
    taken from the first input (lazy initialisation), every weight drawn in order from ``rng``.
    Layers: ``conv1``, ``conv2``, ``pool``, ``fc1``, ``fc2``.
    """

    def __init__(self, n_classes: int = 10, channels: tuple = (16, 32), hidden: int = 64, rng: Any = None,
                 dtype: Any = None):
        super().__init__()
        rng = get_rng(rng)
        c1, c2 = channels
        self.conv1 = Conv2d(c1, 3, padding=1, dtype=dtype, rng=rng)
        self.conv2 = Conv2d(c2, 3, padding=1, dtype=dtype, rng=rng)
        self.pool = MaxPool2d(2)
        self.fc1 = Linear(hidden, dtype=dtype, rng=rng)
        self.fc2 = Linear(n_classes, dtype=dtype, rng=rng)

    def forward(self, x: Any) -> Variable:
        h = F.relu(self.conv1(x))
        h = self.pool(F.relu(self.conv2(h)))
        h = h.reshape(h.shape[0], -1)
        return self.fc2(F.relu(self.fc1(h)))


def train_cnn_digits(epochs: int = 20, batch_size: int = 32, lr: float = 2e-3, seed: int = 0,
                     log: Any = None) -> tuple:
    """Train ``CNN`` on scikit-learn's 8x8 digits (``data.digits``: 1500 train / 297 test images)
    with Adam and a cosine learning-rate decay over the epochs; returns ``(model, test_accuracy)``. ``log(epoch, mean_loss, seconds)`` is called
    after every epoch when given. Needs scikit-learn."""
    import time

    import numpy as np

    from .. import data, optim
    from ..core.config import no_grad, test_mode

    train, test = data.digits("train"), data.digits("test")
    rng = np.random.default_rng(seed)
    model = CNN(rng=rng)
    opt = optim.Adam(lr=lr)
    schedule = optim.CosineLR(opt, t_max=epochs)
    loader = data.DataLoader(train, batch_size=batch_size, shuffle=True, rng=rng)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        total = 0.0
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x.reshape(-1, 1, 8, 8)), t)
            model.cleargrads()
            loss.backward()
            opt.update(model)
            total += loss.item() * len(x)
        schedule.step()
        if log is not None:
            log(epoch + 1, total / len(train), time.perf_counter() - t0)
    xt, tt = test.arrays
    with no_grad(), test_mode():
        logits = model(xt.reshape(-1, 1, 8, 8))
    return model, float((logits.numpy().argmax(axis=1) == tt).mean())
