"""`tune`: a hyperparameter search over a zoo model, built on the run layer.

A search lives in `directory/project_name/`: keras-tuner's oracle and trial files, the
search's own description (`search.json`, checked when a search resumes), a log of
which tuner process ran which trial (`trial_log/`), the results table
(`results.json`) and the best hyperparameters as a run config (`best_config.json`,
accepted by `keras-genzoo train --config`).

Trials train on the training split without its validation images and are scored (the
objective, the best epoch) on the validation split only; the best model is then scored
once on the test split, the number to report. A trial whose model has more weights than
`max_params` is not trained: it is recorded as skipped, with the reason, and does not
count as a failure.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import resource
import sys
import time
from typing import Any, Mapping

import keras
import keras_tuner as kt
import tensorflow as tf
from keras_tuner.src import config as kt_config
from keras_tuner.src.distribute import utils as dist_utils

from keras_genzoo import training as runs
from keras_genzoo.core.registry import builder_parameters
from keras_genzoo.io.atomic import write_bytes
from keras_genzoo.training import distribute
from keras_genzoo.tuning.distributed import run_distributed
from keras_genzoo.tuning.hypermodel import DEFAULT_MAX_PARAMS, TrialSkipped, ZooHyperModel
from keras_genzoo.tuning.progress import SearchProgress
from keras_genzoo.tuning.space import TuningError

TUNERS = ("random", "hyperband", "bayesian")
SEARCH_FILE = "search.json"
RESULTS_FILE = "results.json"
BEST_CONFIG_FILE = "best_config.json"
TRIAL_LOG_DIR = "trial_log"
ORACLE_SEEDS = 2**32 - 1  # the seeds NumPy (the Bayesian oracle) accepts, 0 excluded
DEFAULT_VALIDATION_FRACTION = 0.2
SKIPPED = "SKIPPED"  # the results table's status of a trial over the parameter budget
SHORT_SEARCH = 0.5  # a search with fewer epochs than this share of the recipe's is warned of


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a search; its `finished` trials are kept in `project_dir`, and the
    same search resumes there."""

    def __init__(self, project_dir: str, finished: int) -> None:
        self.project_dir, self.finished = project_dir, finished
        super().__init__(
            f"Search interrupted: {finished} finished trial(s) kept in {project_dir}; call "
            "tune again with the same arguments to resume it."
        )


def oracle_seed(seed: int) -> int:
    """The seed a search's oracle draws with: `seed mod (2**32 - 1) + 1`.

    keras-tuner reads a seed of 0 as "no seed" and draws one at random, so the search
    seed is shifted into [1, 2**32 - 1]: every seed, 0 (the default) included, gives
    the same trials on every run.
    """
    return seed % ORACLE_SEEDS + 1


# ----------------------------------------------------------------- oracles, tuners


class _DefaultsFirst:
    """An oracle whose first trial is the space's defaults: the baseline to beat."""

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        if not self.trials:
            return {"status": kt.engine.trial.TrialStatus.RUNNING,
                    "values": dict(self.get_space().values)}
        return super().populate_space(trial_id)


def is_skipped(trial: kt.engine.trial.Trial) -> bool:
    """Whether `trial` ended without training because its model was over the budget."""
    last = _reason(trial.message) or ""
    return trial.status == "FAILED" and last.startswith(_SKIP_PREFIX)


class _SkipsAreNotFailures:
    """An oracle for which a skipped trial is neither a failure nor a success:
    `max_consecutive_failed_trials` counts the failed trials around it."""

    def _check_consecutive_failures(self):
        failures = 0
        for trial_id in self.end_order:
            trial = self.trials[trial_id]
            if is_skipped(trial):
                continue
            failures = failures + 1 if trial.status == "FAILED" else 0
            if failures == self.max_consecutive_failed_trials:
                raise RuntimeError(
                    "Number of consecutive failures exceeded the limit "
                    f"of {self.max_consecutive_failed_trials}.\n" + (trial.message or "")
                )


def _save_state_atomically(state: dict[str, Any], path: str) -> None:
    """Write a keras-tuner state file whole or not at all. keras-tuner writes them in
    place, so a search killed during a write left an empty file that no resume could
    read."""
    write_bytes(json.dumps(state).encode("utf-8"), path)


