"""Tuning objectives: held-out scores with an explicit direction, one set per family.

Each objective is computed after every epoch on the held-out split by `HeldOutObjective`
and written into the epoch's logs, where keras-tuner reads it (it keeps the best epoch's
weights and score). A score that is not finite fails the trial with its reason.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Callable

import keras
import keras_tuner as kt
import numpy as np

from keras_genzoo.core.registry import builder_parameters, get_entry
from keras_genzoo.evaluation import conditional_accuracy, fid
from keras_genzoo.tuning.space import TuningError


@dataclasses.dataclass
class HeldOut:
    """The held-out split an objective is computed on.

    `targets` are the clean images (equal to `images` unless the data yields noisy
    pairs); `labels` are class ids or None; `dataset` names the shipped feature
    classifier GAN objectives use.
    """

    images: np.ndarray
    targets: np.ndarray
    labels: np.ndarray | None
    dataset: str
    seed: int = 0


Score = Callable[[keras.Model, HeldOut, dict[str, Any]], float]


@dataclasses.dataclass(frozen=True)
class ObjectiveSpec:
    """A tunable objective: its keras-tuner name and direction, and how it is computed.

    `applies(params)` says whether a builder with those keyword arguments produces it.
    """

    name: str
    direction: str
    score: Score
    description: str
    applies: Callable[[dict], bool] = lambda params: True

    @property
    def objective(self) -> kt.Objective:
        return kt.Objective(self.name, direction=self.direction)


def _labels_for(model: keras.Model, held: HeldOut) -> np.ndarray | None:
    return held.labels if getattr(model, "is_conditional", False) else None


def reconstruction_mse(model: keras.Model, held: HeldOut, options: dict) -> float:
    labels = _labels_for(model, held)
    recon = model.reconstruct(held.images) if labels is None else model.reconstruct(
        held.images, labels=labels
    )
    return float(np.mean((np.asarray(recon, np.float64) - held.targets) ** 2))


def denoising_mse(model: keras.Model, held: HeldOut, options: dict) -> float:
    noisy = model.corrupt(held.targets, seed=held.seed)
    return float(np.mean((np.asarray(model.reconstruct(noisy), np.float64) - held.targets) ** 2))


def negative_elbo(model: keras.Model, held: HeldOut, options: dict) -> float:
    reconstruction, kl = model.elbo_terms(
        held.images, labels=_labels_for(model, held), num_samples=options.get("elbo_samples", 1),
        seed=held.seed,
    )
    return float(np.mean(reconstruction + kl))


def iw_nll(model: keras.Model, held: HeldOut, options: dict) -> float:
    log_px = model.log_likelihood(
        held.images, labels=_labels_for(model, held), num_samples=options.get("iw_samples", 100),
        seed=held.seed,
    )
    return float(-np.mean(log_px))


def _gan_samples(model: keras.Model, held: HeldOut, options: dict):
    n = min(len(held.images), options.get("num_samples", 2000))
    labels = np.arange(n) % model.num_classes if getattr(model, "is_conditional", False) else None
    return model.generate(n, labels=labels, seed=held.seed), labels


def gan_fid(model: keras.Model, held: HeldOut, options: dict) -> float:

    samples, _ = _gan_samples(model, held, options)
    value_range = tuple(model.value_range)
    return fid(held.images, samples, held.dataset, value_range)


def gan_conditional_accuracy(model: keras.Model, held: HeldOut, options: dict) -> float:

    samples, labels = _gan_samples(model, held, options)
    return conditional_accuracy(samples, labels, held.dataset, tuple(model.value_range)).accuracy


def rbm_pseudo_likelihood(model: keras.Model, held: HeldOut, options: dict) -> float:
    return float(np.mean(model.pseudo_likelihood(held.images, seed=held.seed)))


def rbm_ais_log_likelihood(model: keras.Model, held: HeldOut, options: dict) -> float:
    log_z = model.estimate_log_partition(
        "ais", train_images=held.images, seed=held.seed,
        **{"num_betas": 1000, **options.get("ais", {})},
    )
    return float(np.mean(model.log_likelihood(held.images, log_z=log_z)))


def exact_nll(model: keras.Model, held: HeldOut, options: dict) -> float:
    return float(-np.mean(model.log_likelihood(held.images, labels=_labels_for(model, held))))


def bits_per_dim(model: keras.Model, held: HeldOut, options: dict) -> float:
    return float(np.mean(model.bits_per_dim(held.images, labels=_labels_for(model, held))))


def _conditional(params: dict) -> bool:
    return "num_classes" in params


FAMILY_OBJECTIVES: dict[str, list[ObjectiveSpec]] = {
    "autoencoder": [
        ObjectiveSpec("val_reconstruction_mse", "min", reconstruction_mse,
                      "held-out mean squared reconstruction error"),
        ObjectiveSpec("val_denoising_mse", "min", denoising_mse,
                      "held-out error of denoising the model's own corruption",
                      applies=lambda params: "noise" in params),
    ],
    "vae": [
        ObjectiveSpec("val_neg_elbo", "min", negative_elbo, "held-out negative ELBO, nats"),
        ObjectiveSpec("val_iw_nll", "min", iw_nll,
                      "held-out importance-weighted negative log-likelihood, nats"),
    ],
    "gan": [
        ObjectiveSpec("val_fid", "min", gan_fid,
                      "FID of samples against the held-out images (shipped classifier)"),
        ObjectiveSpec("val_conditional_accuracy", "max", gan_conditional_accuracy,
                      "share of samples classified as the requested class",
                      applies=_conditional),
    ],
    "autoregressive": [
        ObjectiveSpec("val_nll", "min", exact_nll, "exact held-out negative log-likelihood, nats"),
        ObjectiveSpec("val_bits_per_dim", "min", bits_per_dim, "held-out bits per sub-pixel"),
    ],
    "rbm": [
        ObjectiveSpec("val_pseudo_likelihood", "max", rbm_pseudo_likelihood,
                      "held-out log pseudo-likelihood per image"),
        ObjectiveSpec("val_ais_log_likelihood", "max", rbm_ais_log_likelihood,
                      "held-out log-likelihood with an AIS estimate of log Z"),
    ],
}


def register_objective(family: str, spec: ObjectiveSpec) -> None:
    """Add an objective to a family (a new family gets its first one)."""
    FAMILY_OBJECTIVES.setdefault(family, []).append(spec)


def objectives_for(name: str) -> list[ObjectiveSpec]:
    """The objectives the builder `name` produces; the first is its default."""
    params = builder_parameters(name)
    family = get_entry(name).family
    return [spec for spec in FAMILY_OBJECTIVES.get(family, []) if spec.applies(params)]


def resolve_objective(name: str, objective: str | kt.Objective | None) -> ObjectiveSpec:
    """The `ObjectiveSpec` of `objective` for builder `name`; unknown names list valid ones."""
    available = objectives_for(name)
    if not available:
        raise TuningError(
            f"No tuning objective is defined for {name!r} (family "
            f"{get_entry(name).family!r}); add one with tuning.register_objective."
        )
    if objective is None:
        return available[0]
    wanted = objective.name if isinstance(objective, kt.Objective) else objective
    for spec in available:
        if spec.name == wanted:
            if isinstance(objective, kt.Objective) and objective.direction != spec.direction:
                raise TuningError(
                    f"Objective {wanted!r} is to be {spec.direction}imized, not "
                    f"{objective.direction}imized."
                )
            return spec
    names = [spec.name for spec in available]
    close = difflib.get_close_matches(str(wanted), names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise TuningError(
        f"{name!r} does not produce the objective {wanted!r}.{hint} "
        f"Its objectives: {', '.join(names)}."
    )


class HeldOutObjective(keras.callbacks.Callback):
    """Writes the objective into each epoch's logs; fails the trial on a non-finite value.

    Place it before keras-tuner's callbacks so they see the value.
    """

    def __init__(self, spec: ObjectiveSpec, held: HeldOut, options: dict | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.held = held
        self.options = dict(options or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        for key, value in logs.items():
            if isinstance(value, (int, float, np.floating)) and not math.isfinite(float(value)):
                raise kt.errors.FailedTrialError(
                    f"Trial diverged: training metric {key!r} is {float(value)} after epoch "
                    f"{epoch + 1}; lower the learning rate or narrow the space."
                )
        value = self.spec.score(self.model, self.held, self.options)
        if not math.isfinite(value):
            raise kt.errors.FailedTrialError(
                f"Trial diverged: objective {self.spec.name!r} is {value} after epoch {epoch + 1}."
            )
        logs[self.spec.name] = value
