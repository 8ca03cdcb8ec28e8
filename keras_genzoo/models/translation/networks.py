"""The translation family's networks: a sub-pixel super-resolution generator (by default
a residual on the bicubic enlargement of its input), a U-Net
generator (with seeded dropout as its noise), and a PatchGAN discriminator.

The U-Net normalises per image (a group normalisation with one group), never over the
batch: a translation does not depend on the other images of its batch, and replicas of
a distributed step compute what one device computes.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
from keras import layers

from keras_genzoo.core.blocks import check_image_shape

#: Kernel size of the PatchGAN convolutions (the receptive fields follow from it).
PATCH_KERNEL = 4


@keras.saving.register_keras_serializable(package="keras_genzoo")
class PixelShuffle(layers.Layer):
    """Sub-pixel upsampling: (H, W, C * s * s) -> (H * s, W * s, C) (depth to space)."""

    def __init__(self, scale: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        s = self.scale
        return batch, height * s, width * s, channels // (s * s)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="keras_genzoo")
class SeededDropout(layers.Layer):
    """Dropout that is on in training and in translation alike (pix2pix's noise), drawn
    from the seed given with the batch: called on `[features, seeds]`, seeds (batch, 2)
    int32 whose first row seeds the whole batch, folded with this layer's `salt`."""

    def __init__(self, rate: float, salt: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.salt = int(salt)
        self.supports_masking = False

    def call(self, inputs):
        features, seeds = inputs
        seed = tf.random.experimental.stateless_fold_in(tf.cast(seeds[0], tf.int32), self.salt)
        keep = tf.random.stateless_uniform(tf.shape(features), seed) >= self.rate
        kept = features / tf.cast(1.0 - self.rate, features.dtype)
        return tf.where(keep, kept, tf.zeros_like(features))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "salt": self.salt}


def _to_range(x, value_range: Sequence[float], name: str):
    """tanh mapped onto [low, high]."""
    low, high = (float(v) for v in value_range)
    x = layers.Activation("tanh", dtype="float32", name=f"{name}_tanh")(x)
    return layers.Rescaling((high - low) / 2, offset=(high + low) / 2, name=f"{name}_range")(x)


def _norm(name: str):
    return layers.GroupNormalization(groups=1, name=name)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class ClipToRange(layers.Layer):
    """Values clipped to [low, high] (the gradient is zero where a value is clipped)."""

    def __init__(self, low: float, high: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.low, self.high = float(low), float(high)

    def call(self, inputs):
        return keras.ops.clip(inputs, self.low, self.high)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "low": self.low, "high": self.high}


def build_subpixel_generator(
    input_shape: Sequence[int],
    scale: int,
    *,
    filters: int = 32,
    residual_blocks: int = 2,
    output_channels: int | None = None,
    upsample_skip: bool = True,
    value_range: Sequence[float] = (-1.0, 1.0),
    name: str = "generator",
) -> keras.Model:
    """Low-resolution image -> image `scale` times larger (EDSR-like): a convolution,
    `residual_blocks` residual blocks (conv, ReLU, conv, added back), a long skip, then a
    convolution to `scale`^2 times the output channels rearranged by `PixelShuffle`.

    With `upsample_skip` (a global residual, as in VDSR) the output is the bicubic
    enlargement of the input plus what the network adds, clipped to `value_range`; the
    sub-pixel convolution starts at zero, so a new network is exactly bicubic inside the
    range and learns only the detail bicubic misses. The range is kept by clipping, not
    by tanh: tanh on top of the bicubic base would squash it (a zero residual would no
    longer give bicubic, and reaching the ends of the range, such as a digit's flat
    background, would need an unbounded residual). The skip needs as many output channels
    as input channels. Without it the network makes the whole image, mapped onto the
    range by tanh.
    """
    shape = check_image_shape(input_shape)
    channels = output_channels or shape[-1]
    if upsample_skip and channels != shape[-1]:
        raise ValueError(
            f"upsample_skip=True adds the bicubic enlargement of the input to the output, so the "
            f"input and output need the same channels; got {shape[-1]} input and {channels} output "
            "channels. Pass upsample_skip=False, or output_channels equal to the input's channels."
        )
    images = keras.Input(shape, name=f"{name}_images")
    stem = layers.Conv2D(filters, 3, padding="same", name=f"{name}_stem")(images)
    h = stem
    for i in range(residual_blocks):
        r = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_res{i}_a")(h)
        r = layers.Conv2D(filters, 3, padding="same", name=f"{name}_res{i}_b")(r)
        h = layers.Add(name=f"{name}_res{i}_add")([h, r])
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_body_out")(h)
    h = layers.Add(name=f"{name}_long_skip")([stem, h])
    start = {"kernel_initializer": "zeros", "bias_initializer": "zeros"} if upsample_skip else {}
    h = layers.Conv2D(channels * scale * scale, 3, padding="same", name=f"{name}_subpixel", **start)(h)
    h = PixelShuffle(scale, name=f"{name}_shuffle")(h)
    if not upsample_skip:
        return keras.Model(images, _to_range(h, value_range, name), name=name)
    base = layers.Resizing(
        shape[0] * scale, shape[1] * scale, interpolation="bicubic", dtype="float32", name=f"{name}_bicubic"
    )(images)
    h = layers.Add(dtype="float32", name=f"{name}_upsample_skip")([base, h])
    low, high = (float(v) for v in value_range)
    return keras.Model(images, ClipToRange(low, high, dtype="float32", name=f"{name}_range")(h), name=name)


def halvings(image_shape: Sequence[int]) -> int:
    """How many times the height and width of an image both halve evenly."""
    height, width = int(image_shape[0]), int(image_shape[1])
    count = 0
    while height % 2 == 0 and width % 2 == 0 and height > 1 and width > 1:
        height, width, count = height // 2, width // 2, count + 1
    return count


def build_unet_generator(
    input_shape: Sequence[int],
    output_channels: int,
    filters: Sequence[int] = (32, 64),
    *,
    dropout: float = 0.0,
    value_range: Sequence[float] = (-1.0, 1.0),
    name: str = "generator",
) -> keras.Model:
    """Image -> image of the same size: a U-Net, one stride-2 level per width of
    `filters`, with skip connections. With `dropout` > 0 the innermost half of the
    decoder levels drop features in training and translation alike, from seeds the
    model passes as a second input `[images, seeds]` (seeds (batch, 2) int32)."""
    shape = check_image_shape(input_shape)
    filters = [int(f) for f in filters]
    levels = halvings(shape)
    if not filters or len(filters) > levels:
        raise ValueError(
            f"A U-Net on {shape[0]}x{shape[1]} images has at most {levels} levels (the times "
            f"both sides halve evenly), got filters={filters} ({len(filters)} levels). Give "
            f"1 to {levels} widths, or crop or pad the images to a size that halves more often."
        )
    images = keras.Input(shape, name=f"{name}_images")
    inputs = [images]
    seeds = None
    if dropout:
        seeds = keras.Input((2,), dtype="int32", name=f"{name}_seeds")
        inputs.append(seeds)
    h = layers.Conv2D(filters[0], 3, padding="same", name=f"{name}_stem")(images)
    h = layers.LeakyReLU(0.2, name=f"{name}_stem_act")(h)
    skips = []
    for i, width in enumerate(filters):
        skips.append(h)
        h = layers.Conv2D(width, 4, strides=2, padding="same", name=f"{name}_down{i}")(h)
        h = _norm(f"{name}_down{i}_norm")(h)
        h = layers.LeakyReLU(0.2, name=f"{name}_down{i}_act")(h)
    for i in reversed(range(len(filters))):
        width = filters[i - 1] if i else filters[0]
        h = layers.UpSampling2D(2, name=f"{name}_up{i}_resize")(h)
        h = layers.Conv2D(width, 3, padding="same", name=f"{name}_up{i}")(h)
        h = _norm(f"{name}_up{i}_norm")(h)
        if seeds is not None and i >= len(filters) // 2:
            h = SeededDropout(dropout, salt=i, name=f"{name}_up{i}_dropout")([h, seeds])
        h = layers.ReLU(name=f"{name}_up{i}_act")(h)
        h = layers.Concatenate(name=f"{name}_up{i}_skip")([h, skips[i]])
    h = layers.Conv2D(output_channels, 3, padding="same", name=f"{name}_out")(h)
    return keras.Model(inputs if seeds is not None else images, _to_range(h, value_range, name), name=name)


def patch_receptive_field(downsamplings: int) -> int:
    """The receptive field (pixels) of a PatchGAN with `downsamplings` stride-2 layers,
    then a stride-1 layer and the stride-1 output layer, all of kernel 4."""
    field = 1
    for stride in reversed([2] * downsamplings + [1, 1]):
        field = (field - 1) * stride + PATCH_KERNEL
    return field


RECEPTIVE_FIELDS = tuple(patch_receptive_field(n) for n in range(6))  # 7, 16, 34, 70, 142, 286


def build_patch_discriminator(
    image_shape: Sequence[int],
    *,
    condition_shape: Sequence[int] | None = None,
    receptive_field: int = 16,
    filters: int = 32,
    name: str = "discriminator",
) -> keras.Model:
    """Image -> a map of raw scores, one per patch of `receptive_field` pixels
    (PatchGAN). With `condition_shape` it scores `[condition, image]` pairs, the two
    joined along the channels (pix2pix's conditional discriminator). It has no
    normalisation layer: one score depends on its patch alone, not on statistics of the
    whole image."""
    shape = check_image_shape(image_shape)
    if receptive_field not in RECEPTIVE_FIELDS:
        raise ValueError(
            f"receptive_field must be one of {list(RECEPTIVE_FIELDS)} (pixels seen by one "
            f"score of a PatchGAN with 0, 1, 2, ... downsampling layers), got {receptive_field!r}."
        )
    downsamplings = RECEPTIVE_FIELDS.index(receptive_field)
    images = keras.Input(shape, name=f"{name}_images")
    inputs = [images]
    h = images
    if condition_shape is not None:
        condition = keras.Input(check_image_shape(condition_shape), name=f"{name}_condition")
        inputs = [condition, images]
        h = layers.Concatenate(name=f"{name}_join")([condition, images])
    for i in range(downsamplings + 1):
        width = filters * 2 ** min(i, 3)
        stride = 2 if i < downsamplings else 1
        h = layers.Conv2D(width, PATCH_KERNEL, strides=stride, padding="same", name=f"{name}_conv{i}")(h)
        h = layers.LeakyReLU(0.2, name=f"{name}_conv{i}_act")(h)
    scores = layers.Conv2D(1, PATCH_KERNEL, padding="same", dtype="float32", name=f"{name}_scores")(h)
    return keras.Model(inputs if len(inputs) > 1 else images, scores, name=name)
