"""The autodiff core: Variable, Function, the backward pass and the mode switches."""
from .config import enable_grad, get_config, is_grad_enabled, is_train, no_grad, test_mode, train_mode
from .variable import Variable, as_array, as_variable
from .creation import (arange, eye, full, linspace, ones, ones_like, rand, randn, tensor, variable, zeros,
                       zeros_like)
from .dtypes import (bool_, float16, float32, float64, get_default_dtype, int32, int64,
                     set_default_dtype)
from .function import Function
from .autodiff import backward, gradients
from .tape import GradientTape
from .transforms import grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
