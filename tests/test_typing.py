"""Users' code type-checks against chainrule: the package ships ``py.typed``, the ops take
``Variable | ArrayLike`` and return ``Variable``, and operators and methods are declared."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_CODE = textwrap.dedent('''
    import numpy as np
    import chainrule as cr
    import chainrule.functions as F

    x = cr.Variable(np.ones((2, 3)))
    W = cr.randn(3, 4)
    y = F.relu(F.linear(x, W, None))
    loss = F.softmax_cross_entropy(y, np.array([0, 1])) + F.sum(F.exp(np.ones(3)) * 2.0)
    loss.backward()
    reveal_type(F.getitem(x, 0))
    reveal_type((x @ W).sum(axis=0).exp())
    F.exp({"not": "an array"})
''')


def test_user_code_type_checks_and_ops_return_variables(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    script = tmp_path / "user.py"
    script.write_text(USER_CODE)
    # checked for the running interpreter, not pyproject's python_version (3.10): NumPy >= 2.5's stubs
    # import collections.abc.Buffer (3.12+), which mypy reads as Any for 3.10, so ArrayLike took a dict
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    out = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--ignore-missing-imports",
                          "--follow-imports=silent", "--python-version", version, str(script)],
                         capture_output=True, text=True, timeout=300).stdout
    revealed = [line for line in out.splitlines() if "Revealed type" in line]
    assert len(revealed) == 2, out
    assert all('"chainrule.core.variable.Variable"' in line for line in revealed), out
    # a dict is not an operand: the only error is on the last line
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "user.py:13:" in errors[0], out
