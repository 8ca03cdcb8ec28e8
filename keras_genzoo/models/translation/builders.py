"""The registered translation models: rows of one variant table (`BUILDERS.variant`,
arguments in `ARGUMENTS`).

`image_shape` is the shape of the images a model makes (the targets); its inputs are
`scale` times smaller for the super-resolution models, and have `input_channels`
channels for pix2pix. Pixels are in [-1, 1] (`scale="symmetric"` when loading data).
"""

from __future__ import annotations

from typing import Sequence

import keras

from keras_genzoo.core.blocks import check_image_shape
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.translation.model import AdversarialTranslator, CycleGAN, PairedTranslator
from keras_genzoo.models.translation.networks import (
    build_patch_discriminator,
    build_subpixel_generator,
    build_unet_generator,
)

SYMMETRIC_RANGE = (-1.0, 1.0)
SCALES = (2, 3, 4)


def _adam(learning_rate: float, beta_1: float, role: str) -> keras.optimizers.Adam:
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, name=role)


def low_resolution_shape(image_shape: Sequence[int], scale: int) -> tuple[int, int, int]:
    """The input shape of a super-resolution model making `image_shape` images."""
    height, width, channels = check_image_shape(image_shape)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {list(SCALES)}, got {scale!r}.")
    if height % scale or width % scale:
        raise ValueError(
            f"scale {scale} does not divide the image size {height}x{width} (height x width): "
            "the low-resolution inputs would not have a whole size. Use a scale that divides "
            "it, or crop the images (pair_dataset(..., crop=...))."
        )
    return height // scale, width // scale, channels


def _build(
    *,
    name: str,
    subpixel: bool,
    adversarial: bool,
    unpaired: bool,
    image_shape: Sequence[int],
    learning_rate: float,
    seed: int | None,
    input_channels: int | None = None,
    scale: int = 2,
    filters: int = 32,
    residual_blocks: int = 2,
    upsample_skip: bool = True,
    generator_filters: Sequence[int] = (32, 64),
    dropout: float = 0.0,
    reconstruction: str = "l1",
    discriminator_filters: int = 32,
    receptive_field: int = 16,
    adversarial_loss: str = "least_squares",
    adversarial_weight: float = 0.01,
    cycle_weight: float = 10.0,
    identity_weight: float = 5.0,
    pool_size: int = 50,
    beta_1: float = 0.9,
):
    """The one translation builder (see the variants below)."""
    shape = check_image_shape(image_shape)
    if unpaired:
        generators = [
            build_unet_generator(shape, shape[-1], generator_filters, value_range=SYMMETRIC_RANGE,
                                 name=f"generator_{pair}")
            for pair in ("ab", "ba")
        ]
        discriminators = [
            build_patch_discriminator(shape, receptive_field=receptive_field,
                                      filters=discriminator_filters, name=f"discriminator_{domain}")
            for domain in ("a", "b")
        ]
        model = CycleGAN(
            *generators, *discriminators, cycle_weight=cycle_weight, identity_weight=identity_weight,
            pool_size=pool_size, value_range=SYMMETRIC_RANGE, seed=seed, name=name,
        )
    else:
        if subpixel:
            source = low_resolution_shape(shape, scale)
            generator = build_subpixel_generator(
                source, scale, filters=filters, residual_blocks=residual_blocks,
                upsample_skip=upsample_skip, value_range=SYMMETRIC_RANGE,
            )
        else:
            source = (*shape[:2], int(input_channels or shape[-1]))
            generator = build_unet_generator(
                source, shape[-1], generator_filters, dropout=dropout, value_range=SYMMETRIC_RANGE
            )
        settings = dict(reconstruction=reconstruction, value_range=SYMMETRIC_RANGE, seed=seed, name=name)
        if not adversarial:
            model = PairedTranslator(generator, **settings)
            model.compile(optimizer=_adam(learning_rate, beta_1, "optimizer"))
            return model
        discriminator = build_patch_discriminator(
            shape, condition_shape=None if subpixel else source, receptive_field=receptive_field,
            filters=discriminator_filters,
        )
        model = AdversarialTranslator(
            generator, discriminator, adversarial_loss=adversarial_loss,
            adversarial_weight=adversarial_weight, **settings,
        )
    model.compile(
        d_optimizer=_adam(learning_rate, beta_1, "d_optimizer"),
        g_optimizer=_adam(learning_rate, beta_1, "g_optimizer"),
    )
    return model


_PAIRED = {"unpaired": False}
_SUBPIXEL = {"subpixel": True}
_UNET = {"subpixel": False}
_PAIRED_ADVERSARIAL = {"adversarial": True, "unpaired": False}

