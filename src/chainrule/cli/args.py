"""Flag parsing shared by the programs: Go-style single-dash flags and their --long spellings."""
from __future__ import annotations

import argparse
from typing import Any


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise ``UsageError`` instead of exiting with a traceback-free usage dump."""

    def error(self, message: str) -> Any:
        from . import UsageError

        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def flag(self, name: str, **kw: Any) -> None:
        """Add ``-name`` and ``--name`` (with dashes) for the same option."""
        self.add_argument(f"-{name}", f"--{name}", dest=name.replace("-", "_"), **kw)


def positive(kind: type) -> Any:
    def check(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return v

    check.__name__ = f"positive {kind.__name__}"
    return check


def non_negative(kind: type) -> Any:
    def check(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
        return v

    check.__name__ = f"non-negative {kind.__name__}"
    return check
