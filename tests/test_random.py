"""chainrule.random: the ``const`` source must reproduce Go's math/rand/v2 PCG streams exactly.

The reference values below come from Go's own tests (``math/rand/v2/pcg_test.go``,
``normal.go`` tables) and the reference library's ``rand.Const()`` example; everything else is
checked against a deliberately slow, independent re-implementation written here with Python's
arbitrary-precision integers, one draw at a time.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.random import PCGSource, const, get_rng

# ----- a slow reference: Go's PCG-DXSM, Float64 and NormFloat64, one scalar at a time -----
MASK64 = 2 ** 64 - 1


class SlowPCG:
    MUL = 2549297995355413924 * 2 ** 64 + 4865540595714422341
    INC = 6364136223846793005 * 2 ** 64 + 1442695040888963407

    def __init__(self, seed1: int, seed2: int):
        self.state = seed1 * 2 ** 64 + seed2

    def uint64(self) -> int:
        self.state = (self.state * self.MUL + self.INC) % 2 ** 128
        hi, lo = divmod(self.state, 2 ** 64)
        hi ^= hi >> 32
        hi = (hi * 0xDA942042E4DD58B5) % 2 ** 64
        hi ^= hi >> 48
        return (hi * (lo | 1)) % 2 ** 64

    def float64(self) -> float:
        return (self.uint64() % 2 ** 53) / 2 ** 53


def slow_tables() -> tuple:
    """Marsaglia & Tsang (2000), 128 strips, written out independently of the library."""
    r = 3.442619855899
    v = 9.91256303526217e-3
    q = v / math.exp(-0.5 * r * r)
    k = [0] * 128
    w = [0.0] * 128
    f = [0.0] * 128
    k[0] = int(r / q * 2 ** 31)
    w[0], w[127] = q / 2 ** 31, r / 2 ** 31
    f[0], f[127] = 1.0, math.exp(-0.5 * r * r)
    prev = r
    for idx in range(126, 0, -1):
        x = math.sqrt(-2 * math.log(v / prev + math.exp(-0.5 * prev * prev)))
        k[idx + 1] = int(x / prev * 2 ** 31)
        prev = x
        f[idx] = math.exp(-0.5 * x * x)
        w[idx] = x / 2 ** 31
    to32 = lambda vals: [float(np.float32(t)) for t in vals]
    return k, to32(w), to32(f)


K, W, FN = slow_tables()


def slow_normal(g: SlowPCG, stats: dict) -> float:
    while True:
        u = g.uint64()
        j = u % 2 ** 32
        j = j - 2 ** 32 if j >= 2 ** 31 else j
        i = (u >> 32) % 128
        x = j * W[i]
        if abs(j) < K[i]:
            return x
        stats["slow"] = stats.get("slow", 0) + 1
        if i == 0:
            stats["tail"] = stats.get("tail", 0) + 1
            while True:
                x = -math.log(g.float64()) / 3.442619855899
                y = -math.log(g.float64())
                if 2 * y >= x * x:
                    break
            return 3.442619855899 + x if j > 0 else -3.442619855899 - x
        f32 = np.float32
        lhs = f32(FN[i]) + f32(g.float64()) * (f32(FN[i - 1]) - f32(FN[i]))
        if lhs < f32(math.exp(-0.5 * x * x)):
            return x
        stats["rejected"] = stats.get("rejected", 0) + 1


# ----- Go's published values -----
def test_pcg_matches_go_test_vector():
    want = [0xc4f5a58656eef510, 0x9dcec3ad077dec6c, 0xc8d04605312f8088, 0xcbedc0dcb63ac19a,
            0x3bf98798cae97950, 0xa8c6d7f8d485abc, 0x7ffa3780429cd279, 0x730ad2626b1c2f8e,
            0x21ff2330f4a0ad99, 0x2f0901a1947094b0, 0xa9735a3cfbe36cef, 0x71ddb0a01a12c84a,
            0xf0e53e77a78453bb, 0x1f173e9663be1e9d, 0x657651da3ac4115e, 0xc8987376b65a157b,
            0xbb17008f5fca28e7, 0x8232bd645f29ed22, 0x12be8f07ad14c539, 0x54908a48e8e4736e]
    assert [const(1, 2).uint64() for _ in range(1)] == want[:1]
    s = const(1, 2)
    assert [s.uint64() for _ in range(3)] == want[:3]          # scalar path
    assert s.uint64(17).tolist() == want[3:]                   # vectorised path continues the stream
    assert SlowPCG(1, 2).uint64() == want[0]


def test_float64_matches_reference_library_const_examples():
    s = const()
    assert f"{s.random():.13f}" == "0.9999275824803"
    assert f"{s.random():.13f}" == "0.8856419373529"
    for seeds, want in [((1,), "0.2384231908739"), ((2,), "0.8269781200925"), ((3,), "0.8353847703964"),
                        ((1, 0), "0.2384231908739"), ((1, 1), "0.3402859786606"),
                        ((1, 2), "0.6764556596678")]:
        assert f"{const(*seeds).random():.13f}" == want


def test_ziggurat_tables_spot_check_against_go():
    # a few entries of kn/wn/fn as printed in Go's math/rand/v2/normal.go
    assert K[0] == 0x76ad2212 and K[1] == 0 and K[2] == 0x600f1b53 and K[127] == 0x77d664e5
    assert np.float32(W[0]) == np.float32(1.7290405e-09) and np.float32(W[127]) == np.float32(1.6030948e-09)
    assert np.float32(FN[1]) == np.float32(0.9635997) and np.float32(FN[127]) == np.float32(0.0026696292)


# ----- against the slow reference -----
@pytest.mark.parametrize("seeds", [(0, 0), (1, 2), (2 ** 63 + 5, 12345)])
def test_random_matches_slow_reference_row_major(seeds):
    g = SlowPCG(*seeds)
    want = np.array([g.float64() for _ in range(60)]).reshape(3, 4, 5)
    got = const(*seeds).random((3, 4, 5))
    assert got.dtype == np.float64 and got.shape == (3, 4, 5)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("seeds", [(0, 0), (13, 0)])
def test_standard_normal_matches_slow_reference(seeds):
    g = SlowPCG(*seeds)
    stats: dict = {}
    n = 3000
    want = np.array([slow_normal(g, stats) for _ in range(n)])
    # the sample must exercise the rare branches: wedge accept/reject and the tail
    assert stats.get("slow", 0) > 10 and stats.get("rejected", 0) > 0 and stats.get("tail", 0) > 0
    got = const(*seeds).standard_normal((n // 3, 3))
    assert np.array_equal(got.reshape(-1), want)
    # pieces drawn one after another continue the same stream, mixed with uniforms too
    s = const(*seeds)
    pieces = [s.standard_normal(5), np.array([s.standard_normal()]), s.standard_normal((n - 6,))]
    assert np.array_equal(np.concatenate(pieces), want)
    assert s.random() == g.float64()


def test_const_and_small_sizes():
    s = const(9)
    g = SlowPCG(9, 0)
    a = s.random(())
    assert a.shape == () and a.item() == g.float64()
    assert s.random(1)[0] == g.float64()
    assert s.standard_normal(0).shape == (0,)
    st: dict = {}
    assert s.standard_normal(2).tolist() == [slow_normal(g, st), slow_normal(g, st)]
    assert s.random(dtype=np.float64) == g.float64()
    assert const(9).random((2, 2), dtype=np.float32).dtype == np.float32


def test_state_round_trip_and_seed_validation():
    s = const(5, 6)
    s.random(10)
    t = PCGSource(*s.state)
    assert np.array_equal(s.standard_normal(50), t.standard_normal(50))
    with pytest.raises(TypeError):
        const(1.5)
    assert const(-1).state == (2 ** 64 - 1, 0)  # seeds are taken modulo 2**64, as uint64


def test_integers_and_permutation():
    s = const(3)
    v = s.integers(2, 9, size=(50,))
    assert v.dtype == np.int64 and v.min() >= 2 and v.max() < 9
    assert len(set(v.tolist())) > 3
    p = const(4).permutation(20)
    assert sorted(p.tolist()) == list(range(20)) and p.tolist() != list(range(20))
    assert np.array_equal(p, const(4).permutation(20))
    # Go's Shuffle: i from n-1 down to 1 swaps with uint64n(i + 1); a power-of-two bound masks
    g = SlowPCG(4, 0)
    want = list(range(4))
    for i in range(3, 0, -1):
        n = i + 1
        if n & (n - 1) == 0:
            j = g.uint64() & (n - 1)
        else:
            j = (g.uint64() * n) >> 64  # rejection is astronomically unlikely for n = 3
        want[i], want[j] = want[j], want[i]
    assert const(4).permutation(4).tolist() == want
    with pytest.raises(ValueError):
        s.integers(5, 5)


def test_get_rng():
    s = const()
    assert get_rng(s) is s
    assert isinstance(get_rng(3), np.random.Generator)
    assert np.array_equal(get_rng(3).random(4), np.random.default_rng(3).random(4))
    assert isinstance(get_rng(None), np.random.Generator)
    with pytest.raises(TypeError):
        get_rng(True)
    with pytest.raises(TypeError):
        get_rng("seed")


# ----- the default generator and manual_seed -----
def _unseeded_run() -> list:
    """Everything in the library that draws with ``rng=None``."""
    import chainrule as cr
    import chainrule.functions as F
    import chainrule.layers as L
    from chainrule import data

    eager = L.Linear(3, 4)
    lazy = L.Linear(2)
    lazy(np.ones((1, 5)))
    drop = L.Dropout(0.5)
    x = cr.Variable(np.ones((4, 6)))
    with cr.train_mode():
        masks = [drop(x).numpy(), F.dropout(x, 0.5).numpy(), F.dropout(x.data.astype(np.float32), 0.3).numpy()]
    loader = data.DataLoader(data.ArrayDataset(np.arange(10)), batch_size=4, shuffle=True)
    order = [b.numpy().tolist() for _ in range(2) for (b,) in loader]
    return [eager.w.numpy(), lazy.w.numpy(), cr.rand(3).numpy(), cr.randn(2, 2).numpy(), *masks,
            np.concatenate([np.asarray(o) for o in order])]


def test_manual_seed_makes_every_unseeded_draw_repeat():
    from chainrule import manual_seed

    manual_seed(1234)
    first = _unseeded_run()
    manual_seed(1234)
    second = _unseeded_run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    manual_seed(4321)
    third = _unseeded_run()
    assert not all(np.array_equal(a, b) for a, b in zip(first, third))


def test_manual_seed_gives_default_rng_stream_and_reseeds_in_place():
    from chainrule.random import default_generator, manual_seed

    g = default_generator()
    assert get_rng(None) is g  # one shared generator, not a fresh one per call
    held = get_rng(None)  # what a layer or loader keeps
    assert manual_seed(7) is g
    np.testing.assert_array_equal(held.random(5), np.random.default_rng(7).random(5))


def test_manual_seed_leaves_explicit_rng_alone():
    import chainrule as cr
    import chainrule.layers as L

    cr.manual_seed(0)
    a = L.Linear(3, 4, rng=11).w.numpy()
    cr.manual_seed(99)
    b = L.Linear(3, 4, rng=11).w.numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cr.randn(3, rng=const(1, 2)).numpy(), const(1, 2).standard_normal(3))


def test_manual_seed_rejects_bad_seeds():
    from chainrule.random import manual_seed

    with pytest.raises(TypeError, match="manual_seed"):
        manual_seed(1.5)
    with pytest.raises(TypeError, match="manual_seed"):
        manual_seed(True)
    with pytest.raises(ValueError, match="non-negative"):
        manual_seed(-1)
