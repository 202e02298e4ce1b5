"""Per-epoch progress of the training programs: a tqdm bar on a terminal, one line per epoch always."""
from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from typing import IO, Any


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class EpochProgress:
    """``for epoch in EpochProgress("lstm", 100, quiet=False): ...; progress.report(epoch, loss)``.

    The bar is drawn only when ``file`` (default stderr) is a terminal and ``quiet`` is False;
    the per-epoch line ``epoch   3  loss 0.012345 ...`` is written in every case. ``report``
    raises ``DivergedError`` when the loss is not finite.
    """

    def __init__(self, name: str, epochs: int, quiet: bool = False, file: IO[str] | None = None,
                 loss_format: str = ".6f"):
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

        self.file = sys.stderr if file is None else file
        self.loss_format = loss_format
        self.losses: list[float] = []
        self.bar = tqdm(range(epochs), desc=name, unit="epoch", file=self.file, leave=False,
                        disable=quiet or not is_terminal(self.file))

    def __iter__(self) -> Iterator[int]:
        try:
            yield from self.bar
        finally:
            self.bar.close()

    def report(self, epoch: int, loss: float, extra: str = "") -> None:
        """Record the mean loss of ``epoch`` (0-based) and write its line."""
        self.losses.append(loss)
        shown = f"{loss:{self.loss_format}}" if abs(loss) < 1e6 else f"{loss:.4e}"
        line = f"epoch {epoch + 1:4d}  loss {shown}" + (f"  {extra}" if extra else "")
        if self.bar.disable:
            print(line, file=self.file, flush=True)
        else:
            self.bar.write(line, file=self.file)
            self.bar.set_postfix(loss=f"{loss:.5f}")
        if not math.isfinite(loss):
            raise DivergedError(f"training diverged at epoch {epoch + 1} (loss {loss}); "
                                "try a smaller -learning-rate")
