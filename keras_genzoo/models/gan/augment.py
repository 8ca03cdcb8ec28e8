"""Data-efficient discriminator augmentation for GANs on little data.

The same random transformations are applied to the real and the generated images
before the discriminator sees them, in the training step only. Every operation is
differentiable in the images, so the generator learns through them. Operations, applied
in this order:

- `color`: random brightness, saturation and contrast (colour images only);
- `translation`: an integer shift of up to 1/8 of the image size, the border filled
  with the middle of the value range;
- `cutout`: a square of half the image size set to the middle of the value range.

A policy (`Policy`) is either fixed or adaptive:

- fixed (DiffAugment, Zhao et al. 2020): every image gets every operation, e.g.
  `augment="translation,cutout"`;
- adaptive (ADA, Karras et al. 2020): each operation is applied to each image with a
  probability p, which starts at 0 and follows an overfitting signal of the
  discriminator during training (`AdaptiveProbability`). `augment="adaptive"` uses
  `ADAPTIVE_OPERATIONS` (colour and translation; no cutout, which hides most of a small
  object); `augment="adaptive:translation"` picks the operations. Flips are not offered:
  a mirrored picture is not a sample of every data set.

`augment="auto"` (the GAN builders' default) means the adaptive policy when the model
trains on fewer than `AUTO_MAX_IMAGES` images of at least `AUTO_MIN_SIZE` pixels a side,
and no augmentation otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import keras
import tensorflow as tf
from keras import ops

OPERATIONS = ("color", "translation", "cutout")
AUTO = "auto"
ADAPTIVE = "adaptive"
#: The operations of `augment="adaptive"` (and of "auto" on a small set).
ADAPTIVE_OPERATIONS = ("color", "translation")
#: "auto" augments training sets smaller than this.
AUTO_MAX_IMAGES = 1000
#: "auto" leaves images smaller than this (height or width) alone: shifting or cutting
#: an 8x8 digit or a (1, 1, D) point destroys it.
AUTO_MIN_SIZE = 16
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5
#: The adaptive policy raises p while more than this share of the real images is, in
#: E[sign(D(real))], on the real side of the discriminator's decision (the paper's r_t
#: target; 0.6 is a real accuracy of 0.8).
ADAPTIVE_TARGET = 0.6
#: The number of real images over which p may move by 1 (see `AdaptiveProbability`).
ADAPTIVE_SPEED_IMAGES = 64_000


@dataclass(frozen=True)
class Policy:
    """Augmentation operations, applied to every image (fixed) or to each image with the
    tracked probability p (adaptive). An empty policy augments nothing."""

    operations: tuple[str, ...] = ()
    adaptive: bool = False

    def __bool__(self) -> bool:
        return bool(self.operations)

    def spec(self) -> str | None:
        """The `augment` argument that gives this policy: None, "translation,cutout" or
        "adaptive:color,translation"."""
        if not self.operations:
            return None
        names = ",".join(self.operations)
        return f"{ADAPTIVE}:{names}" if self.adaptive else names


def _policy_error(detail: str) -> ValueError:
    return ValueError(
        f"{detail}; augment takes 'auto', None, 'adaptive', 'adaptive:' followed by operations, "
        f"or operations from {', '.join(OPERATIONS)}, e.g. augment='translation,cutout'."
    )


def _operations(augment: Any, names: Any) -> tuple[str, ...]:
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise _policy_error(f"augment must be a string or a sequence of strings, got {augment!r}")
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in OPERATIONS]
    if unknown:
        raise _policy_error(f"Unknown augmentation {', '.join(map(repr, unknown))}")
    return tuple(op for op in OPERATIONS if op in names)


def check_policy(augment: Any) -> str | Policy:
    """`"auto"`, or the `Policy` of an `augment` argument: None, "none" or "" (no
    augmentation); "adaptive" or "adaptive:translation,color" (adaptive probability);
    a comma-separated string ("translation,cutout") or a sequence of operations (fixed);
    or a `Policy`."""
    if isinstance(augment, Policy):
        return augment
    if augment == AUTO:
        return AUTO
    if augment is None or augment == "none":
        return Policy()
    if isinstance(augment, str) and augment.strip().split(":")[0].strip() == ADAPTIVE:
        _, colon, names = augment.partition(":")
        operations = _operations(augment, names.split(",")) if colon else ADAPTIVE_OPERATIONS
        if not operations:
            raise _policy_error(f"{augment!r} names no operation after 'adaptive:'")
        return Policy(operations, adaptive=True)
    names = augment.split(",") if isinstance(augment, str) else augment
    return Policy(_operations(augment, names))


def auto_policy(num_images: int | None, image_shape: Sequence[int]) -> Policy:
    """The policy "auto" stands for: the adaptive policy (colour only for RGB images) for
    small sets of images large enough to shift, nothing otherwise (or when the number of
    images is unknown)."""
    height, width, channels = image_shape
    if num_images is None or num_images >= AUTO_MAX_IMAGES or min(height, width) < AUTO_MIN_SIZE:
        return Policy()
    operations = ADAPTIVE_OPERATIONS if channels == 3 else ("translation",)
    return Policy(operations, adaptive=True)


def _replica_sum(value: Any) -> Any:
    """`value` summed over the replicas of the current strategy (itself on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class AdaptiveProbability(keras.layers.Layer):
    """The augmentation probability p of an adaptive policy: a non-trainable variable,
    saved with the model, that starts at 0.

    After each training step `update` measures how sure the discriminator is about the
    real images it was trained on, r = E[sign(D(real) - threshold)] over the global
    batch (summed over replicas, so every replica makes the same change), and moves p
    up by batch / `speed_images` when r > `target` (the discriminator is overfitting),
    down by as much otherwise, clipped to [0, 1].

    Speed: the paper lets p cross [0, 1] in 500k images, a small share of runs of tens
    of millions of images. A small-folder run sees far fewer (2,000 steps at batch 64 are
    128k images), at which pace p could not pass 0.26. `speed_images` = 64,000 lets p
    cross [0, 1] in half such a run, 1,000 steps at batch 64: keras.io's gan_ada step
    of 1/1000 per batch.
    """

    def __init__(
        self, target: float = ADAPTIVE_TARGET, speed_images: float = ADAPTIVE_SPEED_IMAGES, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.target = float(target)
        if not -1.0 <= self.target < 1.0:
            raise ValueError(f"target is a value of E[sign(D(real))] in [-1, 1), got {target}.")
        self.speed_images = float(speed_images)
        if self.speed_images <= 0:
            raise ValueError(f"speed_images must be > 0, got {speed_images}.")
        self.probability = self.add_weight(
            shape=(), dtype="float32", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="augment_p",
        )
        self.built = True

    def update(self, real_scores: Any, threshold: Any = 0.0) -> Any:
        """Adjust p from the discriminator's scores (batch,) on the real images of a
        training step; returns the new p."""
        signs = ops.sign(ops.cast(real_scores, "float32") - ops.cast(threshold, "float32"))
        count = ops.cast(ops.shape(signs)[0], "float32")
        totals = _replica_sum(ops.stack([ops.sum(signs), count]))
        overfitting = totals[0] / ops.maximum(totals[1], 1.0)
        change = ops.sign(overfitting - self.target) * totals[1] / self.speed_images
        self.probability.assign(ops.clip(self.probability + change, 0.0, 1.0))
        return self.probability.value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target": self.target, "speed_images": self.speed_images}


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


def _sometimes(x: tf.Tensor, changed: tf.Tensor, seed: Any, index: int, probability: Any) -> tf.Tensor:
    """`changed` for each image with `probability`, `x` for the others."""
    if probability is None:
        return changed
    draw = _uniform((tf.shape(x)[0], 1, 1, 1), seed, index)
    return tf.where(draw < tf.cast(probability, tf.float32), changed, x)


def diff_augment(
    images: Any,
    policy: Sequence[str],
    seed: Any,
    value_range: Sequence[float] = (-1.0, 1.0),
    probability: Any = None,
) -> tf.Tensor:
    """`images` (batch, height, width, channels) transformed by the operations in
    `policy`, differentiably.

    `seed` is a stateless seed (two integers): the same seed gives the same
    transformations, each image its own. With `probability` (a scalar, maybe a tensor)
    each operation is applied to each image with that probability (0 leaves the images
    as they are); None applies every operation to every image. Translation and cutout
    keep pixels inside `value_range`; colour changes, as in DiffAugment, are not clipped.
    """
    x = tf.convert_to_tensor(images)
    fill = (float(value_range[0]) + float(value_range[1])) / 2
    if "color" in policy and x.shape[-1] == 3:
        x = _sometimes(x, _color(x, seed, value_range), seed, 7, probability)
    if "translation" in policy:
        x = _sometimes(x, _translation(x, seed, fill), seed, 8, probability)
    if "cutout" in policy:
        x = _sometimes(x, _cutout(x, seed, fill), seed, 9, probability)
    return x


__all__ = [
    "ADAPTIVE_OPERATIONS",
    "AUTO_MAX_IMAGES",
    "AUTO_MIN_SIZE",
    "OPERATIONS",
    "AdaptiveProbability",
    "Policy",
    "auto_policy",
    "check_policy",
    "diff_augment",
]
