"""What every benchmark shares: the schedule of turns, the summary figures and the BLAS report.

The schedule. Contenders take turns, round after round (who goes first rotates), and between one
turn and the next the harness collects garbage and sleeps ``--pause`` seconds (0.3 by default).
The pause matters: NumPy's OpenBLAS workers keep a core spinning for about 0.1 s after each
call, and PyTorch's OpenMP workers do the same, so a contender that starts straight after
another runs against the other's spinning threads.

The figures. A turn yields samples (seconds); a round's figure is the median of its samples.
A contender's figure is the median of its rounds with their min-max range, and a ratio between
two contenders is the median of the per-round ratios, with their range.

The BLAS. Each benchmark prints which BLAS NumPy runs (threadpoolctl, when installed) and the
``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` settings it ran under; with ``--blas-unset`` the
script re-runs itself in a subprocess whose environment lacks those two variables (that
command alone: tests and CI never unset them).
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Mapping, Sequence, Union

BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_UNSET_MARK = "CHAINRULE_BENCH_BLAS_WAS"  # what the parent process had, for the child's report

Samples = Union[float, Sequence[float]]
TurnResult = Union[Samples, Mapping[str, Samples]]
Turn = Callable[[], TurnResult]


# ----- command line -----
def parse_args(ap: argparse.ArgumentParser, argv: Sequence[str] | None = None,
               pause: float = 0.3) -> argparse.Namespace:
    """Add the shared flags (``--pause``, ``--blas-unset``) to ``ap`` and parse. With
    ``--blas-unset`` while a BLAS variable is set, run this script again without them and exit
    with its status."""
    ap.add_argument("--pause", type=float, default=pause,
                    help=f"seconds of idle time between one contender's turn and the next (default {pause})")
    ap.add_argument("--blas-unset", action="store_true",
                    help="run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the environment")
    args = ap.parse_args(argv)
    if args.blas_unset and any(v in os.environ for v in BLAS_VARS):
        env = env_without_blas(os.environ)
        argv = sys.argv[1:] if argv is None else list(argv)
        sys.exit(subprocess.run([sys.executable, sys.argv[0], *argv], env=env).returncode)
    return args


def env_without_blas(environ: Mapping[str, str]) -> dict:
    """A copy of ``environ`` without the BLAS variables, recording their old values."""
    env = {k: v for k, v in environ.items() if k not in BLAS_VARS}
    env[_UNSET_MARK] = " ".join(f"{k}={environ[k]}" for k in BLAS_VARS if k in environ)
    return env


# ----- BLAS report -----
def blas_lines(environ: Mapping[str, str] | None = None) -> list:
    """Lines saying which BLAS (and OpenMP) libraries are loaded, whose they are, and the BLAS
    variables of the environment."""
    environ = os.environ if environ is None else environ
    was = dict(kv.split("=", 1) for kv in environ.get(_UNSET_MARK, "").split() if "=" in kv)
    settings = []
    for v in BLAS_VARS:
        if v in environ:
            settings.append(f"{v}={environ[v]}")
        elif v in was:
            settings.append(f"{v} unset by --blas-unset (was {was[v]})")
        else:
            settings.append(f"{v} unset")
    lines = ["BLAS variables: " + ", ".join(settings)]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return lines + ["BLAS libraries: (threadpoolctl not installed: pip install threadpoolctl)"]
    for lib in threadpool_info():
        owner = _owner(lib.get("filepath") or "")
        if lib.get("user_api") == "blas":
            lines.append(f"BLAS of {owner}: {lib.get('internal_api')} {lib.get('version') or '(version unknown)'}, "
                         f"core type {lib.get('architecture') or 'unknown'}, {lib.get('num_threads')} threads")
        else:
            lines.append(f"{lib.get('user_api')} of {owner}: {lib.get('internal_api')}, "
                         f"{lib.get('num_threads')} threads")
    return lines


def _owner(path: str) -> str:
    """The package a shared library ships with (``.../site-packages/numpy.libs/x.so`` -> numpy)."""
    parts = path.replace("\\", "/").split("/")
    if "site-packages" in parts[:-1]:
        return parts[parts.index("site-packages") + 1].removesuffix(".libs")
    return os.path.basename(path) or "unknown"


def print_blas() -> None:
    """Print :func:`blas_lines`; call it once the contenders' libraries are imported."""
    print("\n".join(blas_lines()))


