"""The held-out measurements of the zoo, each defined once with its options and direction.

A run records them (`keras_genzoo.training.held_out_metrics`: the config's `metrics`
under `scores`, reconstruction and denoising errors under `reconstruction`) and a
search optimises them (`keras_genzoo.tuning`: an objective names a measurement and one
of its outputs), so a run's recorded value and a search's objective are the same
number for the same model, data, seed and options.

Every measurement reads a `HeldOut` split and returns `{output: value}`:

- `nll`: minus the mean exact log p(x), nats, and the same in bits per dimension (models
  whose likelihood is exact, e.g. PixelCNN).
- `generator`: FID, KID, classes covered, class entropy and (conditional models)
  conditional accuracy of `generate` samples against the held-out images, in the
  features of the shipped classifier of the dataset.
- `reconstruction`: mean squared reconstruction error (and, with the training images,
  the error of predicting the mean training image, and their ratio).

Families register their own beside their model: `iw_nll` and `neg_elbo` (VAEs),
`pseudo_likelihood` and `ais` (RBMs), `denoising` (denoising autoencoders).
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Mapping

import numpy as np

from keras_genzoo.core.capabilities import DensityModel, Encoder, Generator
from keras_genzoo.evaluation.scores import evaluate_generator


@dataclasses.dataclass
class HeldOut:
    """The split a measurement is computed on.

    `images` are what the model is fed, `targets` the clean images (equal to `images`
    unless the data yields noisy pairs), `labels` class ids or None; `dataset` names
    the shipped feature classifier; `train_images` are the clean training images (the
    mean-image baseline of `reconstruction`, the AIS base rates); `seed` seeds every
    sampled measurement. A recommender's split has no images: `ratings` holds its
    training and held-out ratings (a `keras_genzoo.data.ratings.RatingsSplit`), and
    `images` and `targets` are empty.
    """

    images: np.ndarray
    targets: np.ndarray
    labels: np.ndarray | None
    dataset: str
    seed: int = 0
    train_images: np.ndarray | None = None
    ratings: Any = None


Compute = Callable[[Any, HeldOut, Mapping[str, Any]], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One held-out measurement: how it is computed, its options with their defaults,
    the direction of each output that can be optimised, the class a model must be an
    instance of (a capability of `keras_genzoo.core.capabilities`, or a family's model
    class for a family's own measurement), the likelihood kinds it accepts (density
    measurements), and the section of a run's metrics it is recorded in."""

    name: str
    compute: Compute
    options: Mapping[str, Any]
    directions: Mapping[str, str]
    requires: type
    description: str
    section: str = "scores"
    likelihood_kinds: tuple[str, ...] | None = None


class MeasurementError(ValueError):
    """A measurement that does not exist, does not apply to a model, or lacks its data."""


def model_labels(model: Any, held: HeldOut, count: int | None = None) -> np.ndarray | None:
    if held.labels is None or not model.is_conditional:
        return None
    return held.labels if count is None else held.labels[:count]


def reconstruct(model: Any, images: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    if labels is None:
        return np.asarray(model.reconstruct(images))
    return np.asarray(model.reconstruct(images, labels=labels))


def _nll(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    nll = float(-np.mean(model.log_likelihood(held.targets, labels=model_labels(model, held))))
    dims = int(np.prod(held.targets.shape[1:]))
    return {"nll": nll, "bits_per_dim": float(nll / (dims * np.log(2.0)))}


def _generator(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    return evaluate_generator(
        model, held.targets, options["classifier"] or held.dataset,
        num_samples=options["num_samples"], seed=held.seed,
    )


def _reconstruction(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    reconstructions = reconstruct(model, held.images, model_labels(model, held))
    mse = float(np.mean((reconstructions - held.targets) ** 2))
    report = {"num_images": int(len(held.images)), "mse": mse}
    if held.train_images is not None:
        mean_image = held.train_images.astype(np.float64).mean(axis=0)
        baseline = float(np.mean((mean_image - held.targets) ** 2))
        report.update(mean_image_mse=baseline, ratio_to_mean_image=mse / baseline)
    return report


#: The measurements every family can use; a family registers its own
#: (`register_measurement`) beside its model, e.g. the VAE's bound and the RBM's AIS.
MEASUREMENTS: dict[str, Measurement] = {
    m.name: m for m in (
        Measurement("nll", _nll, {}, {"nll": "min", "bits_per_dim": "min"}, DensityModel,
                    "exact negative log-likelihood, nats and bits per sub-pixel",
                    likelihood_kinds=("exact",)),
        Measurement("generator", _generator, {"num_samples": 1000, "classifier": None},
                    {"fid": "min", "kid": "min", "classes_covered": "max",
                     "class_entropy": "max", "conditional_accuracy": "max"}, Generator,
                    "FID, KID, class coverage and conditional accuracy of samples"),
        Measurement("reconstruction", _reconstruction, {},
                    {"mse": "min", "ratio_to_mean_image": "min"}, Encoder,
                    "mean squared reconstruction error", section="reconstruction"),
    )
}


def get_measurement(name: str) -> Measurement:
    """The measurement called `name`; unknown names suggest the closest one."""
    try:
        return MEASUREMENTS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), MEASUREMENTS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise MeasurementError(
            f"Unknown held-out measurement {name!r}.{hint} Known: {', '.join(MEASUREMENTS)}."
        ) from None


def register_measurement(measurement: Measurement) -> None:
    """Add a measurement to the table (a new family's own score); names are unique."""
    if measurement.name in MEASUREMENTS and MEASUREMENTS[measurement.name] != measurement:
        raise MeasurementError(f"A held-out measurement named {measurement.name!r} exists already.")
    MEASUREMENTS[measurement.name] = measurement


def direction(name: str, output: str) -> str:
    """"min" or "max": which way the output `output` of measurement `name` improves."""
    measurement = get_measurement(name)
    if output not in measurement.directions:
        raise MeasurementError(
            f"The output {output!r} of measurement {name!r} has no direction; its optimisable "
            f"outputs: {', '.join(measurement.directions)}."
        )
    return measurement.directions[output]


def supports(model: Any, name: str) -> bool:
    """True when `model` can be measured by `name`."""
    measurement = get_measurement(name)
    if not isinstance(model, measurement.requires):
        return False
    kinds = measurement.likelihood_kinds
    return kinds is None or model.likelihood_kind in kinds


def requirement(name: str) -> str:
    """What a model needs for the measurement `name`, in words."""
    measurement = get_measurement(name)
    needed = f"a {measurement.requires.__name__} model"
    if measurement.likelihood_kinds:
        needed += f" with a likelihood that is {' or '.join(measurement.likelihood_kinds)}"
    return needed


def resolve_options(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The measurement's default options updated by `options`; unknown keys raise."""
    measurement = get_measurement(name)
    given = dict(options or {})
    unknown = sorted(set(given) - set(measurement.options))
    if unknown:
        allowed = ", ".join(measurement.options) or "none"
        raise MeasurementError(
            f"Unknown option(s) {', '.join(map(repr, unknown))} of measurement {name!r}; "
            f"its options: {allowed}."
        )
    return {**measurement.options, **given}


def measure(
    name: str, model: Any, held: HeldOut, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Compute the measurement `name` of `model` on `held` with `options` (defaults filled)."""
    measurement = get_measurement(name)
    if not supports(model, name):
        raise MeasurementError(
            f"The measurement {name!r} needs {requirement(name)}; "
            f"{type(model).__name__} is not one."
        )
    return measurement.compute(model, held, resolve_options(name, options))
