"""The data of a run: its config's dataset, scaled and labelled as its model needs (a
translator's pairs or domains: `translation_data`)."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
from typing import Any

import numpy as np

from keras_genzoo.core.capabilities import Translator
from keras_genzoo.core.model import ZooModel
from keras_genzoo.data import DataNotFoundError, DatasetInfo, load_arrays, load_dataset
from keras_genzoo.training.config import RunConfig, is_recommender, translator_kind
from keras_genzoo.training.errors import RunError, reraised_as
from keras_genzoo.training.translation_data import load_translation_data, probe_translation

SCALE_OF_RANGE = {(0.0, 1.0): "unit", (-1.0, 1.0): "symmetric"}
DATA_ERRORS = (DataNotFoundError, FileNotFoundError, ValueError, TypeError)


@dataclasses.dataclass
class RunData:
    """Training and held-out `tf.data` pipelines of a run, and the held-out split as arrays.

    `test_targets` are the clean images (the inputs themselves unless the dataset yields
    (noisy, clean) pairs); `test_labels` is None for unconditional models.
    `train_images` are the clean training images (before any binarisation or noise),
    for statistics that must not depend on how many epochs drew from the pipeline.
    """

    train: Any
    test: Any
    train_info: DatasetInfo
    test_info: DatasetInfo
    test_inputs: np.ndarray
    test_targets: np.ndarray
    test_labels: np.ndarray | None
    train_images: np.ndarray


def _data_options(config: RunConfig) -> dict[str, Any]:
    """The config's `load_dataset` options; the model's `image_shape` override, when given,
    is the shape a folder of image files is brought to (other sources must match it)."""
    options = dict(config.dataset.options)
    image_shape = config.overrides.get("image_shape")
    if image_shape is not None:
        options.setdefault("image_shape", image_shape)
    return options


def _refuse_ratings(config: RunConfig) -> None:
    if is_recommender(config.model):
        raise RunError(
            f"Model {config.model!r} is a recommender: its ratings are read by "
            "keras_genzoo.training.ratings_data (train_run and evaluate_run use it); image "
            "pipelines and hyperparameter search do not take ratings."
        )


def probe_dataset(config: RunConfig) -> DatasetInfo:
    """The training split's `DatasetInfo` (image shape, classes) of a config (a
    translator's: of its targets); a recommender's config is refused."""
    _refuse_ratings(config)
    if translator_kind(config.model) is not None:
        with reraised_as(RunError, *DATA_ERRORS):
            return probe_translation(config, _data_options(config))
    with reraised_as(RunError, *DATA_ERRORS):
        _, info = load_dataset(
            config.dataset.name, "train", batch_size=config.batch_size,
            **_data_options(config),
        )
    return info


def _as_numpy(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def split_element(element: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(images, target images, labels) of a dataset element; absent parts are None."""
    if isinstance(element, (tuple, list)):
        inputs = _as_numpy(element[0])
        second = _as_numpy(element[1]) if len(element) > 1 else None
        if second is not None and second.shape == inputs.shape:
            return inputs, second, None
        return inputs, None, second
    return _as_numpy(element), None, None


def collect(dataset: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(inputs, targets, labels or None) of every image in a dataset.

    Targets are the inputs themselves unless the dataset yields (input, target) pairs.
    """
    inputs, targets, labels = [], [], []
    for element in dataset:
        x, y, label = split_element(element)
        inputs.append(x)
        targets.append(x if y is None else y)
        if label is not None:
            labels.append(label)
    if not inputs:
        raise RunError(
            "The held-out split is empty; raise the dataset's holdout_fraction or add data."
        )
    return np.concatenate(inputs), np.concatenate(targets), (
        np.concatenate(labels) if labels else None
    )


def held_out_fingerprint(data: RunData) -> str:
    """SHA-256 of the held-out images (float32, as the model sees them) and labels: which
    images a run was measured on, checked again when its metrics are recomputed."""
    digest = hashlib.sha256(np.ascontiguousarray(data.test_targets, np.float32).tobytes())
    if data.test_labels is not None:
        digest.update(np.ascontiguousarray(data.test_labels, np.int64).tobytes())
    return digest.hexdigest()


def model_scale(model: ZooModel, name: str = "The model") -> str:
    """The data layer's `scale` for a model's pixel range; other ranges raise `RunError`."""
    value_range = tuple(float(v) for v in model.value_range)
    if value_range not in SCALE_OF_RANGE:
        raise RunError(
            f"{name} works on pixels in {list(value_range)}; the trainer can feed [0, 1] "
            "or [-1, 1] data. Build it with one of those value ranges."
        )
    return SCALE_OF_RANGE[value_range]


HELD_OUT_SPLITS = ("test", "validation")


def load_run_data(config: RunConfig, model: ZooModel, held_out: str = "test") -> RunData:
    """Load the config's training and held-out splits in the form `model` trains on.

    Images are scaled to the model's value range, conditional models get labels, the
    model learns the number of training images (`adapt_to_training_set`) and the
    training data is checked by the model (shape, dtype, range) before any step runs.
    `held_out="validation"` holds out the validation split instead of the test split (the
    dataset's `validation_fraction` must then be positive); the training split leaves the
    validation images out whenever `validation_fraction` is positive. A translator gets
    its pairs or domains (`translation_data.load_translation_data`).
    """
    if held_out not in HELD_OUT_SPLITS:
        raise RunError(f"held_out must be one of {', '.join(HELD_OUT_SPLITS)}, got {held_out!r}.")
    _refuse_ratings(config)
    if isinstance(model, Translator):
        return _translation_run_data(config, model, held_out)
    load_options = dict(
        batch_size=config.batch_size, scale=model_scale(model, f"Model {config.model!r}"),
        labels=model.is_conditional,
        **{"seed": config.seed, **_data_options(config)},
    )
    name = config.dataset.name
    array_options = inspect.signature(load_arrays).parameters
    with reraised_as(RunError, *DATA_ERRORS):
        train_ds, train_info = load_dataset(name, "train", **load_options)
        test_ds, test_info = load_dataset(name, held_out, shuffle=False, **load_options)
        model.adapt_to_training_set(train_info.num_examples)
        model.check_training_data(train_ds)
        train_images, _, _ = load_arrays(
            name, "train", scale=load_options["scale"],
            **{k: v for k, v in _data_options(config).items() if k in array_options},
        )
    return RunData(train_ds, test_ds, train_info, test_info, *collect(test_ds), train_images)


def _translation_run_data(config: RunConfig, model: ZooModel, held_out: str) -> RunData:
    scale = model_scale(model, f"Model {config.model!r}")
    with reraised_as(RunError, *DATA_ERRORS):
        data = load_translation_data(config, model, _data_options(config), scale, held_out)
        model.adapt_to_training_set(data.train_info.num_examples)
        model.check_training_data(data.train)
    return RunData(data.train, data.test, data.train_info, data.test_info, data.test_inputs,
                   data.test_targets, None, data.train_images)
