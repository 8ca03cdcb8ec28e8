"""Tuning objectives: held-out measurements with an explicit direction, declared per family.

A family declares its objectives beside its model (`keras_genzoo/models/<family>/space.py`):
each names a measurement of the held-out table (`keras_genzoo.evaluation.heldout`), the
same definition a run records, and the options a search uses by default. Each objective
is computed after every epoch on the held-out split by `HeldOutObjective` and written
into the epoch's logs, where keras-tuner reads it (it keeps the best epoch's weights and
score). A score that is not finite fails the trial with its reason.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping

import keras
import keras_tuner as kt
import numpy as np

from keras_genzoo.core import search_space
from keras_genzoo.core.registry import get_entry
from keras_genzoo.core.search_space import Objective
from keras_genzoo.evaluation.heldout import (
    HeldOut,
    MeasurementError,
    direction,
    measure,
    resolve_options,
)
from keras_genzoo.tuning.space import TuningError


@dataclasses.dataclass(frozen=True)
class ObjectiveSpec:
    """A family's `Objective` with the direction the held-out table gives it."""

    declaration: Objective
    direction: str

    @property
    def name(self) -> str:
        return self.declaration.name

    @property
    def description(self) -> str:
        return self.declaration.description

    @property
    def objective(self) -> kt.Objective:
        """The keras-tuner objective: name and direction."""
        return kt.Objective(self.name, direction=self.direction)

    def options(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The measurement's options: its defaults, the objective's, then `given`."""
        try:
            return resolve_options(self.declaration.measurement,
                                   {**self.declaration.options, **dict(given or {})})
        except MeasurementError as err:
            raise TuningError(f"Objective {self.name!r}: {err}") from None

    def score(self, model: keras.Model, held: HeldOut, options: Mapping[str, Any] | None = None) -> float:
        """The objective of `model` on `held`."""
        values = measure(self.declaration.measurement, model, held, self.options(options))
        return float(values[self.declaration.output])


def objectives_for(name: str) -> list[ObjectiveSpec]:
    """The objectives the builder `name` produces, with their directions; the first is
    its default."""
    return [ObjectiveSpec(o, direction(o.measurement, o.output))
            for o in search_space.objectives_for(name)]


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
