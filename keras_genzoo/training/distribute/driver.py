"""A training loop that runs a model's own `train_step` under any tf.distribute strategy.

Keras 3 `fit` does not run under `MultiWorkerMirroredStrategy` (keras-team/keras#20585:
it fails before the first step while building the model from a distributed batch).
`train` drives the same `train_step` that `fit` would, through `strategy.run` over a
distributed dataset, so every zoo model trains the same way on one device, on several
GPUs and across workers. With `backup_dir` it backs up the training state after every
epoch and, when started again after a crash, resumes from the last completed epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_genzoo.core.checks import finite_checked, nonfinite_raised
from keras_genzoo.core.conditioning import split_batch
from keras_genzoo.core.model import ZooModel
from keras_genzoo.io.atomic import replacing, write_bytes
from keras_genzoo.io.checksums import sha256_file, verify_file
from keras_genzoo.training.distribute.strategies import is_chief, task_name
from keras_genzoo.training.divergence import (
    TrainingDiverged,
    check_finite_weights,
    divergence_message,
    nonfinite_metrics,
    nonfinite_weights,
)

BACKUP_STATE_FILE = "backup.json"


@dataclass
class TrainingLog:
    """What `train` did: per-epoch metrics of every completed epoch, restored ones included.

    `history[name][i]` is metric `name` at the end of epoch `i`; `resumed_from` is the
    number of epochs that were already complete in the backup when training started.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    resumed_from: int = 0

    @property
    def epochs_run(self) -> int:
        """Epochs completed by this call (not restored from a backup)."""
        lengths = [len(v) for v in self.history.values()]
        return (max(lengths) if lengths else 0) - self.resumed_from


