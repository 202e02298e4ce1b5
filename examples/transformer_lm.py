"""Train a small character-level causal transformer on text that ships with Python.

The corpus is the help topics of ``pydoc_data.topics`` (about 460 k characters); the last 10 %
is held out. The script prints the held-out cross-entropy (nats per character) next to a
unigram baseline (character frequencies of the training part), then a sample.

    python examples/transformer_lm.py            # about two minutes on two CPU cores
    python examples/transformer_lm.py --steps 100 --seed 1
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import chainrule as cr
import chainrule.optim as optim
from chainrule.models import TransformerLM


def load_corpus() -> str:
    import pydoc_data.topics as topics

    return "\n".join(topics.topics[k] for k in sorted(topics.topics))


def unigram_loss(train: np.ndarray, held: np.ndarray, vocab: int) -> float:
    """Cross-entropy of ``held`` under add-one-smoothed character frequencies of ``train``."""
    counts = np.bincount(train, minlength=vocab) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[held].mean())


def heldout_loss(model: TransformerLM, held: np.ndarray, t: int, batch: int = 64) -> float:
    """Mean next-character loss over consecutive non-overlapping windows of the held-out text."""
    n = (len(held) - 1) // t
    starts = np.arange(n) * t
    total, count = 0.0, 0
    with cr.no_grad(), cr.test_mode():
        for i in range(0, n, batch):
            s = starts[i:i + batch]
            x = np.stack([held[j:j + t] for j in s])
            y = np.stack([held[j + 1:j + t + 1] for j in s])
            total += model.loss(x, y).item() * y.size
            count += y.size
    return total / count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=96)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", choices=["gelu", "swiglu"], default="gelu")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=110.0, help="stop training after this many seconds")
    args = ap.parse_args()

    text = load_corpus()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    split = int(0.9 * len(data))
    train, held = data[:split], data[split:]
    vocab, t = len(chars), args.context
    print(f"corpus: {len(text)} characters, vocabulary {vocab}; train {len(train)}, held out {len(held)}")
    base = unigram_loss(train, held, vocab)
    print(f"unigram baseline (held out): {base:.4f} nats/char ({base / math.log(2):.3f} bits/char); "
          f"uniform: {math.log(vocab):.4f}")

    rng = np.random.default_rng(args.seed)
    model = TransformerLM(vocab, d_model=args.d_model, n_heads=args.heads, n_layers=args.layers, max_len=t,
                          ff=args.ff, rng=rng)
    n_params = sum(p.size for p in model.params())
    opt = optim.Adam(model.params(), lr=args.lr)
    warmup = 50
    print(f"model: {args.layers} blocks, d_model {args.d_model}, {args.heads} heads, ff {args.ff}, "
          f"{n_params} parameters (float32)")
    start = time.perf_counter()
    step = 0
    running = None
    for step in range(1, args.steps + 1):
        opt.lr = args.lr * min(1.0, step / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        s = rng.integers(0, len(train) - t - 1, size=args.batch_size)
        x = np.stack([train[j:j + t] for j in s])
        y = np.stack([train[j + 1:j + t + 1] for j in s])
        model.cleargrads()
        loss = model.loss(x, y)
        loss.backward()
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % 100 == 0:
            print(f"step {step:4d}  train loss {running:.4f}  {time.perf_counter() - start:6.1f} s", flush=True)
        if time.perf_counter() - start > args.time_limit:
            print(f"time limit reached after {step} steps")
            break
    train_time = time.perf_counter() - start
    held_loss = heldout_loss(model, held, t)
    print(f"trained {step} steps in {train_time:.1f} s ({1000 * train_time / step:.1f} ms/step)")
    print(f"held-out loss: {held_loss:.4f} nats/char ({held_loss / math.log(2):.3f} bits/char) "
          f"vs unigram {base:.4f}: {100 * (1 - held_loss / base):.1f}% lower")
    sample = model.generate(data[split:split + 32], 200, temperature=0.8, rng=args.seed)
    print("sample:\n" + "".join(chars[i] for i in sample))


if __name__ == "__main__":
    main()
