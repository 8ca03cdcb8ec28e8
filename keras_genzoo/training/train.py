"""`train_run`: a run config in, a trained model and its run directory out.

The steps are separate functions so other tools (presets, tuning) reuse them:
`build_model` (the model of a config), `load_run_data` (its data), `run_callbacks`
(what runs after every epoch), `fit_model` (training), `held_out_metrics` (the held-out
evaluation) and `write_run` (every file of the run directory).

A run holds its directory for its whole length (`claimed_run_dir`: an exclusive lock on
a claim file in it), so two processes never write the same run. `--overwrite` keeps the
old run until the new one can replace it: once the new run is validated the old run's
files are moved into `.replaced-run/`, and they are deleted when the new run has saved
its first checkpoint, or moved back when it fails (or was killed) before that.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from typing import Any, Iterator, Mapping, Sequence

import keras
import tensorflow as tf

from keras_genzoo.core.conditioning import split_batch
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.registry import (
    BuilderCall,
    create_model,
    dataset_arguments,
    get_entry,
)
from keras_genzoo.data import DatasetInfo
from keras_genzoo.io.atomic import copy_file
from keras_genzoo.io.checksums import MANIFEST_FILE, record_checksum, verify_recorded
from keras_genzoo.io.images import write_png
from keras_genzoo.io.jsonfiles import jsonable, write_json
from keras_genzoo.loading import RUN_MODEL_FILE
from keras_genzoo.training import distribute
from keras_genzoo.training.artifacts import (
    BACKUP_DIR,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    LOGS_DIR,
    METRICS_FILE,
    PREVIEW_SHARE,
    ImageSummaries,
    RunCheckpoint,
    run_preview_grids,
    save_model,
)
from keras_genzoo.training.config import RunConfig, as_run_config, is_recommender
from keras_genzoo.training.data import (
    RunData,
    held_out_fingerprint,
    load_run_data,
    probe_dataset,
)
from keras_genzoo.training.divergence import StopOnDivergence, TrainingDiverged
from keras_genzoo.training.errors import RunError, reraised_as
from keras_genzoo.training.evaluate import held_out_metrics, read_run_config
from keras_genzoo.training.interrupt import StopOnInterrupt, TrainingInterrupted, interruptible
from keras_genzoo.training.progress import EpochProgress, announce, run_length
from keras_genzoo.training.ratings_data import train_ratings_run
from keras_genzoo.training.translation_data import translation_arguments

try:  # POSIX file locks; without them (Windows) a run does not claim its directory
    import fcntl
except ImportError:
    fcntl = None

CHECKPOINT_FILE = "last.keras"
# What marks a folder as a run directory (some of it exists as soon as training starts).
RUN_ENTRIES = (RUN_MODEL_FILE, CONFIG_FILE, METRICS_FILE, BACKUP_DIR, CHECKPOINTS_DIR, MANIFEST_FILE)
# Everything else a run writes, removed with the run by --overwrite.
RUN_OUTPUTS = (LOGS_DIR, "reconstructions.png", "samples.png", "translations.png", "workers")
# Config keys a resumed run may change.
RESUMABLE_KEYS = ("epochs", "steps")
# The claim file a run holds locked while it writes its directory.
CLAIM_FILE = ".claim"
# Where --overwrite keeps the old run until the new one has a checkpoint, and where its
# files are while they move (a folder of that name is never the complete old run).
REPLACED_RUN_DIR = ".replaced-run"
MOVING_RUN_DIR = ".replaced-run.moving"


def builder_arguments(config: RunConfig, info: DatasetInfo) -> dict[str, Any]:
    """The builder arguments of a config: its overrides, what the data fixes (image
    shape, classes, levels: `dataset_arguments`, where the builder takes them; a
    translator's input channels: `translation_arguments`) and the config's learning rate."""
    arguments = {
        **dataset_arguments(config.model, info, value_range=False),
        **translation_arguments(config),
        **config.overrides,
    }
    if config.learning_rate is not None:
        arguments["learning_rate"] = config.learning_rate
    return arguments


def build_model(
    config: RunConfig,
    info: DatasetInfo | None = None,
    *,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, dict[str, Any]]:
    """The compiled model of a config and the builder arguments that made it.

    `info` (default: probed from the config's dataset) fills in the image shape and the
    number of classes; the model's variables are created under `strategy`'s scope.
    """
    info = probe_dataset(config) if info is None else info
    arguments = builder_arguments(config, info)
    strategy = strategy or tf.distribute.get_strategy()
    with reraised_as(RunError, ValueError, TypeError):
        with strategy.scope():
            model = create_model(config.model, **arguments)
            if config.optimizer is not None:
                model.recompile_with_optimizer(config.optimizer, config.learning_rate)
    model.zoo_builder = BuilderCall(config.model, arguments, config.optimizer)
    return model, arguments


def steps_per_epoch(dataset: Any) -> int:
    """The batches of one pass over a finite dataset (counted once when unknown)."""
    steps = int(dataset.cardinality())
    return steps if steps >= 1 else sum(1 for _ in dataset)


class RunBackup(keras.callbacks.Callback):
    """Backs up the training state (`distribute.TrainingBackup`) after every epoch and
    restores it when training starts, as `keras.callbacks.BackupAndRestore` does.

    Unlike Keras' callback, the weights and the epoch count are replaced together in one
    atomic step, the weights' SHA-256 is checked on restore, the random-seed states and
    the history of every completed epoch come back, and `training_data` gives `fit`
    the data (`dataset`) in the order an uninterrupted run would see it.
    """

    def __init__(self, backup_dir: str, dataset: Any) -> None:
        super().__init__()
        self.backup = distribute.TrainingBackup(backup_dir)
        self.dataset = dataset
        self.completed = 0
        self.history: dict[str, list[float]] = {}

    def training_data(self) -> tuple[Any, int]:
        """(dataset, steps per epoch) for `fit`: the training data repeated in one stream,
        with the epochs the backup holds skipped, so every later epoch sees the batches
        (and the reshuffled order) of an uninterrupted run."""
        steps = steps_per_epoch(self.dataset)
        done = int((self.backup.read_state() or {}).get("epoch", 0))
        return self.dataset.repeat().skip(done * steps), steps

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not self.backup.exists():
            return
        if not self.model.built:  # built from the data's spec: no batch is read
            zeros = tf.nest.map_structure(
                lambda spec: tf.zeros([1, *spec.shape[1:]], spec.dtype), self.dataset.element_spec
            )
            images, _ = split_batch(zeros)
            conditional = isinstance(self.model, ZooModel) and self.model.is_conditional
            self.model(zeros if conditional else images)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.completed, self.history = self.backup.restore(self.model)
        if self.completed:  # the same hand-over as BackupAndRestore: fit starts there
            self.model._initial_epoch = self.completed

    def on_train_end(self, logs: dict | None = None) -> None:
        self.model._initial_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        self.backup.save(self.model, epoch + 1, self.history)


class DropReplacedRun(keras.callbacks.Callback):
    """Deletes the run an `--overwrite` kept aside once the new run's checkpoint is saved
    (place it after `RunCheckpoint`)."""

    def __init__(self, out_dir: str) -> None:
        super().__init__()
        self.out_dir = out_dir

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        drop_replaced_run(self.out_dir)


def run_callbacks(
    out_dir: str, model: keras.Model, data: RunData, seed: int,
    preview_share: float | None = PREVIEW_SHARE,
) -> list:
    """The callbacks of a run: the divergence check (first), TensorBoard scalars, image
    summaries (taking at most `preview_share` of the training time; None: every
    epoch), the last checkpoint and, once it is saved, the deletion of the run an
    `--overwrite` replaces."""
    log_dir = os.path.join(out_dir, LOGS_DIR)
    checkpoint_dir = os.path.join(out_dir, CHECKPOINTS_DIR)
    os.makedirs(checkpoint_dir, exist_ok=True)
    return [
        StopOnDivergence(),
        keras.callbacks.TensorBoard(log_dir, write_graph=False),
        ImageSummaries(
            os.path.join(log_dir, "images"), lambda: run_preview_grids(model, data, seed),
            time_share=preview_share,
        ),
        RunCheckpoint(os.path.join(checkpoint_dir, CHECKPOINT_FILE), out_dir),
        DropReplacedRun(out_dir),
    ]


def fit_model(
    model: keras.Model,
    data: RunData,
    config: RunConfig,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    backup_dir: str | None = None,
    verbose: int = 1,
) -> dict[str, list[float]]:
    """Train `model` for the config's length (`progress.run_length`: its epochs, or the
    whole epochs holding its `steps`); returns the history of every epoch.

    With `verbose`, it first says how many steps the run takes, then prints one line
    per epoch (`progress.EpochProgress`); a run shorter than the model's
    `min_training_steps` warns whatever `verbose` is.

    With `backup_dir` the training state is backed up after every epoch and, if a
    backup is there already, training resumes after its last completed epoch with the
    same weights, optimizer state, random-seed states and data order as an
    uninterrupted run (the data is one repeated stream in which the epochs already
    done are skipped). Under the multiworker strategy Keras `fit` cannot run
    (keras-team/keras#20585): the model trains with `keras_genzoo.training.distribute.train`,
    which backs up the same way. The backup is kept; `train_run` deletes it once the
    run directory is written.
    """
    per_epoch = steps_per_epoch(data.train)
    epochs = run_length(config, per_epoch)
    announce(model, config, data.train_info.num_examples, per_epoch, epochs, verbose)
    if config.strategy == "multiworker":
        return distribute.train(
            model, data.train, epochs=epochs, verbose=verbose,
            backup_dir=backup_dir, keep_backup=True,
        ).history
    backup = RunBackup(backup_dir, data.train) if backup_dir else None
    train, steps = backup.training_data() if backup else (data.train, None)
    checked = {"check_first_batch": False} if isinstance(model, ZooModel) else {}
    progress = [EpochProgress(epochs, per_epoch)] if verbose else []
    fitted = model.fit(
        train, epochs=epochs, steps_per_epoch=steps, shuffle=False,
        validation_data=data.test,
        callbacks=[*callbacks, *progress, *([backup] if backup else [])],
        verbose=0, **checked,  # load_run_data checked the first batch
    ).history
    if backup and verbose and backup.completed:
        print(f"Resumed from {backup_dir}: {backup.completed}/{epochs} epochs "
              "were done before.")
    return backup.history if backup else fitted


def write_run(
    out_dir: str,
    model: keras.Model,
    config: RunConfig,
    arguments: dict[str, Any],
    data: RunData,
    results: dict[str, Any],
) -> dict[str, Any]:
    """Write the model, preview PNGs, `metrics.json` and `config.json`; returns the metrics.

    `results` holds what training measured (`history`, `train_seconds`) and the held-out
    metrics (`evaluation`, `reconstruction`).
    """
    os.makedirs(out_dir, exist_ok=True)
    save_model(model, os.path.join(out_dir, RUN_MODEL_FILE), out_dir)
    artifacts = {"model": RUN_MODEL_FILE, "logs": LOGS_DIR, "checkpoints": CHECKPOINTS_DIR}
    for tag, grid in run_preview_grids(model, data, config.seed).items():
        artifacts[tag] = os.path.basename(write_png(grid, os.path.join(out_dir, f"{tag}.png")))
    metrics = _run_metrics(config, arguments, data, {**results, "artifacts": artifacts})
    write_json(metrics, os.path.join(out_dir, METRICS_FILE))
    write_json(config.to_dict(), os.path.join(out_dir, CONFIG_FILE))
    return metrics


def _run_metrics(
    config: RunConfig, arguments: dict[str, Any], data: RunData, results: dict[str, Any]
) -> dict[str, Any]:
    return jsonable({
        "model": config.model,
        "family": get_entry(config.model).family,
        "config": config.to_dict(),
        "builder_arguments": arguments,
        "dataset": {
            "train": dataclasses.asdict(data.train_info),
            "test": dataclasses.asdict(data.test_info),
            "held_out_sha256": held_out_fingerprint(data),
        },
        **results,
    })


def write_diverged_run(
    out_dir: str,
    config: RunConfig,
    arguments: dict[str, Any],
    data: RunData,
    error: TrainingDiverged,
    backup_dir: str,
) -> dict[str, Any]:
    """After a divergence: the last finite checkpoint becomes the run's model, and
    `metrics.json` records where training diverged and the history of the good epochs."""
    state = distribute.TrainingBackup(backup_dir).read_state() or {}
    checkpoint = os.path.join(out_dir, CHECKPOINTS_DIR, CHECKPOINT_FILE)
    artifacts: dict[str, Any] = {"logs": LOGS_DIR, "checkpoints": CHECKPOINTS_DIR}
    if os.path.isfile(checkpoint):
        verify_recorded(out_dir, checkpoint)
        record_checksum(out_dir, copy_file(checkpoint, os.path.join(out_dir, RUN_MODEL_FILE)))
        artifacts["model"] = RUN_MODEL_FILE
    results = {
        "history": state.get("history", {}),
        "diverged": {"epoch": error.epoch, "step": error.step, "message": str(error)},
        "artifacts": artifacts,
    }
    metrics = _run_metrics(config, arguments, data, results)
    write_json(metrics, os.path.join(out_dir, METRICS_FILE))
    return metrics


def holds_run(out_dir: str) -> bool:
    """Whether `out_dir` holds (part of) a run directory."""
    return any(os.path.exists(os.path.join(out_dir, name)) for name in RUN_ENTRIES)


def _refuse_a_file(out_dir: str) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise RunError(
            f"--out {out_dir!r} is a file; a run is written to a directory. Choose a "
            "new folder name (e.g. runs/my_run)."
        )


def _claim_holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    pid = os.read(fd, 32).decode("ascii", "replace").strip()
    return f" (pid {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def claimed_run_dir(out_dir: str) -> Iterator[None]:
    """Hold `out_dir` for this process while the block runs.

    The claim is an exclusive `flock` on `out_dir/.claim` (holding this process's id),
    which the system releases when the process ends, however it ends. A directory
    another process holds is refused with `RunError`. On release the claim file is
    removed, and so is `out_dir` if this call created it and nothing was written there.
    Where the system has no `flock` (Windows) nothing is claimed.
    """
    _refuse_a_file(out_dir)
    if fcntl is None:
        yield
        return
    created = not os.path.isdir(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, CLAIM_FILE)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _claim_holder(fd)
            os.close(fd)
            raise RunError(
                f"{out_dir!r} is being written by another process{holder}. Wait for it "
                "to finish, or choose another --out."
            ) from None
        try:  # the holder may have released and removed the file before our lock
            current = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.remove(path)  # still locked: a process waiting on this file sees it gone
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)  # only when empty


def _move_run_files(source: str, target: str) -> None:
    os.makedirs(target, exist_ok=True)
    for name in (*RUN_ENTRIES, *RUN_OUTPUTS):
        path = os.path.join(source, name)
        if os.path.lexists(path):
            os.replace(path, os.path.join(target, name))


def _remove_run_files(out_dir: str) -> None:
    for name in (*RUN_ENTRIES, *RUN_OUTPUTS):
        path = os.path.join(out_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)


def _has_checkpoint(out_dir: str) -> bool:
    return any(os.path.isfile(os.path.join(out_dir, name))
               for name in (RUN_MODEL_FILE, os.path.join(CHECKPOINTS_DIR, CHECKPOINT_FILE)))


def set_aside_run(out_dir: str) -> None:
    """Move the run in `out_dir` (its files only) into `.replaced-run/`; the folder gets
    that name once every file is in it."""
    moving = os.path.join(out_dir, MOVING_RUN_DIR)
    _move_run_files(out_dir, moving)
    os.replace(moving, os.path.join(out_dir, REPLACED_RUN_DIR))


def drop_replaced_run(out_dir: str) -> None:
    """Delete the run an `--overwrite` kept aside, if any."""
    replaced = os.path.join(out_dir, REPLACED_RUN_DIR)
    if os.path.isdir(replaced):
        shutil.rmtree(replaced)


def recover_replaced_run(out_dir: str) -> bool:
    """Finish what an `--overwrite` left unfinished in `out_dir`; True when the replaced
    run came back.

    A new run with a checkpoint replaces the old one (deleted); a new run without one
    (it failed, or its process was killed, before its first checkpoint) is removed and
    the old run moved back. Each step can be interrupted and done again.
    """
    replaced = os.path.join(out_dir, REPLACED_RUN_DIR)
    moving = os.path.join(out_dir, MOVING_RUN_DIR)
    if os.path.isdir(replaced):
        if _has_checkpoint(out_dir):
            drop_replaced_run(out_dir)
            return False
        _remove_run_files(out_dir)
        os.replace(replaced, moving)
    if not os.path.isdir(moving):
        return False
    _move_run_files(moving, out_dir)
    os.rmdir(moving)
    return True


def prepare_run_dir(
    out_dir: str, config: RunConfig, *, resume: bool = False, overwrite: bool = False
) -> bool:
    """Check that a run may be written to `out_dir`; returns True when it resumes one.

    A new run goes into a missing folder or one without a run (other files stay). An
    existing run is refused unless `resume` (same config, the epochs may grow; training
    continues from its backup) or `overwrite` (`train_run` replaces the run's own files,
    nothing else, once the new run has a checkpoint). Nothing is changed here; mistakes
    raise `RunError`.
    """
    if resume and overwrite:
        raise RunError("Pass either --resume or --overwrite, not both.")
    _refuse_a_file(out_dir)
    if not holds_run(out_dir):  # other files only: a run adds its own beside them
        if resume:
            raise RunError(f"Nothing to resume: {out_dir!r} holds no run. Drop --resume.")
        return False
    if overwrite:
        return False
    if not resume:
        raise RunError(
            f"{out_dir!r} already holds a run. Pass --resume to continue it from its "
            "backup, --overwrite to replace it, or choose another --out."
        )
    saved, given = read_run_config(out_dir).to_dict(), config.to_dict()
    keys = (set(saved) | set(given)) - set(RESUMABLE_KEYS)
    changed = sorted(k for k in keys if saved.get(k) != given.get(k))
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {given.get(k)!r}" for k in changed)
        raise RunError(
            f"--resume continues the run in {out_dir!r} with its own config, but this "
            f"one differs ({shown}). Only epochs may change; use --overwrite to start over."
        )
    backup = distribute.TrainingBackup(os.path.join(out_dir, BACKUP_DIR))
    if not backup.exists() and os.path.isfile(os.path.join(out_dir, METRICS_FILE)):
        raise RunError(
            f"The run in {out_dir!r} is complete; there is nothing to resume. Use "
            "--overwrite to train it again, or another --out."
        )
    return True


def train_run(
    config: RunConfig | Mapping[str, Any],
    out_dir: str,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
    resume: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train the model of a run config and write a run directory; returns metrics.json's data.

    `config` is a `RunConfig` or its JSON form (checked here, by `RunConfig.from_dict`).
    Extra `callbacks` run after the run's own. The run holds `out_dir` while it runs
    (`claimed_run_dir`): another process writing there is refused with `RunError`.
    Mistakes in the config, its data or its model found before training starts raise
    `RunError`, with nothing written; so does an `out_dir` that already holds a run,
    unless `resume` (continue from its backup, as if never interrupted) or `overwrite`
    (the old run is replaced once the new one has its first checkpoint, and kept if the
    new one fails before that). Training backs up every epoch. A loss or weight that
    becomes NaN or infinite raises `TrainingDiverged`, after the run directory is
    written with its last finite checkpoint as the model. Ctrl-C (SIGINT, in the main
    thread) stops training at the next batch end and raises `TrainingInterrupted`
    (a `KeyboardInterrupt`) saying how many epochs were kept: `resume=True` with the
    same config then finishes the run exactly as an uninterrupted one.
    """
    config = as_run_config(config)
    if is_recommender(config.model):
        return _train_recommender(config, out_dir, callbacks, verbose, resume, overwrite)
    with reraised_as(RunError, ValueError, TypeError, RuntimeError):
        # First of all: the multiworker strategy must exist before any TensorFlow work.
        strategy = distribute.get_strategy(config.strategy)
    backup_dir = os.path.join(out_dir, BACKUP_DIR)  # the chief's, which every worker restores
    writes_run = config.strategy != "multiworker" or distribute.is_chief()
    if not writes_run:  # a worker writes its own folder in the chief's run
        out_dir = os.path.join(out_dir, "workers", distribute.task_name())
    with interruptible() as stop, claimed_run_dir(out_dir) if writes_run else contextlib.nullcontext():
        if writes_run:
            if recover_replaced_run(out_dir) and verbose:
                print(f"An interrupted --overwrite of {out_dir!r} had no checkpoint yet: "
                      "the run it was replacing is back.")
            prepare_run_dir(out_dir, config, resume=resume, overwrite=overwrite)
        keras.utils.set_random_seed(config.seed)
        model, arguments = build_model(config, strategy=strategy)
        data = load_run_data(config, model)
        if writes_run and overwrite and holds_run(out_dir):
            set_aside_run(out_dir)
        try:
            return _train_and_write(model, config, arguments, data, out_dir, backup_dir,
                                    [StopOnInterrupt(stop), *callbacks], verbose)
        except TrainingInterrupted as err:
            state = distribute.TrainingBackup(backup_dir).read_state() or {}
            completed = int(state.get("epoch", 0)) if holds_run(out_dir) else 0
            epochs = run_length(config, steps_per_epoch(data.train))
            kept = f"{out_dir!r} keeps them" if completed else "nothing was kept"
            raise TrainingInterrupted(
                f"Stopped by Ctrl-C after {completed} of {epochs} epochs; {kept}.",
                completed, epochs,
            ) from err


def _train_recommender(
    config: RunConfig, out_dir: str, callbacks: Sequence[keras.callbacks.Callback],
    verbose: int, resume: bool, overwrite: bool,
) -> dict[str, Any]:
    """`train_run` for a recommender (`ratings_data.train_ratings_run`), with the same
    claim of `out_dir`, checks of --resume and --overwrite, and Ctrl-C handling."""
    with interruptible() as stop, claimed_run_dir(out_dir):
        recover_replaced_run(out_dir)
        prepare_run_dir(out_dir, config, resume=resume, overwrite=overwrite)
        if overwrite and holds_run(out_dir):
            set_aside_run(out_dir)
        try:
            metrics = train_ratings_run(
                config, out_dir, [StopOnInterrupt(stop), DropReplacedRun(out_dir), *callbacks], verbose
            )
        except TrainingInterrupted as err:
            recover_replaced_run(out_dir)
            state = distribute.TrainingBackup(os.path.join(out_dir, BACKUP_DIR)).read_state() or {}
            completed = int(state.get("epoch", 0)) if holds_run(out_dir) else 0
            kept = f"{out_dir!r} keeps them" if completed else "nothing was kept"
            raise TrainingInterrupted(
                f"Stopped by Ctrl-C after {completed} of {config.epochs} epochs; {kept}.",
                completed, config.epochs,
            ) from err
        except BaseException:
            recover_replaced_run(out_dir)
            raise
    drop_replaced_run(out_dir)
    return metrics


def _train_and_write(
    model: keras.Model,
    config: RunConfig,
    arguments: dict[str, Any],
    data: RunData,
    out_dir: str,
    backup_dir: str,
    callbacks: Sequence[keras.callbacks.Callback],
    verbose: int,
) -> dict[str, Any]:
    """The training part of `train_run`, in a claimed and checked `out_dir`."""
    started = time.perf_counter()
    try:
        os.makedirs(out_dir, exist_ok=True)
        write_json(config.to_dict(), os.path.join(out_dir, CONFIG_FILE))
        history = fit_model(
            model, data, config, verbose=verbose, backup_dir=backup_dir,
            callbacks=[*run_callbacks(out_dir, model, data, config.seed), *callbacks],
        )
    except TrainingDiverged as err:
        if recover_replaced_run(out_dir):
            raise TrainingDiverged(
                f"{err} {out_dir!r} keeps the run --overwrite was to replace.",
                err.epoch, err.step,
            ) from err
        write_diverged_run(out_dir, config, arguments, data, err, backup_dir)
        raise
    except BaseException:
        recover_replaced_run(out_dir)
        raise
    results = {"history": history, "train_seconds": time.perf_counter() - started}
    results.update(held_out_metrics(model, data, config))
    metrics = write_run(out_dir, model, config, arguments, data, results)
    drop_replaced_run(out_dir)  # a run without checkpoints (multiworker) replaces it here
    distribute.TrainingBackup(backup_dir).delete()  # the run is complete and saved
    return metrics
