"""Argument and data checks shared by every layer: integers, probabilities, choices,
class labels, empty and non-finite data. Each raises a `ValueError` that names the
argument and says how to fix it."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Sequence

import numpy as np


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(value: Any, what: str) -> int:
    """`value` as an int when it is an integer >= 1 (not a bool), else a ValueError."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}.")
    return int(value)


def check_count(value: Any, what: str = "n") -> int:
    """`value` as an int when it is an integer >= 0 (not a bool), else a ValueError."""
    if not is_int(value) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}.")
    return int(value)


def check_probability(
    value: Any, what: str, *, allow_zero: bool = False, allow_one: bool = False
) -> float:
    """`value` as a float in (0, 1); `allow_zero`/`allow_one` close either end."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    low_ok = number >= 0.0 if allow_zero else number > 0.0
    high_ok = number <= 1.0 if allow_one else number < 1.0
    if isinstance(value, bool) or not (low_ok and high_ok):
        interval = f"{'[' if allow_zero else '('}0, 1{']' if allow_one else ')'}"
        raise ValueError(f"{what} must be a number in {interval}, got {value!r}.")
    return number


def off_level_value(values: Any, num_levels: int) -> float | None:
    """The first of `values` that is not a level k / (num_levels - 1) of [0, 1] (to 1e-3
    of a level spacing), or None when every value is one."""
    arr = np.asarray(values, np.float64)
    scaled = arr * (num_levels - 1)
    off = (np.abs(scaled - np.round(scaled)) > 1e-3) | (arr < 0.0) | (arr > 1.0)
    return float(arr[off].flat[0]) if np.any(off) else None


def check_choice(value: Any, choices: Sequence[Any], what: str) -> Any:
    """`value` when it is one of `choices`, else a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {list(choices)}, got {value!r}.")
    return value


def check_class_labels(labels: Any, num_classes: int, what: str = "labels") -> np.ndarray:
    """Integer class ids in [0, num_classes) as an int32 array (n,), or a clear ValueError."""
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{what} must be integer class ids of shape (batch,), got shape {arr.shape}. "
            "Pass class ids, not one-hot vectors (np.argmax(onehot, axis=1))."
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{what} must be integer class ids, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"{what} must lie in [0, {num_classes - 1}] for this model with "
            f"num_classes={num_classes}, got values in [{arr.min()}, {arr.max()}]."
        )
    return arr.astype(np.int32)


# ------------------------------------------------------------- empty and non-finite data

# Marks the error a dataset's finiteness check raises inside tf.data (see `finite_checked`).
NONFINITE_MARKER = "keras_genzoo: non-finite pixels"


def empty_data_error(owner: str, what: str) -> ValueError:
    """The error for data that holds no images at all."""
    return ValueError(
        f"{owner} got no {what}: the data is empty (0 images). Pass at least one image; "
        "check the split, filter or holdout_fraction that produced it."
    )


def nonfinite_error(owner: str, what: str, count: int | None = None) -> ValueError:
    """The error for images holding NaN or infinite pixels."""
    where = "NaN or infinite pixel values"
    if count:
        where = f"{count} NaN or infinite pixel value" + ("s" if count > 1 else "")
    return ValueError(
        f"{owner} expects finite {what}, got {where}. Find them with "
        "np.argwhere(~np.isfinite(images)) and repair or drop those images "
        "(np.nan_to_num, or dataset.filter) before using the model."
    )


def check_finite(arr: np.ndarray, owner: str, what: str) -> None:
    """Raise `nonfinite_error` if a floating-point array holds NaN or inf."""
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise nonfinite_error(owner, what, int(np.size(arr) - np.isfinite(arr).sum()))


def finite_checked(dataset: Any, owner: str, what: str) -> Any:
    """`dataset` with every floating-point tensor of every element checked for NaN and inf.

    The check runs inside the input pipeline, batch by batch, as training reads it;
    a failure surfaces as a `tf.errors.InvalidArgumentError` that `nonfinite_raised`
    turns into `nonfinite_error`.
    """
    import tensorflow as tf

    message = f"{NONFINITE_MARKER} in {what} of {owner}"

    def check(*element):
        checked = [
            tf.debugging.assert_all_finite(t, message) if t.dtype.is_floating else t
            for t in tf.nest.flatten(element)
        ]
        packed = tf.nest.pack_sequence_as(element, checked)
        return packed if len(packed) > 1 else packed[0]

    return dataset.map(check).prefetch(tf.data.AUTOTUNE)  # checks overlap training


@contextlib.contextmanager
def nonfinite_raised(owner: str, what: str) -> Iterator[None]:
    """Turn the in-pipeline failure of `finite_checked` into a clear `ValueError`."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.InvalidArgumentError as err:
        found = re.search(f"{NONFINITE_MARKER} in (.+?) of ", str(err))
        if found is None:
            raise
        raise nonfinite_error(owner, f"{found.group(1)} (in a batch {what} read)") from None
