"""Registered autoencoder builders: dense and convolutional, plain and denoising.

Every registered name is a row (`BUILDERS.variant`) over one build function, `_build`,
with its arguments declared once in `ARGUMENTS`: dense or conv body, denoising or not.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
from keras import layers

from keras_genzoo.core.blocks import (
    build_conv_decoder,
    build_conv_encoder,
    build_dense_decoder,
    build_dense_encoder,
    check_image_shape,
    check_input_shape,
)
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.data.corruption import DEFAULT_NOISE_LEVEL, check_noise
from keras_genzoo.models.autoencoders.model import Autoencoder, DenoisingAutoencoder

OUTPUT_ACTIVATIONS = {(0.0, 1.0): "sigmoid", (-1.0, 1.0): "tanh"}


def _widths(values: Any, what: str) -> tuple[int, ...]:
    if isinstance(values, int):
        values = (values,)
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{what} must be a non-empty list of positive integers, got {values!r}.")
    return tuple(check_positive_int(v, f"each entry of {what}") for v in values)


def _output_activation(value_range: Sequence[float]) -> str:
    key = tuple(float(v) for v in value_range)
    if key not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"Autoencoder builders support value_range (0, 1) or (-1, 1), got "
            f"{tuple(value_range)!r}. Scale your data to one of them."
        )
    return OUTPUT_ACTIVATIONS[key]


def _bottleneck(feature_dim: int, latent_dim: int) -> keras.Model:
    inputs = keras.Input((feature_dim,), name="bottleneck_input")
    codes = layers.Dense(latent_dim, name="latent")(inputs)
    return keras.Model(inputs, codes, name="bottleneck")


def _noise(noise: str, noise_level: float, seed: int | None) -> dict[str, Any]:
    noise_level = check_noise(noise, noise_level)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}.")
    return {"noise": noise, "noise_level": noise_level, "seed": seed}


def _build(
    *,
    name: str,
    body: str,
    denoising: bool,
    image_shape: Sequence[int],
    latent_dim: int,
    activation: str,
    value_range: Sequence[float],
    loss: Any,
    learning_rate: float,
    units: Any = None,
    filters: Any = None,
    kernel_size: int | None = None,
    noise: str | None = None,
    noise_level: float | None = None,
    seed: int | None = None,
) -> Autoencoder:
    """The one autoencoder builder: a `body` ("dense" or "conv") network, denoising or not."""
    corruption = _noise(noise, noise_level, seed) if denoising else None
    image_shape = check_input_shape(image_shape) if body == "dense" else check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    if body == "dense":
        widths, layout = _widths(units, "units"), {}
        build_encoder, build_decoder = build_dense_encoder, build_dense_decoder
    else:
        widths = _widths(filters, "filters")
        layout = {"kernel_size": check_positive_int(kernel_size, "kernel_size")}
        build_encoder, build_decoder = build_conv_encoder, build_conv_decoder
    output_activation = _output_activation(value_range)
    encoder = build_encoder(image_shape, widths, activation=activation, **layout)
    decoder = build_decoder(
        image_shape, latent_dim, widths[::-1], activation=activation,
        output_activation=output_activation, **layout,
    )
    feature_dim = math.prod(int(d) for d in encoder.outputs[0].shape[1:])
    parts = dict(
        encoder=encoder,
        bottleneck=_bottleneck(feature_dim, latent_dim),
        decoder=decoder,
        image_shape=image_shape,
        value_range=value_range,
        name=name,
    )
    model = Autoencoder(**parts) if corruption is None else DenoisingAutoencoder(**parts, **corruption)
    if not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}.")
    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss=loss)
    return model


#: Every argument of the autoencoder builders, in signature order; `only` marks the
#: variants that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("latent_dim", int, 16),
    Argument("units", Sequence[int], (256, 128), only={"body": "dense"}),
    Argument("filters", Sequence[int], (32, 64), only={"body": "conv"}),
    Argument("kernel_size", int, 3, only={"body": "conv"}),
    Argument("activation", str, "relu"),
    Argument("value_range", Sequence[float], (0.0, 1.0)),
    Argument("noise", str, "gaussian", only={"denoising": True}),
    Argument("noise_level", float, DEFAULT_NOISE_LEVEL, only={"denoising": True}),
    Argument("seed", int | None, None, only={"denoising": True}),
    Argument("loss", Any, None),
    Argument("learning_rate", float, 1e-3),
)
BUILDERS = BuilderTable("autoencoders", ARGUMENTS, _build, module=__name__, returns=Autoencoder)

ae_dense = BUILDERS.variant(
    "ae_dense",
    """Dense autoencoder: MLP encoder, linear bottleneck, mirrored MLP decoder.

    `units` are the encoder's hidden widths (their number is the depth); the decoder
    uses them in reverse. `loss=None` picks `default_loss(value_range)`.
    """,
    body="dense", denoising=False,
)
ae_conv = BUILDERS.variant(
    "ae_conv",
    """Convolutional autoencoder: strided conv encoder, dense bottleneck, transposed-conv decoder.

    Each entry of `filters` adds a stride-2 convolution (the decoder mirrors them);
    any image shape works. `loss=None` picks `default_loss(value_range)`.
    """,
    body="conv", denoising=False,
)
dae_dense = BUILDERS.variant(
    "dae_dense",
    """Denoising dense autoencoder: corrupts its training inputs, learns to restore them.

    `noise` is "gaussian" (standard deviation `noise_level` x value range) or "masking"
    (each pixel hidden with probability `noise_level`); `seed` fixes the noise stream.
    """,
    body="dense", denoising=True, returns=DenoisingAutoencoder,
)
dae_conv = BUILDERS.variant(
    "dae_conv",
    """Denoising convolutional autoencoder: corrupts its training inputs, learns to restore them.

    `noise` is "gaussian" (standard deviation `noise_level` x value range) or "masking"
    (each pixel hidden with probability `noise_level`); `seed` fixes the noise stream.
    """,
    body="conv", denoising=True, returns=DenoisingAutoencoder,
)
