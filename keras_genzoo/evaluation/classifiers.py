"""Small per-dataset classifiers whose penultimate layer embeds images for FID and KID.

Inception features mean little for 8x8 digits or MNIST, so each dataset gets its own
classifier, trained by `train_feature_classifier` and shipped in `weights/` with its
architecture, test accuracy and SHA-256 in `weights/classifiers.json`. Loading checks the
checksum before reading the weights. For other data, train one on a labelled folder of
image files (`train_feature_classifier(folder, name=..., weights_dir=...)`) or wrap any
Keras classifier with `FeatureClassifier.from_model`. FID and KID values are comparable
only when computed with the same classifier.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import Any, Sequence

import keras
import numpy as np
from keras import layers

from keras_genzoo.core.checks import check_finite, empty_data_error
from keras_genzoo.data import load_arrays
from keras_genzoo.io.atomic import replacing
from keras_genzoo.io.checksums import load_verified, sha256_file

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
METADATA_FILE = "classifiers.json"
FEATURE_LAYER = "features"
# Architecture per dataset: conv filters and strides, then a dense feature layer.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "digits": {"filters": [32, 64, 64], "strides": [1, 2, 2], "feature_dim": 128},
    "mnist": {"filters": [32, 64, 64], "strides": [2, 2, 2], "feature_dim": 128},
}


def default_architecture(image_shape: Sequence[int]) -> dict[str, Any]:
    """The architecture `train_feature_classifier` uses for data without a preset one:
    the digits' for images under 16 pixels, otherwise three stride-2 convolutions."""
    small = min(int(image_shape[0]), int(image_shape[1])) < 16
    return {"filters": [32, 64, 64], "strides": [1, 2, 2] if small else [2, 2, 2], "feature_dim": 128}


