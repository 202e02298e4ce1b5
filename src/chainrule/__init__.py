"""chainrule: define-by-run automatic differentiation and deep learning on NumPy (and CuPy).

    import chainrule as cr
    import chainrule.functions as F

    x = cr.variable(0.5)
    y = F.square(F.exp(F.square(x)))
    y.backward()
    x.grad  # variable(3.297442541400256)
"""
from .core import (Function, GradientTape, Variable, as_array, as_variable, backward, enable_grad, full,
                   get_config, grad, gradients, hessian, hvp, is_grad_enabled, is_train, jacfwd, jacobian,
                   jacrev, jvp,
                   no_grad, ones, ones_like, rand, randn, test_mode, train_mode, value_and_grad, variable, vjp,
                   zeros, zeros_like)
from .backend import DeviceUnavailableError, available_devices, get_backend
from .core.creation import arange, eye, linspace, tensor
from .core.dtypes import (bool_, float16, float32, float64, get_default_dtype, int32, int64,
                          set_default_dtype)
from .core.dtypes import bool_ as bool  # noqa: A004  (cr.bool, as torch.bool)
from .random import manual_seed
from . import functions, layers, models, optim, data, random  # noqa: E402  (after the core they build on)
from .io import load, save

__version__ = "0.1.0"
