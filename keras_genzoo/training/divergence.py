"""Divergence: training whose loss or weights became NaN or infinite stops, and says why.

`StopOnDivergence` (a Keras callback, like `keras.callbacks.TerminateOnNaN` but with an
error instead of a silent stop) checks every batch's metrics and, at the end of each
epoch, the validation metrics and every weight. `check_finite_weights` guards the
package's own save paths: nothing NaN is ever saved as a model.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np


class TrainingDiverged(RuntimeError):
    """Training produced a NaN or infinite loss, metric or weight.

    `epoch` is 1-based; `step` is the 1-based batch within it, or None when the
    problem was found at the end of the epoch.
    """

    def __init__(self, message: str, epoch: int | None = None, step: int | None = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step


def nonfinite_metrics(logs: dict[str, Any] | None) -> list[str]:
    """Names of the numeric entries of `logs` that are NaN or infinite."""
    bad = []
    for name, value in (logs or {}).items():
        try:
            number = float(np.asarray(value))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            bad.append(f"{name}={number}")
    return bad


def nonfinite_weights(model: keras.Model) -> list[str]:
    """Paths of the model's floating-point variables holding NaN or inf."""
    bad = []
    for variable in model.variables:
        if "float" not in str(variable.dtype):
            continue
        if not np.isfinite(keras.ops.convert_to_numpy(variable.value)).all():
            bad.append(variable.path)
    return bad


def learning_rates(model: keras.Model) -> list[float]:
    """The constant learning rates of the model's optimizers (schedules are skipped)."""
    rates = []
    for optimizer in model.optimizers:
        try:
            rates.append(float(np.asarray(optimizer.learning_rate)))
        except (TypeError, ValueError):
            continue
    return sorted(set(rates))


def divergence_message(model: keras.Model, what: str, epoch: int, step: int | None) -> str:
    """A one-paragraph explanation: where training diverged, what became non-finite, why."""
    where = f"epoch {epoch}" + ("" if step is None else f", step {step}")
    rates = learning_rates(model)
    rate = f" (learning rate {', '.join(f'{r:g}' for r in rates)})" if rates else ""
    return (
        f"Training of {model.name} diverged at {where}: {what}. The likely cause is a "
        f"learning rate that is too high{rate}: lower it (e.g. by 10x) and train again. "
        "Unscaled or non-finite data and a too-small batch can also cause it."
    )


def check_finite_weights(model: keras.Model, action: str = "save") -> None:
    """Raise `TrainingDiverged` before `action` if any weight of `model` is NaN or inf."""
    bad = nonfinite_weights(model)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise TrainingDiverged(
            f"Refusing to {action} {model.name}: its weights hold NaN or infinite values "
            f"({shown}). Training diverged; lower the learning rate and train again."
        )


class StopOnDivergence(keras.callbacks.Callback):
    """Raise `TrainingDiverged` as soon as a batch metric, an epoch metric or a weight
    becomes NaN or infinite. Put it first, so nothing after it sees the bad epoch."""

    def __init__(self) -> None:
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        bad = nonfinite_metrics(logs)
        if bad:
            message = divergence_message(
                self.model, f"{', '.join(bad)}", self._epoch, batch + 1
            )
            raise TrainingDiverged(message, self._epoch, batch + 1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        bad = nonfinite_metrics(logs)
        weights = nonfinite_weights(self.model)
        if weights:
            bad.append(f"{len(weights)} weight variables became NaN or infinite")
        if bad:
            message = divergence_message(self.model, ", ".join(bad), epoch + 1, None)
            raise TrainingDiverged(message, epoch + 1, None)
