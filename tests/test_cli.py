"""The `chainrule` command: lstm, dot and mlp programs, their flags and their user-error handling."""
import re
import shutil
import subprocess
import sys

import pytest

from chainrule.cli import main

SMALL = ["-N", "120", "-epochs", "2", "-batch-size", "10", "-hidden-size", "8", "-bptt-length", "4", "--quiet"]


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_lstm_prints_csv_and_per_epoch_loss(capsys):
    rc, out, err = run(capsys, "lstm", *SMALL)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "x,y" and len(lines) == 121
    assert all(re.fullmatch(r"-?\d+\.\d+,-?\d+\.\d+", line) for line in lines[1:])
    assert re.search(r"epoch +1 +loss \d\.\d+", err) and re.search(r"epoch +2 +loss", err)


def test_lstm_long_flag_spellings_and_seed_determinism(capsys):
    argv = ["lstm", "--N", "60", "--epochs", "1", "--batch-size", "10", "--hidden-size", "4",
            "--bptt-length", "2", "--learning-rate", "0.05", "--noise", "0.1", "--seed", "3", "--quiet"]
    rc1, out1, _ = run(capsys, *argv)
    rc2, out2, _ = run(capsys, *argv)
    rc3, out3, _ = run(capsys, *argv[:-2], "4", "--quiet")
    assert rc1 == rc2 == rc3 == 0
    assert out1 == out2 and out1 != out3


@pytest.mark.parametrize("argv", [["-epochs", "0"], ["-noise", "-1"], ["-learning-rate", "abc"], ["-bogus", "1"],
                                  ["-N", "5"]])
def test_lstm_bad_flags_give_a_message_and_exit_2(capsys, argv):
    rc, out, err = run(capsys, "lstm", *argv)
    assert rc == 2
    assert err.startswith("chainrule lstm: ") and "Traceback" not in err


def test_lstm_checkpoint_round_trip_and_errors(capsys, tmp_path):
    path = str(tmp_path / "lstm.safetensors")
    rc, out, _ = run(capsys, "lstm", *SMALL, "--save", path)
    assert rc == 0
    rc, out_again, _ = run(capsys, "lstm", *SMALL, "--load", path, "-epochs", "1")
    assert rc == 0 and out_again.splitlines()[0] == "x,y"
    rc, _, err = run(capsys, "lstm", *SMALL, "-hidden-size", "5", "--load", path)
    assert rc == 2 and "lstm.h2f.w" in err and "(5, 5)" in err and "Traceback" not in err
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    rc, _, err = run(capsys, "lstm", *SMALL, "--load", str(bad))
    assert rc == 2 and "corrupt.safetensors" in err
    rc, _, err = run(capsys, "lstm", *SMALL, "--load", str(tmp_path / "missing.safetensors"))
    assert rc == 2 and "missing.safetensors" in err


def test_lstm_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "lstm.png"
    rc, _, _ = run(capsys, "lstm", *SMALL, "--plot", str(png))
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dot_graph_of_derivatives(capsys):
    rc, out0, _ = run(capsys, "dot", "-func", "tanh", "-order", "0")
    assert rc == 0 and out0.startswith("digraph g {") and out0.rstrip().endswith("}")
    assert out0.count("shape=box") == 1 and 'label="Tanh"' in out0
    rc, out2, _ = run(capsys, "dot", "-func", "tanh", "-order", "2", "-x", "0.5", "-verbose")
    assert rc == 0 and out2.count("shape=box") > out0.count("shape=box")
    assert "() float64" in out2 and 'label="gx2: () float64"' in out2


def test_dot_bad_input(capsys, tmp_path):
    rc, _, err = run(capsys, "dot", "-func", "nope")
    assert rc == 2 and "invalid choice" in err
    rc, _, err = run(capsys, "dot", "-order", "-1")
    assert rc == 2
    if shutil.which("dot") is None:
        rc, _, err = run(capsys, "dot", "--png", str(tmp_path / "g.png"))
        assert rc == 2 and "Graphviz" in err


def test_mlp_prints_test_accuracy(capsys):
    pytest.importorskip("sklearn")
    rc, out, err = run(capsys, "mlp", "-epochs", "2")
    assert rc == 0
    acc = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert acc > 0.8  # two epochs of SGD already separate the digits well
    assert "epoch   2" in err


def test_unknown_program_and_help(capsys):
    rc, _, err = run(capsys, "train-everything")
    assert rc == 2 and "unknown program" in err
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "lstm" in out and "dot" in out


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "chainrule", "dot", "-func", "sin", "-order", "1"],
                       capture_output=True, text=True, timeout=60)
    # the first derivative's graph is gy * cos(x): Cos and Mul nodes, no Sin
    assert r.returncode == 0 and 'label="Cos"' in r.stdout and 'label="Mul"' in r.stdout


def test_cnn_prints_test_accuracy(capsys):
    pytest.importorskip("sklearn")
    rc, out, err = run(capsys, "cnn", "-epochs", "1")
    assert rc == 0 and "epoch   1" in err
    assert float(re.search(r"test accuracy (\d\.\d+)", out).group(1)) > 0.5
    rc, _, err = run(capsys, "cnn", "-batch-size", "0")
    assert rc == 2 and "must be positive" in err


def test_lstm_with_default_flags_reaches_the_target_loss():
    """The main job as the README runs it: the last epoch's mean loss is below 0.005."""
    import io

    from chainrule.cli.lstm import build_parser, train

    _, losses = train(build_parser().parse_args(["--quiet"]), log=io.StringIO())
    assert len(losses) == 100
    assert losses[-1] < 0.005
    assert losses[-1] < losses[0] / 50
