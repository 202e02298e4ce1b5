"""``GradientTape``: record the ops run inside a ``with`` block and differentiate through them.

    with cr.GradientTape() as tape:
        y = F.sin(x) * w
    gx, gw = tape.gradient(y, [x, w])

Every op already links itself into the define-by-run graph; a tape additionally remembers
*which* ops ran while it was recording, and ``tape.gradient`` differentiates through those
ops only (an op run under ``tape.stop_recording()`` is a constant to this tape). Code that uses
no tape pays nothing: ``Function.__call__`` only looks at the tapes when one is active.
"""
from __future__ import annotations

from typing import Any

from .autodiff import gradients
from .config import _state, no_grad
from .variable import Variable

__all__ = ["GradientTape"]


class _RecordingState:
    """Returned by ``stop_recording``/``start_recording``: the change is immediate, and leaving
    a ``with`` block restores the tape's previous recording state."""

    __slots__ = ("tape", "previous")

    def __init__(self, tape: "GradientTape", previous: bool):
        self.tape = tape
        self.previous = previous

    def __enter__(self) -> "GradientTape":
        return self.tape

    def __exit__(self, *exc: Any) -> None:
        self.tape._recording = self.previous


class GradientTape:
    """Records the Functions called while it is active (``with GradientTape() as tape:``).

    ``persistent=False`` (default) allows one ``gradient`` call, after which the tape releases
    what it recorded; ``persistent=True`` allows any number. Tapes nest: an outer tape also
    records the gradient computation of an inner one, so gradients of gradients work.
    """

    def __init__(self, persistent: bool = False):
        self.persistent = persistent
        self._ops: list = []
        self._watched: list = []
        self._recording = False
        self._tokens: list = []
        self._used = False

    # ----- context management -----
    def __enter__(self) -> "GradientTape":
        cfg = _state.get()
        if self in cfg.tapes:
            new = cfg
        else:  # a tape sees the ops through its interceptor on the recording path
            new = cfg.replace(tapes=cfg.tapes + (self,), interceptors=cfg.interceptors + (self._intercept,))
        self._tokens.append(_state.set(new))
        self._recording = True
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.reset(self._tokens.pop())
        if not self._tokens:
            self._recording = False

    def _intercept(self, function: Any, inputs: Any, out: Any) -> None:
        """The tape's interceptor: called by the recording path after every op run while the
        tape is active; keeps the op when it was recorded in the graph and the tape records."""
        if self._recording and getattr(out if out.__class__ is not list else out[0], "creator", None) is function:
            self._ops.append(function)

    @property
    def active(self) -> bool:
        """True inside the tape's ``with`` block."""
        return bool(self._tokens)

    @property
    def recording(self) -> bool:
        """True while ops are being recorded (active and not stopped)."""
        return self._recording and bool(self._tokens)

    @property
    def num_ops(self) -> int:
        """How many ops have been recorded (multi-output ops count once)."""
        return len(self._ops)

    @property
    def operations(self) -> list:
        """The recorded Functions, in the order they ran."""
        return list(self._ops)

    # ----- recording control -----
    def stop_recording(self) -> _RecordingState:
        """Stop recording now; as a context manager, resume on exit. Ops run meanwhile are
        constants to this tape (other tapes and ``backward`` are unaffected)."""
        self._require_active("stop_recording")
        state = _RecordingState(self, self._recording)
        self._recording = False
        return state

    def start_recording(self) -> _RecordingState:
        """Resume recording now; as a context manager, restore the previous state on exit."""
        self._require_active("start_recording")
        state = _RecordingState(self, self._recording)
        self._recording = True
        return state

    def no_grad(self) -> Any:
        """A block inside which nothing is recorded at all (no tape, no graph): ``cr.no_grad()``."""
        return no_grad()

    def clear(self) -> None:
        """Forget every recorded op and watched variable; the tape can be used again."""
        self._ops = []
        self._watched = []
        self._used = False

    reset = clear

    def watch(self, *variables: Variable) -> None:
        """Mark variables as the default ``sources`` of ``gradient`` (in this order)."""
        for v in variables:
            if not isinstance(v, Variable):
                raise TypeError(f"GradientTape.watch: expected a Variable, got {type(v).__name__}")
            if not any(v is w for w in self._watched):
                self._watched.append(v)

    def watched_variables(self) -> list:
        return list(self._watched)

    def _require_active(self, who: str) -> None:
        if not self._tokens:
            raise RuntimeError(f"GradientTape.{who}: the tape is not active; call it inside "
                               f"'with GradientTape() as tape:'")

    # ----- differentiation -----
    def gradient(self, target: Any, sources: Any = None, output_gradients: Any = None,
                 create_graph: bool | None = None) -> Any:
        """d(target)/d(sources) through the recorded ops.

        ``target``: a Variable or a list of them (summed). ``sources``: a Variable (returns a
        Variable), a list/tuple (returns a list) or a dict name -> Variable (returns a dict);
        ``None`` uses the watched variables. A source the target does not reach through
        recorded ops gets zeros. ``create_graph=None`` makes the result differentiable when
        another tape is recording (nested tapes), as does ``True``.
        """
        if self._used and not self.persistent:
            raise RuntimeError("GradientTape.gradient: a non-persistent tape can only compute "
                               "gradients once; use GradientTape(persistent=True) to call it again")
        if sources is None:
            if not self._watched:
                raise ValueError("GradientTape.gradient: no sources given and no variables watched")
            sources = list(self._watched)
        if isinstance(sources, dict):
            names = list(sources)
            flat = [sources[n] for n in names]
        elif isinstance(sources, Variable):
            names, flat = None, [sources]
        elif isinstance(sources, (list, tuple)):
            names, flat = None, list(sources)
        else:
            raise TypeError(f"GradientTape.gradient: sources must be a Variable, a list or a dict, "
                            f"got {type(sources).__name__}")
        targets = list(target) if isinstance(target, (list, tuple)) else [target]
        for t in targets:
            if not isinstance(t, Variable):
                raise TypeError(f"GradientTape.gradient: target must be a Variable, got {type(t).__name__}")
        if create_graph is None:
            create_graph = any(t is not self and t._recording for t in _state.get().tapes)
        grads = self._gradients(targets, flat, output_gradients, create_graph)
        if not self.persistent:
            self._used = True
            self._ops = []
        if names is not None:
            return dict(zip(names, grads))
        if isinstance(sources, Variable):
            return grads[0]
        return grads

    def _gradients(self, targets: list, sources: list, output_gradients: Any, create_graph: bool) -> list:
        """Run the engine on the graph seen through this tape: every link to an op that the tape
        did not record is cut for the duration of the call, then restored."""
        recorded = set(self._ops)
        cut: list = []
        seen: set = set()
        stack: list = []
        for t in targets:
            c = t.creator
            if c is None:
                continue
            if c in recorded:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
            else:
                cut.append((t, c))
        while stack:
            f = stack.pop()
            for x in f.inputs:
                c = x.creator
                if c is None or c in seen:
                    continue
                if c in recorded:
                    seen.add(c)
                    stack.append(c)
                else:
                    cut.append((x, c))
        try:
            for v, _ in cut:
                v.creator = None
            return gradients(targets, sources, grad_outputs=output_gradients, create_graph=create_graph)
        finally:
            for v, c in cut:
                v.creator = c

    def __repr__(self) -> str:
        state = "recording" if self.recording else ("active" if self.active else "inactive")
        return f"<GradientTape {state} persistent={self.persistent} num_ops={self.num_ops}>"
