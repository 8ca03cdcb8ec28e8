"""Held-out metrics of a run, and `evaluate_run` to recompute them from a run directory."""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import numpy as np

from keras_genzoo.evaluation import evaluate_generator
from keras_genzoo.loading import load
from keras_genzoo.presets import (
    load_preset_dir,
    preset_metadata,
    read_preset,
    resolve_preset,
)
from keras_genzoo.training import distribute
from keras_genzoo.training.artifacts import (
    CONFIG_FILE,
    METRICS_FILE,
    reconstruction_report,
)
from keras_genzoo.training.config import normalize_run_config
from keras_genzoo.training.data import RunData, held_out_fingerprint, load_run_data
from keras_genzoo.training.errors import RunError, reraised_as


def _require(model: keras.Model, method: str, metric: str) -> None:
    if not hasattr(model, method):
        raise RunError(
            f"Metric {metric!r} needs a model with {method}(); {type(model).__name__} has "
            "none. Remove it from the config's metrics."
        )


def score_metrics(model: keras.Model, data: RunData, config: dict[str, Any]) -> dict[str, float]:
    """The config's `metrics` measured on the held-out images, seeded by the config's seed.

    `iw_nll`: minus the mean importance-weighted log p(x) in nats (VAEs); `nll`: minus
    the mean exact log p(x) in nats, and in bits per dimension (PixelCNN); `generator`:
    FID, KID, classes covered, class entropy and (conditional models) conditional
    accuracy of `generate` samples against the held-out images, in the features of the
    shipped classifier of the dataset; `pseudo_likelihood`: mean log pseudo-likelihood
    (RBMs); `ais`: AIS log Z from the base rates of the (clean) training images and the
    mean held-out log-likelihood under it (RBMs).
    """
    seed, images, labels = config["seed"], data.test_targets, data.test_labels
    conditional = bool(getattr(model, "is_conditional", False))
    results: dict[str, float] = {}
    for name, options in config["metrics"].items():
        if name == "iw_nll":
            _require(model, "log_likelihood", name)
            count = options["num_images"] or len(images)
            log_px = model.log_likelihood(
                images[:count], labels=labels[:count] if conditional else None,
                num_samples=options["num_samples"], seed=seed,
            )
            results["iw_nll"] = float(-np.mean(log_px))
        elif name == "nll":
            _require(model, "bits_per_dim", name)
            log_px = model.log_likelihood(images, labels=labels if conditional else None)
            results["nll"] = float(-np.mean(log_px))
            results["bits_per_dim"] = float(results["nll"] / (np.prod(images.shape[1:]) * np.log(2.0)))
        elif name == "generator":
            _require(model, "generate", name)
            classifier = options["classifier"] or config["dataset"]["name"]
            with reraised_as(RunError, ValueError, KeyError):
                scores = evaluate_generator(
                    model, images, classifier, num_samples=options["num_samples"], seed=seed
                )
            results.update(scores)
        elif name == "pseudo_likelihood":
            _require(model, "pseudo_likelihood", name)
            results["pseudo_likelihood"] = float(np.mean(model.pseudo_likelihood(images, seed=seed)))
        elif name == "ais":
            _require(model, "estimate_log_partition", name)
            log_z = model.estimate_log_partition(
                "ais", train_images=data.train_images, num_chains=options["num_chains"],
                num_betas=options["num_betas"], seed=seed,
            )
            results["ais_log_z"] = float(log_z)
            results["ais_log_likelihood"] = float(np.mean(model.log_likelihood(images, log_z=log_z)))
    return results


