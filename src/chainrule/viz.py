"""Graphviz DOT output of a computation graph."""
from __future__ import annotations

import shutil
import subprocess
from typing import Any

from .core import Variable

__all__ = ["dot_graph", "render_png"]


def _var_node(v: Variable, verbose: bool) -> str:
    label = v.name or ""
    if verbose:
        detail = f"{tuple(v.shape)} {v.dtype}"
        label = f"{label}: {detail}" if label else detail
    return f'"{id(v)}" [label="{label}", color=orange, style=filled]'


def _func_node(f: Any) -> list[str]:
    lines = [f'"{id(f)}" [label="{f.name}", color=lightblue, style=filled, shape=box]']
    for x in f.inputs:
        lines.append(f'"{id(x)}" -> "{id(f)}"')
    for r in f.outputs:
        y = r()
        if y is not None:
            lines.append(f'"{id(f)}" -> "{id(y)}"')
    return lines


def dot_graph(output: Variable, verbose: bool = False) -> str:
    """The DOT text of the graph that produced ``output`` (variables as ovals, functions as boxes)."""
    if not isinstance(output, Variable):
        raise TypeError(f"dot_graph: expected a Variable, got {type(output).__name__}")
    lines = [_var_node(output, verbose)]
    seen_f: set = set()
    seen_v = {id(output)}
    stack = [output.creator] if output.creator is not None else []
    if stack:
        seen_f.add(id(stack[0]))
    while stack:
        f = stack.pop()
        lines.extend(_func_node(f))
        for x in f.inputs:
            if id(x) not in seen_v:
                seen_v.add(id(x))
                lines.append(_var_node(x, verbose))
            c = x.creator
            if c is not None and id(c) not in seen_f:
                seen_f.add(id(c))
                stack.append(c)
    for r in getattr(output.creator, "outputs", ()):
        y = r()
        if y is not None and id(y) not in seen_v:
            seen_v.add(id(y))
            lines.append(_var_node(y, verbose))
    return "digraph g {\n" + "\n".join(lines) + "\n}\n"


def render_png(dot_text: str, path: str) -> None:
    """Render DOT text to a PNG file with Graphviz's ``dot`` (must be installed)."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("render_png: Graphviz's `dot` is not installed (e.g. `apt-get install graphviz`)")
    subprocess.run([exe, "-Tpng", "-o", path], input=dot_text.encode(), check=True)
