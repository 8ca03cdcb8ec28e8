"""The `tf.data` pipeline: scale, cache, shuffle, batch, then fresh random corruption per epoch.

Deterministic work (scaling) happens per image before the cache, so later epochs only
shuffle. Random work (dynamic binarisation, denoising noise) happens per batch after
the cache, seeded by a `tf.data.Dataset.random` stream that draws new numbers on every
pass over the data: each epoch sees new samples, and the same `seed` replays the same
sequence of epochs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_genzoo.data.corruption import corrupt

if TYPE_CHECKING:
    import tensorflow as tf


def scale_images(
    images: np.ndarray, max_value: float, value_range: tuple[float, float]
) -> np.ndarray:
    """Stored images (a white pixel is `max_value`) as float32 in `value_range`."""
    low, high = value_range
    factor = np.float32((high - low) / max_value)
    return images.astype(np.float32) * factor + np.float32(low)


def build_pipeline(
    images: np.ndarray,
    labels: np.ndarray | None,
    max_value: float,
    value_range: tuple[float, float],
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    binarize: bool,
    noise: str | None,
    noise_level: float,
    cache: bool | str,
    drop_remainder: bool,
) -> tf.data.Dataset:
    """A batched dataset of images, `(images, labels)` or `(noisy, clean)` pairs."""
    import tensorflow as tf

    low, high = value_range
    span = high - low
    factor = (high - low) / max_value

    def scale(x):
        return tf.cast(x, tf.float32) * factor + low

    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images).map(scale)
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).map(lambda x, y: (scale(x), y))
    if cache:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    if binarize or noise:

        def randomise(batch, draw):
            x = batch[0] if labels is not None else batch
            batch_seed = tf.stack([draw, tf.constant(0, tf.int64)])
            binarize_seed, noise_seed = tf.unstack(
                tf.random.experimental.stateless_split(batch_seed, 2)
            )
            clean = x
            if binarize:
                unit = (x - low) / span
                uniform = tf.random.stateless_uniform(tf.shape(unit), seed=binarize_seed)
                clean = tf.cast(uniform < unit, tf.float32) * span + low
            if labels is not None:
                return clean, batch[1]
            if noise is None:
                return clean
            return corrupt(clean, noise_seed, noise, noise_level, value_range), clean

        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, draws)).map(
            randomise, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    return ds.prefetch(tf.data.AUTOTUNE)