def held_out_metrics(model: keras.Model, data: RunData, config: dict[str, Any]) -> dict[str, Any]:
    """What a run measures on its held-out split: `evaluation` (the model's compiled
    metrics), `reconstruction` (`reconstruction_report`, models with `reconstruct`) and
    `scores` (the config's `metrics`, see `score_metrics`)."""
    if config["strategy"] == "multiworker":
        evaluation = distribute.evaluate(model, data.test)
    else:
        evaluation = model.evaluate(data.test, verbose=0, return_dict=True)
    metrics: dict[str, Any] = {"evaluation": evaluation}
    if hasattr(model, "reconstruct"):
        metrics["reconstruction"] = reconstruction_report(model, data, config["seed"])
    if config["metrics"]:
        metrics["scores"] = score_metrics(model, data, config)
    return metrics


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise RunError(f"{os.path.dirname(path)!r} holds no {os.path.basename(path)!r} ({what}).") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunError(f"Could not read {path!r}: {err}.") from None


def is_run_dir(path: str) -> bool:
    """True for a directory written by `train_run`: a `config.json` and no preset metadata."""
    return os.path.isfile(os.path.join(path, CONFIG_FILE)) and not os.path.isfile(
        os.path.join(path, "metadata.json")
    )


def read_run_config(run_dir: str) -> dict[str, Any]:
    """The normalised `config.json` of a run directory."""
    if not os.path.isfile(os.path.join(run_dir, CONFIG_FILE)):
        raise RunError(
            f"{run_dir!r} holds no {CONFIG_FILE!r}; pass a run directory written by "
            "`keras-genzoo train`."
        )
    return normalize_run_config(_read_json(os.path.join(run_dir, CONFIG_FILE), "the run config"))


def recorded_metrics(source: str) -> dict[str, Any]:
    """The held-out metrics a run directory (`metrics.json`) or a preset (`metadata.json`)
    records: `evaluation`, `reconstruction`, `scores` as present."""
    if is_run_dir(source):
        metrics = _read_json(os.path.join(source, METRICS_FILE), "the run's metrics")
    else:

        metrics = preset_metadata(source).get("metrics", {})
    return {k: metrics[k] for k in ("evaluation", "reconstruction", "scores") if k in metrics}


def evaluate_run(
    source: str, *, model: keras.Model | None = None, data_dir: str | None = None
) -> dict[str, Any]:
    """Recompute the held-out metrics recorded for a run directory or a preset.

    `source` is a run directory written by `train_run`, or a preset (`"model.tag"`, a
    preset directory, a URL). The recorded config gives the data (same split, same
    seed; `data_dir` points it at another copy of the files) and the metrics; `model`
    defaults to the saved one. The held-out images must be the recorded ones (same
    SHA-256). Single-process: a multiworker run is evaluated on one device.
    """

    if os.path.isdir(source) and not is_run_dir(source) and not os.path.isfile(
        os.path.join(source, "metadata.json")
    ):
        raise RunError(
            f"{source!r} holds neither {CONFIG_FILE!r} (a run directory written by "
            "`keras-genzoo train`) nor 'metadata.json' (a preset directory)."
        )
    if is_run_dir(source):
        config = read_run_config(source)
        recorded = _read_json(os.path.join(source, METRICS_FILE), "the run's metrics")["dataset"]
        model = load(source) if model is None else model
    else:

        directory = resolve_preset(source)
        _, metadata = read_preset(directory)
        if "training" not in metadata:
            raise RunError(
                f"The preset {source!r} records no training config, so its metrics cannot be "
                "recomputed. Publish presets with save_preset(..., run=...)."
            )
        config = normalize_run_config(metadata["training"]["config"])
        recorded = metadata.get("dataset", {})
        model = load_preset_dir(directory) if model is None else model
    config = {**config, "strategy": "default"}
    if data_dir is not None:
        config["dataset"] = {**config["dataset"], "data_dir": data_dir}
    keras.utils.set_random_seed(config["seed"])
    data = load_run_data(config, model)
    expected = recorded.get("held_out_sha256")
    found = held_out_fingerprint(data)
    if expected is not None and found != expected:
        raise RunError(
            f"The held-out images differ from those {source!r} was measured on (sha256 "
            f"{expected}, found {found}); point data_dir at the same dataset files."
        )
    return held_out_metrics(model, data, config)
