"""Ready-made data sets, generated or bundled (nothing is downloaded)."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..random import get_rng
from .dataset import ArrayDataset

__all__ = ["digits", "sine_curve", "spiral"]


def sine_curve(N: int = 1000, noise: float = 0.05, rng: Any = None) -> ArrayDataset:
    """The reference lstm program's data: ``y = sin(x) + U[-noise, noise)`` on ``N`` points of
    ``linspace(0, 2*pi, N)``; examples ``(y[i], y[i+1])``, i.e. data ``(N-1,)``, label ``(N-1,)``
    float64. The noise is ``rng.random(N) * 2*noise - noise`` (what ``Generator.uniform`` draws)."""
    if N < 2:
        raise ValueError(f"sine_curve: N must be >= 2, got {N}")
    xs = np.linspace(0.0, 2.0 * np.pi, int(N))
    u = np.asarray(get_rng(rng).random((int(N),)), dtype=np.float64)
    ys = np.sin(xs) + (u * (2.0 * noise) - noise)
    return ArrayDataset(ys[:-1], ys[1:])


def spiral(n: int = 100, classes: int = 3, rng: Any = None) -> ArrayDataset:
    """``classes`` interleaved spiral arms of ``n`` points each: x ``(n*classes, 2)`` float64,
    t ``(n*classes,)`` int64 (class-major order; shuffle with the DataLoader)."""
    if n < 1 or classes < 1:
        raise ValueError(f"spiral: n and classes must be >= 1, got n={n}, classes={classes}")
    rate = np.arange(n) / n                                     # (n,)
    cls = np.arange(classes)[:, None]                           # (classes, 1)
    jitter = np.asarray(get_rng(rng).standard_normal((classes, n)), dtype=np.float64)
    theta = cls * 4.0 + 4.0 * rate + 0.2 * jitter               # (classes, n)
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=-1).reshape(-1, 2)
    t = np.repeat(np.arange(classes, dtype=np.int64), n)
    return ArrayDataset(x, t)


@functools.lru_cache(maxsize=4)
def _digits_arrays(dtype_name: str) -> tuple:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn, which is not installed: "
                          "pip install chainrule[data]  (or pip install scikit-learn)") from None
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(dtype_name)
    y = y.astype(np.int64)
    idx = np.random.default_rng(0).permutation(len(x))
    x, y = x[idx], y[idx]
    for a in (x, y):
        a.flags.writeable = False
    return x, y


def digits(split: str = "train", dtype: Any = np.float32, n_train: int = 1500) -> ArrayDataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images): x ``(N, 64)`` scaled to
    [0, 1], t ``(N,)`` int64 in 0..9. Shuffled with ``default_rng(0).permutation``; the first
    ``n_train`` are ``split="train"``, the rest ``"test"`` (``"all"``: every image)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"digits: split must be 'train', 'test' or 'all', got {split!r}")
    x, y = _digits_arrays(np.dtype(dtype).name)
    if split == "train":
        return ArrayDataset(x[:n_train], y[:n_train])
    if split == "test":
        return ArrayDataset(x[n_train:], y[n_train:])
    return ArrayDataset(x, y)
