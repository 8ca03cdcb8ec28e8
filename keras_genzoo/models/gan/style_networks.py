"""The networks of a style-based generator: the mapping network z -> w, the synthesis
network (per-layer styles, per-layer noise) -> image, and the generator joining them.

The synthesis network starts from a learned constant of at most 7x7 pixels and doubles
it until it covers the image, then crops the bottom and right edges to the exact shape
(8x8 digits: 4 -> 8; 28x28: 7 -> 14 -> 28; 32x32: 4 -> 8 -> 16 -> 32). Each level has two
modulated convolutions (the first level one), each followed by noise, a bias and a
leaky ReLU; each level's image output (toRGB) is added to the upsampled image of the
levels before (StyleGAN2's skip architecture).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import keras
from keras import layers

from keras_genzoo.core.blocks import check_image_shape
from keras_genzoo.models.gan.style_layers import (
    BiasActivation,
    BroadcastStyles,
    ConstantInput,
    EqualizedDense,
    ModulatedConv2D,
    NoiseInjection,
    NormalizeLatent,
    ToImage,
)

#: The largest side of the learned constant.
MAX_START_SIZE = 7
#: The mapping network learns 100 times slower than the synthesis network (StyleGAN).
MAPPING_LR_MULTIPLIER = 0.01


@dataclasses.dataclass(frozen=True)
class SynthesisPlan:
    """Sizes of the synthesis network for one image shape."""

    image_shape: tuple[int, int, int]
    start: tuple[int, int]
    doublings: int

    @property
    def num_convolutions(self) -> int:
        return 1 + 2 * self.doublings

    @property
    def num_styles(self) -> int:
        """Styles per image: one per convolution and one for the last image output."""
        return self.num_convolutions + 1

    def level_of_style(self, index: int) -> int:
        """The resolution level (0: the constant's) whose convolutions use style `index`."""
        return (index + 1) // 2 if index < self.num_convolutions else self.doublings

    def noise_sizes(self) -> list[tuple[int, int]]:
        """(height, width) of the noise image of each convolution, in order."""
        sizes = []
        for index in range(self.num_convolutions):
            scale = 2 ** self.level_of_style(index)
            sizes.append((self.start[0] * scale, self.start[1] * scale))
        return sizes


def synthesis_plan(image_shape: Sequence[int]) -> SynthesisPlan:
    """The start size and number of doublings that cover `image_shape`."""
    shape = check_image_shape(image_shape)
    largest = max(shape[:2])
    doublings = math.ceil(math.log2(largest / MAX_START_SIZE)) if largest > MAX_START_SIZE else 0
    scale = 2**doublings
    start = (math.ceil(shape[0] / scale), math.ceil(shape[1] / scale))
    return SynthesisPlan(shape, start, doublings)


def build_mapping_network(
    latent_dim: int,
    style_dim: int,
    depth: int = 4,
    *,
    num_classes: int | None = None,
    name: str = "mapping",
) -> keras.Model:
    """z (normalised) [and a class embedding, normalised] -> w through `depth` dense
    leaky-ReLU layers with an equalised, 100-fold slower learning rate."""
    if int(depth) < 1:
        raise ValueError(f"mapping_layers must be at least 1, got {depth}.")
    latent = keras.Input((int(latent_dim),), name=f"{name}_latent")
    x = NormalizeLatent(name=f"{name}_normalize_latent")(latent)
    inputs = [latent]
    if num_classes is not None:
        label = keras.Input((1,), dtype="int32", name=f"{name}_label")
        embedded = layers.Flatten(name=f"{name}_label_flat")(
            layers.Embedding(int(num_classes), int(latent_dim), name=f"{name}_label_embedding")(label)
        )
        embedded = NormalizeLatent(name=f"{name}_normalize_label")(embedded)
        x = layers.Concatenate(name=f"{name}_join")([x, embedded])
        inputs.append(label)
    for i in range(int(depth)):
        x = EqualizedDense(int(style_dim), lr_multiplier=MAPPING_LR_MULTIPLIER,
                           activation="leaky_relu", name=f"{name}_dense{i}")(x)
    return keras.Model(inputs if len(inputs) > 1 else latent, x, name=name)


def build_synthesis_network(
    image_shape: Sequence[int],
    style_dim: int,
    filters: Sequence[int] = (128, 64, 32),
    *,
    name: str = "synthesis",
) -> keras.Model:
    """[ws (num_styles, style_dim), noise_0, ..., noise_k] -> image (linear output).

    `filters` are the channels of each resolution level from the constant up; the last
    repeats for further levels.
    """
    plan = synthesis_plan(image_shape)
    if not filters or min(int(f) for f in filters) < 1:
        raise ValueError(f"synthesis_filters must be positive channel counts, got {filters!r}.")
    widths = [int(filters[min(level, len(filters) - 1)]) for level in range(plan.doublings + 1)]
    channels = plan.image_shape[2]
    ws = keras.Input((plan.num_styles, int(style_dim)), name=f"{name}_styles")
    noises = [keras.Input((h, w, 1), name=f"{name}_noise{i}") for i, (h, w) in enumerate(plan.noise_sizes())]

    def styled_convolution(x, index: int):
        width = widths[plan.level_of_style(index)]
        x = ModulatedConv2D(width, style_index=index, name=f"{name}_conv{index}")([x, ws])
        x = NoiseInjection(name=f"{name}_noise_strength{index}")([x, noises[index]])
        return BiasActivation(name=f"{name}_activation{index}")(x)

    x = ConstantInput(plan.start, widths[0], name=f"{name}_constant")(ws)
    x = styled_convolution(x, 0)
    image = ToImage(channels, style_index=1, name=f"{name}_to_image0")([x, ws])
    for level in range(1, plan.doublings + 1):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_upsample{level}")(x)
        x = styled_convolution(x, 2 * level - 1)
        x = styled_convolution(x, 2 * level)
        image = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_upsample_image{level}")(image)
        level_image = ToImage(channels, style_index=2 * level + 1, name=f"{name}_to_image{level}")([x, ws])
        image = layers.Add(name=f"{name}_skip{level}")([image, level_image])
    extra_h = plan.start[0] * 2**plan.doublings - plan.image_shape[0]
    extra_w = plan.start[1] * 2**plan.doublings - plan.image_shape[1]
    if extra_h or extra_w:
        image = layers.Cropping2D(((0, extra_h), (0, extra_w)), name=f"{name}_crop")(image)
    return keras.Model([ws, *noises], image, name=name)


def build_style_generator(
    image_shape: Sequence[int],
    latent_dim: int,
    style_dim: int,
    *,
    mapping_layers: int = 4,
    filters: Sequence[int] = (128, 64, 32),
    num_classes: int | None = None,
    name: str = "generator",
) -> keras.Model:
    """[z, (label,) noise_0, ..., noise_k] -> image: the mapping network's w, given to
    every synthesis layer. Style mixing and truncation use its two parts, the layers
    named "mapping" and "synthesis"."""
    plan = synthesis_plan(image_shape)
    mapping = build_mapping_network(latent_dim, style_dim, mapping_layers, num_classes=num_classes)
    synthesis = build_synthesis_network(image_shape, style_dim, filters)
    latent = keras.Input((int(latent_dim),), name=f"{name}_latent")
    inputs = [latent]
    if num_classes is not None:
        inputs.append(keras.Input((1,), dtype="int32", name=f"{name}_label"))
    noises = [keras.Input((h, w, 1), name=f"{name}_noise{i}") for i, (h, w) in enumerate(plan.noise_sizes())]
    w = mapping(inputs if len(inputs) > 1 else latent)
    ws = BroadcastStyles(plan.num_styles, name=f"{name}_broadcast_styles")(w)
    return keras.Model([*inputs, *noises], synthesis([ws, *noises]), name=name)
