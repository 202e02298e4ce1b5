"""``mpiexec`` for the tests that run real MPI jobs as subprocesses: where it is, and the
environment to start it with (the same for MPICH and Open MPI, no version sniffing)."""
from __future__ import annotations

import os
import shutil
import sys


def _mpiexec() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")  # the mpich wheel's, in the venv
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()

# Open MPI refuses to run as root and to start more ranks than cores unless told; 4.x reads the
# OMPI_ names, 5.x (PRRTE) the PRTE_ ones. MPICH ignores them all.
OPEN_MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "PRTE_ALLOW_RUN_AS_ROOT": "1", "PRTE_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1", "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe",
}


def mpiexec_env(**extra: str) -> dict:
    """This process's environment (PYTHONPATH included) with one BLAS/OpenMP thread per rank,
    ``OPEN_MPI_ENV`` and ``extra``."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **OPEN_MPI_ENV, **extra}
