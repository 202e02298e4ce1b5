"""DataLoader's sampler protocol, collate_fn, arrays given directly, and batches as data."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.core import Variable


def xy(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    t = np.arange(n, dtype=np.int64)
    return x, t


class ListSampler:
    """The smallest sampler: fixed indices, with __len__."""

    def __init__(self, indices):
        self.indices = list(indices)

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


class EpochSampler(ListSampler):
    """A sampler whose order depends on the epoch it is told (as a distributed one does)."""

    def __init__(self, n):
        super().__init__(range(n))
        self.epochs = []

    def set_epoch(self, e):
        self.epochs.append(e)
        self.indices = np.random.default_rng(e).permutation(len(self.indices)).tolist()


@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_indices_form_consecutive_batches(drop_last):
    x, t = xy(10)
    order = [9, 0, 4, 4, 7, 2, 1]  # a subset, in the sampler's order, repeats allowed
    loader = data.DataLoader(data.ArrayDataset(x, t), batch_size=3, sampler=ListSampler(order), drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (2 if drop_last else 3)
    got = [b[1].numpy().tolist() for b in batches]
    assert got == ([[9, 0, 4], [4, 7, 2]] if drop_last else [[9, 0, 4], [4, 7, 2], [1]])
    np.testing.assert_array_equal(batches[0][0].numpy(), x[[9, 0, 4]])


def test_sampler_over_a_dataset_without_batch():
    class Items(data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.array([float(i)]), i

    (bx, bt), = data.DataLoader(Items(), batch_size=4, sampler=ListSampler([5, 3, 1]))
    assert bt.numpy().tolist() == [5, 3, 1] and bx.shape == (3, 1)


def test_sampler_set_epoch_gets_the_pass_number():
    x, t = xy(8)
    s = EpochSampler(8)
    loader = data.DataLoader(data.ArrayDataset(x, t), batch_size=8, sampler=s)
    passes = [next(iter(loader))[1].numpy().tolist() for _ in range(3)]
    assert s.epochs == [0, 1, 2]
    assert passes[0] == np.random.default_rng(0).permutation(8).tolist()
    assert passes[1] != passes[0]
    loader.set_epoch(10)  # resume
    assert next(iter(loader))[1].numpy().tolist() == np.random.default_rng(10).permutation(8).tolist()
    assert s.epochs[-1] == 10 and loader.epoch == 11
    with pytest.raises(ValueError, match="set_epoch"):
        loader.set_epoch(-1)


def test_sampler_misuse_is_reported():
    ds = data.ArrayDataset(*xy(5))
    with pytest.raises(ValueError, match="shuffle=True and sampler"):
        data.DataLoader(ds, shuffle=True, sampler=ListSampler([0]))
    with pytest.raises(TypeError, match="__len__"):
        data.DataLoader(ds, sampler=iter([0, 1]))
    with pytest.raises(IndexError, match="index 5 for a dataset of 5"):
        list(data.DataLoader(ds, batch_size=2, sampler=ListSampler([0, 5])))
    with pytest.raises(TypeError, match="int indices"):
        list(data.DataLoader(ds, batch_size=2, sampler=ListSampler([0.5, 1.0])))


def test_collate_fn_gets_the_examples_of_each_batch():
    x, t = xy(5)
    seen = []

    def collate(examples):
        seen.append(len(examples))
        xs = np.stack([e[0] for e in examples])
        return {"x": xs * 2, "n": len(examples)}

    out = list(data.DataLoader(data.ArrayDataset(x, t), batch_size=2, collate_fn=collate))
    assert seen == [2, 2, 1]
    np.testing.assert_array_equal(out[1]["x"], x[2:4] * 2)
    shuffled = list(data.DataLoader(data.ArrayDataset(x, t), batch_size=5, shuffle=True, rng=0, collate_fn=collate))
    np.testing.assert_array_equal(shuffled[0]["x"], x[np.random.default_rng(0).permutation(5)] * 2)
    with_sampler = list(data.DataLoader(data.ArrayDataset(x, t), batch_size=5, sampler=ListSampler([3, 1]),
                                        collate_fn=lambda ex: [e[1] for e in ex]))
    assert with_sampler == [[3, 1]]


def test_collate_fn_misuse():
    ds = data.ArrayDataset(*xy(3))
    with pytest.raises(TypeError, match="collate_fn"):
        data.DataLoader(ds, collate_fn=3)
    with pytest.raises(ValueError, match="collate_fn"):
        data.DataLoader(ds, collate_fn=data.default_collate, device="cpu")


def test_default_collate_matches_the_loader():
    x, t = xy(4)
    ds = data.ArrayDataset(x, t)
    a = data.default_collate([ds[i] for i in range(4)])
    (bx, bt), = data.DataLoader(ds, batch_size=4)
    assert all(isinstance(v, Variable) for v in a)
    np.testing.assert_array_equal(a[0].numpy(), bx.numpy())
    np.testing.assert_array_equal(a[1].numpy(), bt.numpy())
    with pytest.raises(ValueError, match="default_collate"):
        data.default_collate([])


def test_arrays_directly_are_one_call():
    x, t = xy(7)
    batches = list(data.DataLoader((x, t), batch_size=3))
    assert [b[0].shape for b in batches] == [(3, 2), (3, 2), (1, 2)]
    np.testing.assert_array_equal(batches[2][1].numpy(), t[6:])
    (only,), *_ = data.DataLoader(x, batch_size=4)
    np.testing.assert_array_equal(only.numpy(), x[:4])
    with pytest.raises(ValueError, match="differ in length"):
        data.DataLoader((x, t[:3]))
    with pytest.raises(TypeError, match="Dataset"):
        data.DataLoader(42)


def test_batches_do_not_require_grad():
    ds = data.ArrayDataset(*xy(4))
    for loader in (data.DataLoader(ds, batch_size=2), data.DataLoader(ds, batch_size=2, device="cpu"),
                   data.SeqDataLoader(ds, batch_size=2)):
        for b in loader:
            assert all(v.requires_grad is False for v in b)
    assert all(v.requires_grad is False for v in data.default_collate([ds[0]]))
    assert cr.Variable(np.zeros(2)).requires_grad is True  # only batches are marked


def test_unseeded_shuffle_follows_manual_seed():
    ds = data.ArrayDataset(np.arange(20))
    cr.manual_seed(3)
    a = [b.numpy().tolist() for (b,) in data.DataLoader(ds, batch_size=20, shuffle=True)]
    cr.manual_seed(3)
    b = [b.numpy().tolist() for (b,) in data.DataLoader(ds, batch_size=20, shuffle=True)]
    assert a == b and sorted(a[0]) == list(range(20))
    assert a[0] == np.random.default_rng(3).permutation(20).tolist()


def test_sampler_with_device_arrays_and_device_batches():
    import fake_device as fd

    x, t = xy(6)
    with fd.installed():
        on_host = data.DataLoader((x, t), batch_size=2, sampler=ListSampler([5, 1, 3]), device=fd.NAME)
        on_device = data.DataLoader((cr.Variable(x).to(fd.NAME), cr.Variable(t).to(fd.NAME)), batch_size=2,
                                    sampler=ListSampler([5, 1, 3]))
        for loader in (on_host, on_device):
            batches = list(loader)
            assert all(fd.is_fake(v) for b in batches for v in b)
            assert [b[1].numpy().tolist() for b in batches] == [[5, 1], [3]]
