"""Registered builders: dense and convolutional VAEs, unconditional and conditional.

`_build` makes every VAE; `ARGUMENTS` declares the builders' arguments once and each
registered builder is one row (`BUILDERS.variant`): dense or conv body, conditional or not.
"""

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
    check_input_shape,
)
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.vae.model import LIKELIHOODS, VAE


def _resolve_likelihood(
    likelihood: str, value_range: Sequence[float], num_levels: int | None
) -> tuple[str, int | None]:
    """The likelihood and its number of levels. "auto" is discrete for [0, 1] data:
    Bernoulli on binary data (num_levels=2), the discretised logistic otherwise (over
    `num_levels` levels, 256 when not given); Gaussian for any other range."""
    if likelihood not in ("auto", *LIKELIHOODS):
        raise ValueError(
            f"likelihood must be 'auto' or one of {LIKELIHOODS}, got {likelihood!r}."
        )
    if likelihood == "auto":
        if tuple(float(v) for v in value_range) != (0.0, 1.0):
            likelihood = "gaussian"
        else:
            likelihood = "bernoulli" if num_levels == 2 else "discretized_logistic"
    if likelihood == "gaussian":
        return likelihood, None
    return likelihood, num_levels


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


def _build(
    *,
    name: str,
    body: str,
    conditional: bool,
    image_shape: Sequence[int],
    value_range: Sequence[float],
    latent_dim: int,
    likelihood: str,
    num_levels: int | None,
    decoder_std: float | str,
    beta: float,
    kl_warmup_steps: int,
    learning_rate: float,
    seed: int | None,
    num_classes: int | None = None,
    units: Sequence[int] | None = None,
    filters: Sequence[int] | None = None,
) -> VAE:
    """The one VAE builder: a `body` ("dense" or "conv") network, conditional or not."""
    image_shape = check_input_shape(image_shape) if body == "dense" else check_image_shape(image_shape)
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    if body == "dense":
        widths = _check_widths(units, "units")
        build_encoder, build_decoder = build_dense_encoder, build_dense_decoder
    else:
        widths = _check_widths(filters, "filters")
        build_encoder, build_decoder = build_conv_encoder, build_conv_decoder
    if conditional:
        num_classes = check_positive_int(num_classes, "num_classes")
        features = build_encoder(image_shape, widths, name="encoder_features")
        decoder_body = build_decoder(
            image_shape, latent_dim + num_classes, widths[::-1], output_activation=None,
            name="decoder_body",
        )
        encoder = _conditional_encoder(features, image_shape, num_classes, latent_dim)
        decoder = _conditional_decoder(decoder_body, num_classes, latent_dim)
    else:
        encoder = build_encoder(image_shape, widths, output_dim=2 * latent_dim)
        decoder = build_decoder(image_shape, latent_dim, widths[::-1], output_activation=None)
    likelihood, num_levels = _resolve_likelihood(likelihood, value_range, num_levels)
    model = VAE(
        encoder,
        decoder,
        likelihood=likelihood,
        num_levels=num_levels,
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


#: Every argument of the VAE builders, in signature order; `only` marks the variants
#: that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("num_classes", int, 10, only={"conditional": True}),
    Argument("value_range", Sequence[float], (0.0, 1.0)),
    Argument("latent_dim", int, 16),
    Argument("units", Sequence[int], (512, 256), only={"body": "dense"}),
    Argument("filters", Sequence[int], (32, 64), only={"body": "conv"}),
    Argument("likelihood", str, "auto"),
    Argument("num_levels", int | None, None),
    Argument("decoder_std", float | str, "learned"),
    Argument("beta", float, 1.0),
    Argument("kl_warmup_steps", int, 0),
    Argument("learning_rate", float, 1e-3),
    Argument("seed", int | None, None),
)
BUILDERS = BuilderTable("vae", ARGUMENTS, _build, module=__name__, returns=VAE)

vae_dense = BUILDERS.variant(
    "vae_dense",
    """Dense VAE (MLP encoder and decoder) for any image shape; beta > 1 gives a beta-VAE.

    `units` are the encoder's hidden widths (the decoder mirrors them). The likelihood
    ("auto") is discrete for value_range (0, 1): Bernoulli when `num_levels` is 2
    (binarised data), else a discretised logistic over `num_levels` grey levels (256
    unless given; the trainer passes the data's `DatasetInfo.num_levels`); Gaussian for
    other ranges.
    """,
    body="dense", conditional=False,
)
vae_conv = BUILDERS.variant(
    "vae_conv",
    """Convolutional VAE (strided convs down, transposed convs up) for any image shape.

    `filters` are the encoder's widths, one stride-2 convolution each (the decoder
    mirrors them). Likelihood as in `vae_dense`; beta > 1 gives a beta-VAE.
    """,
    body="conv", conditional=False,
)
cvae_dense = BUILDERS.variant(
    "cvae_dense",
    """Conditional dense VAE: generates images of a requested class from label + noise.

    Trains on (images, labels); encoder and decoder both see the one-hot label. The
    small default latent leaves the class to the label: with larger latents the
    encoder also stores the class in z, and prior samples drift to other classes.
    """,
    body="dense", conditional=True, defaults={"latent_dim": 2},
)
cvae_conv = BUILDERS.variant(
    "cvae_conv",
    """Conditional convolutional VAE: generates images of a requested class from label + noise.

    Trains on (images, labels); encoder and decoder both see the one-hot label. The
    default latent is small for the reason given in `cvae_dense`.
    """,
    body="conv", conditional=True, defaults={"latent_dim": 2},
)
