"""Optimizers against torch.optim as the oracle: 0-d, 1-d and non-contiguous parameters, PyTorch's
options (SGD momentum/nesterov/weight_decay, Adam betas/weight_decay), parameter groups,
clip_grad_norm, hooks that leave the applied gradient in ``p.grad``, and version bumps."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.functions as F
from chainrule import optim
from chainrule.core import Variable

STEPS = 4


def grad_of(i, p):
    """A gradient that changes with p: d/dp of 0.5*|p - c|^2 + sum(sin(p))."""
    return (p - 0.3 * (i + 1)) + np.cos(p)


def arrays(kind):
    rng = np.random.default_rng(3)
    if kind == "0-d":
        return [np.array(0.7), np.array(-1.2)]
    if kind == "1-d":
        return [rng.standard_normal(5), rng.standard_normal(1)]
    if kind == "transposed":
        return [rng.standard_normal((4, 3)).T, rng.standard_normal((6, 2))[::2]]
    return [np.asfortranarray(rng.standard_normal((3, 4)))]  # F-ordered


KINDS = ["0-d", "1-d", "transposed", "F-ordered"]

CASES = [
    ("SGD", lambda ps: optim.SGD(ps, lr=0.1), lambda t, ts: t.optim.SGD(ts, lr=0.1)),
    ("Momentum", lambda ps: optim.Momentum(ps, lr=0.05, momentum=0.8),
     lambda t, ts: t.optim.SGD(ts, lr=0.05, momentum=0.8)),
    ("SGD-momentum", lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8),
     lambda t, ts: t.optim.SGD(ts, lr=0.05, momentum=0.8)),
    ("SGD-nesterov-wd", lambda ps: optim.SGD(ps, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1),
     lambda t, ts: t.optim.SGD(ts, lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1)),
    ("SGD-wd", lambda ps: optim.SGD(ps, lr=0.05, weight_decay=0.3),
     lambda t, ts: t.optim.SGD(ts, lr=0.05, weight_decay=0.3)),
    ("Adam", lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.9), eps=1e-12),
     lambda t, ts: t.optim.Adam(ts, lr=0.05, betas=(0.8, 0.9), eps=1e-12)),
    ("Adam-wd", lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.9), eps=1e-12, weight_decay=0.2),
     lambda t, ts: t.optim.Adam(ts, lr=0.05, betas=(0.8, 0.9), eps=1e-12, weight_decay=0.2)),
    ("AdamW", lambda ps: optim.AdamW(ps, lr=0.05, betas=(0.8, 0.9), eps=1e-12, weight_decay=0.5),
     lambda t, ts: t.optim.AdamW(ts, lr=0.05, betas=(0.8, 0.9), eps=1e-12, weight_decay=0.5)),
    ("AdaGrad", lambda ps: optim.AdaGrad(ps, lr=0.2), lambda t, ts: t.optim.Adagrad(ts, lr=0.2)),
    ("RMSprop", lambda ps: optim.RMSprop(ps, lr=0.05, alpha=0.9),
     lambda t, ts: t.optim.RMSprop(ts, lr=0.05, alpha=0.9)),
]


def torch_steps(make_torch, starts, steps=STEPS):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(np.array(a, order="C"), requires_grad=True) for a in starts]
    opt = make_torch(torch, ts)
    for _ in range(steps):
        for i, t in enumerate(ts):
            t.grad = torch.tensor(grad_of(i, t.detach().numpy()))
        opt.step()
    return [t.detach().numpy() for t in ts]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name, make, make_torch", CASES, ids=[c[0] for c in CASES])
def test_every_optimizer_handles_0d_1d_and_non_contiguous_parameters(name, make, make_torch, kind):
    starts = arrays(kind)
    expected = torch_steps(make_torch, starts)
    params = [Variable(a.copy(order="K") if a.ndim else a.copy()) for a in starts]
    if kind in ("transposed", "F-ordered"):
        params = [Variable(a) for a in arrays(kind)]  # views, not copies
        assert not all(p.data.flags.c_contiguous for p in params)
    data = [p.data for p in params]
    opt = make(params)
    for step in range(STEPS):
        for i, p in enumerate(params):
            p.grad = Variable(grad_of(i, p.data))
        versions = [p._version for p in params]
        opt.step()
        assert [p._version for p in params] == [v + 1 for v in versions]  # in-place updates are counted
    for p, d, e in zip(params, data, expected):
        assert p.data is d and p.data.shape == e.shape  # updated in place, shape kept (0-d stays 0-d)
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, make, make_torch", CASES, ids=[c[0] for c in CASES])
def test_float32_parameters_stay_float32(name, make, make_torch):
    params = [Variable(a.astype(np.float32)) for a in arrays("1-d")]
    opt = make(params)
    for _ in range(2):
        for i, p in enumerate(params):
            p.grad = Variable(grad_of(i, p.data).astype(np.float32))
        opt.step()
    assert all(p.dtype == np.float32 for p in params)


def test_parameter_groups_match_torch():
    torch = pytest.importorskip("torch")
    starts = arrays("1-d") + arrays("0-d")
    ts = [torch.tensor(a, requires_grad=True) for a in starts]
    topt = torch.optim.SGD([{"params": ts[:2]}, {"params": ts[2:], "lr": 0.3, "momentum": 0.5}],
                           lr=0.05, momentum=0.9)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.5)
    ps = [Variable(a.copy()) for a in starts]
    opt = optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.3, "momentum": 0.5}], lr=0.05, momentum=0.9)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(5):
        for i, (p, t) in enumerate(zip(ps, ts)):
            p.grad = Variable(grad_of(i, p.data))
            t.grad = torch.tensor(grad_of(i, t.detach().numpy()))
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert opt.param_groups[1]["lr"] == pytest.approx(topt.param_groups[1]["lr"])
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12)
    assert opt.lr == pytest.approx(topt.param_groups[0]["lr"])


def test_adam_groups_with_betas_match_torch():
    torch = pytest.importorskip("torch")
    starts = arrays("transposed")
    ts = [torch.tensor(np.array(a, order="C"), requires_grad=True) for a in starts]
    topt = torch.optim.Adam([{"params": ts[:1], "betas": (0.5, 0.6)}, {"params": ts[1:]}], lr=0.1, eps=1e-12)
    ps = [Variable(a) for a in starts]
    opt = optim.Adam([{"params": ps[:1], "betas": (0.5, 0.6)}, {"params": ps[1:]}], lr=0.1, eps=1e-12)
    for _ in range(3):
        for i, (p, t) in enumerate(zip(ps, ts)):
            p.grad = Variable(grad_of(i, p.data))
            t.grad = torch.tensor(grad_of(i, t.detach().numpy()))
        opt.step()
        topt.step()
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10)
    assert opt.betas == (0.9, 0.999)  # group options apply to their group only
    # the groups survive state_dict / load_state_dict
    other = optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1, eps=1e-12)
    other.load_state_dict(opt.state_dict())
    assert list(other.param_groups[0]["betas"]) == [0.5, 0.6]


def test_bad_groups_and_options_raise():
    p = Variable(np.ones(2))
    with pytest.raises(ValueError, match="unknown options.*'momentun'"):
        optim.SGD([{"params": [p], "momentun": 0.9}], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="no 'params'"):
        optim.SGD([{"lr": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="betas"):
        optim.Adam([p], betas=0.9)
    with pytest.raises(ValueError, match="betas"):
        optim.AdamW([p], betas=(0.9, 1.0))


def test_params_that_do_not_require_grad_are_skipped():
    a, b = Variable(np.ones(3)), Variable(np.ones(3))
    if not hasattr(a, "requires_grad"):
        pytest.skip("Variable.requires_grad is not there yet")
    for make in (lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Adam(ps, lr=0.1)):
        a.data[...] = 1.0
        b.data[...] = 1.0
        b.requires_grad = False
        opt = make([a, b])
        a.grad = Variable(np.ones(3))
        b.grad = Variable(np.ones(3))
        opt.step()
        assert np.all(a.data < 1) and np.all(b.data == 1)
        b.requires_grad = True


# ----- clipping and hooks -----
@pytest.mark.parametrize("max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, float("inf")), (0.4, 1.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    torch = pytest.importorskip("torch")
    starts = arrays("transposed") + arrays("0-d")
    ps = [Variable(a) for a in starts]
    ts = [torch.tensor(np.array(a, order="C"), requires_grad=True) for a in starts]
    for i, (p, t) in enumerate(zip(ps, ts)):
        p.grad = Variable(grad_of(i, p.data))
        t.grad = torch.tensor(grad_of(i, t.detach().numpy()))
    ps.append(Variable(np.ones(2)))  # no gradient: skipped
    held = ps[0].grad
    norm = optim.clip_grad_norm(ps, max_norm, norm_type=norm_type)
    tnorm = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    assert isinstance(norm, float) and norm == pytest.approx(float(tnorm), rel=1e-12)
    assert ps[0].grad is held  # changed in place
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)
    assert ps[-1].grad is None


def test_clip_grad_norm_accepts_a_model_and_checks_arguments():
    lin = cr.layers.Linear(2, in_size=3, rng=0)
    F.sum(lin(np.ones((4, 3))) * 10).backward()
    total = optim.clip_grad_norm(lin, 1.0)
    assert total > 1.0
    assert optim.clip_grad_norm(lin.params(), 1.0) == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm(lin, -1.0)


def test_hooks_leave_the_applied_gradient_in_p_grad():
    ps = [Variable(a.copy()) for a in arrays("1-d")]
    for i, p in enumerate(ps):
        p.grad = Variable(grad_of(i, p.data))
    start = [p.data.copy() for p in ps]
    held = [p.grad for p in ps]
    opt = optim.SGD(ps, lr=1.0)
    opt.add_hook(optim.WeightDecay(0.5))
    opt.add_hook(optim.ClipGrad(0.1))
    opt.step()
    total = np.sqrt(sum(float((p.grad.data ** 2).sum()) for p in ps))
    assert total == pytest.approx(0.1, rel=1e-4)  # what the user inspects: clipped, decayed
    for p, s, h in zip(ps, start, held):
        assert p.grad is h  # the same grad Variable, its data replaced
        np.testing.assert_allclose(p.data, s - p.grad.data, rtol=1e-13)


def test_hooks_with_a_shared_grad_variable_keep_each_parameter_s_gradient():
    a, b = Variable(np.ones(2)), Variable(np.full(2, 3.0))
    shared = Variable(np.ones(2))
    a.grad = b.grad = shared
    opt = optim.SGD([a, b], lr=1.0)
    opt.add_hook(optim.WeightDecay(1.0))
    opt.step()
    np.testing.assert_array_equal(a.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.data, [4.0, 4.0])
    np.testing.assert_array_equal(a.data, [-1.0, -1.0])
    np.testing.assert_array_equal(b.data, [-1.0, -1.0])


def test_update_bumps_the_version_of_each_changed_parameter():
    w = Variable(np.ones(3))
    x = Variable(np.ones(3))
    w.grad = Variable(np.ones(3))
    x.grad = None
    opt = optim.Adam(lr=0.1)
    opt.update([w, x])
    assert w._version >= 1 and x._version == 0


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Adam(ps, lr=0.1),
                                  lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)],
                         ids=["SGD", "Adam", "SGD-momentum"])
def test_backward_through_a_graph_recorded_before_the_step_raises(make):
    w = Variable(np.ones(3))
    x = Variable(np.arange(3.0))
    y = F.sum(x * w)
    w.grad = Variable(np.ones(3))
    make([w]).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_parameter_passes_requires_grad_on():
    p = cr.layers.Parameter(np.ones(2), requires_grad=False)
    assert p.requires_grad is False
    q = cr.layers.Parameter(None, requires_grad=False)
    assert q.requires_grad is False and not q.initialized and q._version == 0
