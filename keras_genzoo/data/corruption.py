"""Denoising noise: the one corruption that input pipelines and denoising models add.

`"gaussian"`: additive Gaussian noise with standard deviation `level` times the width of
the value range, clipped to the range. `"masking"`: each pixel set to the low end of
the range with probability `level`. Both draw from a stateless seed (2,), so the same
seed gives the same noise.
"""

from __future__ import annotations

from typing import Any, Sequence

from keras_genzoo.core.checks import check_choice

NOISE_KINDS = ("gaussian", "masking")
#: The noise level when none is given, for both kinds: a standard deviation of a quarter
#: of the value range, or a quarter of the pixels masked.
DEFAULT_NOISE_LEVEL = 0.25


def check_noise(noise: str, level: Any) -> float:
    """`level` as a float when it suits `noise`, else a ValueError saying why."""
    check_choice(noise, NOISE_KINDS, "noise")
    level = float(level)
    if noise == "masking" and not 0.0 < level < 1.0:
        raise ValueError(
            f"Masking noise_level is the probability of hiding a pixel and must lie "
            f"between 0 and 1, got {level!r}."
        )
    if noise == "gaussian" and not level > 0.0:
        raise ValueError(
            f"Gaussian noise_level is the noise standard deviation as a fraction of the "
            f"value range and must be positive, got {level!r}."
        )
    return level


def corrupt(
    images: Any, seed: Any, noise: str, level: float, value_range: Sequence[float]
) -> Any:
    """`images` (a float tensor) with `noise` of `level` drawn from the stateless `seed`."""
    import tensorflow as tf

    low, high = (float(v) for v in value_range)
    images = tf.convert_to_tensor(images)
    shape = tf.shape(images)
    if noise == "gaussian":
        draw = tf.random.stateless_normal(shape, seed, stddev=level * (high - low))
        return tf.clip_by_value(images + tf.cast(draw, images.dtype), low, high)
    masked = tf.random.stateless_uniform(shape, seed) < level
    return tf.where(masked, tf.cast(low, images.dtype), images)
