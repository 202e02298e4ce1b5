"""The benchmarks' shared harness (benchmarks/_harness.py): schedule, figures, BLAS report."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "_bench_harness", Path(__file__).resolve().parents[1] / "benchmarks" / "_harness.py")
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)


def test_race_idles_before_every_turn_and_rotates_who_goes_first(monkeypatch):
    events = []
    monkeypatch.setattr(harness.time, "sleep", lambda s: events.append(("sleep", s)))
    turns = {name: (lambda name=name: events.append(name) or 1.0) for name in ("a", "b", "c")}
    harness.race(turns, rounds=3, pause=0.3)
    assert events == [("sleep", 0.3), "a", ("sleep", 0.3), "b", ("sleep", 0.3), "c",
                      ("sleep", 0.3), "b", ("sleep", 0.3), "c", ("sleep", 0.3), "a",
                      ("sleep", 0.3), "c", ("sleep", 0.3), "a", ("sleep", 0.3), "b"]


def test_pause_zero_does_not_sleep(monkeypatch):
    monkeypatch.setattr(harness.time, "sleep", lambda s: pytest.fail("slept"))
    res = harness.race({"a": lambda: 1.0}, rounds=2, pause=0)
    assert res.rounds("a") == [1.0, 1.0]


def test_figures_are_medians_over_rounds_and_ratios_medians_of_round_ratios(monkeypatch):
    monkeypatch.setattr(harness.time, "sleep", lambda s: None)
    a_samples = iter([[1.0, 5.0, 3.0], [2.0], [10.0]])
    b_samples = iter([[1.0], [4.0], [5.0]])
    res = harness.race({"a": lambda: next(a_samples), "b": lambda: next(b_samples)}, rounds=3, pause=0)
    assert res.rounds("a") == [3.0, 2.0, 10.0]  # a round's figure: the median of its samples
    assert res.spread("a") == (3.0, 2.0, 10.0)
    # per-round ratios 3, 0.5, 2: their median (2) is not the ratio of the medians (3 / 4)
    assert res.ratio("a", "b") == (2.0, 0.5, 3.0)
    assert harness.fmt_spread(res.ratio("a", "b")) == "2.00 (0.50-3.00)"


def test_turns_may_report_several_metrics(monkeypatch):
    monkeypatch.setattr(harness.time, "sleep", lambda s: None)
    res = harness.race({"x": lambda: {"fwd": [1.0, 3.0], "bwd": 4.0}}, rounds=2, pause=0)
    assert res.rounds("x", "fwd") == [2.0, 2.0]
    assert res.median("x", "bwd") == 4.0


def test_timed_yields_one_sample_per_call():
    calls = []
    samples = harness.timed(lambda: calls.append(1), 4)()
    assert len(samples) == 4 and len(calls) == 4 and all(s >= 0 for s in samples)


def test_available_skips_a_missing_peer_but_not_a_broken_install(capsys):
    def missing_peer():
        raise ImportError("No module named 'no_such_peer_xyz'", name="no_such_peer_xyz")

    def broken():  # an installed package failing inside: must not read as "not installed"
        raise ImportError("cannot import name 'x' from 'numpy.core'", name="numpy.core")

    turns = harness.available({"peer": missing_peer, "ok": lambda: (lambda: 1.0)})
    assert list(turns) == ["ok"]
    assert "peer" in (out := capsys.readouterr().out) and "(no_such_peer_xyz not installed)" in out
    with pytest.raises(ImportError, match="cannot import name"):
        harness.available({"broken": broken})


def test_env_without_blas_removes_the_variables_and_remembers_them():
    env = harness.env_without_blas({"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512", "PATH": "/bin"})
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env and env["PATH"] == "/bin"
    line = harness.blas_lines(env)[0]
    assert line == ("BLAS variables: OPENBLAS_CORETYPE unset by --blas-unset (was Haswell), "
                    "OPENBLAS_L2_SIZE unset by --blas-unset (was 512)")
    assert harness.blas_lines({"OPENBLAS_CORETYPE": "Zen"})[0] == \
        "BLAS variables: OPENBLAS_CORETYPE=Zen, OPENBLAS_L2_SIZE unset"


def test_blas_report_without_threadpoolctl_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    lines = harness.blas_lines({})
    assert lines[-1] == "BLAS libraries: (threadpoolctl not installed: pip install threadpoolctl)"


def test_blas_report_names_numpys_blas_and_its_core_type():
    pytest.importorskip("threadpoolctl")
    import numpy as np

    np.ones((2, 2)) @ np.ones((2, 2))
    blas = [ln for ln in harness.blas_lines({}) if ln.startswith("BLAS of ")]
    assert blas and "core type" in blas[0] and "threads" in blas[0]


def test_owner_is_the_package_that_ships_the_library():
    assert harness._owner("/v/lib/python3.11/site-packages/numpy.libs/libopenblas.so") == "numpy"
    assert harness._owner("/v/lib/python3.11/site-packages/torch/lib/libgomp.so.1") == "torch"
    assert harness._owner("/usr/lib/libblas.so.3") == "libblas.so.3"
