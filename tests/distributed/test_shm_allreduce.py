"""The shared-memory allreduce (chainrule/distributed/shm.py) under a real ``mpiexec``, run as
subprocesses; mpi4py is never imported into the pytest process."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "shm_worker.py")
sys.path.insert(0, HERE)
from mpi_launch import MPIEXEC, mpiexec_env  # noqa: E402

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                       reason="mpi4py is not installed (pip install 'chainrule[distributed]')"),
    pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install 'chainrule[distributed]')"),
]


def run(ranks: int, mode: str, out, **env: str) -> list:
    r = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, WORKER, mode, str(out)],
                       capture_output=True, text=True, timeout=120, env=mpiexec_env(**env))
    assert r.returncode == 0, r.stderr
    return [dict(np.load(os.path.join(out, f"rank{k}.npz"))) for k in range(ranks)]


def _check_against_mpi(files: list, exact: bool) -> None:
    n_cases = sum(1 for k in files[0] if k.startswith("got"))
    for i in range(n_cases):
        got, want = files[0][f"got{i}"], files[0][f"want{i}"]
        assert got.dtype == want.dtype and got.shape == want.shape
        if exact:  # two ranks: a + b, whoever adds, bit for bit
            assert np.array_equal(got, want), i
        else:
            # values of magnitude ~100 summed in another order: rounding of the largest terms
            atol = 0 if got.dtype.kind == "i" else 8 * 400 * np.finfo(got.dtype).eps
            np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=str(i))
        for other in files[1:]:
            assert np.array_equal(other[f"got{i}"], got), f"case {i} differs between ranks"


@pytest.mark.parametrize("ranks", [2, 3])
def test_shared_allreduce_equals_mpi_and_is_identical_on_every_rank(tmp_path, ranks):
    files = run(ranks, "compare", tmp_path)
    assert all(bool(f["shared"]) for f in files)  # the shared path was set up and used
    _check_against_mpi(files, exact=ranks == 2)
    want = np.arange(0, 2 * 50_000, 2, dtype=np.float64) * sum(range(1, ranks + 1))
    for f in files:
        assert np.array_equal(f["strided"], want)


def test_two_level_allreduce_across_pretend_nodes(tmp_path):
    _check_against_mpi(run(4, "hierarchy", tmp_path), exact=False)


def test_switched_off_by_the_environment(tmp_path):
    files = run(2, "off", tmp_path, CHAINRULE_SHM_ALLREDUCE="0")
    for f in files:
        assert not bool(f["shared"]) and np.array_equal(f["a"], np.full(1_000_000, 2.0))


def _worker_module():
    """shm_worker.py as a module (it imports chainrule.distributed, never mpi4py, at import)."""
    spec = importlib.util.spec_from_file_location("chainrule_test_shm_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("ranks", [2, 4])
def test_training_averaged_in_shared_memory_equals_one_process(tmp_path, ranks):
    """Gradients written straight into the shared window and summed there, then changed in
    place by clipping and weight decay: the same parameters as one process at K x the batch."""
    from types import SimpleNamespace

    import chainrule.distributed as dist

    files = run(ranks, "train", tmp_path)
    assert all(bool(f.pop("staged")) for f in files)  # the staged path was the one used
    w = _worker_module()
    one = SimpleNamespace(rank=0, size=1)
    want, staged = w.train_wide(dist.LocalCommunicator(), one, w.B * ranks)
    assert not staged
    for name, value in want.items():
        np.testing.assert_allclose(files[0][name], value, rtol=0, atol=1e-12, err_msg=name)
        for other in files[1:]:
            assert np.array_equal(other[name], files[0][name]), f"{name} differs between ranks"
