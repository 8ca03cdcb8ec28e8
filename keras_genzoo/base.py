"""What every zoo model shares: its image contract and input checks before training."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from keras_genzoo.blocks import check_image_shape


def split_batch(data: Any) -> tuple[Any, Any]:
    """(inputs, second element or None) of a batch as `model.fit` passes it."""
    if isinstance(data, (tuple, list)):
        if len(data) == 1:
            return data[0], None
        return data[0], data[1]
    return data, None


def _tuples_as_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _tuples_as_lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tuples_as_lists(item) for item in value]
    return value


def serialize_submodel(model: keras.Model) -> dict[str, Any]:
    """A sub-model's config with tuples as lists, as it reads back from a `.keras` file.

    Keeps `get_config()` of a reloaded model equal to the original's.
    """
    return _tuples_as_lists(keras.saving.serialize_keras_object(model))


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


def _first_batch(x: Any, y: Any) -> tuple[Any, Any]:
    """The first batch `fit` would see, without consuming a user's iterator."""
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        for element in x.take(1):
            return split_batch(element)
        raise ValueError("The dataset passed to fit() is empty.")
    if isinstance(x, (np.ndarray, tf.Tensor)) or hasattr(x, "__array__"):
        head = np.asarray(x[:64])
        return head, (None if y is None else np.asarray(y[:64]))
    return None, None  # generators and PyDatasets are checked batch by batch by Keras


class ZooModel(keras.Model):
    """Base class of the zoo's models: an image shape, a value range, input checks.

    `image_shape` is (height, width, channels) and `value_range` the (low, high) range
    of the pixels the model is trained on and produces. Conditional models set
    `is_conditional = True` and carry `num_classes`; they train on `(images, labels)`.
    """

    is_conditional: bool = False
    #: Seed-generator attributes whose state is saved with the weights, mapped to their
    #: key in the saved file. Keras leaves these states out of `.keras` files; keeping
    #: them makes training resumed from a file draw the same noise.
    saved_seed_states: dict[str, str] = {}
    #: Attributes holding sub-models that `get_config` serialises and `from_config`
    #: rebuilds; each is also a constructor argument of the same name.
    submodels: tuple[str, ...] = ()

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_shape = check_image_shape(image_shape)
        low, high = (float(v) for v in value_range)
        if high <= low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
        self.value_range = (low, high)

    def check_images(self, images: Any, what: str = "inputs") -> None:
        """Raise a ValueError saying how to fix images of the wrong shape, dtype or range."""
        arr = np.asarray(images)
        expected = self.image_shape
        if arr.ndim != 4 or tuple(arr.shape[1:]) != expected:
            hint = ""
            if arr.ndim == 3 and tuple(arr.shape[1:]) == expected[:2]:
                hint = " Add a channel axis: images[..., None]."
            elif arr.ndim == 2 and arr.shape[1] == int(np.prod(expected)):
                hint = f" Reshape flat rows with images.reshape(-1, {', '.join(map(str, expected))})."
            raise ValueError(
                f"{self.name} expects {what} of shape (batch, {', '.join(map(str, expected))}), "
                f"got {tuple(arr.shape)}.{hint} Build the model with image_shape matching your "
                "data, e.g. image_shape=info.image_shape from keras_genzoo.data.load_dataset."
            )
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(
                f"{self.name} expects floating-point {what}, got dtype {arr.dtype}. Convert "
                f"and scale them to {list(self.value_range)}, e.g. "
                "x.astype('float32') / 255 for 8-bit images."
            )
        low, high = self.value_range
        lo, hi = float(arr.min()), float(arr.max())
        tol = 1e-3 * (high - low)
        if lo < low - tol or hi > high + tol:
            raise ValueError(
                f"{self.name} expects {what} in [{low:g}, {high:g}], got values in "
                f"[{lo:g}, {hi:g}]. Rescale your data (load_dataset(..., scale='unit' or "
                "'symmetric')) or build the model with a matching value_range."
            )

    def check_training_data(self, x: Any, y: Any = None) -> None:
        """Check the first batch of training data; subclasses add checks on the second element."""
        images, _ = _first_batch(x, y)
        if images is not None:
            self.check_images(images)

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Keras `compile`; float16 loss scaling stays correct under several replicas."""
        from keras_genzoo.distribute.precision import with_replica_safe_loss_scaling

        super().compile(*args, **kwargs)
        self.optimizer = with_replica_safe_loss_scaling(self.optimizer)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Recompile from a saved compile config when a `.keras` file is loaded.

        Keras skips this for models that override `compile`, as ZooModel does.
        """
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built and getattr(self, "optimizer", None) is not None:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any):
        self.check_training_data(x, y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any):
        self.check_training_data(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def save_own_variables(self, store: Any) -> None:
        super().save_own_variables(store)
        for attribute, key in self.saved_seed_states.items():
            store[key] = np.asarray(getattr(self, attribute).state)

    def load_own_variables(self, store: Any) -> None:
        keys = set(self.saved_seed_states.values())
        super().load_own_variables({k: store[k] for k in store.keys() if k not in keys})
        for attribute, key in self.saved_seed_states.items():
            if key in store.keys():
                getattr(self, attribute).state.assign(store[key])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), value_range=list(self.value_range))
        config.update({name: serialize_submodel(getattr(self, name)) for name in self.submodels})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ZooModel":
        config = dict(config)
        for name in cls.submodels:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
