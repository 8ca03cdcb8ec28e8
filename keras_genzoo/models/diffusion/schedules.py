"""Noise schedules: how much signal is left at each noise level.

A schedule gives alpha_bar(u), the fraction of the signal's variance left at time
u in [0, 1]: x_u = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps. Two families, each in a
discrete form (T steps, as in Ho et al. 2020) and a continuous-time one:

- `linear`: betas rising linearly from 0.1 / T to 20 / T (1e-4 to 0.02 for T = 1000).
  Continuous: alpha_bar(u) = exp(-(0.1 u + 9.95 u^2)), the limit of the discrete form.
- `cosine` (Nichol and Dhariwal 2021): alpha_bar(u) = f(u) / f(0) with
  f(u) = cos((u + 0.008) / 1.008 * pi / 2)^2; the discrete betas are capped at 0.999.

Sampling and the likelihood bound always run on the grid u = i / T; `continuous`
schedules also train between grid points, on any u in [1 / T, 1).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from keras_genzoo.core.checks import check_choice, check_positive_int

SCHEDULES = ("linear", "cosine")
LINEAR_BETA_MIN, LINEAR_BETA_MAX = 0.1, 20.0
COSINE_OFFSET = 0.008
MAX_BETA = 0.999
#: alpha_bar never goes below this (the cosine schedule reaches 0 at u = 1), so the
#: predicted clean image stays finite.
MIN_ALPHA_BAR = 1e-9


class NoiseSchedule:
    """alpha_bar on the grid of `timesteps` steps and, for training, at any time u."""

    def __init__(self, kind: str = "linear", timesteps: int = 1000, continuous: bool = False) -> None:
        self.kind = check_choice(kind, SCHEDULES, "schedule")
        self.timesteps = check_positive_int(timesteps, "timesteps")
        if self.timesteps < 2:
            raise ValueError(f"timesteps must be at least 2, got {timesteps}.")
        self.continuous = bool(continuous)
        grid = np.arange(self.timesteps + 1) / self.timesteps
        if self.continuous:
            alpha_bar = self._closed_form(grid)
        else:
            alpha_bar = np.concatenate([[1.0], np.cumprod(1.0 - self._discrete_betas())])
        #: float64 alpha_bar at u = i / T, i = 0..T (alpha_bar[0] = 1).
        self.alpha_bar_grid = np.clip(alpha_bar, MIN_ALPHA_BAR, 1.0)

    def _discrete_betas(self) -> np.ndarray:
        steps = self.timesteps
        if self.kind == "linear":
            return np.linspace(LINEAR_BETA_MIN, LINEAR_BETA_MAX, steps) / steps
        grid = np.arange(steps + 1) / steps
        alpha_bar = self._closed_form(grid)
        return np.minimum(1.0 - alpha_bar[1:] / alpha_bar[:-1], MAX_BETA)

    def _closed_form(self, u: np.ndarray) -> np.ndarray:
        if self.kind == "linear":
            return np.exp(-(LINEAR_BETA_MIN * u + 0.5 * (LINEAR_BETA_MAX - LINEAR_BETA_MIN) * u**2))
        f = np.cos((u + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
        return f / math.cos(COSINE_OFFSET / (1 + COSINE_OFFSET) * math.pi / 2) ** 2

    def alpha_bar(self, u: tf.Tensor) -> tf.Tensor:
        """alpha_bar (float32) at times `u` (float32): exact on the grid; between grid
        points the closed form (continuous schedules only train there)."""
        u = tf.cast(u, tf.float32)
        if self.continuous:
            if self.kind == "linear":
                value = tf.exp(-(LINEAR_BETA_MIN * u + 0.5 * (LINEAR_BETA_MAX - LINEAR_BETA_MIN) * u**2))
            else:
                scale = math.cos(COSINE_OFFSET / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
                value = tf.cos((u + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2 / scale
            return tf.clip_by_value(value, MIN_ALPHA_BAR, 1.0)
        steps = tf.cast(tf.round(u * self.timesteps), tf.int32)
        return tf.gather(tf.constant(self.alpha_bar_grid, tf.float32), steps)

    def grid(self, steps: int) -> np.ndarray:
        """`steps` + 1 grid indices from T down to 0, evenly spaced (DDIM's sub-sequence)."""
        steps = check_positive_int(steps, "steps")
        if steps > self.timesteps:
            raise ValueError(f"steps must be at most the schedule's {self.timesteps} timesteps, got {steps}.")
        return np.round(np.linspace(self.timesteps, 0, steps + 1)).astype(np.int64)


__all__ = ["SCHEDULES", "NoiseSchedule"]
