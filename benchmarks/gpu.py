"""Training-step time on one NVIDIA GPU: chainrule on CuPy against PyTorch on CUDA.

Two float32 workloads, forward + backward + plain SGD on the parameters, written with the
functional API only (``F.linear``, ``F.relu``, ``F.conv2d``, ``F.max_pool2d``,
``F.softmax_cross_entropy``) and identical initial weights in both libraries:

* MLP: 4096 -> 4096 -> 4096 -> 10 (ReLU), batch 1024;
* a small CNN at batch 512: conv3x3(1->16, pad 1)-relu-maxpool2 ->
  conv3x3(16->32, pad 1)-relu-maxpool2 -> linear(32*7*7 -> 10) -> softmax cross-entropy.

Each step ends with a device synchronisation. The two libraries take turns of
``--steps / --rounds`` steps with a pause between turns (``_harness.py``), after ``--warmup``
steps each that absorb kernel compilation and cuBLAS/cuDNN start-up; ms/step is the median over
rounds (min-max), the ratio the median of per-round ratios. TF32 is off in PyTorch (CuPy does
not use it unless ``CUPY_TF32=1``), so both compute in true fp32.

    python benchmarks/gpu.py            # needs CuPy + a GPU (PyTorch with CUDA for the ratio)
    python benchmarks/gpu.py --smoke    # tiny shapes on the CPU: checks the script itself
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

import numpy as np

import _harness as harness

import chainrule.functions as F
from chainrule.backend import get_backend
from chainrule.core.variable import Variable

LR = 0.01


# ----- shared weights -----
def mlp_weights(width: int, batch: int, classes: int = 10, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    dims = [(width, width), (width, width), (width, classes)]
    ws = [(rng.standard_normal(d) * np.sqrt(2.0 / d[0])).astype(np.float32) for d in dims]
    bs = [np.zeros(d[1], dtype=np.float32) for d in dims]
    x = rng.standard_normal((batch, width)).astype(np.float32)
    y = rng.integers(0, classes, batch)
    return dict(params=[p for wb in zip(ws, bs) for p in wb], x=x, y=y)


def cnn_weights(batch: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    w1 = (rng.standard_normal((16, 1, 3, 3)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    w3 = (rng.standard_normal((32 * 7 * 7, 10)) * 0.02).astype(np.float32)
    return dict(params=[w1, w2, w3], x=x, y=y)


# ----- chainrule -----
def chainrule_step(model: str, data: dict, device: str) -> tuple:
    be = get_backend(device)
    params = [Variable(be.asarray(np.array(p))) for p in data["params"]]  # own copies: updated in place
    x, t = be.asarray(data["x"]), be.asarray(data["y"])
    n = data["x"].shape[0]

    def forward():
        if model == "mlp":
            h = x
            for k in range(0, len(params), 2):
                h = F.linear(h, params[k], params[k + 1])
                if k + 2 < len(params):
                    h = F.relu(h)
            return F.softmax_cross_entropy(h, t)
        w1, w2, w3 = params
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, padding=1)), 2)
        return F.softmax_cross_entropy(F.linear(h.reshape(n, -1), w3), t)

    def step():
        loss = forward()
        for p in params:
            p.cleargrad()
        loss.backward()
        for p in params:
            p.data -= LR * p.grad.data
        return loss

    return step, be.synchronize, lambda loss: float(loss.item())


# ----- PyTorch -----
def torch_step(model: str, data: dict, device: str) -> tuple:
    import torch
    import torch.nn.functional as TF

    dev = torch.device(device)
    params = [torch.tensor(p, device=dev, requires_grad=True) for p in data["params"]]
    x = torch.tensor(data["x"], device=dev)
    t = torch.tensor(data["y"], device=dev)
    n = data["x"].shape[0]

    def forward():
        if model == "mlp":
            h = x
            for k in range(0, len(params), 2):
                h = torch.addmm(params[k + 1], h, params[k])  # x @ W + b, W (in, out) as in chainrule
                if k + 2 < len(params):
                    h = TF.relu(h)
            return TF.cross_entropy(h, t)
        w1, w2, w3 = params
        h = TF.max_pool2d(TF.relu(TF.conv2d(x, w1, padding=1)), 2)
        h = TF.max_pool2d(TF.relu(TF.conv2d(h, w2, padding=1)), 2)
        return TF.cross_entropy(h.reshape(n, -1) @ w3, t)

    def step():
        loss = forward()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    return step, sync, lambda loss: float(loss.item())


# ----- timing -----
def warmed_turn(step: Callable, sync: Callable, steps: int, warmup: int) -> tuple:
    """Run ``warmup`` steps; return (a turn timing ``steps`` synchronised steps, the first
    step's output)."""
    first = None
    for i in range(warmup):
        out = step()
        if i == 0:
            first = out
    sync()

    def synced() -> None:
        step()
        sync()
    return harness.timed(synced, steps), first


def _torch_cuda() -> str | None:
    """Why PyTorch cannot run on CUDA here, or None when it can."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} has no CUDA device"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return None


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per library and case, over all rounds")
    ap.add_argument("--rounds", type=int, default=4, help="the libraries take turns this many times")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="tiny shapes on the CPU (no GPU needed)")
    ap.add_argument("--only", choices=["mlp", "cnn"], help="run one workload")
    args = harness.parse_args(ap, argv)
    per_turn = max(1, args.steps // args.rounds)
    args.warmup = max(1, args.warmup)

    if args.smoke:
        device, torch_device, width, mlp_batch, cnn_batch = "cpu", "cpu", 64, 16, 8
        torch_missing = None
        try:
            import torch  # noqa: F401
        except ImportError:
            torch_missing = "PyTorch is not installed"
        label = "CPU (smoke run, tiny shapes)"
    else:
        try:
            be = get_backend("cuda")
        except Exception as e:
            print(f"benchmarks/gpu.py: no usable GPU here, nothing to measure.\n  {e}\n"
                  f"  Run it on a machine with an NVIDIA GPU and CuPy (pip install 'chainrule[gpu]'), "
                  f"or use --smoke to check the script on the CPU.", file=sys.stderr)
            return 2
        device, torch_device, width, mlp_batch, cnn_batch = "cuda", "cuda", 4096, 1024, 512
        torch_missing = _torch_cuda()
        props = be.xp.cuda.runtime.getDeviceProperties(be.xp.cuda.Device().id)
        name = props["name"]
        label = f"{name.decode() if isinstance(name, bytes) else name} (CuPy {be.xp.__version__})"

    print(f"device: {label}; float32; {args.warmup} warm-up steps, then {per_turn} steps a turn")
    if torch_missing:
        print(f"PyTorch baseline skipped: {torch_missing}")
    cases = [("mlp", f"MLP {width}x3 batch {mlp_batch}", mlp_weights(width, mlp_batch)),
             ("cnn", f"CNN (cnn_peers) batch {cnn_batch}", cnn_weights(cnn_batch))]
    lines = [f"{'case':28s} {'chainrule ms':>22s} {'torch ms':>22s} {'ratio':>18s}  first-step loss cr / torch"]
    for model, title, data in cases:
        if args.only and model != args.only:
            continue
        step, sync, item = chainrule_step(model, data, device)
        turns, firsts = {}, {}
        turns["chainrule"], first = warmed_turn(step, sync, per_turn, args.warmup)
        firsts["chainrule"] = item(first)
        if not torch_missing:
            tstep, tsync, titem = torch_step(model, data, torch_device)
            turns["torch"], first = warmed_turn(tstep, tsync, per_turn, args.warmup)
            firsts["torch"] = titem(first)
        res = harness.race(turns, args.rounds, args.pause)
        line = f"{title:28s} {harness.fmt_spread(res.spread('chainrule'), 1e3):>22s}"
        if torch_missing:
            lines.append(line + f" {'-':>22s} {'-':>18s}  {firsts['chainrule']:.5f}")
            continue
        lines.append(line + f" {harness.fmt_spread(res.spread('torch'), 1e3):>22s} "
                     f"{harness.fmt_spread(res.ratio('chainrule', 'torch')) + 'x':>18s}  "
                     f"{firsts['chainrule']:.5f} / {firsts['torch']:.5f}")
    harness.print_header(args.rounds, args.pause)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
