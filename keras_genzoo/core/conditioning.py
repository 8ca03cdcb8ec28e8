"""Class conditioning shared by the families: batches of (images, labels), label checks,
the default labels of generation and one-hot codes."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from keras_genzoo.core.checks import check_class_labels


def split_batch(data: Any) -> tuple[Any, Any]:
    """(inputs, second element or None) of a batch as `model.fit` passes it."""
    if isinstance(data, (tuple, list)):
        if len(data) == 1:
            return data[0], None
        return data[0], data[1]
    return data, None


def first_batch(x: Any, y: Any) -> tuple[Any, Any]:
    """The first batch `fit` would see, without consuming a user's iterator."""
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        for element in x.take(1):
            return split_batch(element)
        raise ValueError(
            "The dataset passed to the model is empty: it yields no batches. Check the "
            "split, filter or take() that produced it."
        )
    if isinstance(x, (np.ndarray, tf.Tensor)) or hasattr(x, "__array__"):
        head = np.asarray(x[:64])
        return head, (None if y is None else np.asarray(y[:64]))
    return None, None  # generators and PyDatasets are checked batch by batch by Keras


def cycled_labels(n: int, num_classes: int) -> np.ndarray:
    """The default labels of `n` generated images: 0, 1, ..., num_classes - 1, 0, 1, ..."""
    return (np.arange(n) % num_classes).astype(np.int32)


def model_labels(
    model: Any, labels: Any, n: int, *, cycle: bool = False, what: str = "labels"
) -> np.ndarray | None:
    """Checked int32 labels for `n` images of `model`, or None for an unconditional model.

    Unconditional models refuse labels. A conditional model (`is_conditional`,
    `num_classes`) takes one class id per image or one id for all; without labels it
    cycles through the classes when `cycle` (generation), else refuses.
    """
    if not model.is_conditional:
        if labels is not None:
            raise ValueError(
                f"{model.name} is unconditional and takes no labels; build a conditional "
                "variant of the model to choose classes."
            )
        return None
    num_classes = model.num_classes
    if labels is None:
        if cycle:
            return cycled_labels(n, num_classes)
        raise ValueError(
            f"{model.name} is class-conditional: pass {what} (integers in "
            f"[0, {num_classes - 1}]), one per image."
        )
    if np.ndim(labels) == 0:
        labels = np.full(n, labels)
    labels = check_class_labels(labels, num_classes, what)
    if len(labels) != n:
        raise ValueError(f"Got {len(labels)} {what} for {n} images; pass one label per image.")
    return labels


def one_hot(labels: np.ndarray | None, num_classes: int | None) -> np.ndarray | None:
    """float32 one-hot rows (n, num_classes) of integer labels; None stays None."""
    if labels is None:
        return None
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]


def one_hot_tensor(labels: Any, num_classes: int) -> Any:
    """One-hot rows of a tensor of class ids of shape (n,) or (n, 1), inside a graph."""
    return ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), num_classes)


def conditioned_batch(model: Any, data: Any) -> tuple[Any, Any]:
    """(images, one-hot labels or None) of a batch `model.fit` passes to a train step."""
    images, labels = split_batch(data)
    if not model.is_conditional:
        return images, None
    if labels is None:
        raise ValueError(
            f"{model.name} is class-conditional and trains on (images, labels) batches; "
            "use load_dataset(..., labels=True) or fit(x, labels)."
        )
    return images, one_hot_tensor(labels, model.num_classes)
