"""The op table ``docs/ops.md``: every name and test it cites exists, every public op of
``chainrule.functions`` is listed, no cell is blank. Also the first- and second-order gradient
checks of the few ops that no per-family test file covers (arithmetic, scalar variants,
broadcasting, ``sum_dim``/``mean_dim`` spellings, device transfer); the table cites them."""
from __future__ import annotations

import ast
import inspect
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule.testing import gradcheck, gradcheck_device, gradgradcheck

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "ops.md"
RNG = np.random.default_rng(44)

F_NAME = re.compile(r"\bF\.([A-Za-z_]\w*)")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)(\[[^\]\s|]*\])?")


# ----- parsing the table -----
@lru_cache(maxsize=None)
def _rows() -> tuple:
    """Every body row of every Markdown table in ops.md as (line number, cells)."""
    rows = []
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if not s.startswith("|"):
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
            continue  # the separator row
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if nxt.startswith("|") and re.fullmatch(r"[|:\-\s]+", nxt):
            continue  # a header row
        rows.append((i + 1, tuple(cells)))
    return tuple(rows)


def _table_text() -> str:
    return "\n".join(" | ".join(cells) for _, cells in _rows())


def _public_ops() -> set:
    """The public names of ``chainrule.functions`` (its family modules excluded)."""
    names = getattr(F, "__all__", None) or [n for n in dir(F) if not n.startswith("_")]
    return {n for n in names if not inspect.ismodule(getattr(F, n))}


@lru_cache(maxsize=None)
def _defined_tests(path: str) -> frozenset:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def test_table_has_rows_and_no_blank_cell():
    rows = _rows()
    assert len(rows) > 100
    widths = {len(cells) for _, cells in rows}
    assert widths == {4}, f"rows with other than 4 cells: {widths}"
    blank = [(n, cells) for n, cells in rows if any(c in ("", "-", "?", "TODO") for c in cells)]
    assert not blank, f"blank cells in docs/ops.md: {blank}"


def test_every_F_name_exists():
    missing = sorted({m for m in F_NAME.findall(_table_text()) if not hasattr(F, m)})
    assert not missing, f"docs/ops.md names ops that chainrule.functions lacks: {missing}"


def test_every_test_reference_exists():
    refs = TEST_REF.findall(_table_text())
    assert len(refs) > 50
    bad = []
    for path, name, _ in refs:
        if not (ROOT / path).is_file():
            bad.append(f"{path} (no such file)")
        elif name not in _defined_tests(path):
            bad.append(f"{path}::{name}")
    assert not bad, f"docs/ops.md cites tests that do not exist: {sorted(set(bad))}"


def test_every_row_cites_a_test():
    bad = [(n, cells[0]) for n, cells in _rows() if not TEST_REF.search(cells[3])]
    assert not bad, f"rows without a test reference: {bad}"


def test_every_public_op_is_in_the_table():
    listed = set(F_NAME.findall(_table_text()))
    missing = sorted(_public_ops() - listed)
    assert not missing, f"public names of chainrule.functions missing from docs/ops.md: {missing}"


def test_both_reference_lists_are_covered():
    text = TABLE.read_text(encoding="utf-8")
    first = {m.group(1) for _, c in _rows() for m in [re.match(r"`(\w+)`", c[0])] if m}
    second_lib = ("Add AddScalar And Argmax Cast Cat Chunk Conv2D Cos CrossEntropy Div DivScalar Equal Exp "
                  "Expand Gather Greater GreaterEqual Log Lower LowerEqual MatMul MaxPool2D MeanDim Mul "
                  "MulScalar Not NotEqual Or ReLU Reshape Rsqrt SiLU Sigmoid Sin Softmax Sqrt Squeeze Sub "
                  "SubScalar Sum SumDim Tanh Transpose Unsqueeze Where").split()
    first_lib = ("Add AddC Sub SubC Mul MulC Div DivC Neg Pow Square Exp Log Sin Cos Tanh Sigmoid ReLU "
                 "Softmax SoftmaxCrossEntropy MeanSquaredError Sum SumTo BroadcastTo Reshape Transpose "
                 "MatMul Linear GetItem Max Min Clip Dropout").split()
    missing = sorted(set(second_lib + first_lib) - first)
    assert not missing, f"reference ops without a row: {missing}"
    for non_op in ("Device", "Name", "Tape", "GetTape", "Inner", "NoGrad"):
        assert non_op in text