class _AtomicOracleFiles:
    """An oracle whose state file and trial files are written atomically."""

    def save(self):
        _save_state_atomically(self.get_state(), self._get_oracle_fname())

    def _save_trial(self, trial):
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        _save_state_atomically(trial.get_state(), path)


class DefaultsFirstRandomSearch(_AtomicOracleFiles, _SkipsAreNotFailures, _DefaultsFirst,
                                kt.oracles.RandomSearchOracle):
    """Random search that starts from the defaults."""


class DefaultsFirstBayesian(_AtomicOracleFiles, _SkipsAreNotFailures, _DefaultsFirst,
                            kt.oracles.BayesianOptimizationOracle):
    """Bayesian optimisation (Gaussian process) that starts from the defaults."""


class ZooHyperbandOracle(_AtomicOracleFiles, _SkipsAreNotFailures, kt.oracles.HyperbandOracle):
    """Hyperband's oracle, for which skipped trials are not failures."""


def resident_memory_mb() -> float:
    """This process's resident memory now (Linux), else its peak, in MiB."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _LoggedTrials:
    """Appends one JSON line per trial start and end to `trial_log/<tuner id>.jsonl`."""

    def _log(self, trial: kt.engine.trial.Trial, event: str) -> None:
        folder = os.path.join(self.project_dir, TRIAL_LOG_DIR)
        os.makedirs(folder, exist_ok=True)
        record = {"trial": trial.trial_id, "event": event, "tuner": self.tuner_id,
                  "pid": os.getpid(), "time": time.time(), "status": str(trial.status),
                  "rss_mb": resident_memory_mb()}
        with open(os.path.join(folder, f"{self.tuner_id}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def on_trial_begin(self, trial):
        self._log(trial, "begin")
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        keras.backend.clear_session()  # the next trial builds in a fresh session
        self._log(trial, "end")


class _PrintedTrials:
    """Runs each trial with `self.progress` (a `SearchProgress`, set by `tune`) on the
    hypermodel, which then checks its parameter budget and prints the trial; adds the
    epoch lines. Without it, trials run as keras-tuner runs them."""

    progress: SearchProgress | None = None

    def run_trial(self, trial, *args, **kwargs):
        progress = self.progress
        if progress is None:
            return super().run_trial(trial, *args, **kwargs)
        values = trial.hyperparameters.values
        initial = int(values.get("tuner/initial_epoch", 0))
        epochs = int(values.get("tuner/epochs", kwargs.get("epochs", self.hypermodel.config.epochs)))
        # keras-tuner numbers trials 0, 1, ... in the order they are created; a worker's
        # oracle is a client that holds no trial list, so the id is what tells.
        number = int(trial.trial_id) + 1
        progress.begin_trial(trial.trial_id, number, values, epochs - initial)
        callbacks = [*kwargs.pop("callbacks", []), progress.callback(initial)]
        self.hypermodel.progress = progress
        try:
            return super().run_trial(trial, *args, callbacks=callbacks, **kwargs)
        finally:
            self.hypermodel.progress = None

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.progress is not None and not is_skipped(trial):
            self.progress.end_trial(str(trial.status), _reason(trial.message))


class _FinishedTrialsStayFinished:
    """A reloaded search never runs a finished trial again.

    keras-tuner's oracle saves its state before it drops an ending trial from its
    ongoing trials, and its `reload` sends every ongoing trial back to be retried: the
    trial that ended last (the last one of a distributed search's chief, whose state is
    then collected by the process that started it) would run a second time. A trial
    whose own file says it completed or failed is kept as it is; one that was running
    (an interrupted search) still runs again.
    """

    def reload(self):
        super().reload()
        finished = (kt.engine.trial.TrialStatus.COMPLETED, kt.engine.trial.TrialStatus.FAILED)
        oracle = self.oracle
        oracle._retry_queue = [
            trial_id for trial_id in oracle._retry_queue
            if oracle.trials[trial_id].status not in finished
        ]


class _AtomicTunerFile:
    """A tuner whose own state file (and its oracle's) is written atomically."""

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        _save_state_atomically(self.get_state(), self._get_tuner_fname())


class ZooTuner(_AtomicTunerFile, _PrintedTrials, _FinishedTrialsStayFinished, _LoggedTrials, kt.Tuner):
    """keras-tuner's Tuner with a per-process trial log and progress lines."""


class ZooHyperband(_AtomicTunerFile, _PrintedTrials, _FinishedTrialsStayFinished, _LoggedTrials,
                   kt.Hyperband):
    """keras-tuner's Hyperband with a per-process trial log and progress lines, on
    `ZooHyperbandOracle`."""

    def __init__(self, hypermodel, *, oracle: ZooHyperbandOracle, **kwargs):
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


def read_trial_log(project_dir: str) -> list[dict[str, Any]]:
    """Every record of `trial_log/`, in time order."""
    folder = os.path.join(project_dir, TRIAL_LOG_DIR)
    records = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return sorted(records, key=lambda r: r["time"])


# -------------------------------------------------------------------------- results


@dataclasses.dataclass
class TrialRow:
    """One row of a search's results table."""

    trial: str
    status: str
    objective: float | None
    hyperparameters: dict[str, Any]
    tuner: str | None = None
    reason: str | None = None


@dataclasses.dataclass
class TuningResult:
    """What `tune` returns: the table, the best trial and the best model (trained).

    `best_score` is the objective on the validation split, which chose the trial and its
    epoch; `test_score` the same objective of the same model on the test split, measured
    once after the search: the number to report. `model` is the best trial's model as
    it was scored, at its best epoch: its weights and its optimizers' state (moments and
    `iterations`, which the VAE's KL warm-up and the GAN's EMA warm-up read), so further
    training continues from that epoch. `best_config` trains the tuned model on the
    whole training split for the recipe's length (see `tune`); `warnings` says what to
    mind before using it.
    """

    objective: kt.Objective
    table: list[TrialRow]
    best_trial: str
    best_score: float
    test_score: float
    best_hyperparameters: dict[str, Any]
    best_config: runs.RunConfig
    best_config_path: str
    results_path: str
    model: keras.Model
    hypermodel: ZooHyperModel
    tuner: kt.Tuner
    warnings: list[str] = dataclasses.field(default_factory=list)

    def format_table(self) -> str:
        return format_table(self.table, self.objective.name)

    def summary(self) -> str:
        """Which number chose the trial (validation) and which to report (test)."""
        name = self.objective.name
        return (f"Best trial {self.best_trial}: {name}={self.best_score:.6g} on the validation "
                f"split (used to choose it), {name}={self.test_score:.6g} on the test split "
                "(the number to report)")


_SKIP_PREFIX = f"{TrialSkipped.__module__}.{TrialSkipped.__name__}: "


def _reason(message: str | None) -> str | None:
    if not message:
        return None
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def _row_reason(trial: kt.engine.trial.Trial) -> str | None:
    reason = _reason(trial.message)
    return reason[len(_SKIP_PREFIX):] if is_skipped(trial) else reason


def results_table(tuner: kt.Tuner) -> list[TrialRow]:
    """A row per trial: id, status, objective, hyperparameter values, tuner, failure reason."""
    ran_by = {r["trial"]: r["tuner"] for r in read_trial_log(tuner.project_dir)
              if r["event"] == "end"}
    rows = []
    for trial_id in sorted(tuner.oracle.trials):
        trial = tuner.oracle.trials[trial_id]
        score = trial.score if trial.status == "COMPLETED" else None
        rows.append(TrialRow(
            trial_id, SKIPPED if is_skipped(trial) else str(trial.status),
            None if score is None else float(score),
            dict(trial.hyperparameters.values), ran_by.get(trial_id),
            _row_reason(trial) if trial.status != "COMPLETED" else None,
        ))
    return rows


def scored_epochs(trial: kt.engine.trial.Trial, trials: Mapping[str, kt.engine.trial.Trial]) -> int:
    """How many epochs the scored weights of `trial` were trained: up to its best epoch
    (`best_step`, counted from the trial's first epoch), plus, for a Hyperband trial
    that continued another, the epochs of that trial's best checkpoint it started from."""
    values = trial.hyperparameters.values
    epochs = int(trial.best_step) + 1 - int(values.get("tuner/initial_epoch", 0))
    parent = values.get("tuner/trial_id")
    if parent is not None:
        epochs += scored_epochs(trials[parent], trials)
    return epochs


def format_table(rows: list[TrialRow], objective: str) -> str:
    """The results table as aligned text, one line per trial (scores: validation split)."""
    header = ["trial", "status", f"{objective} (validation)", "tuner", "hyperparameters"]
    lines = [header]
    for row in rows:
        values = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in row.hyperparameters.items() if not k.startswith("tuner/"))
        score = "" if row.objective is None else f"{row.objective:.6g}"
        lines.append([row.trial, row.status, score, row.tuner or "",
                      values + (f"  [{row.reason}]" if row.reason else "")])
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:4])) + "  " + line[4]
        for line in lines
    )


