"""The data and the training of a recommender's run, as its config's `"ratings"` say.

A recommender's dataset (`DatasetConfig.ratings`, checked by `RunConfig`) names a ratings
file (read by `keras_genzoo.data.ratings.read_ratings`) or the generated data
(`synthetic_ratings`), and the split: `split_ratings` (a seeded share of the ratings held
out, for models that predict ratings) or `leave_out_split` (a seeded share of each user's
items, on the implicit feedback of `implicit`, for models that rank). The model is built
for the users, items and rating levels of the data, trains on the training ratings
(backed up after every epoch, so `--resume` continues exactly), and is measured on the
held-out ratings by the held-out table's `rating_prediction` or `ranking`, beside the
baselines those compute on the same split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from typing import Any, Sequence

import keras
import numpy as np

from keras_genzoo.core.registry import BuilderCall, builder_parameters, create_model, get_entry
from keras_genzoo.data.ratings import (
    RatingsData,
    RatingsSplit,
    implicit,
    leave_out_split,
    read_ratings,
    split_ratings,
    synthetic_ratings,
)
from keras_genzoo.evaluation.heldout import HeldOut, measure
from keras_genzoo.io.jsonfiles import jsonable, write_json
from keras_genzoo.loading import RUN_MODEL_FILE
from keras_genzoo.models.ratings import RatingsModel
from keras_genzoo.training import distribute
from keras_genzoo.training.artifacts import (
    BACKUP_DIR,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    METRICS_FILE,
    RunCheckpoint,
    save_model,
)
from keras_genzoo.training.config import RunConfig, ratings_split
from keras_genzoo.training.divergence import StopOnDivergence
from keras_genzoo.training.errors import RunError, reraised_as

#: The defaults of a ratings split, as `split_ratings` and `leave_out_split` take them.
TEST_FRACTION = 0.1
LEAVE_OUT_FRACTION = 0.2
MIN_ITEMS = 5
CHECKPOINT_FILE = "last.keras"


@dataclasses.dataclass
class RatingsRunData:
    """The ratings of a recommender's run: its `split` (training and held-out ratings on the
    same users and items), what kind of split it is, and where the ratings came from."""

    split: RatingsSplit
    kind: str
    source: str

    def info(self, part: str) -> dict[str, Any]:
        """What a run records of the training or held-out part (`part`: "train" or "test");
        its examples are ratings."""
        data: RatingsData = getattr(self.split, part)
        return {"name": self.source, "split": part, "kind": self.kind, "num_examples": len(data),
                "num_users": data.num_users, "num_items": data.num_items,
                "levels": [float(v) for v in data.levels]}


def _read(config: RunConfig) -> tuple[RatingsData, str]:
    spec = config.dataset.ratings
    if "synthetic" in spec:
        arguments = dict(spec["synthetic"])
        return synthetic_ratings(**arguments).data, f"synthetic ratings {arguments}"
    options = {k: spec[k] for k in ("format", "columns", "scale") if k in spec}
    return read_ratings(spec["path"], **options), spec["path"]


def load_ratings_data(config: RunConfig) -> RatingsRunData:
    """Read or generate the config's ratings and split them (see the module's documentation)."""
    spec = config.dataset.ratings
    kind = ratings_split(config)
    seed = spec.get("seed", 0)
    with reraised_as(RunError, ValueError, TypeError, OSError):
        data, source = _read(config)
        if kind == "ratings":
            split = split_ratings(data, spec.get("test_fraction", TEST_FRACTION), seed=seed)
        else:
            clicks = implicit(data, spec.get("implicit_threshold"))
            split = leave_out_split(clicks, spec.get("fraction", LEAVE_OUT_FRACTION),
                                    min_items=spec.get("min_items", MIN_ITEMS), seed=seed)
    if not len(split.test):
        raise RunError(f"The split of {source} holds nothing out: no user has "
                       f"{spec.get('min_items', MIN_ITEMS)} items. Lower min_items.")
    return RatingsRunData(split, kind, source)


def ratings_fingerprint(data: RatingsRunData) -> str:
    """SHA-256 of the held-out (user, item, rating) triples: which ratings a run was
    measured on, checked again when its metrics are recomputed."""
    test = data.split.test
    digest = hashlib.sha256()
    for values, dtype in ((test.users, np.int64), (test.items, np.int64), (test.ratings, np.float32)):
        digest.update(np.ascontiguousarray(values, dtype).tobytes())
    return digest.hexdigest()


def recommender_arguments(config: RunConfig, data: RatingsRunData) -> dict[str, Any]:
    """The builder arguments of a recommender: the data's users, items (and rating levels,
    where the builder takes them), the run's seed, the config's overrides and learning rate."""
    train = data.split.train
    params = builder_parameters(config.model)
    arguments: dict[str, Any] = {"num_users": train.num_users, "num_items": train.num_items,
                                 "seed": config.seed}
    if "levels" in params:
        arguments["levels"] = [float(v) for v in train.levels]
    arguments.update(config.overrides)
    if config.learning_rate is not None:
        arguments["learning_rate"] = config.learning_rate
    return arguments


def build_recommender(config: RunConfig, data: RatingsRunData) -> tuple[RatingsModel, dict[str, Any]]:
    """The compiled recommender of a config, built for its data, and its builder arguments."""
    arguments = recommender_arguments(config, data)
    with reraised_as(RunError, ValueError, TypeError):
        model = create_model(config.model, **arguments)
        if config.optimizer is not None:
            model.recompile_with_optimizer(config.optimizer, config.learning_rate)
    model.zoo_builder = BuilderCall(config.model, arguments, config.optimizer)
    return model, arguments


def ratings_held_out_metrics(model: RatingsModel, data: RatingsRunData, config: RunConfig) -> dict[str, Any]:
    """`{"ratings": ...}`: the held-out table's `rating_prediction` (models that predict
    ratings) or `ranking` (models that rank items), with their baselines, on the run's split."""
    held = HeldOut(np.zeros((0,)), np.zeros((0,)), None, config.dataset.name,
                   config.dataset.ratings.get("seed", 0), ratings=data.split)
    name = "rating_prediction" if data.kind == "ratings" else "ranking"
    with reraised_as(RunError, ValueError, KeyError):
        return {"ratings": measure(name, model, held)}


