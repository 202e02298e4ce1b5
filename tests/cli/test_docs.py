"""The docs about the command line and the examples say what is true: README's `chainrule` command
lines parse, README's Examples list names every script in examples/."""
import itertools
import pathlib
import re
import shlex

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _section(text, title):
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_readme_command_lines_parse(tmp_path, monkeypatch):
    from chainrule.cli import build_parser

    section = _section(README, "The `chainrule` command")
    lines = [line for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL) for line in block.splitlines()]
    commands = [shlex.split(line.split(" #")[0].split(" > ")[0]) for line in lines if line.startswith("chainrule ")]
    assert len(commands) >= 6 and {c[1] for c in commands} >= {"lstm", "mlp", "cnn", "dot", "help"}
    monkeypatch.chdir(tmp_path)  # --plot/--save targets are checked to be writable here
    parser, _ = build_parser()
    for argv in commands:
        for flag, value in itertools.pairwise(argv):
            if flag == "--load":
                (tmp_path / value).write_bytes(b"")  # --load checks that the file exists
        args = parser.parse_args(argv[1:])
        assert args.program == argv[1]


def test_readme_examples_list_names_every_script():
    listed = re.findall(r"^- `(examples/[\w.]+\.py)`", _section(README, "Examples"), flags=re.MULTILINE)
    on_disk = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.py"))
    assert sorted(listed) == on_disk


FROM_PYTORCH = ROOT / "docs" / "from-pytorch.md"

# What the table's cells refer to, set up afresh before each row (after the page's script has run).
_CHAINRULE_SETUP = """
x = cr.randn(2, 3)
y = (x * x).sum()
layer = L.Linear(3)
model = Net()
logits, t = model(xs), ts
loss = F.softmax_cross_entropy(logits, t)
pred, target = cr.randn(4), cr.randn(4)
out_size = 3
path = "from-pytorch-table.safetensors"
h, fn = x * 2, lambda g: g * 2
p, lr = cr.randn(3), 0.1
(p * p).sum().backward()
cr.set_default_dtype(cr.float64)
"""

_TORCH_PRELUDE = """
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
"""

_TORCH_SETUP = """
import torch.nn.functional as F
torch.set_default_dtype(torch.float32)
x = torch.randn(2, 3, requires_grad=True)
y = (x * x).sum()
in_features, out_features = 2, 3
layer = nn.Linear(in_features, out_features)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
xs, ts = torch.randn(64, 2), torch.randint(0, 3, (64,))
logits, t = model(xs), ts
loss = F.cross_entropy(logits, t)
pred, target = torch.randn(4), torch.randn(4)
path = "from-pytorch-table.pt"
h, fn = x * 2, lambda g: g * 2
p, lr = torch.randn(3, requires_grad=True), 0.1
(p * p).sum().backward()
"""

_ROW_RUNNER = """
import json, sys
failures = []
base = dict(globals())
for row in json.loads(sys.argv[1]):
    ns = dict(base)  # each row starts from the same names
    exec(SETUP, ns)
    for span in row:
        code = span + "\\n    pass" if span.endswith(":") else span + ":\\n    pass" if span.startswith("class ") else span
        try:
            exec(code, ns)
        except Exception as e:
            failures.append(f"{span}: {type(e).__name__}: {e}")
print(json.dumps(failures))
"""


def _table_rows(column):
    rows = []
    for line in FROM_PYTORCH.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 3 and cells[0] not in ("What", "---"):
            rows.append(re.findall(r"`([^`]+)`", cells[column]))
    return rows


def _run_rows(prelude, setup, rows, cwd):
    import json
    import subprocess
    import sys

    program = prelude + f"\nSETUP = {setup!r}\n" + _ROW_RUNNER
    r = subprocess.run([sys.executable, "-c", program, json.dumps(rows)],
                       cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_from_pytorch_runs_the_script_and_every_chainrule_spelling(tmp_path):
    script = "".join(re.findall(r"```python\n(.*?)```", FROM_PYTORCH.read_text(), flags=re.DOTALL))
    rows = _table_rows(2)
    assert len(rows) >= 20 and all(rows)
    failures = _run_rows(script, _CHAINRULE_SETUP, rows, tmp_path)
    assert failures == [], "\n".join(failures)


def test_from_pytorch_pytorch_column_is_pytorch(tmp_path):
    import pytest

    pytest.importorskip("torch")

    failures = _run_rows(_TORCH_PRELUDE, _TORCH_SETUP, _table_rows(1), tmp_path)
    assert failures == [], "\n".join(failures)
