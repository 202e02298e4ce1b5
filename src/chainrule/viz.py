"""Graphviz DOT output of a computation graph."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import backend_of
from .core import Variable

__all__ = ["dot_graph", "render_png"]

_MAX_VALUES = 6  # arrays with more elements show their shape only


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _value_text(v: Variable) -> str | None:
    """A short text of ``v``'s values (None when it has more than ``_MAX_VALUES`` elements)."""
    if v.size > _MAX_VALUES:
        return None
    a = backend_of(v.data).to_numpy(v.data)
    if a.size == 1:
        x = a.reshape(()).item()
        return f"{x:.6g}" if isinstance(x, float) else str(x)
    return np.array2string(a, precision=4, separator=", ").replace("\n", "")


class _Graph:
    """Walks the graph from one output, naming nodes v0, v1, ... and f0, f1, ... in the order
    they are met (so the text is the same on every run, unlike ``id()``-based names)."""

    def __init__(self, verbose: bool, inputs: Sequence[Variable] | None):
        self.verbose = verbose
        self.inputs = None if inputs is None else {id(x) for x in inputs}
        self.ids: dict[int, str] = {}
        self.keep: list[Any] = []  # holds every named object so no id() is reused meanwhile
        self.lines: list[str] = []

    def node_id(self, obj: Any, prefix: str) -> tuple[str, bool]:
        """(name of ``obj``'s node, whether it is new)."""
        key = id(obj)
        if key in self.ids:
            return self.ids[key], False
        name = f"{prefix}{len(self.ids)}"
        self.ids[key] = name
        self.keep.append(obj)
        return name, True

    def variable(self, v: Variable) -> str:
        name, new = self.node_id(v, "v")
        if not new:
            return name
        leaf = v.creator is None
        const = leaf and self.inputs is not None and id(v) not in self.inputs
        label = v.name or ("const" if const else "")
        if leaf or self.verbose:  # inputs and constants always show their value
            value = _value_text(v)
            if value is not None:
                label = f"{label} = {value}" if v.name else f"{label} {value}".strip()
        if self.verbose:
            label = f"{label}\n{tuple(v.shape)} {v.dtype}".lstrip("\n")
        color = "lightgrey" if const else "orange"
        self.lines.append(f'{name} [label="{_escape(label)}", color={color}, style=filled]')
        return name

    def function(self, f: Any) -> str:
        name, _ = self.node_id(f, "f")
        self.lines.append(f'{name} [label="{_escape(f.name)}", color=lightblue, style=filled, shape=box]')
        for x in f.inputs:
            self.lines.append(f"{self.variable(x)} -> {name}")
        for r in f.outputs:
            y = r()
            if y is not None:
                self.lines.append(f"{name} -> {self.variable(y)}")
        return name


def dot_graph(output: Variable, verbose: bool = False, *, inputs: Sequence[Variable] | None = None) -> str:
    """The DOT text of the graph that produced ``output``: variables as ovals, functions as boxes.

    Leaf variables show their value (when they have at most 6 elements); ``verbose`` adds
    every variable's value, shape and dtype. With ``inputs`` (the variables the graph is a
    function of), every other leaf is drawn grey and labelled ``const``. Node names
    (``v0``, ``f0``, ...) follow the walk from ``output``, so equal graphs give equal text.
    """
    if not isinstance(output, Variable):
        raise TypeError(f"dot_graph: expected a Variable, got {type(output).__name__}")
    g = _Graph(verbose, inputs)
    g.variable(output)
    seen: set[int] = set()
    stack: list[Any] = [] if output.creator is None else [output.creator]
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        g.function(f)
        for x in reversed(f.inputs):
            if x.creator is not None and id(x.creator) not in seen:
                stack.append(x.creator)
    return "digraph g {\n" + "".join(line + "\n" for line in g.lines) + "}\n"


def graphviz_dot() -> str | None:
    """The path of Graphviz's ``dot`` program, or None when it is not installed."""
    return shutil.which("dot")


def render_png(dot_text: str, path: str) -> None:
    """Render DOT text to a PNG file with Graphviz's ``dot`` (RuntimeError when it is missing or fails)."""
    exe = graphviz_dot()
    if exe is None:
        raise RuntimeError("render_png: Graphviz's `dot` is not installed (e.g. `apt-get install graphviz`)")
    r = subprocess.run([exe, "-Tpng", "-o", path], input=dot_text.encode(), capture_output=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"render_png: Graphviz's dot failed on {path}: "
                           f"{r.stderr.decode(errors='replace').strip() or f'exit status {r.returncode}'}")
