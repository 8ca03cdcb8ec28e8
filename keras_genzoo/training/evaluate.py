"""Held-out metrics of a run, and `evaluate_run` to recompute them from a run directory."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping

import keras
import numpy as np

from keras_genzoo.core.capabilities import Translator
from keras_genzoo.evaluation.heldout import HeldOut, measure, requirement, supports
from keras_genzoo.loading import load
from keras_genzoo.presets import (
    load_preset_dir,
    preset_metadata,
    preset_run_config,
    read_preset,
    resolve_preset,
)
from keras_genzoo.training import distribute
from keras_genzoo.training.artifacts import CONFIG_FILE, METRICS_FILE
from keras_genzoo.training.config import RunConfig, is_recommender
from keras_genzoo.training.data import RunData, held_out_fingerprint, load_run_data
from keras_genzoo.training.errors import RunError, reraised_as
from keras_genzoo.training.ratings_data import (
    load_ratings_data,
    ratings_fingerprint,
    ratings_held_out_metrics,
)


def held_out_split(data: RunData, config: RunConfig) -> HeldOut:
    """The held-out split of a run's data as the measurement table reads it."""
    return HeldOut(data.test_inputs, data.test_targets, data.test_labels,
                   config.dataset.name, config.seed, data.train_images)


def _measure(
    name: str, model: keras.Model, held: HeldOut, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    if not supports(model, name):
        raise RunError(
            f"Metric {name!r} needs {requirement(name)}; {type(model).__name__} is not one. "
            "Remove it from the config's metrics."
        )
    with reraised_as(RunError, ValueError, KeyError):
        return measure(name, model, held, options)


def score_metrics(model: keras.Model, data: RunData, config: RunConfig) -> dict[str, float]:
    """The config's `metrics` measured on the held-out images, seeded by the config's seed:
    each is a measurement of `keras_genzoo.evaluation.heldout` with the config's options."""
    held = held_out_split(data, config)
    results: dict[str, float] = {}
    for name, options in config.metrics.items():
        results.update(_measure(name, model, held, options))
    return results


def reconstruction_report(model: keras.Model, data: RunData, config: RunConfig) -> dict[str, Any]:
    """The `reconstruction` measurement (error, mean-image baseline, ratio); models that
    corrupt their own clean inputs add the `denoising` measurement under "denoising"."""
    held = held_out_split(data, config)
    report = _measure("reconstruction", model, held)
    if supports(model, "denoising") and np.array_equal(data.test_inputs, data.test_targets):
        report["denoising"] = _measure("denoising", model, held)
    return report


#: The held-out measurement every translator's run records under "translation": the
#: round trip of a two-way translator (a CycleGAN), else translations against targets.
TRANSLATION_MEASUREMENTS = ("cycle", "translation")


def translation_report(model: keras.Model, data: RunData, config: RunConfig) -> dict[str, Any]:
    """A translator's measurement of the held-out table with its default options: `cycle`
    (the L1 of A -> B -> A) for a CycleGAN, `translation` (L1, PSNR, SSIM against the
    targets) for the others."""
    held = held_out_split(data, config)
    name = next(name for name in TRANSLATION_MEASUREMENTS if supports(model, name))
    return _measure(name, model, held)


def held_out_metrics(model: keras.Model, data: RunData, config: RunConfig) -> dict[str, Any]:
    """What a run measures on its held-out split: `evaluation` (the model's compiled
    metrics), `reconstruction` (`reconstruction_report`, models that reconstruct),
    `translation` (`translation_report`, translators) and `scores` (the config's
    `metrics`, see `score_metrics`)."""
    if config.strategy == "multiworker":
        evaluation = distribute.evaluate(model, data.test)
    else:
        evaluation = model.evaluate(data.test, verbose=0, return_dict=True)
    metrics: dict[str, Any] = {"evaluation": evaluation}
    if supports(model, "reconstruction"):
        metrics["reconstruction"] = reconstruction_report(model, data, config)
    if isinstance(model, Translator):
        metrics["translation"] = translation_report(model, data, config)
    if config.metrics:
        metrics["scores"] = score_metrics(model, data, config)
    return metrics


# How far a recomputed metric may be from the recorded one and still count as reproduced:
# relative, with an absolute floor for values near zero.
REPRODUCTION_RTOL = 1e-3
REPRODUCTION_ATOL = 1e-6


def reproduction_verdict(
    recorded: Mapping[str, float], recomputed: Mapping[str, float]
) -> tuple[bool, str]:
    """(every metric recorded and recomputed agrees within tolerance, a one-line verdict).

    Both are flat `{name: value}` mappings (`keras_genzoo.presets.flat_metrics`); a
    metric only one of them has is not compared.
    """
    compared = [name for name in recomputed if name in recorded]
    failed = [
        name for name in compared
        if not math.isclose(recomputed[name], recorded[name], rel_tol=REPRODUCTION_RTOL,
                            abs_tol=REPRODUCTION_ATOL)
    ]
    tolerance = f"relative tolerance {REPRODUCTION_RTOL:g}"
    if not compared:
        return False, "Not reproduced: no recorded metric was recomputed."
    if failed:
        return False, (f"Not reproduced: {len(failed)} of {len(compared)} recorded metrics differ "
                       f"beyond {tolerance}: {', '.join(failed)}.")
    return True, f"Reproduced: all {len(compared)} recorded metrics agree within {tolerance}."


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


def read_run_config(run_dir: str) -> RunConfig:
    """The `config.json` of a run directory, as a `RunConfig`."""
    if not os.path.isfile(os.path.join(run_dir, CONFIG_FILE)):
        raise RunError(
            f"{run_dir!r} holds no {CONFIG_FILE!r}; pass a run directory written by "
            "`keras-genzoo train`."
        )
    return RunConfig.from_dict(_read_json(os.path.join(run_dir, CONFIG_FILE), "the run config"))


def recorded_metrics(source: str) -> dict[str, Any]:
    """The held-out metrics a run directory (`metrics.json`) or a preset (`metadata.json`)
    records: `evaluation`, `reconstruction`, `translation`, `ratings`, `scores` as present."""
    if is_run_dir(source):
        metrics = _read_json(os.path.join(source, METRICS_FILE), "the run's metrics")
    else:

        metrics = preset_metadata(source).get("metrics", {})
    sections = ("evaluation", "reconstruction", "translation", "ratings", "scores")
    return {k: metrics[k] for k in sections if k in metrics}


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
        config = RunConfig.from_dict(preset_run_config(metadata, data_dir))
        recorded = metadata.get("dataset", {})
        model = load_preset_dir(directory) if model is None else model
    changes: dict[str, Any] = {"strategy": "default"}
    if data_dir is not None:
        changes["dataset"] = {**config.dataset.to_dict(), "data_dir": data_dir}
    if is_recommender(config.model):
        return _evaluate_recommender(source, config, model, recorded)
    config = config.replace(**changes)
    keras.utils.set_random_seed(config.seed)
    data = load_run_data(config, model)
    expected = recorded.get("held_out_sha256")
    found = held_out_fingerprint(data)
    if expected is not None and found != expected:
        raise RunError(
            f"The held-out images differ from those {source!r} was measured on (sha256 "
            f"{expected}, found {found}); point data_dir at the same dataset files."
        )
    return held_out_metrics(model, data, config)


def _evaluate_recommender(
    source: str, config: RunConfig, model: keras.Model, recorded: Mapping[str, Any]
) -> dict[str, Any]:
    """`evaluate_run` for a recommender: the config's ratings, split again, must be the
    recorded held-out ratings; then the held-out table measures the model on them."""
    data = load_ratings_data(config)
    expected, found = recorded.get("held_out_sha256"), ratings_fingerprint(data)
    if expected is not None and found != expected:
        raise RunError(
            f"The held-out ratings differ from those {source!r} was measured on (sha256 "
            f"{expected}, found {found}); point the config at the same ratings file."
        )
    return ratings_held_out_metrics(model, data, config)
