"""Random sources. Every ``rng=`` argument of the library accepts what ``get_rng`` accepts.

``const(seed, seed2)`` reproduces the reference library's ``rand.Const()`` streams bit for bit:
Go's ``math/rand/v2`` PCG generator (128-bit LCG state, DXSM output) with Go's ``Float64`` and
``NormFloat64`` (Marsaglia-Tsang ziggurat, 128 strips). Arrays are filled in row-major order,
one draw per element, exactly as a Go loop calling ``Float64()``/``NormFloat64()`` would.
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["PCGSource", "const", "default_generator", "get_rng", "manual_seed"]

# The generator behind every ``rng=None``: one object for the life of the process, reseeded in
# place by ``manual_seed`` so that layers and loaders holding it see the new stream.
_default = np.random.default_rng()


def default_generator() -> np.random.Generator:
    """The NumPy Generator that every ``rng=None`` draw of the library uses."""
    return _default


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator (and CuPy's global one when CuPy is loaded); returns it.

    Afterwards the default generator gives exactly ``numpy.random.default_rng(seed)``'s stream,
    so layer initialisation, ``rand``/``randn``, dropout and shuffling with ``rng=None`` repeat
    from run to run. Objects given their own ``rng=`` are not affected.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
    _default.bit_generator.state = np.random.PCG64(int(seed)).state
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.random.seed(int(seed) % (1 << 63))
    return _default


def get_rng(rng: Any = None) -> Any:
    """A source with ``random(shape)`` and ``standard_normal(shape)``.

    ``None``: the default generator (``default_generator()``, seeded by ``manual_seed``); an
    int: ``numpy.random.default_rng(seed)``; a NumPy ``Generator`` or any object with those two
    methods (e.g. ``const()``): itself.
    """
    if rng is None:
        return _default
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be an int seed or a random source, got {rng!r}")
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    if hasattr(rng, "random") and hasattr(rng, "standard_normal"):
        return rng
    raise TypeError(f"rng must be None, an int seed, a numpy Generator or a chainrule random source, "
                    f"got {type(rng).__name__}")


def const(seed: int = 0, seed2: int = 0) -> PCGSource:
    """The reference library's ``rand.Const(seed, seed2)``: Go's ``rand.NewPCG(seed, seed2)``.

    ``const().random((2, 3))`` equals six Go ``Float64()`` draws in row-major order;
    ``standard_normal`` likewise with ``NormFloat64()``.
    """
    return PCGSource(seed, seed2)


# ----- PCG-DXSM with a 128-bit multiplier, as in Go's math/rand/v2 -----
_M32 = (1 << 32) - 1
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_MUL = (2549297995355413924 << 64) | 4865540595714422341
_INC = (6364136223846793005 << 64) | 1442695040888963407
_CHEAP_MUL = 0xDA942042E4DD58B5
_U32 = np.uint64(32)
_U48 = np.uint64(48)
_U64_M32 = np.uint64(_M32)
_U64_CHEAP = np.uint64(_CHEAP_MUL)
_ONE = np.uint64(1)
_MANT = np.uint64((1 << 53) - 1)
_SCALAR_LIMIT = 8  # below this many draws a Python loop beats the vectorised path


def _dxsm(hi: int, lo: int) -> int:
    """Go's PCG output function on one 128-bit state (Python ints)."""
    hi ^= hi >> 32
    hi = (hi * _CHEAP_MUL) & _M64
    hi ^= hi >> 48
    return (hi * (lo | 1)) & _M64


def _mulhi64(x: np.ndarray, y: int) -> np.ndarray:
    """High 64 bits of the 128-bit products ``x * y`` (x a uint64 array, y a Python int)."""
    x0 = x & _U64_M32
    x1 = x >> _U32
    y0 = np.uint64(y & _M32)
    y1 = np.uint64(y >> 32)
    p00 = x0 * y0
    p01 = x0 * y1
    p10 = x1 * y0
    mid = (p00 >> _U32) + (p01 & _U64_M32) + (p10 & _U64_M32)
    return x1 * y1 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)


def _affine128(hi: np.ndarray, lo: np.ndarray, a: int, c: int) -> tuple:
    """``(a * state + c) mod 2**128`` for states split into uint64 arrays ``hi``, ``lo``."""
    a_lo = a & _M64
    a_hi = a >> 64
    new_lo = lo * np.uint64(a_lo)
    new_hi = _mulhi64(lo, a_lo) + hi * np.uint64(a_lo) + lo * np.uint64(a_hi)
    out_lo = new_lo + np.uint64(c & _M64)
    carry = (out_lo < new_lo).astype(np.uint64)
    out_hi = new_hi + np.uint64(c >> 64) + carry
    return out_hi, out_lo


