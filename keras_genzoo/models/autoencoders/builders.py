"""Registered autoencoder builders: dense and convolutional, plain and denoising."""

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
)
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.registry import register_model
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


def _assemble(
    encoder: keras.Model,
    decoder: keras.Model,
    *,
    image_shape: tuple[int, int, int],
    value_range: Sequence[float],
    latent_dim: int,
    loss: Any,
    learning_rate: float,
    name: str,
    noise: dict[str, Any] | None = None,
) -> Autoencoder:
    feature_dim = math.prod(int(d) for d in encoder.outputs[0].shape[1:])
    parts = dict(
        encoder=encoder,
        bottleneck=_bottleneck(feature_dim, latent_dim),
        decoder=decoder,
        image_shape=image_shape,
        value_range=value_range,
        name=name,
    )
    model = Autoencoder(**parts) if noise is None else DenoisingAutoencoder(**parts, **noise)
    if not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}.")
    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss=loss)
    return model


def _dense(
    name: str, image_shape: Sequence[int], latent_dim: int, units: Any, activation: str,
    value_range: Sequence[float], loss: Any, learning_rate: float,
    noise: dict[str, Any] | None = None,
) -> Autoencoder:
    image_shape = check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    units = _widths(units, "units")
    out_activation = _output_activation(value_range)
    encoder = build_dense_encoder(image_shape, units, activation=activation)
    decoder = build_dense_decoder(
        image_shape, latent_dim, units[::-1], activation=activation,
        output_activation=out_activation,
    )
    return _assemble(
        encoder, decoder, image_shape=image_shape, value_range=value_range,
        latent_dim=latent_dim, loss=loss, learning_rate=learning_rate, name=name, noise=noise,
    )


def _conv(
    name: str, image_shape: Sequence[int], latent_dim: int, filters: Any, kernel_size: int,
    activation: str, value_range: Sequence[float], loss: Any, learning_rate: float,
    noise: dict[str, Any] | None = None,
) -> Autoencoder:
    image_shape = check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    filters = _widths(filters, "filters")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    out_activation = _output_activation(value_range)
    encoder = build_conv_encoder(
        image_shape, filters, kernel_size=kernel_size, activation=activation
    )
    decoder = build_conv_decoder(
        image_shape, latent_dim, filters[::-1], kernel_size=kernel_size,
        activation=activation, output_activation=out_activation,
    )
    return _assemble(
        encoder, decoder, image_shape=image_shape, value_range=value_range,
        latent_dim=latent_dim, loss=loss, learning_rate=learning_rate, name=name, noise=noise,
    )


def _noise(noise: str, noise_level: float, seed: int | None) -> dict[str, Any]:
    noise_level = check_noise(noise, noise_level)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}.")
    return {"noise": noise, "noise_level": noise_level, "seed": seed}


@register_model("ae_dense", family="autoencoder")
def ae_dense(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 16,
    units: Sequence[int] = (256, 128),
    activation: str = "relu",
    value_range: Sequence[float] = (0.0, 1.0),
    loss: Any = None,
    learning_rate: float = 1e-3,
) -> Autoencoder:
    """Dense autoencoder: MLP encoder, linear bottleneck, mirrored MLP decoder.

    `units` are the encoder's hidden widths (their number is the depth); the decoder
    uses them in reverse. `loss=None` picks `default_loss(value_range)`.
    """
    return _dense(
        "ae_dense", image_shape, latent_dim, units, activation, value_range, loss, learning_rate
    )


@register_model("ae_conv", family="autoencoder")
def ae_conv(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 16,
    filters: Sequence[int] = (32, 64),
    kernel_size: int = 3,
    activation: str = "relu",
    value_range: Sequence[float] = (0.0, 1.0),
    loss: Any = None,
    learning_rate: float = 1e-3,
) -> Autoencoder:
    """Convolutional autoencoder: strided conv encoder, dense bottleneck, transposed-conv decoder.

    Each entry of `filters` adds a stride-2 convolution (the decoder mirrors them);
    any image shape works. `loss=None` picks `default_loss(value_range)`.
    """
    return _conv(
        "ae_conv", image_shape, latent_dim, filters, kernel_size, activation, value_range,
        loss, learning_rate,
    )


@register_model("dae_dense", family="autoencoder")
def dae_dense(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 16,
    units: Sequence[int] = (256, 128),
    activation: str = "relu",
    value_range: Sequence[float] = (0.0, 1.0),
    noise: str = "gaussian",
    noise_level: float = DEFAULT_NOISE_LEVEL,
    seed: int | None = None,
    loss: Any = None,
    learning_rate: float = 1e-3,
) -> DenoisingAutoencoder:
    """Denoising dense autoencoder: corrupts its training inputs, learns to restore them.

    `noise` is "gaussian" (standard deviation `noise_level` x value range) or "masking"
    (each pixel hidden with probability `noise_level`); `seed` fixes the noise stream.
    """
    return _dense(
        "dae_dense", image_shape, latent_dim, units, activation, value_range, loss,
        learning_rate, noise=_noise(noise, noise_level, seed),
    )


@register_model("dae_conv", family="autoencoder")
def dae_conv(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 16,
    filters: Sequence[int] = (32, 64),
    kernel_size: int = 3,
    activation: str = "relu",
    value_range: Sequence[float] = (0.0, 1.0),
    noise: str = "gaussian",
    noise_level: float = DEFAULT_NOISE_LEVEL,
    seed: int | None = None,
    loss: Any = None,
    learning_rate: float = 1e-3,
) -> DenoisingAutoencoder:
    """Denoising convolutional autoencoder: corrupts its training inputs, learns to restore them.

    `noise` is "gaussian" (standard deviation `noise_level` x value range) or "masking"
    (each pixel hidden with probability `noise_level`); `seed` fixes the noise stream.
    """
    return _conv(
        "dae_conv", image_shape, latent_dim, filters, kernel_size, activation, value_range,
        loss, learning_rate, noise=_noise(noise, noise_level, seed),
    )
