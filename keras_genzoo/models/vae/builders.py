"""Registered builders: dense and convolutional VAEs, unconditional and conditional."""

from __future__ import annotations

from typing import Sequence

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
from keras_genzoo.models.vae.model import LIKELIHOODS, VAE


def _resolve_likelihood(likelihood: str, value_range: Sequence[float]) -> str:
    if likelihood not in ("auto", *LIKELIHOODS):
        raise ValueError(
            f"likelihood must be 'auto' or one of {LIKELIHOODS}, got {likelihood!r}."
        )
    if likelihood == "auto":
        return "bernoulli" if tuple(float(v) for v in value_range) == (0.0, 1.0) else "gaussian"
    return likelihood


def _check_widths(widths: Sequence[int], what: str) -> tuple[int, ...]:
    widths = tuple(widths)
    if not widths or any(isinstance(w, bool) or int(w) != w or w < 1 for w in widths):
        raise ValueError(
            f"{what} must be a non-empty sequence of positive integers, got {widths!r}."
        )
    return tuple(int(w) for w in widths)


def _conditional_encoder(features: keras.Model, image_shape, num_classes: int, latent_dim: int):
    """Image features joined with one-hot labels, projected to posterior statistics."""
    images = keras.Input(image_shape, name="encoder_images")
    labels = keras.Input((num_classes,), name="encoder_labels")
    joined = layers.Concatenate(name="encoder_join")([features(images), labels])
    stats = layers.Dense(2 * latent_dim, name="encoder_posterior")(joined)
    return keras.Model([images, labels], stats, name="encoder")


def _conditional_decoder(body: keras.Model, num_classes: int, latent_dim: int):
    """A decoder of [code, one-hot label] concatenated."""
    codes = keras.Input((latent_dim,), name="decoder_codes")
    labels = keras.Input((num_classes,), name="decoder_labels")
    joined = layers.Concatenate(name="decoder_join")([codes, labels])
    return keras.Model([codes, labels], body(joined), name="decoder")


