"""``chainrule dot``: the DOT graph of the n-th derivative of a function (the reference's dot program)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .args import Parser, check_output_file, integer, real

SUMMARY = "print the DOT graph of the n-th derivative of a function"
FUNCS = ("tanh", "sin", "cos", "exp", "log", "sigmoid", "square", "sqrt")
# The graph of the n-th derivative of tanh, sigmoid, log or sqrt grows about 7-11 times with
# each order (sqrt: 400 lines at order 4, 58,000 at 8, 650,000 at 10), so the order is capped
# where the text and Graphviz's drawing of it stay quick.
MAX_ORDER = 8
DOMAIN = {"log": (lambda x: x > 0, "x > 0"), "sqrt": (lambda x: x > 0, "x > 0 (its derivatives are infinite at 0)")}
DESCRIPTION = ("Print the DOT graph of the n-th derivative of a function at a point, as the reference's dot "
               f"program does. -order is at most {MAX_ORDER}: the graph of the n-th derivative grows about "
               "tenfold with each order for tanh, sigmoid, log and sqrt. Nodes are named v0, v1, ... / f0, f1, "
               "... in the order they are met, so the same flags always print the same text.")


def png_file(path: str) -> str:
    """An argparse type for ``--png``: a writable path ending in .png (or no extension), and Graphviz installed."""
    from .. import viz

    check_output_file(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in ("", ".png"):
        raise argparse.ArgumentTypeError(f"--png writes a PNG image; name the file .png, not {ext}")
    if viz.graphviz_dot() is None:
        raise argparse.ArgumentTypeError("drawing the graph needs Graphviz's `dot` program "
                                         "(e.g. `apt-get install graphviz`)")
    return path


png_file.__name__ = "PNG file"


def add_arguments(p: Parser) -> None:
    p.flag("func", default="tanh", choices=FUNCS, help="function to differentiate (default tanh)")
    p.flag("order", type=integer(0, MAX_ORDER, "the graph of the n-th derivative grows about tenfold with each order"),
           default=1, help=f"order of the derivative, 0 to {MAX_ORDER} (default 1)")
    p.flag("x", type=real(), default=1.0, help="point at which to evaluate (default 1.0)")
    p.flag("verbose", action="store_true", help="label every variable with its value, shape and dtype")
    p.flag("png", metavar="FILE.png", type=png_file, help="also draw the graph to FILE.png with Graphviz's dot")


def build_parser() -> Parser:
    p = Parser(prog="chainrule dot", description=DESCRIPTION)
    add_arguments(p)
    return p


def nth_derivative(func: str, order: int, x0: float) -> tuple[Any, Any]:
    """(x, d^n f/dx^n at x0) with the graph of the derivative kept. A derivative that no longer
    depends on x (the third of ``square``) is the constant 0 from there on."""
    import chainrule as cr
    import chainrule.functions as F

    x = cr.variable(x0, name="x")
    y = getattr(F, func)(x)
    y.name = "y"
    for n in range(1, order + 1):
        x.cleargrad()
        y.backward(create_graph=True)
        y = x.grad if x.grad is not None else cr.variable(0.0)
        y.name = f"gx{n}"
    return x, y


def run(a: argparse.Namespace) -> int:
    from .. import viz
    from .args import UsageError

    if a.func in DOMAIN and not DOMAIN[a.func][0](a.x):
        raise UsageError(f"argument -x/--x: {a.func} is defined for {DOMAIN[a.func][1]}, got {a.x:g}")
    x, y = nth_derivative(a.func, a.order, a.x)
    text = viz.dot_graph(y, verbose=a.verbose, inputs=[x])
    if a.png:
        viz.render_png(text, a.png)
        print(f"graph drawn to {a.png}", file=sys.stderr)
    sys.stdout.write(text)
    return 0