class _RatingsBackup(keras.callbacks.Callback):
    """Backs up the training state (`distribute.TrainingBackup`) after every epoch."""

    def __init__(self, backup: distribute.TrainingBackup, history: dict[str, list[float]]) -> None:
        super().__init__()
        self.backup, self.history = backup, history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        self.backup.save(self.model, epoch + 1, self.history)


def fit_recommender(
    model: RatingsModel, data: RatingsRunData, config: RunConfig, backup_dir: str,
    callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int = 1,
) -> dict[str, list[float]]:
    """Train for the config's epochs (a batch is `batch_size` rows of the rating matrix),
    backed up after every epoch; with a backup in `backup_dir`, training continues after
    its last epoch with the same weights, optimizer state, seeds and row order."""
    backup = distribute.TrainingBackup(backup_dir)
    completed, history = 0, {}
    if backup.exists():
        model.optimizer.build(model.trainable_variables)
        with reraised_as(RunError, RuntimeError):
            completed, history = backup.restore(model)
        if verbose:
            print(f"Resumed from {backup_dir}: {completed}/{config.epochs} epochs were done before.")
    if completed < config.epochs:
        model.fit(data.split.train, batch_size=config.batch_size, epochs=config.epochs,
                  initial_epoch=completed, verbose=2 if verbose else 0,
                  callbacks=[StopOnDivergence(), *callbacks, _RatingsBackup(backup, history)])
    return history


def train_ratings_run(
    config: RunConfig, out_dir: str, callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int = 1,
) -> dict[str, Any]:
    """The recommender part of `train_run`, in a claimed and checked `out_dir`: build, train
    (resuming a backup), measure and write the run directory; returns metrics.json's data."""
    if config.steps is not None:
        raise RunError("A recommender trains for a number of epochs; replace steps with epochs.")
    if config.strategy not in ("auto", "default"):
        raise RunError(f"Recommenders train on one device; drop strategy {config.strategy!r}.")
    if config.metrics:
        raise RunError("A recommender's run records its ratings measures on its own; drop metrics.")
    keras.utils.set_random_seed(config.seed)
    data = load_ratings_data(config)
    model, arguments = build_recommender(config, data)
    backup_dir = os.path.join(out_dir, BACKUP_DIR)
    started = time.perf_counter()
    os.makedirs(os.path.join(out_dir, CHECKPOINTS_DIR), exist_ok=True)
    write_json(config.to_dict(), os.path.join(out_dir, CONFIG_FILE))
    checkpoint = RunCheckpoint(os.path.join(out_dir, CHECKPOINTS_DIR, CHECKPOINT_FILE), out_dir)
    history = fit_recommender(model, data, config, backup_dir, [checkpoint, *callbacks], verbose)
    results = {"history": history, "train_seconds": time.perf_counter() - started,
               **ratings_held_out_metrics(model, data, config)}
    save_model(model, os.path.join(out_dir, RUN_MODEL_FILE), out_dir)
    metrics = jsonable({
        "model": config.model,
        "family": get_entry(config.model).family,
        "config": config.to_dict(),
        "builder_arguments": arguments,
        "dataset": {"train": data.info("train"), "test": data.info("test"),
                    "held_out_sha256": ratings_fingerprint(data)},
        **results,
        "artifacts": {"model": RUN_MODEL_FILE, "checkpoints": CHECKPOINTS_DIR},
    })
    write_json(metrics, os.path.join(out_dir, METRICS_FILE))
    distribute.TrainingBackup(backup_dir).delete()  # the run is complete and saved
    return metrics
