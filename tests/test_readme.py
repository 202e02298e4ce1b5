"""Every printed value in the README's quick start is what the README says it is.

In the README's ```python blocks, ``print(...)  # TEXT`` expects the line TEXT, and a comment line
``# -> TEXT`` expects the next printed line to be TEXT. The blocks run in order in one namespace.
"""
import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _expected(block):
    out = []
    for line in block.splitlines():
        s = line.strip()
        if s.startswith("# -> "):
            out.append(s[5:])
        elif s.startswith("print(") and "  # " in line:
            out.append(line.split("  # ", 1)[1])
    return out


def test_readme_has_quick_start_blocks():
    assert len(_blocks()) >= 5


def test_readme_prints_what_it_says():
    namespace: dict = {}
    for block in _blocks():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(block, str(README), "exec"), namespace)
        got = buf.getvalue().splitlines()
        assert got == _expected(block), f"README block printed {got}\n---\n{block}"
