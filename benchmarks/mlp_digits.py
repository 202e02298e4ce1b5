"""MLP 64-256-256-10 on scikit-learn's digits (ReLU, SGD lr 0.1, batch 64, float32, 20 epochs).

chainrule against NumPy written by hand, PyTorch, DeZero and HIPS autograd in one run; prints the
median ms/epoch (epochs 2..E of each run; the contestants take turns, 3 rounds), test accuracy
and the ratios. Then chainrule and NumPy by hand run again with their epochs interleaved, and
the median of the per-pair ratios is the figure held against the target (on a shared VM whose
speed drifts by 20 % over seconds, pairing adjacent epochs is what keeps the ratio steady).
Target: chainrule >= 0.97 accuracy and at most 1.1x NumPy by hand per epoch.

    python benchmarks/mlp_digits.py [--epochs 20]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

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


def race(runs: dict, data, epochs: int, rounds: int) -> dict:
    """Run each contestant's whole training in turn, ``rounds`` times, so load changes on a
    shared machine hit all alike (epoch-by-epoch turns would hand PyTorch's spinning worker
    threads to its neighbours). Returns {name: (all epoch times but each run's first, accuracy)}."""
    result: dict = {}
    for _ in range(rounds):
        for name, fn in runs.items():
            if name in result and result[name] is None:
                continue
            try:
                gen = fn(data, epochs)
                times = [next(gen)]
            except ImportError as e:
                print(f"{name:14s} skipped ({e.name} not installed)")
                result[name] = None
                continue
            while True:
                try:
                    times.append(next(gen))
                except StopIteration as stop:
                    acc = stop.value
                    break
            prev = result.get(name, ([], None))[0]
            result[name] = (prev + times[1:], acc)
    return {k: v for k, v in result.items() if v is not None}


def paired(data, epochs: int, rounds: int) -> list:
    """chainrule and NumPy by hand alternating epoch by epoch (who goes first alternates too):
    both are plain NumPy code with no thread pool of their own, so this pairing is fair, and a
    drift in machine speed hits both epochs of a pair alike. Returns chainrule/by-hand per pair."""
    ratios = []
    for _ in range(rounds):
        a, b = run_chainrule(data, epochs), run_numpy(data, epochs)
        next(a), next(b)  # warm-up epochs
        for i in range(epochs - 1):
            if i % 2:
                tb, ta = next(b), next(a)
            else:
                ta, tb = next(a), next(b)
            ratios.append(ta / tb)
    return ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs = dict(chainrule=run_chainrule, numpy_by_hand=run_numpy, pytorch=run_torch, dezero=run_dezero,
                hips_autograd=run_hips)
    res = {}
    if not hasattr(np, "int"):
        np.int = int  # dezero 0.0.13 predates NumPy 1.24
    for name, (times, acc) in race(runs, load(), args.epochs, args.rounds).items():
        times = sorted(times)
        res[name] = times[len(times) // 2] * 1e3
        print(f"{name:14s} {res[name]:8.2f} ms/epoch   test accuracy {acc:.3f}")
        if name == "chainrule":
            cr_acc = acc
    print()
    for peer in ("numpy_by_hand", "pytorch", "dezero", "hips_autograd"):
        if peer in res:
            print(f"chainrule / {peer:14s} {res['chainrule'] / res[peer]:5.2f}x")
    r = sorted(paired(load(), args.epochs, args.rounds))
    q = len(r) // 4
    med = r[len(r) // 2]
    print(f"chainrule / numpy_by_hand, epochs paired: median {med:.3f}x "
          f"(middle half {r[q]:.3f}-{r[-q - 1]:.3f}, {len(r)} pairs)")
    print(f"target accuracy >= 0.97: {'met' if cr_acc >= 0.97 else 'NOT met'}")
    print(f"target <= 1.1x numpy by hand (paired median): {'met' if med <= 1.1 else 'NOT met'}")


if __name__ == "__main__":
    main()
