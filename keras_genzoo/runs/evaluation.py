"""Held-out metrics of a run, and `evaluate_run` to recompute them from a run directory."""

from __future__ import annotations

import json
import os
from typing import Any

import keras

from keras_genzoo import distribute
from keras_genzoo.runs.artifacts import CONFIG_FILE, reconstruction_report
from keras_genzoo.runs.config import normalize_run_config
from keras_genzoo.runs.data import RunData, load_run_data
from keras_genzoo.runs.errors import RunError


def held_out_metrics(model: keras.Model, data: RunData, config: dict[str, Any]) -> dict[str, Any]:
    """`evaluation` (the model's compiled metrics on the held-out split) and, for models
    with `reconstruct`, `reconstruction` (`reconstruction_report`)."""
    if config["strategy"] == "multiworker":
        evaluation = distribute.evaluate(model, data.test)
    else:
        evaluation = model.evaluate(data.test, verbose=0, return_dict=True)
    metrics: dict[str, Any] = {"evaluation": evaluation}
    if hasattr(model, "reconstruct"):
        metrics["reconstruction"] = reconstruction_report(model, data, config["seed"])
    return metrics


def read_run_config(run_dir: str) -> dict[str, Any]:
    """The normalised `config.json` of a run directory."""
    path = os.path.join(run_dir, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        raise RunError(
            f"{run_dir!r} holds no {CONFIG_FILE!r}; pass a run directory written by "
            "`keras-genzoo train`."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunError(f"Could not read {path!r}: {err}.") from None
    return normalize_run_config(config)


def evaluate_run(run_dir: str, *, model: keras.Model | None = None) -> dict[str, Any]:
    """Recompute the held-out metrics `metrics.json` records for a run directory.

    The run's `config.json` gives the data (same split, same seed); `model` defaults to
    the run's saved model. Single-process: a multiworker run is evaluated on one device.
    """
    from keras_genzoo.loading import load

    config = {**read_run_config(run_dir), "strategy": "default"}
    model = load(run_dir) if model is None else model
    keras.utils.set_random_seed(config["seed"])
    return held_out_metrics(model, load_run_data(config, model), config)
