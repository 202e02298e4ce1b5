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