def _seed_states(model: keras.Model) -> list[keras.Variable]:
    """The states of every `SeedGenerator` the model owns (Keras weight files omit them)."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


class TrainingBackup:
    """The training state of one run, saved after each epoch into `backup_dir`.

    A backup is a Keras weights file (model and optimizer variables) plus `backup.json`
    with the number of completed epochs, the metrics history and the random-seed states,
    so a resumed run draws the same noise as an uninterrupted one. Each epoch's weights
    go to a new file and `backup.json` (which records the weights' SHA-256, checked on
    restore) is replaced atomically, so a process killed while saving leaves the
    previous backup intact; weights holding NaN or inf are never backed up. Under a
    multi-worker strategy every worker saves (reading distributed variables is a
    collective operation), but only the chief writes into `backup_dir`; the others
    write to a scratch folder beside it that they delete again. Every worker restores
    from `backup_dir`: on several machines it must be on a shared file system.
    """

    def __init__(self, backup_dir: str) -> None:
        if not backup_dir:
            raise ValueError("backup_dir must be a folder path, got an empty value.")
        self.backup_dir = str(backup_dir)
        self.chief = is_chief()
        # Beside, not inside, the backup: the chief deletes that once training is over.
        scratch = f"{os.path.normpath(self.backup_dir)}.{task_name()}"
        self.write_dir = self.backup_dir if self.chief else scratch

    @property
    def state_path(self) -> str:
        return os.path.join(self.backup_dir, BACKUP_STATE_FILE)

    def exists(self) -> bool:
        return os.path.isfile(self.state_path)

    def read_state(self) -> dict[str, Any] | None:
        """The contents of `backup.json` (epoch, weights file, history...), or None."""
        if not self.exists():
            return None
        with open(self.state_path) as f:
            return json.load(f)

    def restore(self, model: keras.Model) -> tuple[int, dict[str, list[float]]]:
        """Load the last backup into `model`; (completed epochs, history), or (0, {})."""
        state = self.read_state()
        if state is None:
            return 0, {}
        weights = os.path.join(self.backup_dir, state["weights"])
        try:
            if "weights_sha256" in state:
                verify_file(weights, state["weights_sha256"])
            model.load_weights(weights)
        except Exception as err:
            raise RuntimeError(
                f"Could not restore the backup in {self.backup_dir!r} into {model.name}: "
                f"{err}. A backup only fits the model and optimizers it was made from; "
                "delete the folder to start training from scratch."
            ) from err
        seeds = _seed_states(model)
        saved = state.get("seed_states", [])
        if len(saved) != len(seeds):
            raise RuntimeError(
                f"The backup in {self.backup_dir!r} holds {len(saved)} random-seed states "
                f"but {model.name} has {len(seeds)}: it was made from another model."
            )
        for variable, value in zip(seeds, saved):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        return int(state["epoch"]), {k: list(v) for k, v in state["history"].items()}

    def save(self, model: keras.Model, epoch: int, history: dict[str, list[float]]) -> None:
        """Back up the state after `epoch` completed epochs."""
        check_finite_weights(model, "back up")
        os.makedirs(self.write_dir, exist_ok=True)
        weights_name = f"epoch-{epoch}.weights.h5"
        weights_path = os.path.join(self.write_dir, weights_name)
        with replacing(weights_path) as temporary:
            model.save_weights(temporary, overwrite=True)
        state = {
            "epoch": epoch,
            "weights": weights_name,
            "weights_sha256": sha256_file(weights_path),
            "history": history,
            "seed_states": [np.asarray(v).tolist() for v in _seed_states(model)],
        }
        write_bytes(json.dumps(state).encode(), os.path.join(self.write_dir, BACKUP_STATE_FILE))
        for name in os.listdir(self.write_dir):
            if name.endswith(".weights.h5") and name != weights_name:
                os.remove(os.path.join(self.write_dir, name))
        if not self.chief:
            shutil.rmtree(self.write_dir, ignore_errors=True)

    def delete(self) -> None:
        """Remove the backup (the chief does it, once training has finished)."""
        if self.chief:
            shutil.rmtree(self.backup_dir, ignore_errors=True)


def _prepare_dataset(
    data: Any, batch_size: int | None, strategy: tf.distribute.Strategy
) -> tf.data.Dataset:
    """A dataset of equal global batches that every replica can take an equal share of."""
    if isinstance(data, tf.data.Dataset):
        if batch_size is not None:
            raise ValueError(
                "batch_size applies to arrays; a tf.data.Dataset must already be batched "
                "(dataset.batch(global_batch_size, drop_remainder=True))."
            )
        dataset = data
        first = next(iter(dataset.take(1)), None)
        if first is None:
            raise ValueError("The dataset is empty: there is nothing to train or evaluate on.")
        global_batch = int(tf.shape(tf.nest.flatten(first)[0])[0])
        if tf.nest.flatten(dataset.element_spec)[0].shape[0] is None:
            # A short last batch could leave a replica with no examples (a NaN mean loss).
            dataset = dataset.rebatch(global_batch, drop_remainder=True)
    else:
        if batch_size is None:
            raise ValueError("Pass batch_size= (the global batch size) when training on arrays.")
        global_batch = int(batch_size)
        dataset = tf.data.Dataset.from_tensor_slices(data).batch(global_batch, drop_remainder=True)
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ValueError(
            f"The global batch size {global_batch} does not split evenly over "
            f"{replicas} replicas; use a multiple of {replicas}."
        )
    options = tf.data.Options()
    # Every worker takes its share of each global batch, as one device would see it whole.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _build(model: keras.Model, dataset: tf.data.Dataset, strategy: tf.distribute.Strategy) -> None:
    """Create every variable before tracing, under the strategy's scope, as `fit` does."""
    with strategy.scope():
        if not model.built:
            images, _ = split_batch(next(iter(dataset.take(1))))
            model(images, training=False)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)


def _make_epoch_function(model: keras.Model, strategy: tf.distribute.Strategy, step_fn):
    """One compiled function that runs `step_fn` (a train or test step) on every batch."""

    def distributed_step(batch):
        strategy.run(step_fn, args=(batch,))

    if model.jit_compile:
        distributed_step = tf.function(distributed_step, jit_compile=True)

    @tf.function
    def run_epoch(distributed_dataset):
        for batch in distributed_dataset:
            distributed_step(batch)

    return run_epoch


def _run_epoch(model: keras.Model, run_epoch, distributed_dataset) -> dict[str, Any]:
    """Metrics of one pass over the data, aggregated over every replica."""
    model.reset_metrics()
    with warnings.catch_warnings(), nonfinite_raised(model.name, "the training driver"):
        # tf.data's note that dataset options are only known at run time in graphs.
        warnings.filterwarnings("ignore", message="To make it possible to preserve")
        run_epoch(distributed_dataset)
    return model.get_metrics_result()


