"""``docs/ops.md``, generated from the op table: ``python -m chainrule.functions._opsdoc > docs/ops.md``.

The op table (``core.op.OPS``, filled by the ``@declare`` decorators) says which public
functions are declared, with how many sample inputs, which derivative orders are checked and
whether PyTorch is the oracle; ``_opsdoc_refs.py`` keeps, as data, what the table cannot know:
the two reference libraries' op names and their chainrule spellings, a note on each op's
differentiability, and the tests beyond the table's own. ``tests/test_ops_doc.py`` checks that
the committed page equals ``render()``.
"""
from __future__ import annotations

import ast
import inspect
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core.op import OPS, OpEntry
from ._opsdoc_refs import SECTIONS

__all__ = ["render", "main"]

_TABLE_TESTS = "tests/test_ops_table.py"
_F_NAME = re.compile(r"\bF\.([A-Za-z_]\w*)")
_ROOT = Path(__file__).resolve().parents[3]  # the repository (src/chainrule/functions/_opsdoc.py)

_PREAMBLE = """\
# Op table

Every op of the two reference libraries (the Go libraries chainrule's design started from; their
sources are not part of this repository), next to its chainrule spelling, and every public name
of `chainrule.functions` (`import chainrule.functions as F`), by family.

This page is generated: `python -m chainrule.functions._opsdoc > docs/ops.md` writes it from the
op table (`chainrule.core.op.OPS`, filled by each op's `@declare`) and the reference-name mapping
in `src/chainrule/functions/_opsdoc_refs.py` (edit that file, not this page);
`tests/test_ops_doc.py` checks that it is current.

- **Differentiable**: "yes, any order" means the derivative rule is written once against a
  namespace and runs on Variables under `create_graph=True`, so
  `cr.gradients(..., create_graph=True)` can be repeated as often as wanted. "no" means the
  result is a new leaf (`creator is None`): nothing is recorded and no gradient flows through
  it. "not yet declared" marks a public function whose family has not been moved to the op
  table yet: the table's checks do not reach it, the tests cited next to it do.
- **Tests**: for a declared op, the op-table tests come first, from its sample inputs:
  `test_declared_op_gradcheck[<op>-<i>]` runs `gradcheck` and `gradgradcheck` (first and second
  order against central differences, float64; first order only where the table says so),
  `test_declared_op_jvp_matches_finite_differences` the forward mode, and
  `test_declared_op_matches_pytorch` values, vjp and jvp against PyTorch where the entry names
  an equivalent. Then the op's own tests (higher orders, oracles, edge cases). For a
  non-differentiable op, the test that checks its values. `path::name[id]` is a pytest node
  id; `[id]` picks one case of a parametrized test.
- **Across all ops**: non-contiguous inputs (Fortran-ordered, strided, reversed, swapped) give
  the values and first/second-order gradients of C-contiguous ones
  (`tests/functions/test_layouts.py::test_non_contiguous_inputs_match_contiguous`); a 0-d
  operand (0-d array or Variable, NumPy scalar, Python number, bool) does not promote an n-d
  float32 operand, as in PyTorch (`tests/functions/test_dtype_rules.py::test_float32_stays_float32`);
  a float, string or bool axis/count/size or a string mask is a `TypeError` naming the op
  (`tests/functions/test_bad_arguments.py::test_invalid_argument_is_a_type_error_naming_the_op`).
- `tests/test_ops_table.py` checks this page: every `F.name` exists, every cited test exists,
  every public name of `chainrule.functions` is listed, and no cell is blank.
"""


def _functions() -> Any:
    from .. import functions as F

    return F


def _entry_of(name: str) -> OpEntry | None:
    """The table entry of ``F.<name>``: by name, or by the function (an alias such as ``cat``)."""
    if name in OPS:
        return OPS[name]
    fn = getattr(_functions(), name, None)
    for entry in OPS.values():
        if entry.function is fn:
            return entry
    return None


@lru_cache(maxsize=None)
def _n_samples(name: str) -> int:
    import numpy as np

    return len(OPS[name].samples(np.random.default_rng(7)))


def _table_tests(entry: OpEntry) -> str:
    """The op-table tests of ``entry`` (its first sample's node ids); "" when the table runs
    none on it (not differentiable, no PyTorch equivalent)."""
    case = f"[{entry.name}-0]"
    parts = []
    if entry.orders >= 1:
        orders = "first and second order" if entry.orders >= 2 else "first order"
        parts = [f"{orders} `{_TABLE_TESTS}::test_declared_op_gradcheck{case}`",
                 f"jvp `{_TABLE_TESTS}::test_declared_op_jvp_matches_finite_differences{case}`"]
    if entry.torch is not None:
        parts.append(f"oracle `{_TABLE_TESTS}::test_declared_op_matches_pytorch{case}`")
    if not parts:
        return ""
    n = _n_samples(entry.name)
    return f"table ({n} sample{'s' if n != 1 else ''}): " + ", ".join(parts)


