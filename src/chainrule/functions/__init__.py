"""The ``F`` namespace: every op, grouped by family in small modules.

``import chainrule.functions as F``. Each op is declared once (``core/op.py``): an ``Op``
class (forward on arrays, one vjp rule, one jvp rule) plus a thin public function whose
``@declare`` puts it in the op table with sample inputs; the vjp rule also runs on Variables,
so every op is differentiable to any order unless its table entry says it is not. Importing
this package fills the table and then installs ``Variable``'s operators and op methods from
it (``_methods.py``): ``core`` itself imports no op module. ``docs/ops.md`` is generated from
the table (``python -m chainrule.functions._opsdoc``).
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
