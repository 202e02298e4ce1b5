"""Datasets and loaders: batching, shuffling, the reference program's sequence loader, data sets."""
import sys

import numpy as np
import pytest

from chainrule import data
from chainrule.core import Variable
from chainrule.data import datasets as datasets_module


def xy(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    t = np.arange(n, dtype=np.int64) % 3
    return x, t


def test_array_dataset_basics():
    x, t = xy()
    ds = data.ArrayDataset(Variable(x), t)
    assert len(ds) == 10
    xi, ti = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert ti == t[3]
    bx, _bt = ds.batch(np.array([4, 1]))
    np.testing.assert_array_equal(bx, x[[4, 1]])
    with pytest.raises(ValueError, match=r"\(10, 2\).*\(9,\)"):
        data.ArrayDataset(x, t[:9])


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_in_order(drop_last):
    x, t = xy(10)
    loader = data.DataLoader(data.ArrayDataset(x, t), batch_size=4, drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (2 if drop_last else 3)
    assert all(isinstance(v, Variable) for b in batches for v in b)
    assert [b[0].shape[0] for b in batches] == ([4, 4] if drop_last else [4, 4, 2])
    n = 8 if drop_last else 10
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), x[:n])
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), t[:n])
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


def test_loader_shuffle_is_a_permutation_per_epoch_and_seeded():
    x, t = xy(10)
    loader = data.DataLoader(data.ArrayDataset(x, t), batch_size=3, shuffle=True, rng=0)
    first, second = (np.concatenate([b[0].data[:, 0] for b in loader]) for _ in range(2))
    np.testing.assert_array_equal(first, x[np.random.default_rng(0).permutation(10), 0])
    np.testing.assert_array_equal(np.sort(second), x[:, 0])
    assert not np.array_equal(first, second)  # a new permutation each epoch
    for bx, bt in loader:  # examples stay paired with their labels
        np.testing.assert_array_equal(bt.data, (bx.data[:, 0] // 2).astype(np.int64) % 3)


class UniformOnly:
    """A random source with only random/standard_normal (like the reference-stream source)."""

    def __init__(self):
        self.g = np.random.default_rng(5)

    def random(self, shape):
        return self.g.random(shape)

    def standard_normal(self, shape):
        return self.g.standard_normal(shape)


def test_loader_shuffle_with_a_source_without_permutation():
    x, t = xy(7)
    loader = data.DataLoader(data.ArrayDataset(x, t), batch_size=7, shuffle=True, rng=UniformOnly())
    (bx, _bt), = list(loader)
    assert sorted(bx.data[:, 0].tolist()) == sorted(x[:, 0].tolist())


class CountingDataset(data.ArrayDataset):
    def __init__(self, *a):
        super().__init__(*a)
        self.item_calls = 0

    def __getitem__(self, i):
        self.item_calls += 1
        return super().__getitem__(i)


def test_array_backed_batches_are_vectorised():
    ds = CountingDataset(*xy(12))
    for _ in data.DataLoader(ds, batch_size=5, shuffle=True, rng=1):
        pass
    assert ds.item_calls == 0


class Squares(data.Dataset):
    """A dataset without batch(): examples built one at a time."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float64), i % 2


def test_generic_dataset_is_stacked_and_moved_to_device():
    batches = list(data.DataLoader(Squares(), batch_size=2, device="cpu"))
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1][0].data, [[2, 4], [3, 9]])
    np.testing.assert_array_equal(batches[1][1].data, [0, 1])


def test_loader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(data.ArrayDataset(*xy()), batch_size=0)


def torch_program_curve(N, noise, seed):
    """The anchor program's data (shared/bench/lstm_seed_torch.py)."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(0, 2 * np.pi, N)
    ys = np.sin(xs) + rng.uniform(-noise, noise, N)
    return ys[:-1], ys[1:]


def test_sine_curve_matches_the_reference_program():
    ds = data.sine_curve(N=1000, noise=0.05, rng=0)
    d, l = torch_program_curve(1000, 0.05, 0)
    assert len(ds) == 999
    np.testing.assert_array_equal(ds.arrays[0], d)
    np.testing.assert_array_equal(ds.arrays[1], l)
    np.testing.assert_array_equal(ds.arrays[0][1:], ds.arrays[1][:-1])
    xs = np.linspace(0, 2 * np.pi, 1000)[:-1]
    assert np.abs(ds.arrays[0] - np.sin(xs)).max() <= 0.05


def test_seq_loader_consecutive_chunks():
    ds = data.sine_curve(N=100, rng=3)
    loader = data.SeqDataLoader(ds, batch_size=30)
    d, l = ds.arrays
    for _ in range(2):  # every epoch starts again at the beginning
        batches = list(loader)
        assert len(batches) == len(loader) == 3  # 99 // 30: the short tail is dropped
        for k, (x, t) in enumerate(batches):
            assert x.shape == t.shape == (30, 1)
            np.testing.assert_array_equal(x.data[:, 0], d[k * 30:(k + 1) * 30])
            np.testing.assert_array_equal(t.data[:, 0], l[k * 30:(k + 1) * 30])


def test_spiral():
    ds = data.spiral(n=50, classes=4, rng=0)
    x, t = ds.arrays
    assert x.shape == (200, 2) and t.shape == (200,) and t.dtype == np.int64
    assert np.bincount(t).tolist() == [50] * 4
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius, np.tile(np.arange(50) / 50, 4), atol=1e-12)
    np.testing.assert_array_equal(data.spiral(n=50, classes=4, rng=0).arrays[0], x)
    assert not np.array_equal(data.spiral(n=50, classes=4, rng=1).arrays[0], x)


def test_digits_split_matches_the_benchmark():
    sk = pytest.importorskip("sklearn.datasets")
    X, y = sk.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(X))
    train, test = data.digits("train"), data.digits("test")
    assert len(train) == 1500 and len(test) == len(X) - 1500
    np.testing.assert_array_equal(train.arrays[0], X[idx[:1500]])
    np.testing.assert_array_equal(test.arrays[1], y[idx[1500:]])
    assert train.arrays[0].dtype == np.float32 and train.arrays[1].dtype == np.int64
    with pytest.raises(ValueError, match="split"):
        data.digits("validation")


def test_digits_without_sklearn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    datasets_module._digits_arrays.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install chainrule\[data\]"):
            data.digits("train")
    finally:
        datasets_module._digits_arrays.cache_clear()
