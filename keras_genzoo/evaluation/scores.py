"""Image-level scores: FID, KID, class-conditional accuracy and class coverage of samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from keras_genzoo.core.capabilities import Generator
from keras_genzoo.core.conditioning import cycled_labels
from keras_genzoo.evaluation.classifiers import (
    FeatureClassifier,
    load_feature_classifier,
)
from keras_genzoo.evaluation.metrics import (
    KIDResult,
    class_coverage,
    fid_from_features,
    kid_from_features,
)


def _classifier(classifier: FeatureClassifier | str) -> FeatureClassifier:
    return load_feature_classifier(classifier) if isinstance(classifier, str) else classifier


def fid(
    real_images: Any,
    fake_images: Any,
    classifier: FeatureClassifier | str,
    value_range: Sequence[float] = (0.0, 1.0),
) -> float:
    """Fréchet distance between classifier features of real and generated images.

    `classifier` is a `FeatureClassifier` or the name of a dataset with a shipped one;
    both image sets are in `value_range`. Lower is better; 0 for identical statistics.
    """
    clf = _classifier(classifier)
    return fid_from_features(clf.features(real_images, value_range), clf.features(fake_images, value_range))


def kid(
    real_images: Any,
    fake_images: Any,
    classifier: FeatureClassifier | str,
    value_range: Sequence[float] = (0.0, 1.0),
    *,
    num_subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
) -> KIDResult:
    """Kernel Inception Distance (unbiased) on classifier features of the two image sets."""
    clf = _classifier(classifier)
    return kid_from_features(
        clf.features(real_images, value_range), clf.features(fake_images, value_range),
        num_subsets=num_subsets, subset_size=subset_size, seed=seed,
    )


@dataclass(frozen=True)
class ConditionalAccuracy:
    """How often a classifier recognises the class a conditional generator was asked for."""

    accuracy: float
    per_class: tuple[float, ...]


def conditional_accuracy(
    images: Any,
    requested_labels: Any,
    classifier: FeatureClassifier | str,
    value_range: Sequence[float] = (0.0, 1.0),
) -> ConditionalAccuracy:
    """Share of generated images classified as the label they were generated for."""
    clf = _classifier(classifier)
    requested = np.asarray(requested_labels).astype(np.int64).ravel()
    hits = clf.predict(images, value_range) == requested
    per_class = tuple(
        float(hits[requested == k].mean()) if np.any(requested == k) else float("nan")
        for k in range(clf.num_classes)
    )
    return ConditionalAccuracy(float(hits.mean()), per_class)


def evaluate_generator(
    model: Generator,
    real_images: Any,
    classifier: FeatureClassifier | str,
    *,
    num_samples: int = 1000,
    seed: int = 0,
    real_range: Sequence[float] | None = None,
) -> dict[str, float]:
    """FID, KID, class coverage (and conditional accuracy) of `model.generate` samples.

    `real_images` are compared in `real_range` (default: the model's `value_range`).
    """
    if not isinstance(model, Generator):
        raise TypeError(
            f"evaluate_generator needs a model that generates images (a Generator), got "
            f"{type(model).__name__}."
        )
    clf = _classifier(classifier)
    value_range = tuple(model.value_range)
    real_range = tuple(real_range or value_range)
    labels = cycled_labels(num_samples, model.num_classes) if model.is_conditional else None
    samples = model.generate(num_samples, labels=labels, seed=seed)
    real_features = clf.features(real_images, real_range)
    fake_features, predicted = clf.features_and_predictions(samples, value_range)
    coverage = class_coverage(predicted, clf.num_classes)
    scores = {
        "fid": fid_from_features(real_features, fake_features),
        "kid": kid_from_features(real_features, fake_features, seed=seed).mean,
        "classes_covered": float(coverage.covered),
        "class_entropy": coverage.normalized_entropy,
    }
    if labels is not None:
        scores["conditional_accuracy"] = float(np.mean(predicted == labels))
    return scores
