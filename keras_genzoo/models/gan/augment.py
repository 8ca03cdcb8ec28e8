"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for GANs on little data.

The same random transformations are applied to the real and the generated images
before the discriminator sees them, in the training step only. Every operation is
differentiable in the images, so the generator learns through them, and the
discriminator cannot memorise a small training set. A policy is a tuple of operations,
applied in this order:

- `color`: random brightness, saturation and contrast (colour images only);
- `translation`: a shift of up to 1/8 of the image size, the border filled with the
  middle of the value range;
- `cutout`: a square of half the image size set to the middle of the value range.

`augment="auto"` (the GAN builders' default) turns on `translation,cutout` (and
`color` for RGB images) when the model trains on fewer than `AUTO_MAX_IMAGES` images of
at least `AUTO_MIN_SIZE` pixels a side, and leaves augmentation off otherwise.
"""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

OPERATIONS = ("color", "translation", "cutout")
AUTO = "auto"
#: "auto" augments training sets smaller than this.
AUTO_MAX_IMAGES = 1000
#: "auto" leaves images smaller than this (height or width) alone: shifting or cutting
#: an 8x8 digit or a (1, 1, D) point destroys it.
AUTO_MIN_SIZE = 16
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def check_policy(augment: Any) -> str | tuple[str, ...]:
    """`"auto"`, or the tuple of operations of a policy: None, "none" or "" (no
    augmentation), a comma-separated string ("translation,cutout") or a sequence."""
    if augment == AUTO:
        return AUTO
    if augment is None or augment == "none":
        return ()
    names = augment.split(",") if isinstance(augment, str) else augment
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"augment must be 'auto', None or operations from {', '.join(OPERATIONS)} "
            f"(e.g. 'translation,cutout'), got {augment!r}."
        )
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in OPERATIONS]
    if unknown:
        raise ValueError(
            f"Unknown augmentation {', '.join(map(repr, unknown))}; augment takes 'auto', "
            f"None or operations from {', '.join(OPERATIONS)}, e.g. augment='translation,cutout'."
        )
    return tuple(op for op in OPERATIONS if op in names)


def auto_policy(num_images: int | None, image_shape: Sequence[int]) -> tuple[str, ...]:
    """The policy "auto" stands for: DiffAugment's for small sets of images large enough
    to shift and cut, nothing otherwise (or when the number of images is unknown)."""
    height, width, channels = image_shape
    if num_images is None or num_images >= AUTO_MAX_IMAGES or min(height, width) < AUTO_MIN_SIZE:
        return ()
    return ("color", "translation", "cutout") if channels == 3 else ("translation", "cutout")


def _uniform(shape: Any, seed: Any, index: int, low: Any = 0.0, high: Any = 1.0, dtype=tf.float32):
    return tf.random.stateless_uniform(
        shape, seed=tf.random.experimental.stateless_fold_in(seed, index),
        minval=low, maxval=high, dtype=dtype,
    )


def _color(x: tf.Tensor, seed: Any, value_range: Sequence[float]) -> tf.Tensor:
    low, high = value_range
    batch = (tf.shape(x)[0], 1, 1, 1)
    x = x + (_uniform(batch, seed, 0) - 0.5) * (high - low) / 2
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (_uniform(batch, seed, 1) * 2) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_uniform(batch, seed, 2) + 0.5) + mean


def _translation(x: tf.Tensor, seed: Any, fill: float) -> tf.Tensor:
    height, width = int(x.shape[1]), int(x.shape[2])
    pad_h, pad_w = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    if not pad_h and not pad_w:
        return x
    batch = tf.shape(x)[0]
    shift_y = _uniform((batch,), seed, 3, -pad_h, pad_h + 1, tf.int32)
    shift_x = _uniform((batch,), seed, 4, -pad_w, pad_w + 1, tf.int32)
    padded = tf.pad(x, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], constant_values=fill)
    rows = tf.range(height)[None, :] + pad_h - shift_y[:, None]
    cols = tf.range(width)[None, :] + pad_w - shift_x[:, None]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)


def _cutout(x: tf.Tensor, seed: Any, fill: float) -> tf.Tensor:
    height, width = int(x.shape[1]), int(x.shape[2])
    cut_h, cut_w = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    batch = tf.shape(x)[0]
    top = _uniform((batch,), seed, 5, 0, height + 1 - cut_h % 2, tf.int32) - cut_h // 2
    left = _uniform((batch,), seed, 6, 0, width + 1 - cut_w % 2, tf.int32) - cut_w // 2
    rows, cols = tf.range(height)[None, :], tf.range(width)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + cut_h)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + cut_w)
    cut = tf.cast(in_rows[:, :, None, None] & in_cols[:, None, :, None], x.dtype)
    return x * (1.0 - cut) + fill * cut


def diff_augment(
    images: Any, policy: Sequence[str], seed: Any, value_range: Sequence[float] = (-1.0, 1.0)
) -> tf.Tensor:
    """`images` (batch, height, width, channels) transformed by `policy`, differentiably.

    `seed` is a stateless seed (two integers): the same seed gives the same
    transformations, each image its own. Translation and cutout keep pixels inside
    `value_range`; colour changes, as in DiffAugment, are not clipped.
    """
    x = tf.convert_to_tensor(images)
    fill = (float(value_range[0]) + float(value_range[1])) / 2
    if "color" in policy and x.shape[-1] == 3:
        x = _color(x, seed, value_range)
    if "translation" in policy:
        x = _translation(x, seed, fill)
    if "cutout" in policy:
        x = _cutout(x, seed, fill)
    return x


__all__ = ["AUTO_MAX_IMAGES", "AUTO_MIN_SIZE", "OPERATIONS", "auto_policy", "check_policy", "diff_augment"]
