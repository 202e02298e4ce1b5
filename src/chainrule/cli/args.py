"""Flag parsing shared by the programs: single-dash long flags (``-epochs 5``, the reference
program's spelling) and their ``--epochs`` spellings, value checks that run before any work
starts, and the two kinds of failure the command reports."""
from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from typing import Any, NoReturn


class UsageError(Exception):
    """A mistake on the command line: a one-line message and exit status 2, never a traceback."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise ``UsageError`` (the caller prints it and exits 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n(`{self.prog} -h` lists the flags)")

    def _print_message(self, message: str, file: Any = None) -> None:
        """Write ``message`` (help, usage, version) and ignore a closed stream, as argparse itself
        does from Python 3.11 on (3.10 raised, so ``chainrule -h`` into a closed pipe exited 1)."""
        try:
            super()._print_message(message, file)
        except OSError:
            pass

    def flag(self, name: str, **kw: Any) -> argparse.Action:
        """Add ``-name`` and ``--name`` for the same option (dest: dashes become underscores)."""
        return self.add_argument(f"-{name}", f"--{name}", dest=name.replace("-", "_"), **kw)


def _named(check: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    check.__name__ = name  # argparse names the type in "invalid <name> value" messages
    return check


def integer(low: int | None = None, high: int | None = None, why: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (either bound may be None)."""

    def check(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if low is not None and v < low:
            raise argparse.ArgumentTypeError(_too_low(low, False, text))
        if high is not None and v > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {v}" + (f": {why}" if why else ""))
        return v

    return _named(check, "integer")


def _too_low(low: float, strict: bool, text: str) -> str:
    """The message for a value below ``low`` (or equal to it, when ``strict``)."""
    if low == 0:
        return f"must be positive, got {text}" if strict else f"must not be negative, got {text}"
    if low == 1 and not strict:
        return f"must be positive, got {text}"
    return f"must be {'>' if strict else '>='} {low:g}, got {text}"


def real(low: float | None = None, high: float | None = None, strict_low: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float (NaN and inf are refused) in [low, high], or (low, high]
    with ``strict_low``."""

    def check(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if low is not None and (v < low or (strict_low and v == low)):
            raise argparse.ArgumentTypeError(_too_low(low, strict_low, text))
        if high is not None and v > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}, got {text}")
        return v

    return _named(check, "number")


def check_output_file(path: str) -> str:
    """Refuse a path that cannot be written: empty, a directory, a missing or unwritable parent
    directory, an existing read-only file. Returns ``path``."""
    if not path:
        raise argparse.ArgumentTypeError("the file name is empty")
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path} is a directory, not a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        raise argparse.ArgumentTypeError(f"cannot write {path}: the directory {parent} does not exist")
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"cannot write {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: the directory {parent} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: the file exists and is read-only")
    return path


def output_file() -> Callable[[str], str]:
    """An argparse type for a file the program will write (checked at parse time)."""
    return _named(check_output_file, "output file")


def input_file() -> Callable[[str], str]:
    """An argparse type for a file the program will read: it must exist and be readable."""

    def check(path: str) -> str:
        if not os.path.exists(path):
            raise argparse.ArgumentTypeError(f"{path} does not exist")
        if os.path.isdir(path):
            raise argparse.ArgumentTypeError(f"{path} is a directory, not a file")
        if not os.access(path, os.R_OK):
            raise argparse.ArgumentTypeError(f"{path} is not readable")
        return path

    return _named(check, "input file")


def image_file() -> Callable[[str], str]:
    """An argparse type for a picture written by matplotlib: a writable path whose extension
    names a format matplotlib can write. Imports matplotlib (only when the flag is given)."""

    def check(path: str) -> str:
        check_output_file(path)
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise argparse.ArgumentTypeError("drawing needs matplotlib: pip install 'chainrule[plot]'") from None
        formats = sorted(Figure().canvas.get_supported_filetypes())
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if not ext:
            raise argparse.ArgumentTypeError(f"{path} has no extension to name the image format "
                                             f"(one of: {', '.join(formats)})")
        if ext not in formats:
            raise argparse.ArgumentTypeError(f"matplotlib cannot write .{ext} images "
                                             f"(it writes: {', '.join(formats)})")
        return path

    return _named(check, "image file")
