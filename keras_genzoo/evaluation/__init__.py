"""Evaluation of generated data: FID, KID, conditional accuracy, mode coverage.

FID and KID use the features of a small classifier trained for each dataset ("digits",
"mnist"), shipped with the package and checksum-verified when loaded; for other images,
one trained on a labelled folder (`train_feature_classifier`) or any Keras classifier
(`FeatureClassifier.from_model`). Scores are comparable only under the same classifier.

`heldout` is the one table of held-out measurements (likelihoods, sample scores,
reconstruction errors) that runs record and searches optimise.
"""

from keras_genzoo.evaluation.classifiers import (
    FeatureClassifier,
    available_classifiers,
    build_feature_classifier,
    load_feature_classifier,
    train_feature_classifier,
)
from keras_genzoo.evaluation.figures import coverage_figure
from keras_genzoo.evaluation.heldout import (
    MEASUREMENTS,
    HeldOut,
    Measurement,
    MeasurementError,
    measure,
    register_measurement,
)
from keras_genzoo.evaluation.metrics import (
    ClassCoverage,
    KIDResult,
    ModeCoverage,
    class_coverage,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    gaussian_ring,
    kid_from_features,
    mmd2_unbiased,
    mode_coverage,
    polynomial_kernel,
)
from keras_genzoo.evaluation.scores import (
    ConditionalAccuracy,
    conditional_accuracy,
    evaluate_generator,
    fid,
    kid,
)

__all__ = [
    "MEASUREMENTS",
    "ClassCoverage",
    "ConditionalAccuracy",
    "FeatureClassifier",
    "HeldOut",
    "KIDResult",
    "Measurement",
    "MeasurementError",
    "ModeCoverage",
    "available_classifiers",
    "build_feature_classifier",
    "class_coverage",
    "conditional_accuracy",
    "coverage_figure",
    "evaluate_generator",
    "feature_statistics",
    "fid",
    "fid_from_features",
    "frechet_distance",
    "gaussian_ring",
    "kid",
    "kid_from_features",
    "load_feature_classifier",
    "measure",
    "mmd2_unbiased",
    "mode_coverage",
    "polynomial_kernel",
    "register_measurement",
    "train_feature_classifier",
]
