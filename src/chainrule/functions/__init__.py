"""The ``F`` namespace: every op, grouped by family in small modules.

``import chainrule.functions as F``. Each op is a ``Function`` subclass plus a thin public
function; backward passes are written in these same ops, so every op is differentiable to
any order unless its docstring says it is not.
"""
from .arithmetic import *  # noqa: F401,F403
from .broadcast import *  # noqa: F401,F403
from .device import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .mlp import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from . import _methods  # noqa: F401,E402  (installs x.exp(), x.softmax(axis), ... on Variable)
