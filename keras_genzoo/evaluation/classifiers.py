"""Small per-dataset classifiers whose penultimate layer embeds images for FID and KID.

Inception features mean little for 8x8 digits or MNIST, so each dataset gets its own
classifier, trained by `train_feature_classifier` and shipped in `weights/` with its
architecture, test accuracy and SHA-256 in `weights/classifiers.json`. Loading checks the
checksum before reading the weights.
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

from keras_genzoo.checksums import load_verified, sha256_file

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
METADATA_FILE = "classifiers.json"
FEATURE_LAYER = "features"
# Architecture per dataset: conv filters and strides, then a dense feature layer.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "digits": {"filters": [32, 64, 64], "strides": [1, 2, 2], "feature_dim": 128},
    "mnist": {"filters": [32, 64, 64], "strides": [2, 2, 2], "feature_dim": 128},
}


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
    """A trained classifier used to embed (`features`) and label (`predict`) images."""

    dataset: str
    model: keras.Model
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        self._feature_model = keras.Model(
            self.model.inputs, self.model.get_layer(FEATURE_LAYER).output
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
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
        if arr.ndim != 4 or tuple(arr.shape[1:]) != self.image_shape:
            raise ValueError(
                f"The {self.dataset} feature classifier takes images of shape (n, "
                f"{', '.join(map(str, self.image_shape))}), got {arr.shape}. Evaluate with "
                "the classifier of the dataset the model was trained on."
            )
        low, high = (float(v) for v in value_range)
        if high <= low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
        return np.clip((arr - low) / (high - low), 0.0, 1.0)

    def features(self, images: Any, value_range: Sequence[float] = (0.0, 1.0), batch_size: int = 500) -> np.ndarray:
        """Penultimate-layer activations (n, feature_dim) of images in `value_range`."""
        x = self._prepare(images, value_range)
        return np.asarray(self._feature_model.predict(x, batch_size=batch_size, verbose=0), np.float64)

    def predict(self, images: Any, value_range: Sequence[float] = (0.0, 1.0), batch_size: int = 500) -> np.ndarray:
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
    data_dir: str | None = None,
    epochs: int = 30,
    batch_size: int = 64,
    seed: int = 0,
    weights_dir: str | None = None,
    verbose: int = 0,
) -> dict[str, Any]:
    """Train the feature classifier of `dataset` on its train split and measure it on test.

    With `weights_dir`, writes `<dataset>_classifier.weights.h5` there and records the
    architecture, test accuracy and SHA-256 in `classifiers.json`. Returns the record.
    """
    from keras_genzoo.data import load_arrays

    if dataset not in ARCHITECTURES:
        raise ValueError(f"No classifier architecture for {dataset!r}; choose from {sorted(ARCHITECTURES)}.")
    keras.utils.set_random_seed(seed)
    x_train, y_train, info = load_arrays(dataset, "train", data_dir=data_dir)
    x_test, y_test, _ = load_arrays(dataset, "test", data_dir=data_dir)
    architecture = ARCHITECTURES[dataset]
    model = build_feature_classifier(info.image_shape, info.num_classes, **architecture)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    predictions = np.argmax(model.predict(x_test, verbose=0), axis=1)
    record: dict[str, Any] = {
        "dataset": dataset,
        "image_shape": list(info.image_shape),
        "num_classes": int(info.num_classes),
        "input_range": [0.0, 1.0],
        "architecture": architecture,
        "train_examples": int(len(x_train)),
        "test_examples": int(len(x_test)),
        "test_accuracy": round(float(np.mean(predictions == y_test)), 4),
        "training": {"epochs": epochs, "batch_size": batch_size, "seed": seed, "optimizer": "Adam(1e-3)"},
        "weights_file": _weights_file(dataset),
    }
    if weights_dir is not None:
        os.makedirs(weights_dir, exist_ok=True)
        path = os.path.join(weights_dir, record["weights_file"])
        # Save from an uncompiled copy so the file holds the weights, not the optimizer state.
        shipped = build_feature_classifier(info.image_shape, info.num_classes, **architecture)
        shipped.set_weights(model.get_weights())
        shipped.save_weights(path)
        record["sha256"] = sha256_file(path)
        metadata = read_metadata(weights_dir)
        metadata[dataset] = record
        with open(os.path.join(weights_dir, METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)
            f.write("\n")
        _load_cached.cache_clear()
    return record
