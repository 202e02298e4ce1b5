"""Layers (``import chainrule.layers as L``): stateful building blocks holding Parameters."""
from .base import *  # noqa: F401,F403
from .containers import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
