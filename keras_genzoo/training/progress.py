"""What a run tells its user while it trains: its length at the start, a warning when
that is far too short, and one line per epoch."""

from __future__ import annotations

import math
import time

import keras

from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.notices import warn
from keras_genzoo.training.config import RunConfig


def run_length(config: RunConfig, steps_per_epoch: int) -> int:
    """The epochs a run trains: `config.epochs`, or with `config.steps` the whole epochs
    that hold that many optimizer steps (rounded up, so a resumed run stops where an
    uninterrupted one does)."""
    if config.steps is None:
        return config.epochs
    return max(1, math.ceil(config.steps / steps_per_epoch))


def announce(model: keras.Model, config: RunConfig, num_images: int, steps_per_epoch: int,
             epochs: int, verbose: int) -> None:
    """Print how long the run is; warn (also in the quiet command line) when it is
    shorter than the model's `min_training_steps`."""
    total = epochs * steps_per_epoch
    if verbose:
        print(f"Training {config.model} on {num_images} images: {steps_per_epoch} steps per "
              f"epoch (batch {config.batch_size}) x {epochs} epochs = {total} steps.", flush=True)
    needed = model.min_training_steps if isinstance(model, ZooModel) else 0
    if total < needed:
        warn(
            f"{config.model} trains for only {total} optimizer steps ({epochs} epochs of "
            f"{steps_per_epoch}); it needs at least {needed} to learn anything usable. "
            f"Train longer: --steps {needed} on the command line (steps={needed} in a run "
            "config), or more --epochs."
        )


def _value(value: float) -> str:
    return f"{value:.4g}"


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch: epoch k/N, steps, the logged values, seconds and the
    estimated time left (from the epochs this process has trained)."""

    def __init__(self, epochs: int, steps_per_epoch: int) -> None:
        super().__init__()
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self._started = self._epoch_started = 0.0
        self._done = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._started = time.perf_counter()
        self._done = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self._done += 1
        left = (now - self._started) / self._done * (self.epochs - epoch - 1)
        values = "  ".join(f"{k}={_value(float(v))}" for k, v in (logs or {}).items())
        print(f"epoch {epoch + 1}/{self.epochs}  {self.steps_per_epoch} steps  {values}  "
              f"{now - self._epoch_started:.1f} s  ~{left:.0f} s left", flush=True)
