"""Optimizers, gradient hooks and learning-rate schedules.

    opt = optim.SGD(lr=0.1);  opt.update(model)                 # model: anything with params()
    opt = optim.Adam(params=model.params(), alpha=1e-3);  opt.step();  opt.zero_grad()
    opt.add_hook(optim.ClipGrad(1.0));  sched = optim.CosineLR(opt, t_max=100);  sched.step()
"""
from .base import Optimizer
from .sgd import SGD, Momentum
from .adaptive import Adam, AdamW, AdaGrad, RMSprop
from .hooks import ClipGrad, WeightDecay
from .schedules import CosineLR, LinearWarmup, LRScheduler, StepLR

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "AdamW", "AdaGrad", "RMSprop", "WeightDecay", "ClipGrad",
           "LRScheduler", "StepLR", "CosineLR", "LinearWarmup"]
