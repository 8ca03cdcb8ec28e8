"""What a search prints while it runs: a line per trial and per epoch, with time estimates.

`SearchProgress` writes plain lines (no progress bars, no library messages) to a stream:

    Trial 3/10 (id 02): latent_dim=12, filters_depth=2, filters_width=64, ...; 154,337 parameters
      epoch 2/5  val_neg_elbo=31.42  3.1 s  (about 9 s left in this trial, 1.4 min in the search)

A trial over the parameter budget gets one line saying it is skipped and why.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Mapping, TextIO

import keras


def format_values(values: Mapping[str, Any]) -> str:
    """Hyperparameter values as `name=value, ...` (keras-tuner's bookkeeping left out)."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items() if not k.startswith("tuner/"))


def format_seconds(seconds: float) -> str:
    """`12 s`, `3.5 min` or `1.2 h`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class SearchProgress:
    """Prints a search's progress; `enabled=False` prints nothing.

    `max_trials` is the number of trials the search runs at most (None: unknown, as for
    Hyperband); the estimate of the search's time left assumes the trials still to run
    take as long as the finished ones did on average (the current one, before any ended).
    """

    def __init__(self, objective: str, max_trials: int | None, enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        self.objective = objective
        self.max_trials = max_trials
        self.enabled = enabled
        self.stream = stream
        self.trial_seconds: list[float] = []
        self.number = 0
        self.trial_id = ""
        self.values: dict[str, Any] = {}
        self.epochs = 0
        self.started = 0.0

    def _print(self, line: str) -> None:
        if self.enabled:
            print(line, file=self.stream or sys.stdout, flush=True)

    def begin_trial(self, trial_id: str, number: int, values: Mapping[str, Any], epochs: int) -> None:
        """Remember the trial that starts; its line is printed once its model is built."""
        self.trial_id, self.number, self.values, self.epochs = trial_id, number, dict(values), epochs
        self.started = time.monotonic()

    def _heading(self) -> str:
        total = f"/{self.max_trials}" if self.max_trials else ""
        return f"Trial {self.number}{total} (id {self.trial_id}): {format_values(self.values)}"

    def built(self, parameters: int) -> None:
        self._print(f"{self._heading()}; {parameters:,} parameters")

    def skipped(self, reason: str) -> None:
        self._print(f"{self._heading()}; skipped: {reason}")

    def end_trial(self, status: str, reason: str | None = None) -> None:
        seconds = time.monotonic() - self.started
        if status == "COMPLETED":
            self.trial_seconds.append(seconds)
        elif reason:
            self._print(f"  trial {self.trial_id} {status.lower()}: {reason}")

    def _search_left(self, trial_total: float, trial_left: float) -> str:
        if not self.max_trials:
            return ""
        finished = self.trial_seconds or [trial_total]
        later = max(0, self.max_trials - self.number) * sum(finished) / len(finished)
        return f", {format_seconds(trial_left + later)} in the search"

    def epoch_ended(self, epoch: int, logs: Mapping[str, Any], seconds: float) -> None:
        """One line for an epoch of the current trial (`epoch` counts from 1)."""
        value = logs.get(self.objective)
        score = "" if value is None else f"  {self.objective}={float(value):.6g}"
        per_epoch = (time.monotonic() - self.started) / max(1, epoch)
        trial_left = per_epoch * max(0, self.epochs - epoch)
        self._print(
            f"  epoch {epoch}/{self.epochs}{score}  {seconds:.1f} s  (about "
            f"{format_seconds(trial_left)} left in this trial"
            f"{self._search_left(per_epoch * self.epochs, trial_left)})"
        )

    def callback(self, initial_epoch: int = 0) -> keras.callbacks.Callback:
        """A Keras callback printing each epoch's line (place it after the objective's)."""
        return _EpochLines(self, initial_epoch)


class _EpochLines(keras.callbacks.Callback):
    def __init__(self, progress: SearchProgress, initial_epoch: int) -> None:
        super().__init__()
        self.progress = progress
        self.initial_epoch = initial_epoch
        self.epoch_started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.progress.epoch_ended(epoch + 1 - self.initial_epoch, logs or {},
                                  time.monotonic() - self.epoch_started)
