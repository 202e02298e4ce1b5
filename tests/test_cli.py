"""The `chainrule` command, run as users run it: a real process (the installed `chainrule` script,
or `python -m chainrule`), its exit status, its messages, and never a Python traceback."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

_SCRIPT = os.path.join(os.path.dirname(sys.executable), "chainrule")
COMMAND = [_SCRIPT] if os.path.exists(_SCRIPT) else [sys.executable, "-m", "chainrule"]
SMALL = ["-N", "120", "-epochs", "2", "-batch-size", "10", "-hidden-size", "8", "-bptt-length", "4"]
TINY_MLP = ["-epochs", "1", "-hidden-size", "16", "-batch-size", "128"]


def no_traceback(r):
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    assert "Exception ignored" not in r.stderr, r.stderr


def chainrule(*argv, env=None, timeout=120, **kw):
    r = subprocess.run([*COMMAND, *argv], capture_output=True, text=True, timeout=timeout, check=False,
                       env=None if env is None else {**os.environ, **env}, **kw)
    no_traceback(r)
    return r


def pythonpath_first(*entries) -> dict:
    """``{"PYTHONPATH": ...}`` with ``entries`` ahead of this process's own PYTHONPATH, which is
    kept: where chainrule is not installed but found through it, the subprocess needs it too."""
    kept = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([*map(str, entries), *([kept] if kept else [])])}


def usage_error(*argv, **kw):
    """Run a command line that must be refused before any work: exit 2, one message, no training."""
    r = chainrule(*argv, **kw)
    assert r.returncode == 2, (argv, r.stderr)
    assert r.stdout == "" and not re.search(r"^epoch", r.stderr, flags=re.MULTILINE)
    assert r.stderr.startswith("chainrule")
    return r.stderr


def first_epoch_loss(stderr):
    return float(re.search(r"epoch +1 +loss (\S+)", stderr).group(1))


# ----- the lstm program -----

def test_lstm_prints_csv_and_one_loss_line_per_epoch_without_a_bar_when_stderr_is_not_a_terminal():
    r = chainrule("lstm", *SMALL)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "x,y" and len(lines) == 121
    assert all(re.fullmatch(r"-?\d+\.\d+,-?\d+\.\d+", line) for line in lines[1:])
    epochs = re.findall(r"^epoch +(\d+) +loss \d\.\d+$", r.stderr, flags=re.MULTILINE)
    assert epochs == ["1", "2"]
    assert "\r" not in r.stderr and "epoch/s" not in r.stderr  # tqdm's bar is off: stderr is a pipe


def test_lstm_single_and_double_dash_flags_agree_and_the_seed_decides_the_result():
    values = {"N": "60", "epochs": "1", "batch-size": "10", "hidden-size": "4", "bptt-length": "2",
              "learning-rate": "0.05", "noise": "0.1"}
    single = [x for name, v in values.items() for x in (f"-{name}", v)]
    double = [x for name, v in values.items() for x in (f"--{name}", v)]
    a = chainrule("lstm", *double, "--seed", "3")
    b = chainrule("lstm", *single, "-seed", "3")
    c = chainrule("lstm", *double, "--seed", "4")
    assert a.returncode == b.returncode == c.returncode == 0
    assert a.stdout == b.stdout and a.stdout != c.stdout


@pytest.mark.parametrize("argv, message", [
    (["-seed", "-1"], "argument -seed/--seed: must not be negative, got -1"),
    (["-learning-rate", "nan"], "must be a finite number, got nan"),
    (["-learning-rate", "inf"], "must be a finite number, got inf"),
    (["-learning-rate", "0"], "-learning-rate/--learning-rate: must be positive"),
    (["-noise", "-0.5"], "-noise/--noise: must not be negative"),
    (["-epochs", "0"], "-epochs/--epochs: must be positive, got 0"),
    (["-hidden-size", "-3"], "-hidden-size/--hidden-size: must be positive"),
    (["-batch-size", "2.5"], "'2.5' is not an integer"),
    (["-learning-rate", "abc"], "'abc' is not a number"),
    (["-bogus", "1"], "unrecognized arguments: -bogus 1"),
    (["-N", "5"], "-N 5 gives no full batch of -batch-size 30"),
])
def test_lstm_bad_flags_are_refused_with_a_message_and_exit_2(argv, message):
    err = usage_error("lstm", *argv)
    assert err.startswith("chainrule lstm: error: ") and message in err
    if argv[0] != "-N":  # every flag mistake points at the program's own help
        assert "`chainrule lstm -h` lists the flags" in err


@pytest.mark.parametrize("argv, message", [
    (["--plot", "missing_dir/x.png"], "the directory"),
    (["--plot", "out.jpgx"], "matplotlib cannot write .jpgx images"),
    (["--plot", "picture"], "picture has no extension"),
    (["--save", "missing_dir/ckpt"], "cannot write missing_dir/ckpt: the directory"),
    (["--save", "."], ". is a directory"),
    (["--load", "missing.safetensors"], "missing.safetensors does not exist"),
])
def test_lstm_output_and_input_paths_are_checked_before_training(tmp_path, argv, message):
    if argv[0] == "--plot" and "directory" not in message:
        pytest.importorskip("matplotlib")  # the format check asks matplotlib
    # the default flags would train for seconds: a refusal that waits for training shows as "epoch"
    err = usage_error("lstm", *argv, cwd=tmp_path)
    assert message in err and ".tmp" not in err


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path):
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    env = pythonpath_first(fake.parent)
    for program in ("lstm", "mlp", "cnn"):
        err = usage_error(program, "--plot", str(tmp_path / "a.png"), env=env)
        assert "pip install 'chainrule[plot]'" in err


def test_lstm_save_load_and_plot(tmp_path):
    ckpt, png = str(tmp_path / "lstm.safetensors"), tmp_path / "lstm.png"
    r = chainrule("lstm", *SMALL, "--save", ckpt, "--plot", str(png))
    assert r.returncode == 0 and f"weights written to {ckpt}" in r.stderr
    if "plot written" in r.stderr:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = chainrule("lstm", *SMALL, "--load", ckpt, "-epochs", "1")
    assert again.returncode == 0 and again.stdout.splitlines()[0] == "x,y"
    # training went on from the saved weights: the first epoch starts below the fresh run's first epoch
    assert first_epoch_loss(again.stderr) < first_epoch_loss(r.stderr)
    err = usage_error("lstm", *SMALL, "-hidden-size", "5", "--load", ckpt)
    assert "lstm.h2f.w" in err and "(5, 5)" in err
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    assert "corrupt.safetensors" in usage_error("lstm", *SMALL, "--load", str(bad))


def test_a_diverging_run_is_a_runtime_failure_with_exit_1():
    r = chainrule("lstm", *SMALL, "-learning-rate", "1e300")
    assert r.returncode == 1 and r.stdout == ""
    assert "chainrule lstm: error: training diverged at epoch 1 (loss nan)" in r.stderr
    assert "RuntimeWarning" not in r.stderr


def test_a_failure_after_training_names_the_users_file_not_a_temp_file(tmp_path):
    import chainrule as cr
    from chainrule.cli.checkpoint import SaveError, save_checkpoint

    target = tmp_path / "gone" / "model.safetensors"  # its directory vanished during training
    with pytest.raises(SaveError, match=r"cannot write .*gone/model\.safetensors: No such file") as e:
        save_checkpoint({"w": cr.variable(1.0, 2.0)}, str(target))
    assert ".tmp" not in str(e.value)


# ----- exit codes, help, version, pipes, Ctrl-C -----

def test_help_subcommand_and_dash_h_agree_and_version():
    for program in ("lstm", "mlp"):
        a, b = chainrule("help", program), chainrule(program, "-h")
        assert a.returncode == b.returncode == 0 and a.stdout == b.stdout
        assert f"usage: chainrule {program}" in a.stdout
    # argparse names the metavar once from Python 3.13 on ("-learning-rate, --learning-rate LEARNING_RATE")
    assert re.search(r"-learning-rate( LEARNING_RATE)?, --learning-rate LEARNING_RATE", chainrule("help", "lstm").stdout)
    top = chainrule("help")
    assert top.returncode == 0 and all(p in top.stdout for p in ("lstm", "dot", "mlp", "cnn"))
    v = chainrule("--version")
    assert v.returncode == 0 and re.fullmatch(r"chainrule \d+\.\d+\.\d+\S*\n", v.stdout)


def test_usage_mistakes_at_the_top_level_exit_2():
    r = chainrule()
    assert r.returncode == 2 and "usage: chainrule" in r.stderr
    r = chainrule("train-everything")
    assert r.returncode == 2 and "invalid choice: 'train-everything'" in r.stderr
    r = chainrule("help", "nope")
    assert r.returncode == 2 and "invalid choice: 'nope'" in r.stderr


@pytest.mark.parametrize("argv", [["-h"], ["help", "lstm"], ["lstm", *SMALL], ["dot", "-order", "3"]])
def test_a_closed_pipe_ends_quietly(argv):
    """`chainrule ... | head` where the reader has already gone: no traceback, no 'Exception ignored',
    exit status 1 (argparse's own -h ignores the error and exits 0)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run([*COMMAND, *argv], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                           check=False)
    finally:
        os.close(write_end)
    assert r.returncode == (0 if argv == ["-h"] else 1)
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr and "BrokenPipe" not in r.stderr


def test_a_closed_pipe_does_not_cost_the_checkpoint(tmp_path):
    ckpt = tmp_path / "lstm.safetensors"
    r = subprocess.run(f"{' '.join(COMMAND)} lstm {' '.join(SMALL)} --save {ckpt} | head -1", shell=True,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.stdout == "x,y\n" and "Traceback" not in r.stderr
    assert ckpt.stat().st_size > 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_exits_130_without_a_traceback():
    p = subprocess.Popen([*COMMAND, "lstm", "-epochs", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stderr.readline().startswith("epoch")  # training is under way
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130 and "chainrule lstm: interrupted" in err and "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("quiet", [False, True])
def test_the_progress_bar_is_drawn_on_a_terminal_unless_quiet(quiet):
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # tqdm draws nothing at 0 columns
    try:
        p = subprocess.Popen([*COMMAND, "lstm", *SMALL, *(["-quiet"] if quiet else [])],
                             stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        assert p.wait(timeout=60) == 0
    finally:
        os.close(master)
    err = b"".join(chunks).decode(errors="replace")
    assert len(re.findall(r"epoch +\d+ +loss", err)) == 2
    assert ("epoch/s" in err or "s/epoch" in err) != quiet


# ----- the dot program -----

def test_dot_shows_x_labels_constants_and_prints_the_same_text_on_every_run():
    a = chainrule("dot", "-func", "tanh", "-order", "1", "-x", "0.5")
    b = chainrule("dot", "-func", "tanh", "-order", "1", "-x", "0.5")
    assert a.returncode == 0 and a.stdout == b.stdout  # node names are not id()s
    assert a.stdout.startswith("digraph g {") and a.stdout.rstrip().endswith("}")
    assert 'label="x = 0.5"' in a.stdout and 'label="const 1", color=lightgrey' in a.stdout
    assert 'label="Tanh"' in a.stdout and 'label="gx1"' in a.stdout  # tanh's rule: gy * (1 - y * y)
    ids = re.findall(r"^(\w+) \[", a.stdout, flags=re.MULTILINE)
    assert ids == sorted(ids, key=lambda s: int(s[1:])) and len(set(ids)) == len(ids)


def test_dot_verbose_puts_values_shapes_and_dtypes_on_the_nodes():
    import math

    r = chainrule("dot", "-func", "tanh", "-order", "2", "-x", "0.5", "-verbose")
    assert r.returncode == 0
    t = math.tanh(0.5)
    assert f'label="gx2 = {-2 * t * (1 - t * t):.6g}\\n() float64"' in r.stdout
    assert f'label="y = {t:.6g}\\n() float64"' in r.stdout
    assert r.stdout.count("shape=box") > 4


def test_dot_derivatives_that_become_constant_and_the_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "chainrule", "dot", "-func", "square", "-order", "3"],
                       capture_output=True, text=True, timeout=60, check=False)
    no_traceback(r)
    assert r.returncode == 0 and 'label="gx3 = 0"' in r.stdout and "shape=box" not in r.stdout


@pytest.mark.parametrize("argv, message", [
    (["-order", "30"], "must be at most 8, got 30: the graph of the n-th derivative grows"),
    (["-order", "-1"], "must not be negative"),
    (["-func", "nope"], "invalid choice: 'nope'"),
    (["-x", "nan"], "must be a finite number"),
    (["-func", "sqrt", "-x", "-1"], "sqrt is defined for x > 0"),
    (["-func", "log", "-x", "0"], "log is defined for x > 0"),
    (["--png", "missing_dir/g.png"], "the directory"),
    (["--png", "g.jpg"], "--png writes a PNG image"),
])
def test_dot_bad_flags_exit_2(argv, message):
    assert message in usage_error("dot", *argv)


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed here")
def test_dot_png_without_graphviz_says_so(tmp_path):
    assert "Graphviz" in usage_error("dot", "--png", str(tmp_path / "g.png"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_dot_png_draws_a_picture(tmp_path):
    png = tmp_path / "g.png"
    assert chainrule("dot", "--png", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----- mlp and cnn -----

def test_mlp_trains_saves_plots_and_loads(tmp_path):
    pytest.importorskip("sklearn")
    ckpt = str(tmp_path / "mlp.safetensors")
    plot = ["--plot", str(tmp_path / "mlp.png")] if _has("matplotlib") else []
    r = chainrule("mlp", *TINY_MLP, "-seed", "1", "--save", ckpt, *plot)
    assert r.returncode == 0 and re.fullmatch(r"test accuracy \d\.\d{4}\n", r.stdout)
    assert re.search(r"^epoch +1 +loss \d\.\d{4} ", r.stderr, flags=re.MULTILINE) and "\r" not in r.stderr
    if plot:
        assert (tmp_path / "mlp.png").read_bytes()[:4] == b"\x89PNG"
    same = chainrule("mlp", *TINY_MLP, "--seed", "1", "-quiet")
    assert same.stdout == r.stdout and same.stderr.count("loss") == 1  # the seed decides everything
    loaded = chainrule("mlp", *TINY_MLP, "-epochs", "0", "--load", ckpt)
    assert loaded.returncode == 0 and loaded.stdout == r.stdout  # -epochs 0 evaluates the checkpoint
    assert "linear[0].w" in usage_error("mlp", *TINY_MLP, "-hidden-size", "17", "--load", ckpt)


def test_mlp_and_cnn_refuse_bad_flags():
    assert "must not be negative" in usage_error("mlp", "-seed", "-1")
    assert "must be a finite number" in usage_error("mlp", "-learning-rate", "inf")
    assert "must be positive" in usage_error("cnn", "-batch-size", "0")
    assert "the directory" in usage_error("cnn", "--save", "missing_dir/c.safetensors")


def test_mlp_without_scikit_learn_is_a_runtime_failure(tmp_path):
    fake = tmp_path / "fake" / "sklearn"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no scikit-learn here')\n")
    r = chainrule("mlp", "-epochs", "1", env=pythonpath_first(fake.parent))
    assert r.returncode == 1 and "chainrule mlp: error: digits() needs scikit-learn" in r.stderr


def test_cnn_trains_saves_and_loads(tmp_path):
    pytest.importorskip("sklearn")
    ckpt = str(tmp_path / "cnn.safetensors")
    r = chainrule("cnn", "-epochs", "1", "-batch-size", "128", "--save", ckpt)
    assert r.returncode == 0 and "epoch    1  loss" in r.stderr and f"weights written to {ckpt}" in r.stderr
    assert float(re.search(r"test accuracy (\d\.\d+)", r.stdout).group(1)) > 0.3
    loaded = chainrule("cnn", "-epochs", "0", "--load", ckpt)
    assert loaded.returncode == 0 and loaded.stdout == r.stdout


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# ----- in-process pieces -----

def test_dot_graph_names_nodes_by_walk_order_and_escapes_labels():
    import chainrule as cr
    import chainrule.functions as F
    from chainrule.viz import dot_graph

    def graph():
        x = cr.variable(2.0, name='a "quoted" x')
        return dot_graph(F.sin(x) * 3.0 + x, inputs=[x])

    text = graph()
    assert text == graph()
    assert 'label="a \\"quoted\\" x = 2"' in text and "v0 [" in text and "f1 [" in text


def test_lstm_with_default_flags_reaches_the_target_loss():
    """The main job as the README runs it: the last epoch's mean loss is below 0.005."""
    import io

    from chainrule.cli.lstm import build_parser, train

    started = time.perf_counter()
    _, losses = train(build_parser().parse_args(["--quiet"]), log=io.StringIO())
    assert len(losses) == 100
    assert losses[-1] < 0.005
    assert losses[-1] < losses[0] / 50
    assert time.perf_counter() - started < 120
