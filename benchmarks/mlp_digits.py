"""MLP 64-256-256-10 on scikit-learn's digits (ReLU, SGD lr 0.1, batch 64, float32, 20 epochs).

chainrule against NumPy written by hand, PyTorch, DeZero and HIPS autograd in one run. Each turn
is one contestant's whole training run (``--rounds`` rounds, a pause between turns:
``_harness.py``); a round's figure is the median ms/epoch of epochs 2..E. Prints the figures
(median over rounds, min-max), test accuracy and the ratios (median of per-round ratios). Then
chainrule and NumPy by hand run again with their epochs interleaved, one epoch a turn, and the
median of the per-pair ratios is the figure held against the target (on a shared VM whose speed
drifts by 20 % over seconds, pairing nearby epochs is what keeps the ratio steady).
Target: chainrule >= 0.97 accuracy and at most 1.1x NumPy by hand per epoch.

    python benchmarks/mlp_digits.py [--epochs 20] [--rounds 3] [--pause 0.3] [--blas-unset]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import _harness as harness

B, LR, H = 64, 0.1, 256


def load():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(X))
    return X[idx[:1500]], y[idx[:1500]], X[idx[1500:]], y[idx[1500:]]


def init():
    r = np.random.default_rng(1)
    shapes = [(64, H), (H, H), (H, 10)]
    out = []
    for i, o in shapes:
        out += [(r.standard_normal((i, o)) * np.sqrt(2 / i)).astype(np.float32), np.zeros(o, np.float32)]
    return out


def batches(ep, n=1500):
    perm = np.random.default_rng(ep).permutation(n)
    return [perm[i:i + B] for i in range(0, n, B)]


def run_chainrule(data, epochs):  # each run_* yields its epoch times, then returns test accuracy
    import chainrule as cr
    import chainrule.functions as F
    from chainrule import models, optim

    Xtr, ytr, Xte, yte = data
    model = models.MLP([H, H, 10], activation=F.relu)
    with cr.no_grad():
        model(Xtr[:1])  # lazy init, then load the shared initial weights
    for p, w in zip(model.params(), init()):
        p.data = w.copy()
    opt = optim.SGD(lr=LR)
    for ep in range(epochs):
        t = time.perf_counter()
        for j in batches(ep):
            loss = F.softmax_cross_entropy(model(Xtr[j]), ytr[j])
            model.cleargrads()
            loss.backward()
            opt.update(model)
        yield time.perf_counter() - t
    with cr.no_grad():
        acc = (model(Xte).numpy().argmax(1) == yte).mean()
    return acc


def run_numpy(data, epochs):
    Xtr, ytr, Xte, yte = data
    W1, b1, W2, b2, W3, b3 = params = init()
    for ep in range(epochs):
        t = time.perf_counter()
        for j in batches(ep):
            xb, yb = Xtr[j], ytr[j]
            n = len(xb)
            h1 = xb @ W1 + b1
            a1 = np.maximum(h1, 0)
            h2 = a1 @ W2 + b2
            a2 = np.maximum(h2, 0)
            z = a2 @ W3 + b3
            z = z - z.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            p[np.arange(n), yb] -= 1
            p /= n
            g3, gb3 = a2.T @ p, p.sum(0)
            d2 = (p @ W3.T) * (h2 > 0)
            g2, gb2 = a1.T @ d2, d2.sum(0)
            d1 = (d2 @ W2.T) * (h1 > 0)
            g1, gb1 = xb.T @ d1, d1.sum(0)
            for w, g in zip(params, (g1, gb1, g2, gb2, g3, gb3)):
                w -= LR * g
        yield time.perf_counter() - t
    a = np.maximum(np.maximum(Xte @ W1 + b1, 0) @ W2 + b2, 0) @ W3 + b3
    return (a.argmax(1) == yte).mean()


def run_torch(data, epochs):
    import torch

    Xtr, ytr, Xte, yte = data
    ps = [torch.tensor(p, requires_grad=True) for p in init()]
    W1, b1, W2, b2, W3, b3 = ps
    Xt, yt = torch.tensor(Xtr), torch.tensor(ytr)
    opt = torch.optim.SGD(ps, lr=LR)
    for ep in range(epochs):
        t = time.perf_counter()
        for j in batches(ep):
            j = torch.from_numpy(j)
            z = torch.relu(torch.relu(Xt[j] @ W1 + b1) @ W2 + b2) @ W3 + b3
            loss = torch.nn.functional.cross_entropy(z, yt[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        yield time.perf_counter() - t
    with torch.no_grad():
        z = torch.relu(torch.relu(torch.tensor(Xte) @ W1 + b1) @ W2 + b2) @ W3 + b3
    return (z.argmax(1).numpy() == yte).mean()


def run_dezero(data, epochs):
    if not hasattr(np, "int"):
        np.int = int  # dezero 0.0.13 predates NumPy 1.24
    import dezero
    import dezero.functions as DF

    Xtr, ytr, Xte, yte = data
    ps = [dezero.Parameter(p) for p in init()]
    W1, b1, W2, b2, W3, b3 = ps
    for ep in range(epochs):
        t = time.perf_counter()
        for j in batches(ep):
            z = DF.linear(DF.relu(DF.linear(DF.relu(DF.linear(Xtr[j], W1, b1)), W2, b2)), W3, b3)
            loss = DF.softmax_cross_entropy(z, ytr[j])
            for p in ps:
                p.cleargrad()
            loss.backward()
            for p in ps:
                p.data -= LR * p.grad.data
        yield time.perf_counter() - t
    with dezero.no_grad():
        z = DF.linear(DF.relu(DF.linear(DF.relu(DF.linear(Xte, W1, b1)), W2, b2)), W3, b3)
    return (z.data.argmax(1) == yte).mean()


def run_hips(data, epochs):
    import autograd
    import autograd.numpy as anp

    Xtr, ytr, Xte, yte = data

    def loss(ps, xb, yb):
        W1, b1, W2, b2, W3, b3 = ps
        z = anp.dot(anp.maximum(anp.dot(anp.maximum(anp.dot(xb, W1) + b1, 0), W2) + b2, 0), W3) + b3
        z = z - anp.max(z, axis=1, keepdims=True)
        lp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
        return -anp.mean(lp[anp.arange(len(yb)), yb])

    g = autograd.grad(loss)
    ps = init()
    for ep in range(epochs):
        t = time.perf_counter()
        for j in batches(ep):
            ps = [p - LR * q for p, q in zip(ps, g(ps, Xtr[j], ytr[j]))]
        yield time.perf_counter() - t
    W1, b1, W2, b2, W3, b3 = ps
    z = np.maximum(np.maximum(Xte @ W1 + b1, 0) @ W2 + b2, 0) @ W3 + b3
    return (z.argmax(1) == yte).mean()


def drain(gen) -> tuple:
    """All epoch times of a run_* generator, and its test accuracy."""
    times = []
    while True:
        try:
            times.append(next(gen))
        except StopIteration as stop:
            return times, stop.value


def whole_runs(runs: dict, data, epochs: int, accuracy: dict) -> dict:
    """Makers of turns that are whole training runs: each turn yields the epoch times but the
    first and records the run's test accuracy in ``accuracy``."""
    def maker(name, fn):
        def warmed():
            drain(fn(data, 1))  # imports and warm-up

            def turn() -> list:
                times, accuracy[name] = drain(fn(data, epochs))
                return times[1:]
            return turn
        return warmed
    return {name: maker(name, fn) for name, fn in runs.items()}


