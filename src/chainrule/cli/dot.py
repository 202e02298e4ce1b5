"""``chainrule dot``: the DOT graph of the n-th derivative of a function (the reference's dot program)."""
from __future__ import annotations

from typing import Sequence

from .args import Parser, non_negative

FUNCS = ("tanh", "sin", "cos", "exp", "log", "sigmoid", "square", "sqrt")


def nth_derivative(func: str, order: int, x0: float):
    """(x, d^n f/dx^n at x0) with the graph of the derivative kept."""
    import chainrule as cr
    import chainrule.functions as F

    x = cr.variable(x0, name="x")
    y = getattr(F, func)(x)
    y.name = "y"
    for _ in range(order):
        x.cleargrad()
        y.backward(create_graph=True)
        y = x.grad
    if order:
        y.name = f"gx{order}"
    return x, y


def main(argv: Sequence[str]) -> int:
    from .. import viz
    from . import UsageError

    p = Parser(prog="chainrule dot", description="Print the DOT graph of the n-th derivative of a function.")
    p.flag("func", default="tanh", choices=FUNCS, help="function to differentiate (default tanh)")
    p.flag("order", type=non_negative(int), default=1, help="order of the derivative (default 1)")
    p.flag("x", type=float, default=1.0, help="point at which to evaluate (default 1.0)")
    p.flag("verbose", action="store_true", help="label variables with shape and dtype")
    p.flag("png", metavar="FILE", help="also render the graph to FILE with Graphviz's dot")
    a = p.parse_args(argv)
    _, y = nth_derivative(a.func, a.order, a.x)
    text = viz.dot_graph(y, verbose=a.verbose)
    print(text, end="")
    if a.png:
        try:
            viz.render_png(text, a.png)
        except RuntimeError as e:
            raise UsageError(str(e)) from None
    return 0