def _status(entry: OpEntry | None) -> str:
    if entry is None:
        return "not yet declared"
    if entry.orders >= 2:
        return "yes, any order"
    if entry.orders == 1:
        return "yes (first order checked)"
    return "no (declared, not differentiable)"


def _reference_row(row: tuple) -> tuple:
    """A hand-kept row with what the op table adds: its tests first, "not yet declared"."""
    name, spelling, note, tests = row
    names = list(dict.fromkeys(_F_NAME.findall(spelling)))
    F = _functions()
    ops = [n for n in names if hasattr(F, n) and callable(getattr(F, n))]
    entries = [_entry_of(n) for n in ops]
    table = [t for t in dict.fromkeys(_table_tests(e) for e in entries if e is not None) if t]
    undeclared = [f"`F.{n}`" for n, e in zip(ops, entries) if e is None and not _is_helper(n)]
    if undeclared:
        note = f"{note}; not yet declared: {', '.join(undeclared)}"
    return name, spelling, note, "; ".join(table + [tests])


def _is_helper(name: str) -> bool:
    """A public array helper (not an op): listed in the hand-kept helpers section."""
    helpers = SECTIONS[-1][3]
    return any(f"F.{name}(" in r[1] for r in helpers)


@lru_cache(maxsize=None)
def _hand_tests() -> dict:
    """``F.<name>`` -> the tests cited for it in the hand-kept rows."""
    out: dict = {}
    for _, _, _, rows, _ in SECTIONS:
        for row in rows:
            for n in _F_NAME.findall(row[1]):
                out.setdefault(n, row[3])
    return out


@lru_cache(maxsize=None)
def _test_using(name: str) -> str:
    """A test function under tests/ that calls ``F.<name>`` (for a name no row cites)."""
    tests = _ROOT / "tests"
    for path in sorted(tests.rglob("test_*.py")) if tests.is_dir() else []:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                for sub in ast.walk(node):
                    if (isinstance(sub, ast.Attribute) and sub.attr == name and isinstance(sub.value, ast.Name)
                            and sub.value.id == "F"):
                        return f"uses it: `{path.relative_to(_ROOT).as_posix()}::{node.name}`"
    return "no test calls it yet"


def _public_names() -> dict:
    """Family module -> the public functions of ``chainrule.functions`` defined there."""
    F = _functions()
    fam: dict = {}
    for n in sorted(getattr(F, "__all__", None) or dir(F)):
        v = getattr(F, n)
        if n.startswith("_") or inspect.ismodule(v) or not callable(v):
            continue
        mod = getattr(v, "__module__", "") or ""
        fam.setdefault(mod.rsplit(".", 1)[-1], []).append(n)
    return fam


def _family_rows() -> list:
    rows = []
    for family, names in sorted(_public_names().items()):
        for n in names:
            if _is_helper(n):
                continue
            entry = _entry_of(n)
            spelling = f"`F.{n}`"
            if entry is not None:
                if entry.name != n:
                    spelling += f" (= `F.{entry.name}`)"
                if entry.ops:
                    spelling += " (" + ", ".join(f"`{op.__name__}`" for op in entry.ops) + ")"
                table = _table_tests(entry)
                own = _hand_tests().get(n)
                tests = "; ".join(t for t in (table, own) if t) or _test_using(n)
            else:
                tests = _hand_tests().get(n) or _test_using(n)
            rows.append((f"`{family}`", spelling, _status(entry), tests))
    return rows


def _table(header: tuple, rows: list) -> list:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render() -> str:
    """The text of ``docs/ops.md``."""
    out = [_PREAMBLE.rstrip("\n")]
    for title, intro, header, rows, outro in SECTIONS:
        helpers = title.startswith("### Public helpers")
        if helpers:
            out += ["", "## Every public function of `chainrule.functions`, by family", "",
                    "From the op table: each public function, its family module, the `Op` classes its "
                    "table entry lists, and whether it is declared yet. Array helpers (not ops) follow.",
                    ""]
            out += _table(("Family", "chainrule", "Differentiable", "Tests"), _family_rows())
        out += ["", title.replace("### ", "## ") if helpers else title]
        if intro:
            out += ["", intro]
        out += [""] + _table(header, [r if helpers else _reference_row(r) for r in rows])
        if outro:
            out += ["", outro]
    return "\n".join(out) + "\n"


def main() -> None:
    import sys

    sys.stdout.write(render())


if __name__ == "__main__":
    main()