# ----- gradient checks for ops without a per-family test file -----
def _nonzero(*shape):
    """Values with |x| in [0.5, 1.5]: safe denominators."""
    return RNG.uniform(0.5, 1.5, shape) * RNG.choice([-1.0, 1.0], shape)


BINARY = {
    "add": (F.add, lambda a, b: a + b),
    "sub": (F.sub, lambda a, b: a - b),
    "mul": (F.mul, lambda a, b: a * b),
    "div": (F.div, lambda a, b: a / b),
    "rsub": (F.rsub, lambda a, b: b - a),
    "rdiv": (F.rdiv, lambda a, b: b / a),
    "pow": (F.pow, lambda a, b: a ** b),
    "rpow": (F.rpow, lambda a, b: b ** a),
}


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((2, 1), (1, 3))], ids=["row", "outer"])
@pytest.mark.parametrize("name", list(BINARY))
def test_gradcheck_arithmetic_binary(name, shapes):
    f, ref = BINARY[name]
    a, b = _nonzero(*shapes[0]), _nonzero(*shapes[1])
    if name == "pow":
        a = np.abs(a)  # a real power of a positive base
    if name == "rpow":
        b = np.abs(b)
    np.testing.assert_allclose(f(cr.Variable(a), cr.Variable(b)).data, ref(a, b), rtol=1e-14)
    gradcheck(f, a, b)
    gradgradcheck(f, a, b)


