"""chainrule: define-by-run automatic differentiation and deep learning on NumPy (and CuPy).

    import chainrule as cr
    import chainrule.functions as F

    x = cr.variable(0.5)
    y = F.square(F.exp(F.square(x)))
    y.backward()
    x.grad  # variable(3.297442541400256)
"""
from .core import (Function, Variable, as_array, as_variable, backward, enable_grad, full, get_config,
                   gradients, is_grad_enabled, is_train, no_grad, ones, ones_like, rand, randn,
                   test_mode, train_mode, variable, zeros, zeros_like)
from . import functions
from .backend import available_devices, get_backend

__version__ = "0.1.0"
