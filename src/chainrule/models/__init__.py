"""Ready-made models."""
from .base import *  # noqa: F401,F403
from .mlp import *  # noqa: F401,F403
from .lstm import *  # noqa: F401,F403
from .cnn import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
