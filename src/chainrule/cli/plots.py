"""Pictures of the training programs (``--plot FILE``): matplotlib, imported only when asked for.
The path and its format were checked when the flags were parsed (``args.image_file``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _loss_axes(ax: Any, losses: Sequence[float]) -> None:
    ax.plot(np.arange(1, len(losses) + 1), losses, marker="." if len(losses) < 30 else None)
    if min(losses) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.set_title("training loss")


def training_curves(path: str, losses: Sequence[float], accuracies: Sequence[float], title: str) -> None:
    """Loss and test accuracy per epoch, side by side, written to ``path``."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    _loss_axes(ax1, losses)
    ax2.plot(np.arange(1, len(accuracies) + 1), accuracies, marker="." if len(accuracies) < 30 else None)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    ax2.set_title("test accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def lstm_prediction(path: str, theta: np.ndarray, ys: np.ndarray, losses: Sequence[float]) -> None:
    """The LSTM's prediction of the next cosine value next to the truth, and the loss curve."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    step = theta[1] - theta[0] if len(theta) > 1 else 0.0
    ax1.plot(theta, np.cos(theta + step), label="truth: next cos value", lw=2, alpha=0.6)
    ax1.plot(theta, ys, label="LSTM prediction", lw=1)
    ax1.set_xlabel("theta")
    ax1.set_title("prediction on a cosine curve")
    ax1.legend()
    _loss_axes(ax2, losses)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
