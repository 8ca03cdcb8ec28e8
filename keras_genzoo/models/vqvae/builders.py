"""Registered VQ-VAE builders: unconditional and class-conditional prior.

Both rows of the variant table call one build function, `_build`.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
from keras import layers

from keras_genzoo.core.blocks import check_image_shape, downsampled_size
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.vqvae.model import VQVAE
from keras_genzoo.models.vqvae.prior import build_code_prior

#: The value ranges the builders take. The decoder's output is linear: a sigmoid trained
#: on mean squared error saturates at the black background of digits and stops learning.
VALUE_RANGES = ((0.0, 1.0), (-1.0, 1.0))


def _widths(values: Any) -> tuple[int, ...]:
    if isinstance(values, int):
        values = (values,)
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"filters must be a non-empty list of positive integers, got {values!r}.")
    return tuple(check_positive_int(v, "each entry of filters") for v in values)


def build_grid_encoder(image_shape: Sequence[int], filters: Sequence[int], code_dim: int) -> keras.Model:
    """Stride-2 convolutions (one per entry of `filters`), then a 1 x 1 projection to a
    grid of `code_dim`-vectors."""
    inputs = keras.Input(tuple(image_shape), name="encoder_input")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 4, strides=2, padding="same", activation="relu",
                          name=f"encoder_conv{i}")(x)
    x = layers.Conv2D(filters[-1], 3, padding="same", activation="relu", name="encoder_mix")(x)
    x = layers.Conv2D(code_dim, 1, name="encoder_codes")(x)
    return keras.Model(inputs, x, name="encoder")


def build_grid_decoder(image_shape: Sequence[int], filters: Sequence[int], code_dim: int) -> keras.Model:
    """The mirror of `build_grid_encoder`: stride-2 transposed convolutions from the grid,
    cropped to `image_shape`, and a linear output (the model clips it to its range)."""
    height, width = downsampled_size(image_shape, len(filters))
    inputs = keras.Input((height, width, code_dim), name="decoder_input")
    x = layers.Conv2D(filters[-1], 3, padding="same", activation="relu", name="decoder_mix")(inputs)
    for i, f in enumerate(reversed(filters)):
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu",
                                   name=f"decoder_deconv{i}")(x)
    extra_h = height * 2 ** len(filters) - image_shape[0]
    extra_w = width * 2 ** len(filters) - image_shape[1]
    if extra_h or extra_w:
        x = layers.Cropping2D(((0, extra_h), (0, extra_w)), name="decoder_crop")(x)
    x = layers.Conv2D(image_shape[2], 3, padding="same", dtype="float32",
                      name="decoder_out")(x)
    return keras.Model(inputs, x, name="decoder")


def _build(
    *,
    name: str,
    conditional: bool,
    image_shape: Sequence[int],
    num_codes: int,
    code_dim: int,
    filters: Sequence[int],
    commitment_cost: float,
    ema: bool,
    decay: float,
    dead_code_threshold: float,
    restart_interval: int,
    prior_filters: int,
    prior_layers: int,
    prior_kernel_size: int,
    value_range: Sequence[float],
    learning_rate: float,
    num_classes: int | None = None,
) -> VQVAE:
    """The one VQ-VAE builder: encoder, quantiser, decoder and a (conditional) prior."""
    image_shape = check_image_shape(image_shape)
    key = tuple(float(v) for v in value_range)
    if key not in VALUE_RANGES:
        raise ValueError(f"value_range must be (0, 1) or (-1, 1), got {tuple(value_range)!r}.")
    if conditional:
        num_classes = check_positive_int(num_classes, "num_classes")
    widths = _widths(filters)
    code_dim = check_positive_int(code_dim, "code_dim")
    encoder = build_grid_encoder(image_shape, widths, code_dim)
    decoder = build_grid_decoder(image_shape, widths, code_dim)
    grid = downsampled_size(image_shape, len(widths))
    prior = build_code_prior(
        grid, num_codes, filters=prior_filters, num_layers=prior_layers, kernel_size=prior_kernel_size,
        num_classes=num_classes,
    )
    model = VQVAE(
        encoder, decoder, prior, num_codes=num_codes, commitment_cost=commitment_cost, ema=ema,
        decay=decay, dead_code_threshold=dead_code_threshold, restart_interval=restart_interval,
        num_classes=num_classes, image_shape=image_shape, value_range=key, name=name,
    )
    if not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}.")
    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)))
    return model


#: Every argument of the VQ-VAE builders, in signature order; `only` marks the variants
#: that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("num_classes", int, 10, only={"conditional": True}),
    Argument("num_codes", int, 64),
    Argument("code_dim", int, 16),
    Argument("filters", Sequence[int], (32, 64)),
    Argument("commitment_cost", float, 0.25),
    Argument("ema", bool, True),
    Argument("decay", float, 0.99),
    Argument("dead_code_threshold", float, 0.03),
    Argument("restart_interval", int, 100),
    Argument("prior_filters", int, 64),
    Argument("prior_layers", int, 5),
    Argument("prior_kernel_size", int, 3),
    Argument("value_range", Sequence[float], (0.0, 1.0)),
    Argument("learning_rate", float, 1e-3),
)
BUILDERS = BuilderTable("vqvae", ARGUMENTS, _build, module=__name__, returns=VQVAE)

vqvae = BUILDERS.variant(
    "vqvae",
    """VQ-VAE with a Gated PixelCNN prior over its code grid; compresses images to bytes.

    Each entry of `filters` halves the image (28 x 28 -> 7 x 7 with two); every grid
    position holds one of `num_codes` codes of `code_dim` values. `ema=True` updates
    the codebook by moving averages (`decay`), else by its gradient; codes used by less
    than `dead_code_threshold` / num_codes of the vectors restart every
    `restart_interval` steps. The prior has `prior_layers` gated layers of
    `prior_filters` maps.
    """,
    conditional=False,
)
vqvae_conditional = BUILDERS.variant(
    "vqvae_conditional",
    """VQ-VAE whose code prior is class-conditional: `generate(n, labels=...)` draws the
    requested classes and `compress` codes an image given its label (stored with it).
    Other arguments as in `vqvae`.
    """,
    conditional=True,
)
