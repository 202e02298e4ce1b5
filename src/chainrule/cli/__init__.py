"""The ``chainrule`` command (also ``python -m chainrule``): lstm, dot, mlp, cnn programs."""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

PROGRAMS = {
    "lstm": ("chainrule.cli.lstm", "train an LSTM on a noisy sine curve (the reference program)"),
    "dot": ("chainrule.cli.dot", "print the DOT graph of the n-th derivative of a function"),
    "mlp": ("chainrule.cli.mlp", "train an MLP on the handwritten digits data set"),
    "cnn": ("chainrule.cli.cnn", "train a small CNN on the handwritten digits data set"),
}


class UsageError(Exception):
    """A user mistake: printed as a one-line message with exit status 2, never a traceback."""


def _usage() -> str:
    lines = ["usage: chainrule PROGRAM [flags]", "", "programs:"]
    lines += [f"  {name:6s} {doc}" for name, (_, doc) in PROGRAMS.items()]
    lines += ["", "`chainrule PROGRAM -h` lists a program's flags."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in PROGRAMS:
        print(f"chainrule: unknown program {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(PROGRAMS[name][0])
    try:
        return int(module.main(rest) or 0)
    except UsageError as e:
        print(f"chainrule {name}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {name}: interrupted", file=sys.stderr)
        return 130
