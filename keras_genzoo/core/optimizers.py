"""Optimizers from their JSON spec (`{"class_name": ..., "config": {...}}`)."""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import keras

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def optimizer_arguments(class_name: str) -> list[str]:
    """The named arguments of a Keras optimizer class (its own and its bases'), or []
    for a name Keras does not export."""
    cls = getattr(keras.optimizers, class_name, None)
    if not isinstance(cls, type):
        return []
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names += [p.name for p in parameters if p.kind in _NAMED and p.name not in ("self", *names)]
    return names


def _unknown_arguments(class_name: str, config: dict[str, Any]) -> str:
    """" 'beta1' (did you mean 'beta_1'?)" for each key the class does not take."""
    accepted = optimizer_arguments(class_name)
    hints = []
    for key in (k for k in config if accepted and k not in accepted):
        close = difflib.get_close_matches(key, accepted, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(hints)


def optimizer_from_spec(
    spec: dict[str, Any], learning_rate: float | None = None, name: str | None = None
) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer from a spec, with `learning_rate` and `name` if given.

    An unknown class or argument raises a ValueError saying what to name instead.
    """
    config = dict(spec.get("config") or {})
    if learning_rate is not None:
        config["learning_rate"] = learning_rate
    if name is not None:
        config["name"] = name
    try:
        return keras.optimizers.get({"class_name": spec["class_name"], "config": config})
    except (ValueError, TypeError) as err:
        unknown = _unknown_arguments(spec["class_name"], config)
        if unknown:
            raise ValueError(
                f"optimizer {spec['class_name']!r} has no argument {unknown}. It takes: "
                f"{', '.join(optimizer_arguments(spec['class_name']))}."
            ) from err
        raise ValueError(
            f"optimizer {spec['class_name']!r} cannot be built: {err} Name a Keras optimizer "
            "(Adam, SGD, RMSprop, ...) with arguments it accepts."
        ) from err
