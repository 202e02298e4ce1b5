"""Optimizers, gradient hooks and learning-rate schedules.

    opt = optim.SGD(lr=0.1);  opt.update(model)                 # model: anything with params()
    opt = optim.Adam(model.params(), lr=1e-3);  opt.step();  opt.zero_grad()   # PyTorch's way
    opt = optim.SGD([{"params": a.params()}, {"params": b.params(), "lr": 1e-3}], lr=0.1, momentum=0.9)
    opt.add_hook(optim.ClipGrad(1.0));  sched = optim.CosineLR(opt, t_max=100);  sched.step()
    norm = optim.clip_grad_norm(model.params(), max_norm=1.0)   # in a hand-written loop
"""
from .base import Optimizer
from .sgd import SGD, Momentum
from .adaptive import Adam, AdamW, AdaGrad, RMSprop
from .hooks import ClipGrad, WeightDecay, clip_grad_norm
from .schedules import CosineLR, LinearWarmup, LRScheduler, StepLR

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "AdamW", "AdaGrad", "RMSprop", "WeightDecay", "ClipGrad",
           "clip_grad_norm", "LRScheduler", "StepLR", "CosineLR", "LinearWarmup"]
