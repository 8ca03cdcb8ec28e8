"""`train_run`: a run config in, a trained model and its run directory out.

The steps are separate functions so other tools (presets, tuning) reuse them:
`build_model` (the model of a config), `load_run_data` (its data), `run_callbacks`
(what runs after every epoch), `fit_model` (training), `held_out_metrics` (the held-out
evaluation) and `write_run` (every file of the run directory).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Sequence

import keras
import tensorflow as tf

from keras_genzoo import distribute
from keras_genzoo.data import DatasetInfo
from keras_genzoo.loading import RUN_MODEL_FILE
from keras_genzoo.registry import BuilderCall, builder_parameters, create_model, get_entry
from keras_genzoo.runs.artifacts import (
    BACKUP_DIR,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    LOGS_DIR,
    METRICS_FILE,
    ImageSummaries,
    jsonable,
    run_preview_grids,
    save_model,
    write_json,
    write_png,
)
from keras_genzoo.runs.config import make_optimizer, normalize_run_config
from keras_genzoo.runs.data import RunData, held_out_fingerprint, load_run_data, probe_dataset
from keras_genzoo.runs.errors import RunError, reraised_as
from keras_genzoo.runs.evaluation import held_out_metrics

def builder_arguments(config: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """The builder arguments of a normalised config: its overrides, the data's image shape
    and classes (where the builder takes them) and the config's learning rate."""
    params = builder_parameters(config["model"])
    arguments = dict(config["overrides"])
    if "image_shape" in params:
        arguments.setdefault("image_shape", tuple(info.image_shape))
    if "num_classes" in params:
        arguments.setdefault("num_classes", info.num_classes)
    if config["learning_rate"] is not None:
        arguments["learning_rate"] = config["learning_rate"]
    return arguments


def build_model(
    config: dict[str, Any],
    info: DatasetInfo | None = None,
    *,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, dict[str, Any]]:
    """The compiled model of a normalised config and the builder arguments that made it.

    `info` (default: probed from the config's dataset) fills in the image shape and the
    number of classes; the model's variables are created under `strategy`'s scope.
    """
    info = probe_dataset(config) if info is None else info
    arguments = builder_arguments(config, info)
    strategy = strategy or tf.distribute.get_strategy()
    with reraised_as(RunError, ValueError, TypeError):
        with strategy.scope():
            model = create_model(config["model"], **arguments)
            if config["optimizer"] is not None:
                use_optimizer(model, config["optimizer"], config["learning_rate"])
    model.zoo_builder = BuilderCall(config["model"], arguments, config["optimizer"])
    return model, arguments


def use_optimizer(
    model: keras.Model, spec: dict[str, Any], learning_rate: float | None = None
) -> None:
    """Recompile `model` with optimizers made from `spec`, keeping its other compile settings.

    GANs get two fresh instances, one for the discriminator and one for the generator.
    """
    if hasattr(model, "_gan_compile_config"):
        settings = dict(model._gan_compile_config)
        for role in ("d_optimizer", "g_optimizer"):
            settings[role] = make_optimizer(spec, learning_rate, name=role)
        model.compile(**settings)
        return
    settings = dict(model._compile_config.config)
    settings["optimizer"] = make_optimizer(spec, learning_rate)
    model.compile(**settings)


def run_callbacks(out_dir: str, model: keras.Model, data: RunData, seed: int) -> list:
    """The callbacks of a run: TensorBoard scalars, image summaries, the last checkpoint."""
    log_dir = os.path.join(out_dir, LOGS_DIR)
    checkpoint_dir = os.path.join(out_dir, CHECKPOINTS_DIR)
    os.makedirs(checkpoint_dir, exist_ok=True)
    return [
        keras.callbacks.TensorBoard(log_dir, write_graph=False),
        ImageSummaries(
            os.path.join(log_dir, "images"), lambda: run_preview_grids(model, data, seed)
        ),
        keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "last.keras")),
    ]


def fit_model(
    model: keras.Model,
    data: RunData,
    config: dict[str, Any],
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    backup_dir: str | None = None,
    verbose: int = 1,
) -> dict[str, list[float]]:
    """Train `model` for the config's epochs; returns the history.

    Under the multiworker strategy Keras `fit` cannot run (keras-team/keras#20585), so
    the model trains with `keras_genzoo.distribute.train`, backing up to `backup_dir`
    after every epoch (a restarted job resumes from it).
    """
    if config["strategy"] == "multiworker":
        return distribute.train(
            model, data.train, epochs=config["epochs"], verbose=verbose, backup_dir=backup_dir
        ).history
    return model.fit(
        data.train, epochs=config["epochs"], validation_data=data.test,
        callbacks=list(callbacks), verbose=verbose,
    ).history


def write_run(
    out_dir: str,
    model: keras.Model,
    config: dict[str, Any],
    arguments: dict[str, Any],
    data: RunData,
    results: dict[str, Any],
) -> dict[str, Any]:
    """Write the model, preview PNGs, `metrics.json` and `config.json`; returns the metrics.

    `results` holds what training measured (`history`, `train_seconds`) and the held-out
    metrics (`evaluation`, `reconstruction`).
    """
    os.makedirs(out_dir, exist_ok=True)
    save_model(model, os.path.join(out_dir, RUN_MODEL_FILE))
    artifacts = {"model": RUN_MODEL_FILE, "logs": LOGS_DIR, "checkpoints": CHECKPOINTS_DIR}
    for tag, grid in run_preview_grids(model, data, config["seed"]).items():
        artifacts[tag] = os.path.basename(write_png(grid, os.path.join(out_dir, f"{tag}.png")))
    metrics: dict[str, Any] = {
        "model": config["model"],
        "family": get_entry(config["model"]).family,
        "config": config,
        "builder_arguments": arguments,
        "dataset": {
            "train": dataclasses.asdict(data.train_info),
            "test": dataclasses.asdict(data.test_info),
            "held_out_sha256": held_out_fingerprint(data),
        },
        **results,
        "artifacts": artifacts,
    }
    metrics = jsonable(metrics)
    write_json(metrics, os.path.join(out_dir, METRICS_FILE))
    write_json(config, os.path.join(out_dir, CONFIG_FILE))
    return metrics


def train_run(
    config: dict[str, Any],
    out_dir: str,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
) -> dict[str, Any]:
    """Train the model of a run config and write a run directory; returns metrics.json's data.

    Extra `callbacks` run after the run's own. Mistakes in the config, its data or its
    model found before training starts raise `RunError`, with nothing written.
    """
    config = normalize_run_config(config)
    with reraised_as(RunError, ValueError, TypeError, RuntimeError):
        # First of all: the multiworker strategy must exist before any TensorFlow work.
        strategy = distribute.get_strategy(config["strategy"])
    multiworker = config["strategy"] == "multiworker"
    backup_dir = os.path.join(out_dir, BACKUP_DIR)  # the chief's, which every worker restores
    if multiworker and not distribute.is_chief():
        out_dir = os.path.join(out_dir, "workers", distribute.task_name())
    keras.utils.set_random_seed(config["seed"])
    model, arguments = build_model(config, strategy=strategy)
    data = load_run_data(config, model)

    os.makedirs(out_dir, exist_ok=True)
    started = time.perf_counter()
    history = fit_model(
        model, data, config, verbose=verbose, backup_dir=backup_dir,
        callbacks=[*run_callbacks(out_dir, model, data, config["seed"]), *callbacks],
    )
    results = {"history": history, "train_seconds": time.perf_counter() - started}
    results.update(held_out_metrics(model, data, config))
    return write_run(out_dir, model, config, arguments, data, results)