def build_feature_classifier(
    image_shape: Sequence[int],
    num_classes: int = 10,
    *,
    filters: Sequence[int] = (32, 64, 64),
    strides: Sequence[int] = (1, 2, 2),
    feature_dim: int = 128,
    dropout: float = 0.3,
) -> keras.Model:
    """CNN on images in [0, 1]: convolutions, a dense ReLU layer named `features`, logits."""
    inputs = keras.Input(tuple(image_shape), name="image")
    x = inputs
    for i, (f, s) in enumerate(zip(filters, strides, strict=True)):
        x = layers.Conv2D(f, 3, strides=s, padding="same", activation="relu", name=f"conv{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="feature_classifier")


def _weights_file(dataset: str) -> str:
    return f"{dataset}_classifier.weights.h5"


def read_metadata(weights_dir: str = WEIGHTS_DIR) -> dict[str, dict[str, Any]]:
    """The shipped classifiers' records: architecture, accuracy, checksum, provenance."""
    path = os.path.join(weights_dir, METADATA_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def available_classifiers() -> list[str]:
    """Datasets with a shipped feature classifier."""
    return sorted(read_metadata())


@dataclass
class FeatureClassifier:
    """A trained classifier used to embed (`features`) and label (`predict`) images.

    `model` maps images in `metadata["input_range"]` (default [0, 1]) to class logits or
    probabilities; the output of its layer `feature_layer` is the embedding.
    """

    dataset: str
    model: keras.Model
    metadata: dict[str, Any]
    feature_layer: str = FEATURE_LAYER

    def __post_init__(self) -> None:
        self._feature_model = keras.Model(
            self.model.inputs, self.model.get_layer(self.feature_layer).output
        )
        self._feature_and_class_model = keras.Model(
            self.model.inputs,
            [self.model.get_layer(self.feature_layer).output, self.model.outputs[0]],
        )

    @classmethod
    def from_model(
        cls,
        model: keras.Model,
        *,
        feature_layer: str | None = None,
        input_range: Sequence[float] = (0.0, 1.0),
        name: str = "custom",
    ) -> "FeatureClassifier":
        """Any trained Keras classifier (images -> one score per class) as a feature classifier.

        Features are the output of `feature_layer` (default: the input of the last layer,
        i.e. the penultimate activations); `input_range` is the pixel range the model
        was trained on (e.g. (0, 255) or (-1, 1)); `name` labels it in error messages.
        """
        if feature_layer is None:
            feature_layer = model.layers[-2].name
        try:
            model.get_layer(feature_layer)
        except ValueError as err:
            layers_named = ", ".join(layer.name for layer in model.layers)
            raise ValueError(
                f"The model {model.name!r} has no layer {feature_layer!r}; its layers are "
                f"{layers_named}. Pass feature_layer= the layer whose output embeds images."
            ) from err
        low, high = (float(v) for v in input_range)
        return cls(name, model, {"input_range": [low, high]}, feature_layer)

    @property
    def image_shape(self) -> tuple[int | None, ...]:
        """The input shape (height, width, channels); None where the model takes any size."""
        return tuple(self.model.inputs[0].shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return int(self.model.outputs[0].shape[-1])

    @property
    def test_accuracy(self) -> float:
        """Accuracy on the held-out split, measured when the weights were trained."""
        return float(self.metadata["test_accuracy"])

    def _prepare(self, images: Any, value_range: Sequence[float]) -> np.ndarray:
        arr = np.asarray(images, np.float32)
        if arr.ndim == 3 and self.image_shape[2] == 1:
            arr = arr[..., None]
        fits = arr.ndim == 4 and all(
            want is None or want == got for want, got in zip(self.image_shape, arr.shape[1:])
        )
        if not fits:
            raise ValueError(
                f"The {self.dataset} feature classifier takes images of shape (n, "
                f"{', '.join(map(str, self.image_shape))}), got {arr.shape}. Evaluate with "
                "the classifier of the dataset the model was trained on."
            )
        owner = f"The {self.dataset} feature classifier"
        if not len(arr):
            raise empty_data_error(owner, "images")
        check_finite(arr, owner, "images")
        low, high = (float(v) for v in value_range)
        if high <= low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
        unit = np.clip((arr - low) / (high - low), 0.0, 1.0)
        in_low, in_high = (float(v) for v in self.metadata.get("input_range", (0.0, 1.0)))
        return unit * (in_high - in_low) + in_low

    def features(
        self, images: Any, value_range: Sequence[float] = (0.0, 1.0), batch_size: int = 500
    ) -> np.ndarray:
        """Penultimate-layer activations (n, feature_dim) of images in `value_range`."""
        x = self._prepare(images, value_range)
        return np.asarray(self._feature_model.predict(x, batch_size=batch_size, verbose=0), np.float64)

    def features_and_predictions(
        self, images: Any, value_range: Sequence[float] = (0.0, 1.0), batch_size: int = 500
    ) -> tuple[np.ndarray, np.ndarray]:
        """`features(images)` and `predict(images)` from one pass of the network."""
        x = self._prepare(images, value_range)
        features, scores = self._feature_and_class_model.predict(
            x, batch_size=batch_size, verbose=0
        )
        return np.asarray(features, np.float64), np.argmax(scores, axis=1)

    def predict(
        self, images: Any, value_range: Sequence[float] = (0.0, 1.0), batch_size: int = 500
    ) -> np.ndarray:
        """Predicted class ids (n,) of images in `value_range`."""
        x = self._prepare(images, value_range)
        return np.argmax(self.model.predict(x, batch_size=batch_size, verbose=0), axis=1)

    def accuracy(self, images: Any, labels: Any, value_range: Sequence[float] = (0.0, 1.0)) -> float:
        """Share of images whose predicted class equals `labels`."""
        labels = np.asarray(labels).ravel()
        return float(np.mean(self.predict(images, value_range) == labels))


@functools.lru_cache(maxsize=None)
def _load_cached(dataset: str, weights_dir: str) -> FeatureClassifier:
    metadata = read_metadata(weights_dir)
    if dataset not in metadata:
        raise ValueError(
            f"No feature classifier is shipped for {dataset!r}; available: "
            f"{', '.join(sorted(metadata)) or 'none'}. Train one with "
            "keras_genzoo.evaluation.train_feature_classifier."
        )
    record = metadata[dataset]
    model = build_feature_classifier(
        record["image_shape"], record["num_classes"], **record["architecture"]
    )
    path = os.path.join(weights_dir, record["weights_file"])
    load_verified(path, record["sha256"], model.load_weights)
    return FeatureClassifier(dataset, model, record)


def load_feature_classifier(dataset: str, weights_dir: str | None = None) -> FeatureClassifier:
    """The shipped classifier for `dataset` ("digits" or "mnist"), checksum-verified."""
    return _load_cached(dataset, os.path.abspath(weights_dir or WEIGHTS_DIR))


def train_feature_classifier(
    dataset: str,
    *,
    name: str | None = None,
    data_dir: str | None = None,
    image_shape: Sequence[int] | None = None,
    epochs: int = 30,
    batch_size: int = 64,
    seed: int = 0,
    weights_dir: str | None = None,
    verbose: int = 0,
) -> dict[str, Any]:
    """Train the feature classifier of `dataset` on its train split and measure it on test.

    `dataset` is anything `load_arrays` reads with labels, e.g. "digits" or a folder of
    image files with one subfolder per class (brought to `image_shape`). `name` (default:
    `dataset`, required for paths) is the key it is saved and loaded under. With
    `weights_dir`, writes `<name>_classifier.weights.h5` there and records the
    architecture, test accuracy and SHA-256 in `classifiers.json`, so that
    `load_feature_classifier(name, weights_dir)` loads it. Returns the record.
    """

    name = dataset if name is None else name
    if not name.isidentifier():
        raise ValueError(
            f"Name the classifier with name= (letters, digits, underscores), got {name!r}; "
            "it becomes part of the weights file's name."
        )
    keras.utils.set_random_seed(seed)
    x_train, y_train, info = load_arrays(dataset, "train", data_dir=data_dir, image_shape=image_shape)
    x_test, y_test, _ = load_arrays(dataset, "test", data_dir=data_dir, image_shape=image_shape)
    if y_train is None or info.num_classes < 2:
        raise ValueError(
            f"A feature classifier learns classes, but {info.source} has "
            f"{info.num_classes or 'no'} class labels; use a folder with one subfolder per "
            "class (at least 2 classes)."
        )
    architecture = ARCHITECTURES.get(name, default_architecture(info.image_shape))
    model = build_feature_classifier(info.image_shape, info.num_classes, **architecture)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    predictions = np.argmax(model.predict(x_test, verbose=0), axis=1)
    record: dict[str, Any] = {
        "dataset": name,
        "class_names": list(info.class_names),
        "image_shape": list(info.image_shape),
        "num_classes": int(info.num_classes),
        "input_range": [0.0, 1.0],
        "architecture": architecture,
        "train_examples": int(len(x_train)),
        "test_examples": int(len(x_test)),
        "test_accuracy": round(float(np.mean(predictions == y_test)), 4),
        "training": {"epochs": epochs, "batch_size": batch_size, "seed": seed, "optimizer": "Adam(1e-3)"},
        "weights_file": _weights_file(name),
    }
    if weights_dir is not None:
        # Save from an uncompiled copy so the file holds the weights, not the optimizer state.
        shipped = build_feature_classifier(info.image_shape, info.num_classes, **architecture)
        shipped.set_weights(model.get_weights())
        _write_classifier(shipped, record, weights_dir)
    return record


def _write_classifier(model: keras.Model, record: dict[str, Any], weights_dir: str) -> None:
    """Save the weights and add `record` (with their SHA-256) to `classifiers.json`.

    Both files are written in full under temporary names first; then the weights are
    renamed into place and the record last, so a failure while writing leaves the
    previous pair as it was.
    """
    metadata = read_metadata(weights_dir)
    weights_path = os.path.join(weights_dir, record["weights_file"])
    with replacing(os.path.join(weights_dir, METADATA_FILE)) as record_temporary:
        with replacing(weights_path) as weights_temporary:
            model.save_weights(weights_temporary)
            record["sha256"] = sha256_file(weights_temporary)
            metadata[record["dataset"]] = record
            with open(record_temporary, "w") as f:
                json.dump(metadata, f, indent=2, sort_keys=True)
                f.write("\n")
    _load_cached.cache_clear()