def epoch_turns(fn, data, epochs: int):
    """A turn that is one epoch of a running training run; a finished run is replaced by a
    fresh one whose first (warm-up) epoch is left untimed."""
    state = {"gen": None}

    def turn() -> float:
        while True:
            if state["gen"] is None:
                state["gen"] = fn(data, epochs)
                next(state["gen"])
            try:
                return next(state["gen"])
            except StopIteration:
                state["gen"] = None
    return turn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = harness.parse_args(ap)
    if not hasattr(np, "int"):
        np.int = int  # dezero 0.0.13 predates NumPy 1.24
    runs = dict(chainrule=run_chainrule, numpy_by_hand=run_numpy, pytorch=run_torch, dezero=run_dezero,
                hips_autograd=run_hips)
    data = load()
    accuracy: dict = {}
    turns = harness.available(whole_runs(runs, data, args.epochs, accuracy))
    res = harness.race(turns, args.rounds, args.pause)
    harness.print_header(args.rounds, args.pause, " (a turn is a whole run)")
    harness.print_figures(res, "ms/epoch", 1e3, notes={n: f"test accuracy {a:.3f}" for n, a in accuracy.items()})
    print()
    harness.print_ratios(res, "chainrule", ("numpy_by_hand", "pytorch", "dezero", "hips_autograd"))
    pairs = (args.epochs - 1) * args.rounds
    paired = harness.race({name: epoch_turns(runs[name], data, args.epochs) for name in ("chainrule", "numpy_by_hand")},
                          pairs, args.pause)
    med, lo, hi = paired.ratio("chainrule", "numpy_by_hand")
    print(f"chainrule / numpy_by_hand, epochs paired (one epoch a turn, {pairs} pairs): "
          f"{harness.fmt_spread((med, lo, hi), digits=3)}x")
    print(f"target accuracy >= 0.97: {'met' if accuracy['chainrule'] >= 0.97 else 'NOT met'}")
    print(f"target <= 1.1x numpy by hand (paired median): {'met' if med <= 1.1 else 'NOT met'}")


if __name__ == "__main__":
    main()
