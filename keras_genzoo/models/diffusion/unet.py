"""The denoising network: a U-Net for any image shape, conditioned on the noise level.

Residual blocks (GroupNorm, swish, 3x3 convolutions) take a sinusoidal embedding of
the noise level (and of the class, for a conditional model) as a per-channel bias;
self-attention runs at every level whose feature maps are at most `attention_size`
pixels a side. Images whose sides do not divide by 2^(levels - 1) are zero-padded at
the bottom and right on the way in and cropped on the way out, so 28x28, 8x8 and
odd sizes all build.

Inputs: `[noisy_images, times]` (times in [0, 1], shape (batch, 1)), plus `labels`
(batch, 1) int32 for a conditional network, where class `num_classes` means "no class"
(the unconditional branch of classifier-free guidance). Output: one prediction per
pixel, the shape of the images.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers, ops

from keras_genzoo.core.blocks import check_image_shape
from keras_genzoo.core.checks import check_positive_int

#: The noise level u in [0, 1] is embedded as u * TIME_SCALE, the step count of a
#: 1,000-step schedule, so the sinusoids span the usual range.
TIME_SCALE = 1000.0


@keras.saving.register_keras_serializable(package="keras_genzoo")
class SinusoidalEmbedding(layers.Layer):
    """Sines and cosines of `times * TIME_SCALE` at `dim // 2` geometric frequencies."""

    def __init__(self, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if dim < 2 or dim % 2:
            raise ValueError(f"The embedding size must be an even number >= 2, got {dim}.")
        self.dim = dim

    def call(self, times):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(times, "float32") * TIME_SCALE * frequencies[None, :]
        return ops.cast(ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def _groups(channels: int, groups: int) -> int:
    """The largest group count <= `groups` that divides `channels`."""
    return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


def _residual_block(x, embedding, width: int, groups: int, dropout: float, name: str):
    skip = x if x.shape[-1] == width else layers.Conv2D(width, 1, name=f"{name}_skip")(x)
    h = layers.GroupNormalization(_groups(x.shape[-1], groups), name=f"{name}_norm1")(x)
    h = layers.Activation("swish", name=f"{name}_act1")(h)
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(h)
    bias = layers.Dense(width, name=f"{name}_level")(embedding)
    h = layers.Add(name=f"{name}_add_level")([h, layers.Reshape((1, 1, width), name=f"{name}_bias")(bias)])
    h = layers.GroupNormalization(_groups(width, groups), name=f"{name}_norm2")(h)
    h = layers.Activation("swish", name=f"{name}_act2")(h)
    if dropout:
        h = layers.Dropout(dropout, name=f"{name}_dropout")(h)
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(h)
    return layers.Add(name=f"{name}_out")([skip, h])


def _attention_block(x, groups: int, heads: int, name: str):
    height, width, channels = x.shape[1:]
    h = layers.GroupNormalization(_groups(channels, groups), name=f"{name}_norm")(x)
    h = layers.Reshape((height * width, channels), name=f"{name}_tokens")(h)
    heads = max(h for h in range(1, heads + 1) if channels % h == 0)
    h = layers.MultiHeadAttention(heads, channels // heads, name=f"{name}_attention")(h, h)
    h = layers.Reshape((height, width, channels), name=f"{name}_map")(h)
    return layers.Add(name=f"{name}_out")([x, h])


def build_unet(
    image_shape: Sequence[int],
    *,
    widths: Sequence[int] = (64, 128, 128),
    blocks_per_level: int = 2,
    attention_size: int = 16,
    attention_heads: int = 4,
    groups: int = 8,
    dropout: float = 0.0,
    num_classes: int | None = None,
    name: str = "unet",
) -> keras.Model:
    """A U-Net predicting, per pixel, the noise (or v) of a noisy image at a noise level.

    `widths` are the channels of each resolution level (len(widths) levels, halving the
    size between them); `blocks_per_level` residual blocks per level on the way down
    (one more on the way up); `attention_size` 0 turns self-attention off.
    """
    height, width, channels = check_image_shape(image_shape)
    widths = [check_positive_int(w, "widths") for w in widths]
    if not widths:
        raise ValueError("widths must name at least one level, e.g. widths=(32, 64).")
    blocks_per_level = check_positive_int(blocks_per_level, "blocks_per_level")
    factor = 2 ** (len(widths) - 1)
    pad_h, pad_w = -height % factor, -width % factor

    noisy = keras.Input((height, width, channels), name="noisy_images")
    times = keras.Input((1,), name="times")
    inputs = [noisy, times]
    embed_dim = 4 * widths[0]
    embedding = SinusoidalEmbedding(widths[0], name="time_sinusoids")(times)
    embedding = layers.Dense(embed_dim, activation="swish", name="time_hidden")(embedding)
    embedding = layers.Dense(embed_dim, name="time_embedding")(embedding)
    if num_classes is not None:
        labels = keras.Input((1,), dtype="int32", name="labels")
        inputs.append(labels)
        classes = layers.Embedding(num_classes + 1, embed_dim, name="class_embedding")(labels)
        embedding = layers.Add(name="level_and_class")(
            [embedding, layers.Flatten(name="class_vector")(classes)]
        )
    embedding = layers.Activation("swish", name="embedding_act")(embedding)

    x = layers.ZeroPadding2D(((0, pad_h), (0, pad_w)), name="pad")(noisy) if pad_h or pad_w else noisy
    x = layers.Conv2D(widths[0], 3, padding="same", name="stem")(x)
    skips = [x]
    for level, level_width in enumerate(widths):
        for block in range(blocks_per_level):
            x = _residual_block(x, embedding, level_width, groups, dropout, f"down{level}_{block}")
            if max(x.shape[1:3]) <= attention_size:
                x = _attention_block(x, groups, attention_heads, f"down{level}_{block}_attn")
            skips.append(x)
        if level < len(widths) - 1:
            x = layers.Conv2D(level_width, 3, strides=2, padding="same", name=f"down{level}_halve")(x)
            skips.append(x)
    x = _residual_block(x, embedding, widths[-1], groups, dropout, "middle_0")
    if attention_size:
        x = _attention_block(x, groups, attention_heads, "middle_attn")
    x = _residual_block(x, embedding, widths[-1], groups, dropout, "middle_1")
    for level in reversed(range(len(widths))):
        for block in range(blocks_per_level + 1):
            x = layers.Concatenate(name=f"up{level}_{block}_concat")([x, skips.pop()])
            x = _residual_block(x, embedding, widths[level], groups, dropout, f"up{level}_{block}")
            if max(x.shape[1:3]) <= attention_size:
                x = _attention_block(x, groups, attention_heads, f"up{level}_{block}_attn")
        if level:
            x = layers.UpSampling2D(2, name=f"up{level}_double")(x)
            x = layers.Conv2D(widths[level - 1], 3, padding="same", name=f"up{level}_conv")(x)
    x = layers.GroupNormalization(_groups(widths[0], groups), name="out_norm")(x)
    x = layers.Activation("swish", name="out_act")(x)
    x = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="out_conv")(x)
    if pad_h or pad_w:
        x = layers.Cropping2D(((0, pad_h), (0, pad_w)), name="crop")(x)
    prediction = layers.Activation("linear", dtype="float32", name="prediction")(x)
    return keras.Model(inputs, prediction, name=name)


__all__ = ["SinusoidalEmbedding", "build_unet"]