# ----- contenders -----
def available(makers: Mapping[str, Callable[[], Turn]], width: int = 14) -> dict:
    """Call each maker (it imports its library, warms up and returns its turn function); a
    maker whose library is not installed is reported as skipped and left out. Any other
    ImportError (a broken install, chainrule's own) propagates."""
    turns = {}
    for name, make in makers.items():
        try:
            turns[name] = make()
        except ImportError as e:
            if not missing(e):
                raise
            print(f"{name:{width}s} skipped ({e.name} not installed)")
    return turns


def missing(e: ImportError) -> bool:
    """Whether ``e`` says that a top-level package is not installed at all."""
    if not e.name:
        return False
    try:
        return importlib.util.find_spec(e.name.split(".")[0]) is None
    except (ImportError, ValueError):
        return True


def timed(fn: Callable[[], object], calls: int) -> Turn:
    """A turn that calls ``fn`` ``calls`` times and yields the time of each call."""
    def turn() -> list:
        out = []
        for _ in range(calls):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out
    return turn


# ----- the schedule -----
def idle(pause: float) -> None:
    """Let the previous contender's garbage go and its worker threads fall asleep."""
    gc.collect()
    if pause > 0:
        time.sleep(pause)


def race(turns: Mapping[str, Turn], rounds: int, pause: float, warmup: int = 0) -> "Race":
    """Run ``rounds`` rounds in which each contender takes one turn, the first place rotating,
    with :func:`idle` before every turn, after ``warmup`` untimed turns each. Returns the
    per-round figures."""
    names = list(turns)
    result = Race(names)
    for _ in range(warmup):
        for name in names:
            turns[name]()
    for r in range(rounds):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            idle(pause)
            result.add(name, turns[name]())
    return result


class Race:
    """Per-round figures: ``figures[name][metric]`` is a list with one median per round."""

    def __init__(self, names: Sequence[str]):
        self.figures: dict = {n: {} for n in names}

    def add(self, name: str, got: TurnResult) -> None:
        if not isinstance(got, Mapping):
            got = {"": got}
        for metric, samples in got.items():
            if isinstance(samples, (int, float)):
                samples = [samples]
            self.figures[name].setdefault(metric, []).append(statistics.median(samples))

    def rounds(self, name: str, metric: str = "") -> list:
        return self.figures[name][metric]

    def median(self, name: str, metric: str = "") -> float:
        return statistics.median(self.rounds(name, metric))

    def spread(self, name: str, metric: str = "") -> tuple:
        """(median, min, max) over rounds."""
        rs = self.rounds(name, metric)
        return statistics.median(rs), min(rs), max(rs)

    def ratio(self, a: str, b: str, metric: str = "") -> tuple:
        """(median, min, max) of a's figure over b's, round by round."""
        rs = [x / y for x, y in zip(self.rounds(a, metric), self.rounds(b, metric))]
        return statistics.median(rs), min(rs), max(rs)


def fmt_spread(s: tuple, scale: float = 1.0, digits: int = 2) -> str:
    """'median (min-max)' of a (median, min, max) triple, each times ``scale``."""
    m, lo, hi = (v * scale for v in s)
    return f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def print_figures(race_: Race, unit: str, scale: float, metric: str = "", width: int = 14,
                  digits: int = 2, notes: Mapping[str, str] | None = None) -> None:
    """One line per contender: median and min-max over rounds, in ``unit`` (seconds x scale)."""
    for name in race_.figures:
        n = len(race_.rounds(name, metric))
        note = f"   {notes[name]}" if notes and name in notes else ""
        print(f"{name:{width}s} {fmt_spread(race_.spread(name, metric), scale, digits):>22s} {unit}"
              f"  ({n} rounds){note}")


def print_ratios(race_: Race, base: str, peers: Sequence[str], metric: str = "", width: int = 14) -> None:
    """``base / peer`` as the median of per-round ratios with their range, for each present peer."""
    for peer in peers:
        if peer in race_.figures and peer != base:
            print(f"{base} / {peer:{width}s} {fmt_spread(race_.ratio(base, peer, metric))}x")


def print_header(rounds: int, pause: float, note: str = "") -> None:
    """The schedule and the BLAS report, printed above a benchmark's figures."""
    print(f"{rounds} rounds of interleaved turns, {pause:g} s pause between turns{note}; "
          f"figures: median over rounds (min-max); ratios: median of per-round ratios (min-max)")
    print_blas()