def _strategy_of(model: keras.Model, strategy: tf.distribute.Strategy | None):
    if strategy is None:
        return model.distribute_strategy
    if model.distribute_strategy is not strategy:
        raise ValueError(
            f"{model.name} was not created under the strategy passed here. Build and "
            "compile the model inside `with strategy.scope():`, then pass the same strategy."
        )
    return strategy


def _prepare_run(
    model: keras.Model, data: Any, batch_size: int | None, strategy: tf.distribute.Strategy | None
) -> tuple[tf.distribute.Strategy, tf.data.Dataset]:
    """The strategy and the checked global-batch dataset; the model built under them."""
    strategy = _strategy_of(model, strategy)
    dataset = _prepare_dataset(data, batch_size, strategy)
    if isinstance(model, ZooModel):
        model.check_training_data(dataset)
        dataset = finite_checked(dataset, model.name, "inputs")
    _build(model, dataset, strategy)
    return strategy, dataset


def evaluate(
    model: keras.Model,
    data: Any,
    *,
    batch_size: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> dict[str, float]:
    """The model's `test_step` metrics over `data`, under its strategy (like `train`).

    Keras 3 `evaluate` fails under MultiWorkerMirroredStrategy for the same reason as
    `fit`. A short last batch is dropped, as in `train`.
    """
    if not getattr(model, "compiled", False):
        raise ValueError(f"Compile {model.name} before evaluating it.")
    strategy, dataset = _prepare_run(model, data, batch_size, strategy)
    run_epoch = _make_epoch_function(model, strategy, model.test_step)
    results = _run_epoch(model, run_epoch, strategy.experimental_distribute_dataset(dataset))
    return {name: float(value) for name, value in results.items()}


def train(
    model: keras.Model,
    data: Any,
    *,
    epochs: int = 1,
    batch_size: int | None = None,
    backup_dir: str | None = None,
    keep_backup: bool = False,
    strategy: tf.distribute.Strategy | None = None,
    verbose: int = 1,
) -> TrainingLog:
    """Train a compiled model with its own `train_step` under its distribution strategy.

    Build and compile the model under `strategy.scope()`; `data` is a batched
    `tf.data.Dataset` of global batches (images, or `(images, labels)` for conditional
    models) or arrays with `batch_size`. Each global batch is split over all replicas
    of all workers, and a short last batch is dropped so every replica gets a share.
    With `backup_dir`, the state is backed up after every epoch and a run started again
    resumes after the last completed epoch; the backup is deleted at the end unless
    `keep_backup`. Metrics are aggregated over all replicas. Works on one device too.
    """
    if int(epochs) < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if not getattr(model, "compiled", False):
        raise ValueError(f"Compile {model.name} before training it (the zoo's builders do).")
    strategy, dataset = _prepare_run(model, data, batch_size, strategy)
    model.prepare_for_training(dataset)

    backup = TrainingBackup(backup_dir) if backup_dir else None
    completed, history = backup.restore(model) if backup else (0, {})
    log = TrainingLog(history=history, resumed_from=completed)
    chief = is_chief()
    if verbose and chief and completed:
        print(f"Resuming from {backup_dir}: {completed}/{epochs} epochs done.", flush=True)

    distributed_dataset = strategy.experimental_distribute_dataset(dataset)
    run_epoch = _make_epoch_function(model, strategy, model.train_step)
    for epoch in range(completed, int(epochs)):
        start = time.perf_counter()
        results = _run_epoch(model, run_epoch, distributed_dataset)
        bad = nonfinite_metrics(results)
        if nonfinite_weights(model):
            bad.append("weights became NaN or infinite")
        if bad:
            raise TrainingDiverged(
                divergence_message(model, ", ".join(bad), epoch + 1, None), epoch + 1
            )
        for name, value in results.items():
            log.history.setdefault(name, []).append(float(value))
        if backup:
            backup.save(model, epoch + 1, log.history)
        if verbose and chief:
            shown = " - ".join(f"{k}: {float(v):.4g}" for k, v in results.items())
            seconds = time.perf_counter() - start
            print(f"Epoch {epoch + 1}/{epochs} - {seconds:.1f}s - {shown}", flush=True)
    if backup and not keep_backup:
        backup.delete()
    return log
