"""JSON files: values made JSON-ready and written atomically."""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np

from keras_genzoo.io.atomic import write_bytes


def jsonable(value: Any) -> Any:
    """`value` with NumPy arrays and scalars, tuples and Keras objects made JSON-ready."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:  # keras objects given as overrides (e.g. a loss instance)
        return keras.saving.serialize_keras_object(value)
    except Exception:
        return repr(value)


def write_json(data: Any, path: str) -> str:
    """Write `data` (made JSON-ready) to `path`, indented; returns the path."""
    return write_bytes(json.dumps(jsonable(data), indent=2).encode("utf-8"), path)