def test_arithmetic_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = np.abs(_nonzero(2, 3)), _nonzero(3)
    gy = RNG.standard_normal((2, 3))
    for name, (f, ref) in BINARY.items():
        av, bv = cr.Variable(a), cr.Variable(np.abs(b) if name == "rpow" else b)
        y = f(av, bv)
        ga, gb = cr.gradients([y], [av, bv], grad_outputs=[cr.Variable(gy)])
        at = torch.tensor(av.data, requires_grad=True)
        bt = torch.tensor(bv.data, requires_grad=True)
        yt = ref(at, bt)
        gat, gbt = torch.autograd.grad(yt, [at, bt], grad_outputs=torch.tensor(gy))
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(ga.data, gat.numpy(), rtol=1e-11, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(gb.data, gbt.numpy(), rtol=1e-11, atol=1e-13, err_msg=name)


SCALAR = {
    "add_scalar": (lambda x: F.add_scalar(x, 1.5), lambda x: x + 1.5),
    "sub_scalar": (lambda x: F.sub_scalar(x, 1.5), lambda x: x - 1.5),
    "mul_scalar": (lambda x: F.mul_scalar(x, -2.5), lambda x: x * -2.5),
    "div_scalar": (lambda x: F.div_scalar(x, 4.0), lambda x: x / 4.0),
    "neg": (F.neg, lambda x: -x),
    "rsub_number": (lambda x: F.rsub(x, 2.0), lambda x: 2.0 - x),
    "rdiv_number": (lambda x: F.rdiv(x, 2.0), lambda x: 2.0 / x),
    "pow_number": (lambda x: F.pow(x, 3.0), lambda x: x ** 3.0),
    "pow_real": (lambda x: F.pow(F.abs(x), 2.5), lambda x: np.abs(x) ** 2.5),
    "rpow_number": (lambda x: F.rpow(x, 2.0), lambda x: 2.0 ** x),
}


@pytest.mark.parametrize("name", list(SCALAR))
def test_gradcheck_scalar_ops(name):
    f, ref = SCALAR[name]
    x = _nonzero(2, 3)
    np.testing.assert_allclose(f(cr.Variable(x)).data, ref(x), rtol=1e-14)
    gradcheck(f, x)
    gradgradcheck(f, x)


BROADCAST = {
    "broadcast_to": ((3,), lambda x: F.broadcast_to(x, (2, 3)), lambda a: np.broadcast_to(a, (2, 3))),
    "broadcast_to_new_axes": ((2, 1), lambda x: F.broadcast_to(x, (2, 2, 3)),
                              lambda a: np.broadcast_to(a, (2, 2, 3))),
    "sum_to": ((2, 3), lambda x: F.sum_to(x, (3,)), lambda a: a.sum(0)),
    "sum_to_keep_axis": ((2, 3, 4), lambda x: F.sum_to(x, (3, 1)), lambda a: a.sum((0, 2))[:, None]),
    "expand": ((3, 1), lambda x: F.expand(x, (-1, 4)), lambda a: np.broadcast_to(a, (3, 4))),
}


@pytest.mark.parametrize("name", list(BROADCAST))
def test_gradcheck_broadcast(name):
    shape, f, ref = BROADCAST[name]
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(f(cr.Variable(x)).data, ref(x), rtol=1e-14)
    gradcheck(lambda v: f(v) ** 2, x)  # squared, so the second derivative is not zero
    gradgradcheck(lambda v: f(v) ** 2, x)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum_dim", "mean_dim"])
def test_gradcheck_dim_spellings(name, keepdim):
    f = getattr(F, name)
    x = RNG.standard_normal((2, 3, 2))
    ref = x.sum(1, keepdims=keepdim) / (3.0 if name == "mean_dim" else 1.0)
    np.testing.assert_allclose(f(cr.Variable(x), 1, keepdim).data, ref, rtol=1e-14)
    gradcheck(lambda v: f(v, 1, keepdim) ** 2, x)
    gradgradcheck(lambda v: f(v, 1, keepdim) ** 2, x)


class _HostArray(np.ndarray):
    """Host memory owned by a stand-in device, so that ``to_device`` really transfers."""


def test_gradcheck_to_device(monkeypatch, device):
    """There and back: from the checked device (where gradcheck puts x) to a stand-in device and
    back again, so both transfers and both gradient transfers are real on any device."""
    import chainrule.backend.base as base
    from chainrule.backend import Backend, backend_of, register_backend
    from chainrule.functions.device import ToDevice

    class StandIn(Backend):
        name = "standin"
        xp = np
        array_types = (_HostArray,)

        def asarray(self, data, dtype=None):  # arrays of other devices come over through the host
            return np.asarray(backend_of(data).to_numpy(data), dtype=dtype).view(_HostArray)

        def to_numpy(self, a):
            return np.asarray(a).view(np.ndarray).copy()

    monkeypatch.setattr(base, "_by_name", dict(base._by_name))
    monkeypatch.setattr(base, "_by_type", dict(base._by_type))
    register_backend(StandIn())
    home = cr.get_backend(device)
    f = lambda v: F.to_device(F.to_device(v, "standin") ** 3, device)  # noqa: E731
    x = home.asarray(RNG.standard_normal((2, 3)))
    y = F.to_device(cr.Variable(x), "standin")
    assert y.device == "standin" and type(y.data) is _HostArray and y.creator is not None
    out = f(cr.Variable(x))
    assert backend_of(out.data) is home and isinstance(out.creator, ToDevice)
    np.testing.assert_allclose(home.to_numpy(out.data), home.to_numpy(x) ** 3, rtol=1e-14)
    gradcheck(f, x)
    gradgradcheck(f, x)


# ----- value checks of the public array helpers (not ops: raw arrays in, raw arrays out) -----
def test_sum_to_array_values():
    a = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(F.sum_to_array(a, (3, 1)), a.sum(axis=(0, 2))[:, None], rtol=1e-14)
    np.testing.assert_allclose(F.sum_to_array(a, ()), a.sum(), rtol=1e-14)
    assert F.sum_to_array(a, a.shape) is a or np.array_equal(F.sum_to_array(a, a.shape), a)


@pytest.mark.parametrize("size,k,s,p,d", [(7, 3, 1, 0, 1), (7, 3, 2, 1, 1), (8, 2, 3, 2, 2), (5, 5, 1, 0, 1)])
def test_conv_output_size_counts_windows(size, k, s, p, d):
    span = d * (k - 1) + 1
    count = sum(1 for start in range(0, size + 2 * p, s) if start + span <= size + 2 * p)
    assert F.conv_output_size(size, k, s, p, d) == count


def test_im2col_array_and_col2im_array_are_adjoint():
    kh, kw, sh, sw, ph, pw, dh, dw = 2, 3, 2, 1, 1, 0, 1, 2
    x = RNG.standard_normal((2, 2, 5, 7))
    cols = np.asarray(F.im2col_array(x, kh, kw, sh, sw, ph, pw, dh, dw))
    oh, ow = F.conv_output_size(5, kh, sh, ph, dh), F.conv_output_size(7, kw, sw, pw, dw)
    assert cols.shape == (2, 2, kh, kw, oh, ow)
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for i in range(kh):
        for j in range(kw):
            ref = xpad[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            np.testing.assert_array_equal(cols[:, :, i, j], ref)
    c = RNG.standard_normal(cols.shape)
    back = F.col2im_array(c, 5, 7, sh, sw, ph, pw, dh, dw)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


# ----- the op table (chainrule.core.op.OPS): every declared op checked from its sample inputs -----
from chainrule.core.op import OPS, Op  # noqa: E402  (filled when chainrule.functions is imported)

# Op families converted to declarations (core/op.py); the lead widens this as families convert.
CONVERTED = ("arithmetic", "math", "broadcast", "recurrent", "norm", "attention", "linalg", "mlp", "reduction", "shape", "activation", "indexing", "compare", "device", "loss", "conv", "pool")
ARRAY_HELPERS_OF_CONVERTED = {"sum_to_array", "conv_output_size", "im2col_array", "col2im_array", "normalize_axis"}


def _cases() -> list:
    out = []
    for name, entry in sorted(OPS.items()):
        for i, case in enumerate(entry.samples(np.random.default_rng(7))):
            out.append(pytest.param(entry, i, case, id=f"{name}-{i}"))
    return out


CASES = _cases()


def _is_float_array(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _diff_positions(case: tuple) -> list:
    """The differentiated arguments: float arrays, also as items of a list argument (``concat``'s
    inputs) at position ``(i, j)``; numbers, shapes, dtypes are constants."""
    pos: list = []
    for i, a in enumerate(case):
        if _is_float_array(a):
            pos.append(i)
        elif isinstance(a, list):
            pos += [(i, j) for j, b in enumerate(a) if _is_float_array(b)]
    return pos


def _with(case: tuple, pos: list, vs) -> list:
    """``case`` with the arguments at ``pos`` replaced by ``vs``."""
    full = [list(a) if isinstance(a, list) else a for a in case]
    for p, v in zip(pos, vs):
        if isinstance(p, tuple):
            full[p[0]][p[1]] = v
        else:
            full[p] = v
    return full


def _as_function(entry, case: tuple):
    pos = _diff_positions(case)

    def fn(*vs):
        return entry.function(*_with(case, pos, vs))

    return fn, [case[p[0]][p[1]] if isinstance(p, tuple) else case[p] for p in pos]


def _flat_outputs(y) -> list:
    ys = list(y) if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(v.data if isinstance(v, cr.Variable) else v, dtype=np.float64) for v in ys]


def test_the_table_is_filled_by_the_declarations():
    assert len(OPS) >= 30
    for name, entry in OPS.items():
        assert getattr(F, name) is entry.function, name
        assert entry.samples(np.random.default_rng(0)), f"{name}: no sample inputs"


def test_every_public_op_of_a_converted_family_is_declared():
    import importlib

    missing = []
    for mod in CONVERTED:
        m = importlib.import_module(f"chainrule.functions.{mod}")
        missing += [f"{mod}.{n}" for n in m.__all__ if n not in OPS and n not in ARRAY_HELPERS_OF_CONVERTED]
    assert not missing, f"public ops of converted families not declared with @declare: {missing}"


def test_every_op_class_of_a_converted_family_is_in_an_entry():
    import importlib

    listed = {op for e in OPS.values() for op in e.ops}
    missing = []
    for mod in CONVERTED:
        m = importlib.import_module(f"chainrule.functions.{mod}")
        for k, v in vars(m).items():
            if isinstance(v, type) and issubclass(v, Op) and v.__module__ == m.__name__ and not k.startswith("_"):
                if v not in listed:
                    missing.append(f"{mod}.{k}")
                # one definition of the derivative: backward/backward_data are the generated glue
                for glue in (v.backward, v.backward_data):
                    assert (glue.__code__.co_filename.startswith("<chainrule vjp glue")
                            or glue.__name__.startswith("_multi_backward")), k
    assert not missing, f"op classes no table entry lists (so no sample input reaches them): {missing}"


def _there_and_back(fn, xs: list, monkeypatch):
    """``to_device``'s samples send x to a named device (the CPU), away from gradcheck's weights
    when it checks elsewhere: ``fn`` with its output brought back to the checked device, so that
    both transfers and both gradient transfers are checked. Checking on the CPU, where sending
    to the CPU is no transfer, it runs from the fake device instead (``tests/fake_device.py``)."""
    if gradcheck_device() == "cpu":
        import chainrule.backend.base as base
        import fake_device
        from chainrule.backend import register_backend

        monkeypatch.setattr(base, "_by_name", dict(base._by_name))
        monkeypatch.setattr(base, "_by_type", dict(base._by_type))
        register_backend(fake_device.BACKEND)
        monkeypatch.setenv("CHAINRULE_DEVICE", fake_device.NAME)
    home = cr.get_backend(gradcheck_device())
    sent = fn(*[cr.Variable(home.asarray(x)) for x in xs])
    assert cr.get_backend(sent.device) is not home and sent.creator is not None, "no transfer to check"
    return lambda *vs: F.to_device(fn(*vs), home)


def _skip_dtypes_the_device_lacks(case: tuple) -> None:
    """CuPy has no extended-precision floats: a sample that asks for one is CPU-only."""
    if gradcheck_device().split(":")[0] in ("cuda", "gpu") and any(
            a is np.longdouble or getattr(a, "dtype", None) == np.longdouble for a in case):
        pytest.skip("CuPy has no float128 (np.longdouble)")


@pytest.mark.parametrize("entry,i,case", CASES)
def test_declared_op_gradcheck(entry, i, case, monkeypatch):
    if entry.orders < 1:
        pytest.skip("not differentiable")
    _skip_dtypes_the_device_lacks(case)
    fn, xs = _as_function(entry, case)
    if entry.function is F.to_device:
        fn = _there_and_back(fn, xs, monkeypatch)
    assert gradcheck(fn, *xs, atol=1e-5 * entry.tol, rtol=1e-4 * entry.tol)
    if entry.orders >= 2:
        assert gradgradcheck(fn, *xs, atol=1e-4 * entry.tol, rtol=1e-3 * entry.tol)


@pytest.mark.parametrize("entry,i,case", CASES)
def test_declared_op_first_order_rule_on_arrays_matches_it_on_variables(entry, i, case):
    """The one vjp rule, run on arrays (first order) and on Variables (create_graph), agrees."""
    if entry.orders < 1:
        pytest.skip("not differentiable")
    fn, xs = _as_function(entry, case)
    vs = [cr.Variable(x) for x in xs]
    ys = fn(*vs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    rng = np.random.default_rng(3)
    ws = [cr.Variable(rng.standard_normal(y.shape)) for y in ys]
    fast = cr.gradients(ys, vs, grad_outputs=ws)
    graph = cr.gradients(ys, vs, grad_outputs=ws, create_graph=True)
    for a, b in zip(fast, graph):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.data, b.data, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("entry,i,case", CASES)
def test_declared_op_jvp_matches_finite_differences(entry, i, case):
    if entry.orders < 1:
        pytest.skip("not differentiable")
    fn, xs = _as_function(entry, case)
    rng = np.random.default_rng(5)
    ts = [rng.standard_normal(x.shape) for x in xs]
    out, tout = cr.jvp(fn, tuple(xs), tuple(ts))
    assert not any(isinstance(v, cr.Variable) for v in _as_list(out) + _as_list(tout))  # arrays in, arrays out
    eps = 1e-6
    with cr.no_grad():
        plus = _flat_outputs(fn(*[cr.Variable(x + eps * t) for x, t in zip(xs, ts)]))
        minus = _flat_outputs(fn(*[cr.Variable(x - eps * t) for x, t in zip(xs, ts)]))
    for got, p, m, y in zip(_as_list(tout), plus, minus, _as_list(out)):
        assert got.shape == y.shape and got.dtype == y.dtype
        np.testing.assert_allclose(got, (p - m) / (2 * eps), rtol=1e-6 * entry.tol, atol=1e-6 * entry.tol)


def _as_list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


@pytest.mark.parametrize("entry,i,case", [c for c in CASES if c.values[0].torch is not None])
def test_declared_op_matches_pytorch(entry, i, case):
    """Values, the vjp and the jvp (torch.func.jvp) against the table's PyTorch equivalent."""
    torch = pytest.importorskip("torch")
    fn, xs = _as_function(entry, case)
    pos = _diff_positions(case)

    def tfn(*ts):
        return entry.torch(torch, *_with(case, pos, ts))

    rng = np.random.default_rng(11)
    tangents = [rng.standard_normal(x.shape) for x in xs]
    vs = [cr.Variable(x) for x in xs]
    ys = _as_list(fn(*vs))
    tts = [torch.tensor(x, requires_grad=True) for x in xs]
    yts = _as_list(tfn(*tts))
    assert len(ys) == len(yts)
    for y, yt in zip(ys, yts):
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    ws = [rng.standard_normal(y.shape) for y in ys]
    gs = cr.gradients(ys, vs, grad_outputs=[cr.Variable(w) for w in ws])
    gts = torch.autograd.grad(yts, tts, grad_outputs=[torch.tensor(w) for w in ws], allow_unused=True)
    for g, gt in zip(gs, gts):
        expect = np.zeros(g.shape) if gt is None else gt.numpy()
        np.testing.assert_allclose(g.data, expect, rtol=1e-10, atol=1e-12)
    _, tout = cr.jvp(fn, tuple(xs), tuple(tangents))
    _, ttout = torch.func.jvp(tfn, tuple(torch.tensor(x) for x in xs), tuple(torch.tensor(t) for t in tangents))
    for got, expect in zip(_as_list(tout), _as_list(ttout)):
        np.testing.assert_allclose(got, expect.numpy(), rtol=1e-10, atol=1e-12)


def _composites(entry) -> tuple:
    from chainrule.core.composite import Composite

    return tuple(op for op in entry.ops if issubclass(op, Composite))


@pytest.mark.parametrize("entry,i,case", [c for c in CASES if _composites(c.values[0])])
def test_declared_composite_fast_paths_match_its_reference(entry, i, case):
    """A composite's fast kernel and fast first-order rule against its reference composition
    (second order and forward mode always run the reference: the checks above cover them)."""
    from chainrule.core.composite import reference_mode

    fn, xs = _as_function(entry, case)

    def run():
        vs = [cr.Variable(x) for x in xs]
        ys = _as_list(fn(*vs))
        ws = [cr.Variable(np.random.default_rng(4).standard_normal(y.shape)) for y in ys]
        return [y.data for y in ys], [g.data for g in cr.gradients(ys, vs, grad_outputs=ws)]

    fast = run()
    with reference_mode(*_composites(entry)):
        ref = run()
    for a, b in zip(fast[0] + fast[1], ref[0] + ref[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10 * entry.tol, atol=1e-12 * entry.tol)
