"""`ZooHyperModel`: a keras-tuner HyperModel for any registered builder.

The builder's family gives the search space (`keras_genzoo.tuning.space`) and the
objectives (`keras_genzoo.tuning.objectives`), both declared in the family's folder;
the model is built by the run layer
(`runs.build_model`) and trained on a run config's data (`runs.load_run_data`), or on
arrays given to `fit`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import keras
import keras_tuner as kt
import numpy as np

from keras_genzoo import training as runs
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.registry import builder_parameters
from keras_genzoo.data import DatasetInfo
from keras_genzoo.evaluation.heldout import HeldOut
from keras_genzoo.tuning.objectives import HeldOutObjective, resolve_objective
from keras_genzoo.tuning.progress import SearchProgress
from keras_genzoo.tuning.space import SearchSpace, TuningError

# The default parameter budget of a trial. Measured on the bundled digits (1,438 training
# images of 8x8) on 2 shared CPU cores, one epoch at batch size 16 (the smallest the
# space draws), after the first: vae_conv filters [32, 64] (8.7e4 parameters) 0.4 s,
# [128, 256] (1.2e6) 1.8 s, [128, 256, 512] (5.3e6) 3.4 s, [256, 512] (4.8e6) 10 s,
# [256, 512, 1024] (2.1e7) 29 s; vae_dense units [1024, 1024, 1024] (4.4e6) 2.3 s.
# 1e7 keeps every trial on the digits well under a minute an epoch (about 15 s at most)
# and is over 100 times the default digits models.
DEFAULT_MAX_PARAMS = 10_000_000


class TrialSkipped(kt.errors.FailedTrialError):
    """A trial that was not trained (its model is over the parameter budget). It is not
    a failure: it does not count towards `max_consecutive_failed_trials`."""


def _short(count: int) -> str:
    """A count as `1.2e8` (or `512` when small)."""
    return str(count) if count < 10_000 else f"{count:.2g}".replace("e+0", "e").replace("e+", "e")


def parameter_count(model: keras.Model) -> int:
    """The number of values in the model's weights (its optimizers' state left out)."""
    return int(sum(np.prod(w.shape) for w in model.weights))


def _builds_on_batch(model: keras.Model, image_shape: Sequence[int]) -> None:
    """Create every variable, the optimizers' included: keras-tuner loads a checkpoint
    (weights and optimizer state) into a freshly built model, and Keras skips the state
    of an optimizer that is not built yet."""
    if not model.built:
        model(np.zeros((1, *image_shape), "float32"))
    optimizers = model.optimizers if isinstance(model, ZooModel) else [model.optimizer]
    for optimizer in optimizers:
        if optimizer is not None and not optimizer.built:
            with model.distribute_strategy.scope():
                optimizer.build(model.trainable_variables)


class ZooHyperModel(kt.HyperModel):
    """The search space, training and objective of the registered builder `name`.

    Args:
        name: a registered builder (`keras_genzoo.list_models()`).
        image_shape, num_classes: the data's shape and classes.
        num_levels: the data's grey levels (`DatasetInfo.num_levels`), for builders that
            take them from the data (a VAE's discrete likelihood); None: the builder's own.
        objective: an objective name the family produces (default: the family's first),
            or a `keras_tuner.Objective` with that name and direction.
        config: a run config (a `runs.RunConfig` or its JSON form) whose data `fit` trains on
            when it gets no arrays, and whose overrides, learning rate and batch size
            become the defaults of the space.
        fixed_arguments: builder arguments outside the space, passed to every build.
        max_params: the parameter budget of a trial: while `tune`'s tuner runs a trial
            (`progress` is set), `build` refuses (`TrialSkipped`) a model with more
            weights than this, before its optimizers take memory; None: no limit.
        objective_options: options of the objective's held-out measurement (the names
            a run config's `metrics` use), over the objective's own defaults: e.g.
            `{"num_samples": 20}` for `val_iw_nll`, `{"num_betas": 500}` for
            `val_ais_log_likelihood`. Unknown names raise `TuningError`.

    An empty `HyperParameters` builds the builder's default model; `hp.Fixed` pins a value.
    """

    def __init__(
        self,
        name: str,
        image_shape: Sequence[int],
        num_classes: int | None = None,
        *,
        num_levels: int | None = None,
        objective: str | kt.Objective | None = None,
        config: runs.RunConfig | Mapping[str, Any] | None = None,
        fixed_arguments: Mapping[str, Any] | None = None,
        objective_options: Mapping[str, Any] | None = None,
        max_params: int | None = DEFAULT_MAX_PARAMS,
    ) -> None:
        super().__init__(name=name)
        if max_params is not None and (isinstance(max_params, bool) or not isinstance(max_params, int)
                                       or max_params < 1):
            raise TuningError(f"max_params must be a positive integer or None, got {max_params!r}.")
        self.max_params = max_params
        self.progress: SearchProgress | None = None  # set by `tune`'s tuner during a trial
        self.model_name = name
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_classes = num_classes
        self.num_levels = num_levels
        self.config = runs.as_run_config(config or {"model": name})
        if self.config.model != name:
            raise TuningError(f"The run config trains {self.config.model!r}, not {name!r}.")
        self.space = SearchSpace(name, self.image_shape, self._config_defaults())
        self.fixed_arguments = dict(fixed_arguments or {})
        for arg in self.fixed_arguments:
            tuned_by = self.space.covered_argument(arg)
            if tuned_by:
                raise TuningError(
                    f"{arg!r} is tuned (as {', '.join(tuned_by)}); pin those "
                    "hyperparameters instead of the builder argument."
                )
        self.spec = resolve_objective(name, objective)
        self.objective_options = dict(objective_options or {})
        self.spec.options(self.objective_options)  # unknown options fail before any trial

    @classmethod
    def from_run_config(
        cls, config: runs.RunConfig | Mapping[str, Any], **kwargs: Any
    ) -> "ZooHyperModel":
        """The HyperModel of a run config: its model, its data's shape and classes."""
        config = runs.as_run_config(config)
        info = runs.probe_dataset(config)
        return cls(config.model, info.image_shape, info.num_classes or None,
                   num_levels=info.num_levels, config=config, **kwargs)

    # ------------------------------------------------------------------ the space

    def _config_defaults(self) -> dict[str, Any]:
        defaults = dict(self.config.overrides)
        if self.config.learning_rate is not None:
            defaults["learning_rate"] = self.config.learning_rate
        defaults["batch_size"] = self.config.batch_size
        return defaults

    @property
    def objective(self) -> kt.Objective:
        """The keras-tuner objective (name and direction) of this search."""
        return self.spec.objective

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        self.space.declare(hp)

    def builder_arguments(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """The builder arguments of `hp` (its values, the fixed arguments)."""
        return {**self.fixed_arguments, **self.space.builder_arguments(self.space.declare(hp))}

    def run_config(self, hp: kt.HyperParameters) -> runs.RunConfig:
        """The run config that trains the model of `hp` (`keras-genzoo train --config`)."""
        arguments = self.builder_arguments(hp)
        learning_rate = arguments.pop("learning_rate", self.config.learning_rate)
        values = self.space.declare(hp)
        return self.config.replace(
            overrides={**self.config.overrides, **arguments},
            learning_rate=learning_rate,
            batch_size=values.get("batch_size", self.config.batch_size),
        )

    def _info(self) -> DatasetInfo:
        """What `runs.build_model` reads of the data: its image shape, classes and levels."""
        param = builder_parameters(self.model_name).get("num_classes")
        num_classes = self.num_classes or (param.default if param is not None else 0)
        return DatasetInfo(
            name=self.config.dataset.name, split="train", image_shape=self.image_shape,
            value_range=(0.0, 1.0), num_classes=num_classes, num_examples=0, source="",
            num_levels=self.num_levels,
        )

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        config = self.run_config(hp)
        keras.utils.set_random_seed(config.seed)
        model, _ = runs.build_model(config, self._info())
        if not model.built:
            model(np.zeros((1, *self.image_shape), "float32"))
        if self.progress is not None:
            parameters = parameter_count(model)
            if self.max_params is not None and parameters > self.max_params:
                reason = f"{_short(parameters)} parameters > max_params {_short(self.max_params)}"
                self.progress.skipped(reason)
                raise TrialSkipped(reason)
            self.progress.built(parameters)
        _builds_on_batch(model, self.image_shape)
        return model

    # --------------------------------------------------------------------- training

    @property
    def selection_split(self) -> str:
        """The split trials are scored on: "validation" when the config's dataset has a
        positive `validation_fraction`, else "test"."""
        return "validation" if self.config.dataset.options.get("validation_fraction") else "test"

    def held_out(
        self, model: keras.Model, batch_size: int | None = None, split: str | None = None
    ) -> tuple[runs.RunData, HeldOut]:
        """The config's data for `model` (`runs.load_run_data`) and its held-out split:
        `split` ("validation" or "test"; default: `selection_split`)."""
        config = self.config
        if batch_size and batch_size != config.batch_size:
            config = config.replace(batch_size=batch_size)
        data = runs.load_run_data(config, model, held_out=split or self.selection_split)
        return data, runs.held_out_split(data, self.config)

    def score(self, model: keras.Model, held: HeldOut | None = None) -> float:
        """The objective of `model` on the held-out split (`selection_split`, by default)."""
        held = self.held_out(model)[1] if held is None else held
        return self.spec.score(model, held, self.objective_options)

    def fit(
        self,
        hp: kt.HyperParameters,
        model: keras.Model,
        x: Any = None,
        y: Any = None,
        validation_data: Any = None,
        **kwargs: Any,
    ) -> keras.callbacks.History:
        """Train `model` with the trial's batch size; the objective is logged every epoch.

        Without `x`, trains on the run config's data; otherwise on images `x` (labels
        `y` for conditional models), with `validation_data=(images[, labels])` held out.
        """
        batch_size = self.space.declare(hp).get("batch_size", self.config.batch_size)
        callbacks = list(kwargs.pop("callbacks", []))
        kwargs.setdefault("epochs", self.config.epochs)
        kwargs.setdefault("verbose", 0)
        if x is None:
            data, held = self.held_out(model, batch_size)
            train, fit_options = data.train, {}
        else:
            if validation_data is None:
                raise TuningError("fit(x=...) needs validation_data=(images[, labels]) to score on.")
            images, *labels = (validation_data if isinstance(validation_data, (tuple, list))
                               else (validation_data,))
            images = np.asarray(images)
            held = HeldOut(images, images, np.asarray(labels[0]) if labels else None,
                           self.config.dataset.name, self.config.seed,
                           np.asarray(x) if isinstance(x, np.ndarray) else None)
            train = x if y is None else (x, y)
            fit_options = {"batch_size": batch_size, "shuffle": True}
            if y is not None:
                train, fit_options = x, {**fit_options, "y": y}
        objective = HeldOutObjective(self.spec, held, self.objective_options)
        return model.fit(train, callbacks=[objective, *callbacks], **fit_options, **kwargs)
