"""Learning-rate schedules: call ``sched.step()`` once per optimizer step (or per epoch).

Each schedule reads the optimizer's ``lr`` at construction as ``base_lr`` and sets
``opt.lr = lr_at(n)`` where ``n`` counts the ``step()`` calls made so far. A parameter group
with its own ``"lr"`` follows the same schedule from its own starting value.
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["LRScheduler", "StepLR", "CosineLR", "LinearWarmup"]


class LRScheduler:
    """Base: subclasses define ``lr_at(n) -> float``."""

    def __init__(self, optimizer: Any):
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer with an lr, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.group_base_lrs = [g.get("lr") for g in getattr(optimizer, "param_groups", ())]
        self.last_step = 0
        self._apply(0)

    def lr_at(self, n: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, n: int) -> float:
        lr = self.lr_at(n)
        self.optimizer.lr = lr
        if any(b is not None for b in self.group_base_lrs):
            base = self.base_lr
            try:
                for group, group_base in zip(self.optimizer.param_groups, self.group_base_lrs):
                    if group_base is not None:
                        self.base_lr = float(group_base)
                        group["lr"] = self.lr_at(n)
            finally:
                self.base_lr = base
        return lr

    def step(self) -> float:
        """Advance one step; returns the new learning rate."""
        self.last_step += 1
        return self._apply(self.last_step)

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def state_dict(self) -> dict:
        return {"base_lr": self.base_lr, "last_step": self.last_step}

    def load_state_dict(self, state: dict) -> None:
        self.base_lr = float(state["base_lr"])
        self.last_step = int(state["last_step"])
        self._apply(self.last_step)


class StepLR(LRScheduler):
    """``base_lr * gamma ** (n // step_size)``."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def lr_at(self, n: int) -> float:
        return self.base_lr * self.gamma ** (n // self.step_size)


class CosineLR(LRScheduler):
    """``min_lr + (base_lr - min_lr) * (1 + cos(pi * n / t_max)) / 2``, held at ``min_lr`` after ``t_max``."""

    def __init__(self, optimizer: Any, t_max: int, min_lr: float = 0.0):
        if t_max < 1:
            raise ValueError(f"CosineLR: t_max must be >= 1, got {t_max}")
        self.t_max, self.min_lr = int(t_max), float(min_lr)
        super().__init__(optimizer)

    def lr_at(self, n: int) -> float:
        n = min(n, self.t_max)
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * n / self.t_max))


class LinearWarmup(LRScheduler):
    """``base_lr * min(1, (n + 1) / warmup_steps)``: the first update uses ``base_lr / warmup_steps``,
    the ``warmup_steps``-th and later ones ``base_lr``."""

    def __init__(self, optimizer: Any, warmup_steps: int):
        if warmup_steps < 1:
            raise ValueError(f"LinearWarmup: warmup_steps must be >= 1, got {warmup_steps}")
        self.warmup_steps = int(warmup_steps)
        super().__init__(optimizer)

    def lr_at(self, n: int) -> float:
        return self.base_lr * min(1.0, (n + 1) / self.warmup_steps)