def _assemble(
    encoder: keras.Model,
    decoder: keras.Model,
    *,
    image_shape,
    value_range,
    likelihood: str,
    decoder_std,
    beta: float,
    kl_warmup_steps: int,
    num_classes: int | None,
    learning_rate: float,
    seed: int | None,
    name: str,
) -> VAE:
    model = VAE(
        encoder,
        decoder,
        likelihood=likelihood,
        decoder_std=decoder_std,
        beta=beta,
        kl_warmup_steps=kl_warmup_steps,
        num_classes=num_classes,
        seed=seed,
        image_shape=image_shape,
        value_range=value_range,
        name=name,
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    return model


@register_model("vae_dense", family="vae")
def vae_dense(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    value_range: Sequence[float] = (0.0, 1.0),
    latent_dim: int = 16,
    units: Sequence[int] = (512, 256),
    likelihood: str = "auto",
    decoder_std: float | str = "learned",
    beta: float = 1.0,
    kl_warmup_steps: int = 0,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> VAE:
    """Dense VAE (MLP encoder and decoder) for any image shape; beta > 1 gives a beta-VAE.

    `units` are the encoder's hidden widths (the decoder mirrors them). The
    likelihood is Bernoulli for value_range (0, 1) and Gaussian otherwise unless set.
    """
    image_shape = check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    units = _check_widths(units, "units")
    encoder = build_dense_encoder(image_shape, units, output_dim=2 * latent_dim)
    decoder = build_dense_decoder(image_shape, latent_dim, units[::-1], output_activation=None)
    return _assemble(
        encoder, decoder, image_shape=image_shape, value_range=value_range,
        likelihood=_resolve_likelihood(likelihood, value_range), decoder_std=decoder_std,
        beta=beta, kl_warmup_steps=kl_warmup_steps, num_classes=None,
        learning_rate=learning_rate, seed=seed, name="vae_dense",
    )


@register_model("vae_conv", family="vae")
def vae_conv(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    value_range: Sequence[float] = (0.0, 1.0),
    latent_dim: int = 16,
    filters: Sequence[int] = (32, 64),
    likelihood: str = "auto",
    decoder_std: float | str = "learned",
    beta: float = 1.0,
    kl_warmup_steps: int = 0,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> VAE:
    """Convolutional VAE (strided convs down, transposed convs up) for any image shape.

    `filters` are the encoder's widths, one stride-2 convolution each (the decoder
    mirrors them). Likelihood as in `vae_dense`; beta > 1 gives a beta-VAE.
    """
    image_shape = check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    filters = _check_widths(filters, "filters")
    encoder = build_conv_encoder(image_shape, filters, output_dim=2 * latent_dim)
    decoder = build_conv_decoder(image_shape, latent_dim, filters[::-1], output_activation=None)
    return _assemble(
        encoder, decoder, image_shape=image_shape, value_range=value_range,
        likelihood=_resolve_likelihood(likelihood, value_range), decoder_std=decoder_std,
        beta=beta, kl_warmup_steps=kl_warmup_steps, num_classes=None,
        learning_rate=learning_rate, seed=seed, name="vae_conv",
    )


@register_model("cvae_dense", family="vae")
def cvae_dense(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    value_range: Sequence[float] = (0.0, 1.0),
    latent_dim: int = 2,
    units: Sequence[int] = (512, 256),
    likelihood: str = "auto",
    decoder_std: float | str = "learned",
    beta: float = 1.0,
    kl_warmup_steps: int = 0,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> VAE:
    """Conditional dense VAE: generates images of a requested class from label + noise.

    Trains on (images, labels); encoder and decoder both see the one-hot label. The
    small default latent leaves the class to the label: with larger latents the
    encoder also stores the class in z, and prior samples drift to other classes.
    """
    image_shape = check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    units = _check_widths(units, "units")
    num_classes = check_positive_int(num_classes, "num_classes")
    features = build_dense_encoder(image_shape, units, name="encoder_features")
    body = build_dense_decoder(
        image_shape, latent_dim + num_classes, units[::-1], output_activation=None,
        name="decoder_body",
    )
    return _assemble(
        _conditional_encoder(features, image_shape, num_classes, latent_dim),
        _conditional_decoder(body, num_classes, latent_dim),
        image_shape=image_shape, value_range=value_range,
        likelihood=_resolve_likelihood(likelihood, value_range), decoder_std=decoder_std,
        beta=beta, kl_warmup_steps=kl_warmup_steps, num_classes=num_classes,
        learning_rate=learning_rate, seed=seed, name="cvae_dense",
    )


@register_model("cvae_conv", family="vae")
def cvae_conv(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    value_range: Sequence[float] = (0.0, 1.0),
    latent_dim: int = 2,
    filters: Sequence[int] = (32, 64),
    likelihood: str = "auto",
    decoder_std: float | str = "learned",
    beta: float = 1.0,
    kl_warmup_steps: int = 0,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> VAE:
    """Conditional convolutional VAE: generates images of a requested class from label + noise.

    Trains on (images, labels); encoder and decoder both see the one-hot label. The
    default latent is small for the reason given in `cvae_dense`.
    """
    image_shape = check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    filters = _check_widths(filters, "filters")
    num_classes = check_positive_int(num_classes, "num_classes")
    features = build_conv_encoder(image_shape, filters, name="encoder_features")
    body = build_conv_decoder(
        image_shape, latent_dim + num_classes, filters[::-1], output_activation=None,
        name="decoder_body",
    )
    return _assemble(
        _conditional_encoder(features, image_shape, num_classes, latent_dim),
        _conditional_decoder(body, num_classes, latent_dim),
        image_shape=image_shape, value_range=value_range,
        likelihood=_resolve_likelihood(likelihood, value_range), decoder_std=decoder_std,
        beta=beta, kl_warmup_steps=kl_warmup_steps, num_classes=num_classes,
        learning_rate=learning_rate, seed=seed, name="cvae_conv",
    )
