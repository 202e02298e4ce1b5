"""Train a small CNN on scikit-learn's 8x8 handwritten digits and print the test accuracy.

conv3x3(1->16, pad 1)-ReLU -> conv3x3(16->32, pad 1)-ReLU -> maxpool2 -> Linear(64)-ReLU ->
Linear(10), Adam with a cosine learning-rate decay, 1500 training / 297 test images.
Target: test accuracy >= 0.985 (about 10-20 s on 2 CPU cores).

    python examples/cnn_digits.py [--epochs 20] [--seed 0]
"""
from __future__ import annotations

import argparse

from chainrule.models import train_cnn_digits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    def log(epoch: int, loss: float, seconds: float) -> None:
        print(f"epoch {epoch:3d}  loss {loss:.4f}  {seconds * 1e3:7.1f} ms")

    _, acc = train_cnn_digits(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, log=log)
    print(f"test accuracy {acc:.4f} (target >= 0.985: {'met' if acc >= 0.985 else 'NOT met'})")


if __name__ == "__main__":
    main()
