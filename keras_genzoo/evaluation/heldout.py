"""The held-out measurements of the zoo, each defined once with its options and direction.

A run records them (`keras_genzoo.training.held_out_metrics`: the config's `metrics`
under `scores`, reconstruction and denoising errors under `reconstruction`) and a
search optimises them (`keras_genzoo.tuning`: an objective names a measurement and one
of its outputs), so a run's recorded value and a search's objective are the same
number for the same model, data, seed and options.

Every measurement reads a `HeldOut` split and returns `{output: value}`:

- `iw_nll`: minus the mean importance-weighted log p(x), nats (VAEs).
- `neg_elbo`: the mean negative ELBO, nats (VAEs).
- `nll`: minus the mean exact log p(x), nats, and the same in bits per dimension (PixelCNN).
- `generator`: FID, KID, classes covered, class entropy and (conditional models)
  conditional accuracy of `generate` samples against the held-out images, in the
  features of the shipped classifier of the dataset.
- `pseudo_likelihood`: mean log pseudo-likelihood (RBMs).
- `ais`: AIS log Z started from the base rates of the clean training images, and the
  mean held-out log-likelihood under it (RBMs).
- `reconstruction`: mean squared reconstruction error (and, with the training images,
  the error of predicting the mean training image, and their ratio).
- `denoising`: the error of the model's own noisy inputs and of their reconstructions.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Mapping

import numpy as np

from keras_genzoo.evaluation.scores import evaluate_generator


@dataclasses.dataclass
class HeldOut:
    """The split a measurement is computed on.

    `images` are what the model is fed, `targets` the clean images (equal to `images`
    unless the data yields noisy pairs), `labels` class ids or None; `dataset` names
    the shipped feature classifier; `train_images` are the clean training images (the
    mean-image baseline of `reconstruction`, the AIS base rates); `seed` seeds every
    sampled measurement.
    """

    images: np.ndarray
    targets: np.ndarray
    labels: np.ndarray | None
    dataset: str
    seed: int = 0
    train_images: np.ndarray | None = None


Compute = Callable[[Any, HeldOut, Mapping[str, Any]], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One held-out measurement: how it is computed, its options with their defaults,
    the direction of each output that can be optimised, the method a model needs, and
    the section of a run's metrics it is recorded in."""

    name: str
    compute: Compute
    options: Mapping[str, Any]
    directions: Mapping[str, str]
    requires: str
    description: str
    section: str = "scores"


class MeasurementError(ValueError):
    """A measurement that does not exist, does not apply to a model, or lacks its data."""


def _labels(model: Any, held: HeldOut, count: int | None = None) -> np.ndarray | None:
    if held.labels is None or not getattr(model, "is_conditional", False):
        return None
    return held.labels if count is None else held.labels[:count]


def _reconstruct(model: Any, images: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    if labels is None:
        return np.asarray(model.reconstruct(images))
    return np.asarray(model.reconstruct(images, labels=labels))


def _iw_nll(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    count = options["num_images"] or len(held.targets)
    log_px = model.log_likelihood(
        held.targets[:count], labels=_labels(model, held, count),
        num_samples=options["num_samples"], seed=held.seed,
    )
    return {"iw_nll": float(-np.mean(log_px))}


def _neg_elbo(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    reconstruction, kl = model.elbo_terms(
        held.targets, labels=_labels(model, held), num_samples=options["num_samples"],
        seed=held.seed,
    )
    return {"neg_elbo": float(np.mean(reconstruction + kl))}


def _nll(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    nll = float(-np.mean(model.log_likelihood(held.targets, labels=_labels(model, held))))
    dims = int(np.prod(held.targets.shape[1:]))
    return {"nll": nll, "bits_per_dim": float(nll / (dims * np.log(2.0)))}


def _generator(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    return evaluate_generator(
        model, held.targets, options["classifier"] or held.dataset,
        num_samples=options["num_samples"], seed=held.seed,
    )


def _pseudo_likelihood(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    return {"pseudo_likelihood": float(np.mean(model.pseudo_likelihood(held.targets, seed=held.seed)))}


def _ais(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    if held.train_images is None:
        raise MeasurementError("The 'ais' measurement starts from the training images' base rates; "
                               "the held-out split was given none (HeldOut.train_images).")
    log_z = model.estimate_log_partition(
        "ais", train_images=held.train_images, num_chains=options["num_chains"],
        num_betas=options["num_betas"], seed=held.seed,
    )
    log_px = model.log_likelihood(held.targets, log_z=log_z)
    return {"ais_log_z": float(log_z), "ais_log_likelihood": float(np.mean(log_px))}


def _reconstruction(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    reconstructions = _reconstruct(model, held.images, _labels(model, held))
    mse = float(np.mean((reconstructions - held.targets) ** 2))
    report = {"num_images": int(len(held.images)), "mse": mse}
    if held.train_images is not None:
        mean_image = held.train_images.astype(np.float64).mean(axis=0)
        baseline = float(np.mean((mean_image - held.targets) ** 2))
        report.update(mean_image_mse=baseline, ratio_to_mean_image=mse / baseline)
    return report


def _denoising(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    noisy = np.asarray(model.corrupt(held.targets, seed=held.seed))
    denoised = _reconstruct(model, noisy, _labels(model, held))
    return {"noisy_input_mse": float(np.mean((noisy - held.targets) ** 2)),
            "denoised_mse": float(np.mean((denoised - held.targets) ** 2))}


MEASUREMENTS: dict[str, Measurement] = {
    m.name: m for m in (
        Measurement("iw_nll", _iw_nll, {"num_samples": 100, "num_images": None},
                    {"iw_nll": "min"}, "log_likelihood",
                    "importance-weighted negative log-likelihood, nats"),
        Measurement("neg_elbo", _neg_elbo, {"num_samples": 1}, {"neg_elbo": "min"},
                    "elbo_terms", "negative ELBO, nats"),
        Measurement("nll", _nll, {}, {"nll": "min", "bits_per_dim": "min"}, "bits_per_dim",
                    "exact negative log-likelihood, nats and bits per sub-pixel"),
        Measurement("generator", _generator, {"num_samples": 1000, "classifier": None},
                    {"fid": "min", "kid": "min", "classes_covered": "max",
                     "class_entropy": "max", "conditional_accuracy": "max"}, "generate",
                    "FID, KID, class coverage and conditional accuracy of samples"),
        Measurement("pseudo_likelihood", _pseudo_likelihood, {}, {"pseudo_likelihood": "max"},
                    "pseudo_likelihood", "log pseudo-likelihood per image"),
        Measurement("ais", _ais, {"num_chains": 100, "num_betas": 10000},
                    {"ais_log_likelihood": "max"}, "estimate_log_partition",
                    "log-likelihood with an AIS estimate of log Z from the training base rates"),
        Measurement("reconstruction", _reconstruction, {},
                    {"mse": "min", "ratio_to_mean_image": "min"}, "reconstruct",
                    "mean squared reconstruction error", section="reconstruction"),
        Measurement("denoising", _denoising, {}, {"denoised_mse": "min"}, "corrupt",
                    "mean squared error of denoising the model's own corruption",
                    section="reconstruction"),
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
    return hasattr(model, get_measurement(name).requires)


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
            f"The measurement {name!r} needs a model with {measurement.requires}(); "
            f"{type(model).__name__} has none."
        )
    return measurement.compute(model, held, resolve_options(name, options))
