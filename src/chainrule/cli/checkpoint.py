"""``--save`` / ``--load`` of the training programs: errors name the user's file, never a temp file."""
from __future__ import annotations

from typing import Any

from .args import UsageError


class SaveError(RuntimeError):
    """Writing the checkpoint failed after training (disk full, directory removed meanwhile, ...)."""


def load_checkpoint(model: Any, path: str) -> None:
    """Load weights into ``model``; a missing, corrupt or mismatched file is a usage error."""
    import chainrule as cr

    try:
        cr.load(path, into=model)
    except OSError as e:
        raise UsageError(f"cannot load {path}: {e.strerror or e}") from None
    except (ValueError, TypeError, KeyError) as e:
        raise UsageError(f"cannot load the checkpoint: {e}") from None


def save_checkpoint(model: Any, path: str) -> None:
    """Write ``model``'s weights to ``path`` (safetensors, atomically)."""
    import chainrule as cr

    try:
        cr.save(model, path)
    except OSError as e:
        raise SaveError(f"cannot write {path}: {e.strerror or e}") from None
