"""The `tf.data` pipeline: scale, cache, shuffle, batch, then random corruption per batch.

Deterministic work (scaling) happens per image before the cache, so later epochs only
shuffle. Random work (dynamic binarisation, denoising noise) happens per batch after
the cache, seeded by a stream of random numbers. A training pipeline draws a new stream
on every pass over the data: each epoch sees new samples, and the same `seed` replays
the same sequence of epochs. A held-out pipeline draws once: every pass replays the
training stream's first pass, so evaluating it again, after any number of epochs or in
another process, sees the same images.

Every seed comes from `seed` alone, never from TensorFlow's global seed: `tf.data`
derives an operation's seeds from both, so the pipeline builds its random datasets with
the seeds `tf.data` would derive for operation seed `seed` under global seed `seed` (what
a run sets before loading its data).
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


#: `tf.data` takes seeds modulo this (the largest 32-bit signed integer).
_SEED_MODULUS = 2**31 - 1


def tf_data_seeds(seed: int) -> tuple[int, int]:
    """The two `tf.data` seeds of `seed`, whatever TensorFlow's global seed is: those
    `tf.data` derives for operation seed `seed` under global seed `seed`."""
    truncated = int(seed) % _SEED_MODULUS
    return (truncated, truncated) if truncated else (0, _SEED_MODULUS)


def random_numbers(seeds: tuple[int, int], fresh_each_pass: bool) -> tf.data.Dataset:
    """An endless dataset of random int64 numbers from `seeds`: a new sequence on every
    pass, or, with `fresh_each_pass=False`, the first pass's sequence on every pass."""
    import tensorflow as tf

    def numbers(first: int, second: int, fresh: bool) -> tf.data.Dataset:
        variant = tf.raw_ops.RandomDatasetV2(
            seed=tf.constant(first, tf.int64), seed2=tf.constant(second, tf.int64),
            seed_generator=tf.raw_ops.DummySeedGenerator(), output_types=[tf.int64],
            output_shapes=[[]], rerandomize_each_iteration=fresh,
        )
        return tf.data.experimental.from_variant(variant, tf.TensorSpec([], tf.int64))

    if fresh_each_pass:
        return numbers(*seeds, True)
    # Pass k of the fresh sequence is seeded by the k-th pair of numbers drawn from
    # `seeds`: the first pair seeds the first pass, replayed here on every pass.
    first_pair = [int(n) for n in numbers(*seeds, False).take(2)]
    return numbers(*first_pair, False)


def seeded_shuffle(
    ds: tf.data.Dataset, count: int, seeds: tuple[int, int], reshuffle: bool
) -> tf.data.Dataset:
    """`ds.shuffle(count, reshuffle_each_iteration=reshuffle)` seeded by `seeds` alone."""
    import tensorflow as tf

    parts = tf.nest.flatten(ds.element_spec)
    variant = tf.raw_ops.ShuffleDatasetV3(
        input_dataset=tf.data.experimental.to_variant(ds),
        buffer_size=tf.constant(count, tf.int64),
        seed=tf.constant(seeds[0], tf.int64), seed2=tf.constant(seeds[1], tf.int64),
        seed_generator=tf.raw_ops.DummySeedGenerator(),
        output_types=[p.dtype for p in parts], output_shapes=[p.shape for p in parts],
        reshuffle_each_iteration=reshuffle,
    )
    return tf.data.experimental.from_variant(variant, ds.element_spec)


def build_pipeline(
    images: np.ndarray,
    labels: np.ndarray | None,
    max_value: float,
    value_range: tuple[float, float],
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    fresh_each_pass: bool,
    binarize: bool,
    noise: str | None,
    noise_level: float,
    cache: bool | str,
    drop_remainder: bool,
) -> tf.data.Dataset:
    """A batched dataset of images, `(images, labels)` or `(noisy, clean)` pairs.

    `fresh_each_pass` (a training split) reshuffles and draws new binarisation and noise
    on every pass; without it (a held-out split) every pass is the first one again.
    """
    import tensorflow as tf

    low, high = value_range
    span = high - low
    factor = (high - low) / max_value
    seeds = tf_data_seeds(seed)

    def scale(x):
        return tf.cast(x, tf.float32) * factor + low

    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images).map(scale)
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).map(lambda x, y: (scale(x), y))
    if cache:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = seeded_shuffle(ds, len(images), seeds, reshuffle=fresh_each_pass)
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

        draws = random_numbers(seeds, fresh_each_pass)
        ds = tf.data.Dataset.zip((ds, draws)).map(
            randomise, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    return ds.prefetch(tf.data.AUTOTUNE)