#: Every argument of the translation builders, in signature order; `only` marks the
#: variants that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("input_channels", int | None, None, only={"subpixel": False, "unpaired": False}),
    Argument("scale", int, 2, only=_SUBPIXEL),
    Argument("filters", int, 32, only=_SUBPIXEL),
    Argument("residual_blocks", int, 2, only=_SUBPIXEL),
    Argument("upsample_skip", bool, True, only=_SUBPIXEL),
    Argument("generator_filters", Sequence[int], (32, 64), only=_UNET),
    Argument("dropout", float, 0.5, only={"subpixel": False, "unpaired": False}),
    Argument("reconstruction", str, "l1", only=_PAIRED),
    Argument("discriminator_filters", int, 32, only={"adversarial": True}),
    Argument("receptive_field", int, 16, only={"adversarial": True}),
    Argument("adversarial_loss", str, "least_squares", only=_PAIRED_ADVERSARIAL),
    Argument("adversarial_weight", float, 0.01, only=_PAIRED_ADVERSARIAL),
    Argument("cycle_weight", float, 10.0, only={"unpaired": True}),
    Argument("identity_weight", float, 5.0, only={"unpaired": True}),
    Argument("pool_size", int, 50, only={"unpaired": True}),
    Argument("learning_rate", float, 2e-4),
    Argument("beta_1", float, 0.5),
    Argument("seed", int | None, None),
)
BUILDERS = BuilderTable("translation", ARGUMENTS, _build, module=__name__, returns=PairedTranslator)

super_resolution = BUILDERS.variant(
    "super_resolution",
    """Super-resolution by a sub-pixel (pixel-shuffle) network, EDSR-like: inputs `scale`
    (2, 3 or 4) times smaller than `image_shape`, `residual_blocks` residual blocks of
    `filters` channels, trained on the L1 or L2 (`reconstruction`) pixel loss. With
    `upsample_skip` (the default) the network learns a residual added to the bicubic
    enlargement of its input and clipped to [-1, 1], and starts as bicubic exactly;
    `upsample_skip=False` makes the whole image through tanh.

    Train it on (low-resolution, image) pairs in [-1, 1], e.g.
    `make_pairs(images, "downsample", factor=scale)` of `keras_genzoo.data.pairs`.
    """,
    subpixel=True, adversarial=False, unpaired=False,
    defaults={"learning_rate": 1e-3, "beta_1": 0.9},
)
srgan = BUILDERS.variant(
    "srgan",
    """SRGAN: the `super_resolution` network (with its bicubic `upsample_skip` by
    default) plus a PatchGAN discriminator on its outputs;
    the generator minimises its pixel loss plus `adversarial_weight` times the adversarial
    loss. Two optimizers (`d_optimizer`, `g_optimizer`).
    """,
    subpixel=True, adversarial=True, unpaired=False, returns=AdversarialTranslator,
    defaults={"adversarial_weight": 1e-3},
)
pix2pix = BUILDERS.variant(
    "pix2pix",
    """pix2pix: a U-Net generator (one level per width of `generator_filters`; dropout of
    rate `dropout` in its inner levels is the noise, in training and translation) against
    a conditional PatchGAN that scores (input, image) pairs over patches of
    `receptive_field` pixels; L1 plus `adversarial_weight` times the adversarial loss.

    Train it on (input, target) pairs in [-1, 1] of the same height and width, e.g.
    `make_pairs(images, "edges")` (sketch to image); `input_channels` is the inputs'
    number of channels (default: the images').
    """,
    subpixel=False, adversarial=True, unpaired=False, returns=AdversarialTranslator,
)
unet_translator = BUILDERS.variant(
    "unet_translator",
    """pix2pix's U-Net generator alone, trained on the L1 or L2 (`reconstruction`) pixel
    loss, no discriminator: the baseline that shows what pix2pix's adversarial term adds.

    Train it on (input, target) pairs in [-1, 1] of the same height and width, as
    `pix2pix`; with `dropout` > 0 its translations draw noise from `seed` as pix2pix's do.
    """,
    subpixel=False, adversarial=False, unpaired=False, defaults={"learning_rate": 2e-4},
)
cyclegan = BUILDERS.variant(
    "cyclegan",
    """CycleGAN: unpaired translation between two domains of one image shape, two U-Net
    generators and two PatchGANs (least squares), cycle-consistency and identity losses
    and a history of `pool_size` translations for the discriminators.

    Train it on (a, b) batches in [-1, 1] (`unpaired_dataset` of
    `keras_genzoo.data.pairs`); `translate(images, direction="a_to_b" | "b_to_a")`.
    """,
    subpixel=False, adversarial=True, unpaired=True, returns=CycleGAN,
)
