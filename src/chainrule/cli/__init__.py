"""The ``chainrule`` command (also ``python -m chainrule``): the lstm, dot, mlp and cnn programs.

Each program is a module with ``SUMMARY``, ``add_arguments(parser)`` and ``run(args) -> int``;
``main`` dispatches through argparse subcommands. Exit status: 0 done, 2 a mistake on the command
line (one message, no traceback), 1 a failure while running (one message; set
``CHAINRULE_TRACEBACK=1`` to see the traceback), 130 interrupted (Ctrl-C). A reader that closes
stdout early (``| head``) ends the program quietly with status 1.
"""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

import numpy as np

from .args import Parser, UsageError

__all__ = ["PROGRAMS", "UsageError", "main"]

PROGRAMS = ("lstm", "dot", "mlp", "cnn")


def _program(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The top-level parser (one subcommand per program, plus ``help [PROGRAM]``) and the
    programs' parsers by name."""
    from .. import __version__

    p = Parser(prog="chainrule", description="Define-by-run autodiff and deep learning on NumPy: example programs.",
               epilog="`chainrule help PROGRAM` (or `chainrule PROGRAM -h`) lists a program's flags. "
                      "Flags take one dash or two: -epochs 5 and --epochs 5 are the same.")
    p.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = p.add_subparsers(dest="program", metavar="PROGRAM", parser_class=Parser)
    programs = {}
    for name in PROGRAMS:
        module = _program(name)
        programs[name] = sp = sub.add_parser(name, help=module.SUMMARY, description=module.DESCRIPTION)
        module.add_arguments(sp)
    h = sub.add_parser("help", help="show the flags of a program (the same as `chainrule PROGRAM -h`)")
    h.add_argument("topic", nargs="?", choices=PROGRAMS, metavar="PROGRAM", help=", ".join(PROGRAMS))
    return p, programs


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _dispatch(argv: list[str]) -> int:
    parser, programs = build_parser()
    if not argv:
        print(parser.format_help(), end="", file=sys.stderr)
        return 2
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the program's parser, so that the message names the program
        (programs.get(args.program) or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.program == "help":
        target = parser if args.topic is None else programs[args.topic]
        sys.stdout.write(target.format_help())
        return 0
    # overflow in a diverging run is reported once, as an error, by the progress lines (not as a
    # screenful of NumPy RuntimeWarnings)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return int(_program(args.program).run(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = f"chainrule {argv[0]}" if argv and argv[0] in PROGRAMS else "chainrule"
    try:
        try:
            status = _dispatch(argv)
        except SystemExit as e:  # -h and --version print and exit 0 through argparse
            status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        sys.stdout.flush()  # inside the try: a closed pipe shows up here, not at interpreter exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except UsageError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("CHAINRULE_TRACEBACK"):
            raise
        message = str(e) or type(e).__name__
        if isinstance(e, MemoryError):
            message = "out of memory" + (f" ({e})" if str(e) else "") + "; try smaller sizes"
        elif not isinstance(e, (RuntimeError, ImportError, OSError)):
            message = f"{type(e).__name__}: {message}"
        print(f"{name}: error: {message}", file=sys.stderr)
        return 1
