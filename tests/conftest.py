"""Device selection for the test suite.

* ``pytest --device cuda`` or ``CHAINRULE_DEVICE=cuda pytest``: tests that take the ``device``
  fixture run on that device (they skip cleanly when it is unavailable).
* ``chainrule.testing.gradcheck`` moves its inputs to the same device (``--device`` sets the
  variable), so a checked function must keep what it closes over there: ``layer.to(device)``,
  ``get_backend(device).asarray(constant)``.
* Tests marked ``@pytest.mark.gpu`` run only where CuPy and an NVIDIA GPU are present and are
  skipped with the reason otherwise, whatever the selected device.
"""
from __future__ import annotations

import os

import pytest

_cuda_status: tuple | None = None


def cuda_status() -> tuple:
    """(available, reason): whether ``get_backend("cuda")`` works here (checked once)."""
    global _cuda_status
    if _cuda_status is None:
        try:
            from chainrule.backend import get_backend

            get_backend("cuda")
            _cuda_status = (True, "")
        except Exception as e:  # missing CuPy, no driver, no GPU
            _cuda_status = (False, f"{type(e).__name__}: {e}")
    return _cuda_status


def _is_cuda(device: str) -> bool:
    return device.split(":")[0] in ("cuda", "gpu")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", action="store", default=None,
                     help="device for device-aware tests: cpu (default) or cuda; "
                          "also read from the CHAINRULE_DEVICE environment variable")


def pytest_configure(config: pytest.Config) -> None:
    device = config.getoption("--device") or os.environ.get("CHAINRULE_DEVICE") or "cpu"
    config.chainrule_device = device.strip().lower()
    if config.getoption("--device"):  # gradcheck reads the variable; it must agree with ``device``
        os.environ["CHAINRULE_DEVICE"] = config.chainrule_device
    config.addinivalue_line("markers", "gpu: needs CuPy and an NVIDIA GPU (skipped otherwise)")


def pytest_report_header(config: pytest.Config) -> str:
    device = config.chainrule_device
    if not _is_cuda(device):
        return f"chainrule device: {device}"
    ok, reason = cuda_status()
    return f"chainrule device: {device}" + ("" if ok else f" (unavailable, device tests skip: {reason})")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items:
        return
    ok, reason = cuda_status()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"needs CuPy and an NVIDIA GPU ({reason})")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> str:
    """The device selected with ``--device`` / ``CHAINRULE_DEVICE`` ("cpu" by default)."""
    d = pytestconfig.chainrule_device
    if _is_cuda(d):
        ok, reason = cuda_status()
        if not ok:
            pytest.skip(f"device {d!r} unavailable: {reason}")
    return d


@pytest.fixture(scope="session")
def xp(device: str):
    """The array namespace of the selected device (numpy or cupy)."""
    from chainrule.backend import get_backend

    return get_backend(device).xp
