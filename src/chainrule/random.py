"""Random sources. Every ``rng=`` argument of the library accepts what ``get_rng`` accepts."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["get_rng"]


def get_rng(rng: Any = None) -> Any:
    """A source with ``random(shape)`` and ``standard_normal(shape)``.

    ``None``: a fresh unseeded NumPy Generator; an int: ``numpy.random.default_rng(seed)``;
    a NumPy ``Generator`` or any object with those two methods: itself.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be an int seed or a random source, got {rng!r}")
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    if hasattr(rng, "random") and hasattr(rng, "standard_normal"):
        return rng
    raise TypeError(f"rng must be None, an int seed, a numpy Generator or a chainrule random source, "
                    f"got {type(rng).__name__}")