def _ziggurat_tables() -> tuple:
    """Marsaglia & Tsang's tables for 128 strips (``kn`` uint32, ``wn``/``fn`` float32).

    Computed here in float64 and rounded as Go stores them; identical to Go's tables.
    """
    m1 = 2.0 ** 31
    dn = 3.442619855899
    tn = dn
    vn = 9.91256303526217e-3
    q = vn / math.exp(-0.5 * dn * dn)
    kn = [0] * 128
    wn = [0.0] * 128
    fn = [0.0] * 128
    kn[0] = int((dn / q) * m1)
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return np.array(kn, np.uint32), np.array(wn, np.float32), np.array(fn, np.float32)


_KN, _WN, _FN = _ziggurat_tables()
_KN64 = _KN.astype(np.int64)
_WN64 = _WN.astype(np.float64)
_KN_LIST = [int(k) for k in _KN]
_WN_LIST = [float(w) for w in _WN64]
_RN = 3.442619855899
_INV_RN = float(Fraction(1) / Fraction("3.442619855899"))  # Go folds 1.0/rn exactly, then rounds


def _size_args(size: Any) -> tuple:
    if size is None:
        return ()
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


class PCGSource:
    """Go's ``math/rand/v2`` PCG source with NumPy-style ``random`` and ``standard_normal``.

    Use ``const(seed, seed2)``. The state is two 64-bit words (``hi``, ``lo``) exactly as in
    ``rand.NewPCG(hi, lo)``; every method advances it by the draws it makes.
    """

    __slots__ = ("_state",)

    def __init__(self, seed: int = 0, seed2: int = 0):
        for s in (seed, seed2):
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"const: seeds must be integers, got {s!r}")
        self._state = ((int(seed) & _M64) << 64) | (int(seed2) & _M64)

    @property
    def state(self) -> tuple:
        """The state as ``(hi, lo)``; ``PCGSource(*src.state)`` continues the same stream."""
        return self._state >> 64, self._state & _M64

    def __repr__(self) -> str:
        hi, lo = self.state
        return f"PCGSource(state=({hi:#x}, {lo:#x}))"

    # ----- raw 64-bit draws -----
    def _next(self) -> int:
        s = (self._state * _MUL + _INC) & _M128
        self._state = s
        return _dxsm(s >> 64, s & _M64)

    def _states(self, n: int) -> tuple:
        """The next ``n`` states as uint64 arrays (hi, lo), without advancing the source."""
        hi = np.empty(n, np.uint64)
        lo = np.empty(n, np.uint64)
        s = (self._state * _MUL + _INC) & _M128
        hi[0] = s >> 64
        lo[0] = s & _M64
        a, c, b = _MUL, _INC, 1  # block of b states -> the next b: state * a + c
        while b < n:
            m = min(b, n - b)
            hi[b:b + m], lo[b:b + m] = _affine128(hi[:m], lo[:m], a, c)
            a, c = (a * a) & _M128, (a * c + c) & _M128
            b *= 2
        return hi, lo

    @staticmethod
    def _output(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        h = hi ^ (hi >> _U32)
        h = h * _U64_CHEAP
        h = h ^ (h >> _U48)
        return h * (lo | _ONE)

    def uint64(self, size: Any = None) -> Any:
        """Go's ``Uint64()`` draws (uint64 array of ``size``, or an int when size is None)."""
        shape = _size_args(size)
        if size is None:
            return self._next()
        n = math.prod(shape)
        if n == 0:
            return np.empty(shape, np.uint64)
        hi, lo = self._states(n)
        self._state = (int(hi[-1]) << 64) | int(lo[-1])
        return self._output(hi, lo).reshape(shape)

    # ----- Go's Float64 / NormFloat64 -----
    def _float64(self) -> float:
        return (self._next() & ((1 << 53) - 1)) / 9007199254740992.0

    def random(self, size: Any = None, dtype: Any = np.float64) -> Any:
        """Uniform [0, 1) samples (Go's ``Float64``): float64 array of ``size``, or a float."""
        if size is None:
            return self._float64()
        shape = _size_args(size)
        n = math.prod(shape)
        if n < _SCALAR_LIMIT:
            out = np.array([self._float64() for _ in range(n)], dtype=np.float64)
        else:
            out = (self.uint64(n) & _MANT).astype(np.float64) * (1.0 / 9007199254740992.0)
        return out.reshape(shape).astype(dtype, copy=False)

    def _normal_from(self, u: int) -> float:
        """Go's ``NormFloat64`` whose first 64-bit draw was ``u``; draws more as needed."""
        while True:
            j = u & _M32
            if j >= 1 << 31:
                j -= 1 << 32
            i = (u >> 32) & 0x7F
            x = j * _WN_LIST[i]
            if abs(j) < _KN_LIST[i]:
                return x
            if i == 0:  # the base strip: sample the tail beyond rn
                while True:
                    x = -math.log(self._float64()) * _INV_RN
                    y = -math.log(self._float64())
                    if y + y >= x * x:
                        break
                return _RN + x if j > 0 else -_RN - x
            f = _FN[i] + np.float32(self._float64()) * (_FN[i - 1] - _FN[i])  # float32, as Go
            if f < np.float32(math.exp(-0.5 * x * x)):
                return x
            u = self._next()

    def standard_normal(self, size: Any = None, dtype: Any = np.float64) -> Any:
        """Standard-normal samples (Go's ``NormFloat64``): float64 array of ``size``, or a float."""
        if size is None:
            return self._normal_from(self._next())
        shape = _size_args(size)
        n = math.prod(shape)
        out = np.empty(n, np.float64)
        filled = 0
        while filled < n:
            need = n - filled
            if need < _SCALAR_LIMIT:
                for k in range(filled, n):
                    out[k] = self._normal_from(self._next())
                break
            m = need + need // 16 + 16  # a little slack for the draws the slow path consumes
            hi, lo = self._states(m)
            u = self._output(hi, lo)
            j = (u & _U64_M32).astype(np.uint32).view(np.int32)
            i = (u >> _U32).astype(np.int64) & 0x7F
            x = j * _WN64[i]
            slow = np.flatnonzero(np.abs(j.astype(np.int64)) >= _KN64[i]).tolist()
            slow.append(m)
            pos = 0
            k = 0
            while filled < n and pos < m:
                while slow[k] < pos:
                    k += 1
                run = min(slow[k] - pos, n - filled)
                out[filled:filled + run] = x[pos:pos + run]
                filled += run
                pos += run
                if filled == n or pos == m:
                    break
                # a draw outside the fast region: finish it with scalar draws from this stream
                self._state = (int(hi[pos]) << 64) | int(lo[pos])
                before = self._state
                out[filled] = self._normal_from(int(u[pos]))
                filled += 1
                pos += 1 + _steps_between(before, self._state)
            if pos > m:
                continue  # the scalar path ran past the buffer: self._state is current
            self._state = (int(hi[pos - 1]) << 64) | int(lo[pos - 1])
        return out.reshape(shape).astype(dtype, copy=False)

    # ----- integers and permutations, as Go's Rand -----
    def _uint64n(self, n: int) -> int:
        if n & (n - 1) == 0:
            return self._next() & (n - 1)
        p = self._next() * n
        if (p & _M64) < n:
            thresh = ((1 << 64) - n) % n
            while (p & _M64) < thresh:
                p = self._next() * n
        return p >> 64

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        """Integers in ``[low, high)`` (or ``[0, low)``) drawn like Go's ``IntN``."""
        if high is None:
            low, high = 0, low
        span = int(high) - int(low)
        if span <= 0:
            raise ValueError(f"integers: high must be greater than low, got low={low}, high={high}")
        if size is None:
            return int(low) + self._uint64n(span)
        shape = _size_args(size)
        vals = [int(low) + self._uint64n(span) for _ in range(math.prod(shape))]
        return np.array(vals, dtype=np.int64).reshape(shape)

    def shuffle(self, x: Any) -> None:
        """Shuffle ``x`` in place along its first axis (Go's ``Shuffle``, Fisher-Yates)."""
        for i in range(len(x) - 1, 0, -1):
            j = self._uint64n(i + 1)
            if isinstance(x, np.ndarray) and x.ndim > 1:
                x[[i, j]] = x[[j, i]]
            else:
                x[i], x[j] = x[j], x[i]

    def permutation(self, x: Any) -> np.ndarray:
        """A shuffled ``arange(x)`` (Go's ``Perm``) or a shuffled copy of array ``x``."""
        if isinstance(x, (int, np.integer)):
            arr = np.arange(int(x))
        else:
            arr = np.array(x, copy=True)
        self.shuffle(arr)
        return arr


def _steps_between(before: int, after: int) -> int:
    """How many LCG steps lead from state ``before`` to ``after`` (small counts only)."""
    steps = 0
    s = before
    while s != after:
        s = (s * _MUL + _INC) & _M128
        steps += 1
    return steps
