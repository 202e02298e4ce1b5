"""The layers of the house: no module under ``chainrule/core`` imports from
``chainrule.functions`` (at the top or lazily inside a function); the operators and op methods
of ``Variable`` come from the op table, installed when ``chainrule.functions`` is imported."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.core.op import OPS
from chainrule.functions import _methods

CORE = Path(cr.__file__).resolve().parent / "core"


def _imports_of_functions(path: Path, package: list | None = None) -> list:
    """Every import in ``path`` (anywhere in the tree, lazy ones included) that reaches
    ``chainrule.functions``, as ``name:line: text``. ``package``: the module's package as a
    list of names (default: from its place under ``core/``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = ["chainrule", "core"] + list(path.relative_to(CORE).parent.parts)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            targets = [node.args[0].value]
        else:
            continue
        if any(t == "chainrule.functions" or t.startswith("chainrule.functions.") for t in targets):
            bad.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return bad


def test_the_import_reader_finds_top_level_lazy_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from .. import functions as F\n"
                     "import chainrule.functions.math\n"
                     "def f():\n"
                     "    from ..functions.device import to_device\n"
                     "    import importlib\n"
                     "    return importlib.import_module('chainrule.functions')\n"
                     "from .op import OPS\n"
                     "from ..backend import xp_of\n", encoding="utf-8")
    found = _imports_of_functions(probe, ["chainrule", "core"])
    assert [line.split(":")[1] for line in found] == ["1", "2", "4", "6"], found


def test_no_core_module_imports_functions():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) >= 10
    bad = [b for m in modules for b in _imports_of_functions(m)]
    assert not bad, "core imports chainrule.functions (the op table installs what core needs):\n" + "\n".join(bad)


def test_importing_core_alone_loads_no_op_module():
    """``chainrule.core`` imported without the package's op modules (the parent package's
    ``__init__`` is bypassed) pulls in no ``chainrule.functions`` module."""
    code = ("import sys, types, pathlib\n"
            f"root = pathlib.Path({str(CORE.parent)!r})\n"
            "pkg = types.ModuleType('chainrule'); pkg.__path__ = [str(root)]\n"
            "sys.modules['chainrule'] = pkg\n"
            "import chainrule.core\n"
            "bad = sorted(m for m in sys.modules if m.startswith('chainrule.functions'))\n"
            "assert not bad, bad\n"
            "assert not hasattr(chainrule.core.Variable, '__add__')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_operators_come_from_the_op_table():
    V = cr.Variable
    for dunder, name in _methods.OPERATORS.items():
        fn = OPS[name].function  # a KeyError names an operator whose op is not declared
        have = getattr(V, dunder)
        if dunder in _methods.SCALAR_FIRST:
            assert have.__qualname__ == f"Variable.{dunder}"
        else:
            assert have is fn, dunder
    assert V.__sub__ is F.sub and V.__truediv__ is F.div
    for method, name in {**_methods.ALIASES, "exp": "exp", "sum": "sum"}.items():
        assert getattr(V, method) is OPS[name].function, method


def test_scalar_operators_take_the_scalar_op_and_others_the_binary_op():
    x = cr.Variable(np.arange(6.0).reshape(2, 3))
    assert type((x + 1.0).creator).__name__ == "AddScalar"
    assert type((x * 2).creator).__name__ == "MulScalar"
    assert type((x + x).creator).__name__ == "Add"
    assert type((x * np.float64(2.0)).creator).__name__ == "MulScalar"  # a NumPy scalar is a number
    assert type((x * np.array(2.0)).creator).__name__ == "Mul"  # a 0-d array is an array
    np.testing.assert_array_equal((x + 1.5).data, x.data + 1.5)
    np.testing.assert_array_equal((x * 3).data, x.data * 3)
    np.testing.assert_array_equal((np.ones(3) @ x.T).data, np.ones(3) @ x.data.T)
    np.testing.assert_array_equal((2.0 - x).data, 2.0 - x.data)
    np.testing.assert_array_equal((x >= 2).data, x.data >= 2)
    assert hash(x) == object.__hash__(x) and {x: 1}[x] == 1  # hashable by identity


def test_operator_second_derivative_through_installed_operators():
    x = cr.Variable(np.array([0.3, -1.2]))
    y = ((x * 2.0 + 1.0) ** 3 / (1.0 + x * x)).sum()
    (g,) = cr.gradients([y], [x], create_graph=True)
    (h,) = cr.gradients([g.sum()], [x])
    a = x.data
    u = 2 * a + 1
    f1 = (6 * u ** 2 * (1 + a * a) - u ** 3 * 2 * a) / (1 + a * a) ** 2
    np.testing.assert_allclose(g.data, f1, rtol=1e-12)
    eps = 1e-6
    num = []
    for s in (eps, -eps):
        u = 2 * (a + s) + 1
        num.append((6 * u ** 2 * (1 + (a + s) ** 2) - u ** 3 * 2 * (a + s)) / (1 + (a + s) ** 2) ** 2)
    np.testing.assert_allclose(h.data, (num[0] - num[1]) / (2 * eps), rtol=1e-6)


@pytest.mark.parametrize("sym", ["+=", "-=", "*=", "/="])
def test_in_place_operators_still_update_under_no_grad_and_record_otherwise(sym):
    p = cr.Variable(np.array([2.0, 4.0]))
    ref = {"+=": p.data + 2, "-=": p.data - 2, "*=": p.data * 2, "/=": p.data / 2}[sym]
    with cr.no_grad():
        loc = {"q": p}
        exec(f"q {sym} 2.0", {}, loc)
    assert loc["q"] is p and p._version == 1
    np.testing.assert_array_equal(p.data, ref)
    y = p * 1.0
    loc = {"z": y}
    exec(f"z {sym} 2.0", {}, loc)
    assert loc["z"] is not y and loc["z"].creator is not None