# ---------------------------------------------------------------------- validation


def check_tuner_name(tuner: str) -> None:
    if tuner not in TUNERS:
        close = difflib.get_close_matches(str(tuner), TUNERS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TuningError(f"Unknown tuner {tuner!r}.{hint} Tuners: {', '.join(TUNERS)}.")


def pin(hypermodel: ZooHyperModel, overrides: Mapping[str, Any]) -> kt.HyperParameters:
    """`hp.Fixed` entries for overrides naming hyperparameters; others become builder
    arguments of every trial. Unknown names and values outside the space raise
    `TuningError`."""
    hp = kt.HyperParameters()
    params = builder_parameters(hypermodel.model_name)
    builder_args = {}
    for key, value in overrides.items():
        if key in hypermodel.space.hyperparameters:
            hypermodel.space.check_value(key, value)
            hp.Fixed(key, value)
        elif key in params and not hypermodel.space.covered_argument(key):
            builder_args[key] = value
        elif key in params:
            raise TuningError(
                f"{key!r} is tuned as {', '.join(hypermodel.space.covered_argument(key))}; "
                "pin those hyperparameters instead."
            )
        else:
            names = [*hypermodel.space.names, *(p for p in params if p not in hypermodel.space.widths)]
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TuningError(
                f"Unknown override {key!r}{hint}: it is neither a hyperparameter of "
                f"{hypermodel.model_name!r} ({', '.join(hypermodel.space.names)}) nor one "
                "of its builder arguments."
            )
    hypermodel.fixed_arguments.update(builder_args)
    return hp


def _strategy(strategy: Any) -> tf.distribute.Strategy | None:
    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "multiworker":
        raise TuningError(
            "Tuning cannot train under the multiworker strategy (Keras fit does not support "
            "it); use distributed tuning (one trial per worker) instead."
        )
    if strategy not in distribute.STRATEGIES:
        runs.config.check_known_keys([str(strategy)], distribute.STRATEGIES, "strategy")
    return distribute.get_strategy(strategy)


def _base_config(name, dataset, config, epochs, seed, batch_size) -> runs.RunConfig:
    """The search's run config: `config` (a RunConfig, its JSON form or file) with the
    arguments of `tune` that are given over it."""
    given = {"model": name, "dataset": dataset, "epochs": epochs, "seed": seed,
             "batch_size": batch_size}
    given = {k: v for k, v in given.items() if v is not None}
    if isinstance(config, str):
        config = runs.load_run_config(config)
    if isinstance(config, runs.RunConfig):
        return config.replace(**given) if given else config
    return runs.RunConfig.from_dict({**(config or {}), **given})


def _project_name(config: runs.RunConfig) -> str:
    dataset = os.path.basename(config.dataset.name.rstrip("/")) or "data"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{config.model}_{dataset}")


def _check_resumable(project_dir: str, search: dict[str, Any], overwrite: bool) -> bool:
    """True when `project_dir` holds this search already (it resumes); a different search
    there raises `TuningError` rather than mixing trials of two searches."""
    path = os.path.join(project_dir, SEARCH_FILE)
    if overwrite or not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as f:
        previous = json.load(f)
    changed = sorted(k for k in {*previous, *search} if previous.get(k) != search.get(k))
    if changed:
        raise TuningError(
            f"{project_dir!r} holds a different search (it differs in {', '.join(changed)}). "
            "Pass overwrite=True (--overwrite) to replace it, or another project_name."
        )
    return True


# --------------------------------------------------------------------------- tune


def _validation_fraction(given: float | None, base: runs.RunConfig) -> float:
    """The share of the training split a search validates on: `given`, else the base
    config's dataset's, else `DEFAULT_VALIDATION_FRACTION`."""
    value = given if given is not None else (
        base.dataset.options.get("validation_fraction") or DEFAULT_VALIDATION_FRACTION)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise TuningError(
            "validation_fraction must lie strictly between 0 and 1 (the share of the "
            "training split that scores the trials; the test split is kept for the "
            f"report), got {value!r}."
        )
    return float(value)


def _searched_config(base: runs.RunConfig, validation_fraction: float) -> runs.RunConfig:
    """The config each trial runs: the base config validating on `validation_fraction`."""
    dataset = {**base.dataset.to_dict(), "validation_fraction": validation_fraction}
    return base.replace(dataset=dataset)


def tune(
    name: str | None = None,
    dataset: str | dict | None = None,
    *,
    config: str | runs.RunConfig | Mapping[str, Any] | None = None,
    tuner: str = "random",
    max_trials: int = 10,
    objective: str | kt.Objective | None = None,
    directory: str = "tuning",
    project_name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    batch_size: int | None = None,
    validation_fraction: float | None = None,
    max_params: int | None = DEFAULT_MAX_PARAMS,
    distribution_strategy: Any = None,
    distributed: int = 0,
    overwrite: bool = False,
    max_consecutive_failed_trials: int = 3,
    objective_options: Mapping[str, Any] | None = None,
    hyperband_factor: int = 3,
    timeout: float | None = None,
    verbose: int = 1,
) -> TuningResult | None:
    """Search the hyperparameters of model `name` on `dataset`; returns a `TuningResult`.

    `config` (a `RunConfig`, its JSON form or its file) is the starting point: its values are the
    space's defaults, and the first trial of random and Bayesian searches. `overrides`
    pin hyperparameters (`hp.Fixed`) or set builder arguments outside the space. Each
    trial trains for `epochs` (Hyperband: at most `epochs`) on the training split less
    its validation images (`validation_fraction` of it; default: the config's dataset's,
    else 0.2); the objective is scored on the validation split after every epoch and the
    best epoch's weights are kept. The best model is scored once on the test split.

    `max_params` (default 1e7) is the parameter budget: a trial whose model has more
    weights is skipped (not trained) with its reason in the results table, and is no
    failure for `max_consecutive_failed_trials`; it still counts as one of `max_trials`.
    None lifts the budget. The space itself is bounded by the image (see
    `keras_genzoo.tuning.space`).

    `seed` (default: the config's, 0) seeds each trial's model and data, and the
    search's draws through `oracle_seed(seed)`: the same seed gives the same trials.

    `best_config.json` is the tuned model on the base config's data (no validation
    split: it trains on the whole training split) for the recipe's length. The recipe
    is `config` as given (without one, the run config's defaults: 10 epochs): when the
    search trained each trial for fewer epochs than the recipe, the best config trains
    the recipe's epochs; otherwise the epochs of the best trial's best epoch. A search
    shorter than half the recipe is warned of, on stderr and in the config's description:
    its choice may not hold for the longer training. The returned model carries the
    optimizer state of its best epoch.

    `verbose`: 0 prints nothing, 1 (default) a line per trial (its hyperparameters and
    parameter count) and per epoch (the objective, seconds, the time left), 2 also
    keras-tuner's and Keras' own progress output.

    Hyperband ignores `max_trials`: its brackets (`epochs`, `hyperband_factor`) decide
    how many trials run. `distribution_strategy` (a `tf.distribute.Strategy` or a strategy name) trains each
    trial on several devices; `distributed=N` runs the search as a keras-tuner chief
    and N worker processes on this machine (loopback), sharing `directory`. A search
    found in `directory/project_name` resumes: finished trials are not run again.
    Ctrl-C stops a search with `SearchInterrupted` (a `KeyboardInterrupt`) that says how
    to resume it; the trial it interrupted runs again on resume.
    Mistakes raise `TuningError` before any trial runs.
    """
    check_tuner_name(tuner)
    if distributed and distribution_strategy is not None:
        raise TuningError(
            "distributed=N runs one trial per worker process; it does not take a "
            "distribution_strategy as well."
        )
    if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
        raise TuningError(f"max_trials must be a positive integer, got {max_trials!r}.")
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise TuningError(f"verbose must be 0, 1 or 2, got {verbose!r}.")
    base = _base_config(name, dataset, config, epochs, seed, batch_size)
    recipe = _base_config(name, dataset, config, None, seed, batch_size)
    validation_fraction = _validation_fraction(validation_fraction, base)
    strategy = _strategy(distribution_strategy)
    hypermodel = ZooHyperModel.from_run_config(
        _searched_config(base, validation_fraction), objective=objective,
        objective_options=objective_options, max_params=max_params,
    )
    overrides = dict(overrides or {})
    fixed = pin(hypermodel, overrides)
    project_name = project_name or _project_name(base)
    project_dir = os.path.join(directory, project_name)
    search = runs.jsonable({
        "config": base.to_dict(), "tuner": tuner, "objective": hypermodel.spec.name,
        "overrides": overrides, "objective_options": dict(objective_options or {}),
        "hyperband_factor": hyperband_factor, "validation_fraction": validation_fraction,
        "max_params": max_params,
    })
    worker = dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle()
    if distributed:
        _check_resumable(project_dir, search, overwrite)
        os.makedirs(project_dir, exist_ok=True)
        runs.write_json(search, os.path.join(project_dir, SEARCH_FILE))
        run_distributed(
            {**search, "max_trials": max_trials, "directory": directory,
             "project_name": project_name, "max_consecutive_failed_trials":
             max_consecutive_failed_trials, "overwrite": overwrite, "verbose": verbose},
            workers=distributed, timeout=timeout,
        )
        overwrite = False  # below: collect the chief's trials from the shared directory
    resuming = False if worker else _check_resumable(project_dir, search, overwrite)

    options = dict(objective=hypermodel.objective, seed=oracle_seed(base.seed), hyperparameters=fixed,
                   max_consecutive_failed_trials=max_consecutive_failed_trials)
    if tuner == "hyperband":
        search_tuner = ZooHyperband(
            hypermodel, oracle=ZooHyperbandOracle(max_epochs=base.epochs, factor=hyperband_factor,
                                                  **options),
            directory=directory, project_name=project_name, overwrite=overwrite,
            distribution_strategy=strategy,
        )
    else:
        oracle_type = DefaultsFirstRandomSearch if tuner == "random" else DefaultsFirstBayesian
        oracle = oracle_type(max_trials=max_trials, **options)
        search_tuner = ZooTuner(
            oracle=oracle, hypermodel=hypermodel, directory=directory,
            project_name=project_name, overwrite=overwrite, distribution_strategy=strategy,
        )
    if not worker:
        runs.write_json(search, os.path.join(search_tuner.project_dir, SEARCH_FILE))
    if resuming and verbose and not distributed:  # a distributed search's chief collected it
        done = _finished(search_tuner)
        left = "" if tuner == "hyperband" or done < max_trials else (
            "; nothing left to run (raise max_trials to search further)")
        print(f"Resuming the search in {project_dir}: {done} finished trial(s) kept{left}.")
    search_tuner.progress = SearchProgress(
        hypermodel.spec.name, None if tuner == "hyperband" else max_trials, enabled=verbose >= 1)
    debug, kt_config.DEBUG = kt_config.DEBUG, verbose >= 2  # tracebacks of failed trials
    try:
        search_tuner.search(verbose=1 if verbose >= 2 else 0)
    except KeyboardInterrupt:
        raise SearchInterrupted(project_dir, _finished(search_tuner)) from None
    except RuntimeError as err:
        if "consecutive failures" not in str(err):
            raise
        raise TuningError(
            f"The search stopped after {max_consecutive_failed_trials} failed trials in a "
            f"row; the last one: {_reason(str(err))}"
        ) from err
    finally:
        kt_config.DEBUG = debug
    if worker:
        return None
    return collect_results(search_tuner, hypermodel, base, recipe)


def _finished(search_tuner: kt.Tuner) -> int:
    return sum(t.status in ("COMPLETED", "FAILED") for t in search_tuner.oracle.trials.values())


def _split_record(data: runs.RunData, score: float, objective: str) -> dict[str, Any]:
    return {"split": data.test_info.split, "images": int(len(data.test_targets)),
            "sha256": runs.held_out_fingerprint(data), objective: score,
            "source": data.test_info.source}


def _trained_length(
    searched: int, best_epochs: int, recipe: runs.RunConfig
) -> tuple[int, str | None]:
    """The epochs of the best config and, for a search far shorter than the recipe, a warning."""
    if searched >= recipe.epochs:
        return best_epochs, None
    warning = None
    if searched < SHORT_SEARCH * recipe.epochs:
        warning = (
            f"The search trained each trial {searched} epoch(s), under half of the recipe's "
            f"{recipe.epochs}: its choice may not hold for full training. The best config "
            f"trains {recipe.epochs} epochs; search with epochs={recipe.epochs} (--epochs) "
            "to be sure."
        )
    return recipe.epochs, warning


def collect_results(
    search_tuner: kt.Tuner,
    hypermodel: ZooHyperModel,
    base: runs.RunConfig | None = None,
    recipe: runs.RunConfig | None = None,
) -> TuningResult:
    """Score the best model on the test split; write `results.json` (the table, which
    split chose and which reports) and `best_config.json` (the best trial's
    hyperparameters on `base`'s data, for the recipe's length, see `tune`); load the
    best model with its weights and optimizer state."""
    base = base or hypermodel.config
    recipe = recipe or base
    table = results_table(search_tuner)
    project_dir = search_tuner.project_dir
    results_path = os.path.join(project_dir, RESULTS_FILE)
    name = hypermodel.spec.name
    results: dict[str, Any] = {"objective": name, "direction": hypermodel.objective.direction,
                               "trial_scores": "validation split", "trials": table}
    best = search_tuner.oracle.get_best_trials(1)
    if not best or best[0].status != "COMPLETED":
        runs.write_json(runs.jsonable({**results, "trials": [dataclasses.asdict(r) for r in table]}),
                        results_path)
        reasons = "; ".join(f"trial {r.trial}: {r.reason}" for r in table if r.reason)
        raise TuningError(
            f"No trial of {project_dir!r} finished"
            + (f" ({reasons})." if reasons else " (no trial ran).")
        )
    trial = best[0]
    model = search_tuner.get_best_models(1)[0]
    validation, _ = hypermodel.held_out(model)
    test, held_test = hypermodel.held_out(model, split="test")
    test_score = hypermodel.spec.score(model, held_test, hypermodel.objective_options)
    epochs, warning = _trained_length(base.epochs, scored_epochs(trial, search_tuner.oracle.trials),
                                      recipe)
    description = (
        f"Best trial {trial.trial_id} of a {hypermodel.model_name} search: {name}="
        f"{trial.score:.6g} on the validation split (which chose it), {name}={test_score:.6g} "
        f"on the test split (to report), after epoch "
        f"{scored_epochs(trial, search_tuner.oracle.trials)}; trains {epochs} epochs on the "
        "whole training split." + (f" Warning: {warning}" if warning else "")
    )
    best_config = hypermodel.run_config(trial.hyperparameters).replace(
        dataset=base.dataset.to_dict(), epochs=epochs, description=description,
    )
    best_config_path = runs.write_json(
        best_config.to_dict(), os.path.join(project_dir, BEST_CONFIG_FILE)
    )
    results.update(
        trials=[dataclasses.asdict(r) for r in table],
        best={"trial": trial.trial_id, "validation": float(trial.score), "test": test_score,
              "best_config_epochs": epochs},
        selection=_split_record(validation, float(trial.score), name),
        report=_split_record(test, test_score, name),
    )
    runs.write_json(runs.jsonable(results), results_path)
    if warning:
        print(f"Warning: {warning}", file=sys.stderr, flush=True)
    return TuningResult(
        objective=hypermodel.objective, table=table, best_trial=trial.trial_id,
        best_score=float(trial.score), test_score=test_score,
        best_hyperparameters={k: v for k, v in trial.hyperparameters.values.items()
                              if not k.startswith("tuner/")},
        best_config=best_config, best_config_path=best_config_path,
        results_path=results_path, model=model, hypermodel=hypermodel, tuner=search_tuner,
        warnings=[warning] if warning else [],
    )
