"""Containers: ``Parameters`` (named parameters), ``Layers`` (named sub-layers), ``Sequential``."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from .base import Layer, Parameter

__all__ = ["Parameters", "Layers", "Sequential"]


class Parameters(Layer):
    """A named collection of Parameters that is itself a Layer (no forward).

    ``p.add("w", param)`` registers ``param`` under ``"w"`` and sets ``param.name``;
    ``p["w"]``, ``"w" in p``, ``len(p)``, iteration over ``(name, param)`` via ``items()``.
    """

    def __init__(self, params: dict | None = None):
        super().__init__()
        for name, p in (params or {}).items():
            self.add(name, p)

    def add(self, name: str, param: Any) -> Parameter:
        """Register ``param`` (a Parameter, or a Variable/array made into one) as ``name``."""
        if not isinstance(param, Parameter):
            param = Parameter(param)
        param.name = name
        self.register_param(name, param)
        return param

    def delete(self, name: str) -> None:
        """Remove the parameter called ``name`` (no error if absent)."""
        self._params.pop(name, None)
        self.__dict__.pop(name, None)

    def __getitem__(self, name: str) -> Parameter:
        p = self._params.get(name)
        if p is None:
            raise KeyError(f"Parameters: no parameter named {name!r}; have {list(self.keys())}")
        return p

    def __setitem__(self, name: str, param: Any) -> None:
        self.add(name, param)

    def __delitem__(self, name: str) -> None:
        self.delete(name)

    def __contains__(self, name: object) -> bool:
        return self._params.get(name) is not None  # type: ignore[call-overload]

    def __len__(self) -> int:
        return len(self.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> list:
        return [n for n, p in self._params.items() if p is not None]

    def values(self) -> list:
        return [p for p in self._params.values() if p is not None]

    def items(self) -> list:
        return [(n, p) for n, p in self._params.items() if p is not None]

    def extra_repr(self) -> str:
        return ", ".join(f"{n}: {tuple(p.shape)}" for n, p in self.items())


class Layers(Layer):
    """A named collection of sub-layers; ``params()`` prefixes names with ``"name."``."""

    def __init__(self, layers: dict | None = None):
        super().__init__()
        for name, layer in (layers or {}).items():
            self.add(name, layer)

    def add(self, name: str, layer: Layer) -> Layer:
        """Register ``layer`` under ``name`` (any string, e.g. ``"linear[0]"``)."""
        return self.add_layer(name, layer)

    def delete(self, name: str) -> None:
        self._layers.pop(name, None)
        self.__dict__.pop(name, None)

    def __getitem__(self, name: str) -> Layer:
        try:
            return self._layers[name]
        except KeyError:
            raise KeyError(f"Layers: no layer named {name!r}; have {list(self._layers)}") from None

    def __setitem__(self, name: str, layer: Layer) -> None:
        self.add(name, layer)

    def __delitem__(self, name: str) -> None:
        self.delete(name)

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._layers))

    def keys(self) -> list:
        return list(self._layers)

    def values(self) -> list:
        return list(self._layers.values())

    def items(self) -> list:
        return list(self._layers.items())


class Sequential(Layer):
    """Apply steps in order: ``Sequential(L.Linear(64), F.relu, L.Linear(10))``.

    Layer steps are registered as ``"0"``, ``"1"``, ... (by position), so parameters are named
    ``"0.w"``, ``"2.b"``; plain callables (activations) take a position but hold no parameters.
    """

    def __init__(self, *steps: Layer | Callable):
        super().__init__()
        self.__dict__["_steps"] = []
        for step in steps:
            self.append(step)

    def append(self, step: Layer | Callable) -> "Sequential":
        if not callable(step):
            raise TypeError(f"Sequential: steps must be layers or callables, got {type(step).__name__}")
        if isinstance(step, Layer):
            self.add_layer(str(len(self._steps)), step)
        self._steps.append(step)
        return self

    def forward(self, x: Any) -> Any:
        for step in self._steps:
            x = step(x)
        return x

    def __getitem__(self, i: int) -> Any:
        return self._steps[i]

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator:
        return iter(self._steps)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for i, step in enumerate(self._steps):
            text = repr(step) if isinstance(step, Layer) else getattr(step, "__name__", repr(step))
            lines.append(f"  ({i}): " + text.replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"
