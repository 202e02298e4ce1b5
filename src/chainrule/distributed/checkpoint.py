"""``save``: one checkpoint per job, written by rank 0."""
from __future__ import annotations

import os
from typing import Any

from .comm import Communicator
from .world import resolve

__all__ = ["save"]


def save(obj: Any, path: str | os.PathLike, comm: Communicator | None = None, root: int = 0) -> None:
    """``chainrule.save(obj, path)`` on rank ``root`` only (atomically: written beside ``path``
    and renamed over it), then a barrier, so that every rank can read the file as soon as
    ``save`` returns. Collective. On resume every rank loads the same file with
    ``chainrule.load(path, into=model)``."""
    from ..io import save as save_file

    comm = resolve(comm)
    if comm.rank == root:
        save_file(obj, path)
    comm.barrier()
