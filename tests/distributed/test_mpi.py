"""chainrule.distributed under a real ``mpiexec``: launched as subprocesses with timeouts.

mpi4py is never imported into the pytest process; the tests skip when mpi4py or mpiexec is
missing (``pip install 'chainrule[distributed]'`` provides both).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dist_reference import WORKER, load_worker, train_one_process  # noqa: E402
from mpi_launch import MPIEXEC, mpiexec_env  # noqa: E402

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                       reason="mpi4py is not installed (pip install 'chainrule[distributed]')"),
    pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install 'chainrule[distributed]')"),
]


def mpirun(ranks: int, mode: str, out, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, WORKER, mode, str(out)],
                          capture_output=True, text=True, timeout=timeout, env=mpiexec_env(**env))


def rank_files(out, ranks: int) -> list:
    return [dict(np.load(os.path.join(out, f"rank{r}.npz"))) for r in range(ranks)]


@pytest.mark.parametrize("ranks", [2, 4])
def test_adam_mlp_equals_one_process_at_k_times_the_batch(tmp_path, ranks):
    r = mpirun(ranks, "train", tmp_path)
    assert r.returncode == 0, r.stderr
    got = rank_files(tmp_path, ranks)
    want = train_one_process(load_worker(), ranks)
    assert set(got[0]) == set(want)
    for name, w in want.items():
        assert got[0][name].dtype == np.float64
        np.testing.assert_allclose(got[0][name], w, rtol=0, atol=1e-12, err_msg=name)
        for other in got[1:]:
            assert np.array_equal(other[name], got[0][name]), f"{name} differs between ranks"
    # the training moved the parameters: the comparison is not between two untouched models
    w0 = load_worker().make_model()
    w0(np.zeros((1, 6)))
    assert not np.allclose(w0.named_params()[0][1].data, want["linear[0].w"])


def test_a_rank_that_raises_ends_the_job_quickly_with_its_error(tmp_path):
    t0 = time.monotonic()
    r = mpirun(2, "raise", tmp_path, timeout=30)
    elapsed = time.monotonic() - t0
    assert r.returncode != 0
    assert elapsed < 10, elapsed
    assert "rank 1 of 2 raised ValueError: boom on purpose; aborting the job" in r.stderr, r.stderr
    assert "[rank 1] Traceback" in r.stderr


def test_a_collective_past_the_timeout_aborts_with_a_message(tmp_path):
    t0 = time.monotonic()
    r = mpirun(2, "timeout", tmp_path, timeout=30, CHAINRULE_TEST_TIMEOUT="1")
    assert r.returncode != 0
    assert time.monotonic() - t0 < 10
    assert "rank 0 of 2: allreduce of 4 float64 values did not complete within the 1 s timeout" in r.stderr, r.stderr


@pytest.mark.parametrize("ranks, n, drop_last", [(2, 10, False), (4, 10, False), (4, 10, True)])
def test_shard_sampler_under_mpi_covers_the_data_set(tmp_path, ranks, n, drop_last):
    r = mpirun(ranks, "sampler", tmp_path, CHAINRULE_TEST_N=str(n), CHAINRULE_TEST_DROP_LAST=str(int(drop_last)))
    assert r.returncode == 0, r.stderr
    files = rank_files(tmp_path, ranks)
    per_rank = n // ranks if drop_last else -(-n // ranks)
    for epoch in ("e0", "e1"):
        parts = [f[epoch] for f in files]
        assert all(len(p) == per_rank and f["length"] == per_rank for p, f in zip(parts, files))
        seen = np.concatenate(parts)
        if drop_last:
            assert len(set(seen.tolist())) == len(seen) == per_rank * ranks
        else:
            assert set(seen.tolist()) == set(range(n))
    assert not all(np.array_equal(f["e0"], f["e1"]) for f in files), "the second epoch was not reshuffled"


def test_save_writes_once_and_every_rank_reads_it(tmp_path):
    r = mpirun(2, "save", tmp_path)
    assert r.returncode == 0, r.stderr
    a, b = rank_files(tmp_path, 2)
    assert a["same"] and b["same"]
    assert np.array_equal(a["w"], b["w"])  # broadcast_params made rank 1 take rank 0's weights
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors", "rank0.npz", "rank1.npz"]  # no temp files left


def test_init_without_mpi4py_says_what_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import chainrule.distributed as dist\n"
            "try:\n    dist.init()\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "pip install 'chainrule[distributed]'" in r.stdout


def test_chainrule_mlp_distributed_trains_on_every_rank_and_reports_once(tmp_path):
    pytest.importorskip("sklearn")
    script = os.path.join(os.path.dirname(sys.executable), "chainrule")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "chainrule"]
    path = tmp_path / "mlp.safetensors"
    r = subprocess.run([MPIEXEC, "-n", "2", *command, "mlp", "--distributed", "-epochs", "2", "-hidden-size", "16",
                        "-quiet", "--save", str(path)], capture_output=True, text=True, timeout=120, env=mpiexec_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("test accuracy") == 1  # rank 0 alone reports
    assert r.stderr.count("epoch    1") == 1 and "2 ranks" in r.stderr
    assert path.exists() and "Traceback" not in r.stderr


def test_nccl_backend_without_cupy_says_what_to_install():
    code = ("import sys; sys.modules['cupy'] = None\n"
            "import chainrule.distributed as dist\n"
            "try:\n    dist.init(backend='nccl')\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "backend 'nccl' needs CuPy with NCCL: pip install 'chainrule[gpu]'" in r.stdout


def test_without_mpiexec_a_script_is_a_world_of_one(tmp_path):
    from chainrule.distributed.world import _gpu_usable  # CuPy and NCCL only; mpi4py stays out

    backend = "nccl" if _gpu_usable() else "mpi"  # what init()'s "auto" picks
    code = ("import numpy as np, chainrule.distributed as dist\n"
            "from chainrule import models, optim\n"
            "import chainrule.functions as F\n"
            "comm = dist.init()\n"
            "m = models.MLP([2], rng=0); dist.broadcast_params(m)\n"
            "opt = dist.DistributedOptimizer(optim.SGD(lr=0.5), comm)\n"
            "F.sum(m(np.ones((1, 3)))).backward(); opt.update(m)\n"
            "print(comm.backend, comm.rank, comm.size, comm.local_rank, float(m.params()[1].data[0]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [backend, "0", "1", "0", "-0.5"]  # bias 0 - 0.5 * d(sum)/db = -0.5
