"""Optimizers from their JSON spec (`{"class_name": ..., "config": {...}}`)."""

from __future__ import annotations

from typing import Any

import keras


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
        raise ValueError(
            f"optimizer {spec['class_name']!r} cannot be built: {err} Name a Keras optimizer "
            "(Adam, SGD, RMSprop, ...) with arguments it accepts."
        ) from err
