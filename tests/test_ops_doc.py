"""``docs/ops.md`` is generated from the op table and is current; every public function of
``chainrule.functions`` is in a table entry (families not converted yet aside: the complement of
``CONVERTED`` in tests/test_ops_table.py, so this tightens as that list grows)."""
from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from test_ops_table import ARRAY_HELPERS_OF_CONVERTED, CONVERTED

import chainrule.functions as F
from chainrule.core.op import OPS
from chainrule.functions import _opsdoc

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = sorted(p.stem for p in (ROOT / "src" / "chainrule" / "functions").glob("*.py")
                  if not p.stem.startswith("_"))
UNCONVERTED = sorted(set(FAMILIES) - set(CONVERTED))


def test_docs_ops_md_is_current():
    committed = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    assert committed == _opsdoc.render(), (
        "docs/ops.md is not what the op table gives: run "
        "`python -m chainrule.functions._opsdoc > docs/ops.md` (edit _opsdoc_refs.py for the hand-kept part)")


def test_the_generator_runs_as_a_module():
    r = subprocess.run([sys.executable, "-m", "chainrule.functions._opsdoc"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == _opsdoc.render()


def test_converted_lists_real_families():
    assert set(CONVERTED) <= set(FAMILIES), sorted(set(CONVERTED) - set(FAMILIES))
    assert "arithmetic" in FAMILIES and "math" in FAMILIES


def _public_functions() -> list:
    names = getattr(F, "__all__", None) or dir(F)
    return sorted(n for n in names if not n.startswith("_") and not inspect.ismodule(getattr(F, n))
                  and callable(getattr(F, n)))


def test_every_public_function_of_F_is_in_a_table_entry():
    """A public name of ``F`` is a table entry's name or function, an array helper, or defined
    in a family listed as not converted yet (``UNCONVERTED``, the complement of ``CONVERTED``)."""
    functions = {id(e.function) for e in OPS.values()}
    missing = []
    for n in _public_functions():
        fn = getattr(F, n)
        family = (getattr(fn, "__module__", "") or "").rsplit(".", 1)[-1]
        if n in OPS or id(fn) in functions or n in ARRAY_HELPERS_OF_CONVERTED or family in UNCONVERTED:
            continue
        missing.append(f"{family}.{n}")
    assert len(_public_functions()) > 100
    assert not missing, f"public functions of chainrule.functions in no op-table entry: {missing}"


def test_the_page_lists_every_public_function_with_its_declaration_state():
    text = _opsdoc.render()
    for n in _public_functions():
        assert f"`F.{n}" in text, n
    for name, entry in OPS.items():
        if entry.orders >= 1:
            assert f"test_declared_op_gradcheck[{name}-0]" in text, name


def test_an_undeclared_op_is_listed_and_marked(monkeypatch):
    """A public function whose declaration is gone (a family not converted yet) stays on the
    page, marked "not yet declared", with the tests the hand-kept rows cite for it."""
    assert "not yet declared: `F.exp`" not in _opsdoc.render()
    monkeypatch.delitem(OPS, "exp")
    text = _opsdoc.render()
    row = next(line for line in text.splitlines() if line.startswith("| `math` | `F.exp`"))
    assert "not yet declared" in row and "test_declared_op_gradcheck[exp-0]" not in row
    assert "tests/functions/test_math.py::test_unary_gradcheck[exp]" in row
    ref = next(line for line in text.splitlines() if line.startswith("| `Exp` |"))
    assert "not yet declared: `F.exp`" in ref


def test_a_name_no_row_cites_gets_a_test_that_calls_it():
    assert _opsdoc._test_using("logsumexp").startswith("uses it: `tests/")
    assert _opsdoc._test_using("no_such_function_anywhere") == "no test calls it yet"
