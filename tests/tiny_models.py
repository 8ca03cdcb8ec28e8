"""The one table of tiny test configurations: every registered model, built small, and
the 8x8 digits it trains on.

A newly registered model gets its shared checks (tests/test_model_contract.py) by adding
one row to `TINY_MODELS`; the contract test fails for a registered model without one.
Tests that need a variant (another likelihood, persistent chains) build the row with
extra arguments: `build("rbm_bernoulli", persistent=True)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import keras_genzoo
from keras_genzoo.core.capabilities import DensityModel, Encoder, Generator
from keras_genzoo.core.registry import get_entry
from keras_genzoo.data import load_arrays
from keras_genzoo.data.pairs import make_pairs

DIGITS_SHAPE = (8, 8, 1)
DIGIT_LEVELS = 17  # the digits' grey levels 0..16, for discrete likelihoods
UNIT = (0.0, 1.0)
SYMMETRIC = (-1.0, 1.0)


@dataclass(frozen=True)
class TinyModel:
    """How the tests build one registered model small, and the digits it trains on."""

    #: Builder arguments (besides `image_shape`, always the digits' 8x8x1).
    overrides: Mapping[str, Any]
    #: Pixel range of the model and of its training digits.
    value_range: tuple[float, float] = UNIT
    #: Trains on (images, labels) and generates requested classes (the digits' 10).
    conditional: bool = False
    #: The capability classes the model is an instance of.
    capabilities: tuple[type, ...] = ()
    #: Its `likelihood_kind` (a `DensityModel`), else None.
    likelihood_kind: str | None = None
    #: Its likelihood is a probability mass on binary images (log p(x) < 0 there).
    probability_mass: bool = False
    #: Trains on the digits thresholded at half intensity (pixels 0 or 1).
    binary: bool = False
    #: The training-log metric that falls as the model learns.
    metric: str = "loss"
    #: Two adversaries: the metric need not fall.
    adversarial: bool = False
    #: Draws random noise in its training step (replicas must draw different noise).
    training_noise: bool = True
    #: The smallest relative gap between two replicas' metric that shows they drew
    #: different noise: 1e-4, or 1e-6 for tiny conv decoders that barely respond to
    #: their input in the first steps (the metric then moves only in the 6th digit).
    noise_gap: float = 1e-4
    #: `generate(n, seed=s)` gives the same images whatever its `batch_size`.
    batch_invariant: bool = True
    #: Keyword options of `generate` that keep the check cheap.
    generate_options: Mapping[str, Any] = field(default_factory=dict)
    #: Keyword options of `log_likelihood` that keep the check cheap and deterministic.
    likelihood_options: Mapping[str, Any] = field(default_factory=dict)
    #: Stands for its training step in the default run's distributed checks (replicas,
    #: mixed precision); False where another row runs the same step (the slow run checks
    #: every row).
    representative: bool = True


_AE = (Encoder,)
_VAE = (Encoder, Generator, DensityModel)
_GAN_CAPS = (Generator,)
_SAMPLER = (Generator, DensityModel)
_GAN = {"latent_dim": 8, "generator_filters": (16, 8), "seed": 1}
_STYLE = {"latent_dim": 8, "style_dim": 8, "mapping_layers": 2, "synthesis_filters": (16, 8),
          "discriminator_filters": (8, 16), "seed": 1}
_VQ_CAPS = (Encoder, Generator)
_VQ = {"num_codes": 8, "code_dim": 4, "filters": (8, 16), "prior_filters": 8, "prior_layers": 2}
_IW = {"num_samples": 8, "seed": 0}  # importance samples of a VAE's bound, seeded
_DIFFUSION = {"widths": (8,), "attention_size": 8, "timesteps": 20, "num_levels": DIGIT_LEVELS,
              "learning_rate": 2e-3, "seed": 1}
_BOUND = {"num_timesteps": 4, "seed": 0}  # a diffusion bound from 4 of its steps, seeded

TINY_MODELS: dict[str, TinyModel] = {
    "ae_dense": TinyModel(
        {"latent_dim": 4, "units": (32,)}, capabilities=_AE, training_noise=False,
        representative=False,
    ),
    "ae_conv": TinyModel(
        {"latent_dim": 8, "filters": (8, 16)}, capabilities=_AE, training_noise=False,
        representative=False,  # dae_dense runs the autoencoders' step
    ),
    "dae_dense": TinyModel({"latent_dim": 8, "units": (32,), "seed": 1}, capabilities=_AE),
    "dae_conv": TinyModel(
        {"latent_dim": 8, "filters": (8, 16), "seed": 1}, capabilities=_AE,
        representative=False, noise_gap=1e-6,
    ),
    "vae_dense": TinyModel(
        {"latent_dim": 4, "units": (32,), "num_levels": DIGIT_LEVELS, "seed": 1}, capabilities=_VAE,
        likelihood_kind="bound", probability_mass=True, likelihood_options=_IW,
        representative=False,
    ),
    "vae_conv": TinyModel(
        {"latent_dim": 4, "filters": (8, 16), "num_levels": DIGIT_LEVELS, "seed": 1}, capabilities=_VAE,
        likelihood_kind="bound", probability_mass=True, likelihood_options=_IW,
    ),
    "cvae_dense": TinyModel(
        {"latent_dim": 4, "units": (32,), "num_levels": DIGIT_LEVELS, "seed": 1},
        conditional=True, capabilities=_VAE,
        likelihood_kind="bound", probability_mass=True, likelihood_options=_IW,
    ),
    "cvae_conv": TinyModel(
        {"latent_dim": 4, "filters": (8, 16), "num_levels": DIGIT_LEVELS, "seed": 1},
        conditional=True, capabilities=_VAE,
        likelihood_kind="bound", probability_mass=True, likelihood_options=_IW,
        representative=False, noise_gap=1e-6,
    ),
    "dcgan": TinyModel(  # cgan runs the same step, with labels
        dict(_GAN, discriminator_filters=(8, 16)), SYMMETRIC, capabilities=_GAN_CAPS,
        metric="d_loss", adversarial=True, representative=False,
    ),
    "cgan": TinyModel(
        dict(_GAN, discriminator_filters=(8, 16)), SYMMETRIC, conditional=True,
        capabilities=_GAN_CAPS, metric="d_loss", adversarial=True,
    ),
    "wgan_gp": TinyModel(
        dict(_GAN, critic_filters=(8, 16), critic_steps=2), SYMMETRIC, capabilities=_GAN_CAPS,
        metric="d_loss", adversarial=True, representative=False,  # its critic steps run with -m slow
    ),
    "stylegan": TinyModel(  # its distributed checks (R1, style mixing) run with -m slow
        _STYLE, SYMMETRIC, capabilities=_GAN_CAPS, metric="d_loss", adversarial=True,
        representative=False,
    ),
    "stylegan_conditional": TinyModel(  # stylegan runs the same step, without labels
        _STYLE, SYMMETRIC, conditional=True, capabilities=_GAN_CAPS, metric="d_loss",
        adversarial=True, representative=False,
    ),
    # RBMs, PixelCNNs and PixelRNNs draw each batch of samples from its own seed (seed, batch index):
    # the batch size changes the images.
    "rbm_bernoulli": TinyModel(
        {"hidden_units": 32, "cd_steps": 2, "seed": 1}, capabilities=_SAMPLER,
        likelihood_kind="estimate", probability_mass=True, metric="reconstruction_error",
        batch_invariant=False, generate_options={"gibbs_steps": 20},
    ),
    "rbm_gaussian": TinyModel(
        {"hidden_units": 32, "learning_rate": 0.05, "seed": 1}, capabilities=_SAMPLER,
        likelihood_kind="estimate", metric="reconstruction_error", batch_invariant=False,
        generate_options={"gibbs_steps": 20},
    ),
    "pixelcnn": TinyModel(  # pixelcnn_conditional runs the same step, with labels
        {"filters": 6, "num_layers": 2, "head_filters": 6}, binary=True, capabilities=_SAMPLER,
        likelihood_kind="exact", probability_mass=True, training_noise=False,
        batch_invariant=False, representative=False,
    ),
    "pixelcnn_conditional": TinyModel(
        {"filters": 8, "num_layers": 2, "likelihood": "categorical", "num_levels": 17},
        conditional=True, capabilities=_SAMPLER, likelihood_kind="exact",
        probability_mass=True, training_noise=False, batch_invariant=False,
    ),
    "pixelrnn": TinyModel(  # the shared model class with a Row LSTM network; pixelcnn runs
        # the shared training step, so the Row LSTM's replica and precision checks are slow
        {"filters": 6, "num_layers": 1, "head_filters": 6}, binary=True, capabilities=_SAMPLER,
        likelihood_kind="exact", probability_mass=True, training_noise=False,
        batch_invariant=False, representative=False,
    ),
    "pixelrnn_conditional": TinyModel(  # pixelrnn runs the same step, without labels
        {"filters": 8, "num_layers": 1, "likelihood": "categorical", "num_levels": 17},
        conditional=True, capabilities=_SAMPLER, likelihood_kind="exact",
        probability_mass=True, training_noise=False, batch_invariant=False, representative=False,
    ),
    "ddpm": TinyModel(
        _DIFFUSION, SYMMETRIC, capabilities=_SAMPLER, likelihood_kind="bound",
        probability_mass=True, generate_options={"steps": 4}, likelihood_options=_BOUND,
        representative=False,  # a U-Net traces slowly: its distributed checks run with -m slow
    ),
    "ddpm_conditional": TinyModel(  # ddpm runs the same step (and attention), without labels
        dict(_DIFFUSION, attention_size=0), SYMMETRIC, conditional=True, capabilities=_SAMPLER,
        likelihood_kind="bound", probability_mass=True, generate_options={"steps": 4},
        likelihood_options=_BOUND, representative=False,
    ),
    # VQ-VAEs sample codes like a PixelCNN, one seed per batch; no training noise.
    # vqvae_conditional runs the same step, with labels.
    "vqvae": TinyModel(
        _VQ, capabilities=_VQ_CAPS, training_noise=False, batch_invariant=False,
        representative=False,
    ),
    "vqvae_conditional": TinyModel(
        _VQ, conditional=True, capabilities=_VQ_CAPS, training_noise=False, batch_invariant=False,
    ),
    # Registered by tests/test_model_contract.py: a user's own networks in the VAE class.
    "contract_user_vae": TinyModel(
        {"latent_dim": 3, "seed": 1}, SYMMETRIC, capabilities=_VAE, likelihood_kind="bound",
        likelihood_options=_IW,
    ),
}


#: The family of recommenders: models of ratings, not images. They keep their own contract
#: (tests/test_ratings_models.py), one row each in `TINY_RECOMMENDERS`, and stay out of the
#: image contract's table.
RATINGS_FAMILY = "ratings"

#: Small builder arguments of each registered recommender (its users, items and levels come
#: from the synthetic ratings it trains on), the training log metric that falls, and the
#: largest ratio of its last value to its first after 12 tiny epochs (a multinomial
#: likelihood has a high floor: the entropy of each user's clicks).
TINY_RECOMMENDERS: dict[str, tuple[dict[str, Any], str, float]] = {
    "autorec": ({"hidden_units": 16, "l2": 0.1, "learning_rate": 0.01, "seed": 1}, "loss", 0.9),
    "rbm_cf": ({"hidden_units": 16, "learning_rate": 0.01, "seed": 1}, "reconstruction_rmse", 0.9),
    "multvae": ({"latent_dim": 8, "units": (32,), "anneal_steps": 50, "learning_rate": 0.01,
                 "seed": 1}, "loss", 0.95),
}


#: The translators: they train on (input, target) pairs or on two domains, not on images
#: alone, and answer `translate` instead of `generate`; the contract runs its translator
#: checks on them (tests/test_model_contract.py `TestTranslatorContract`), one row each in
#: `TINY_TRANSLATORS`.
TRANSLATION_FAMILY = "translation"


@dataclass(frozen=True)
class TinyTranslator:
    """How the tests build one registered translator small, and the digit pairs it
    trains on."""

    #: Builder arguments (besides `image_shape`, always the digits' 8x8x1).
    overrides: Mapping[str, Any]
    #: The `keras_genzoo.data.pairs` transform that makes its inputs from the digits, or
    #: None for an unpaired model (domain A: digits, domain B: other digits, inverted).
    transform: str | None
    #: Its translation depends on the seed (its noise is on when it translates, and in
    #: training each replica draws its own).
    seeded: bool = False
    #: A training-log metric of its generator's step (replicas given the same data agree
    #: on it exactly when the model draws no noise).
    metric: str = "reconstruction"
    #: Builder arguments replaced in the mirrored-parity check (a history buffer keeps
    #: only the first replica's images, so the check runs without one).
    parity_overrides: Mapping[str, Any] = field(default_factory=dict)


_SR = {"filters": 8, "residual_blocks": 1, "seed": 1}
_UNET = {"generator_filters": (8, 16), "discriminator_filters": 8, "seed": 1}

TINY_TRANSLATORS: dict[str, TinyTranslator] = {
    "super_resolution": TinyTranslator(_SR, "downsample", metric="loss"),
    "srgan": TinyTranslator(dict(_SR, discriminator_filters=8), "downsample"),
    "pix2pix": TinyTranslator(_UNET, "edges", seeded=True),
    "unet_translator": TinyTranslator(
        {"generator_filters": (8, 16), "seed": 1}, "edges", seeded=True, metric="loss"
    ),
    "cyclegan": TinyTranslator(  # four networks: one level each keeps tracing short
        dict(_UNET, generator_filters=(8,), receptive_field=7, pool_size=16), None, metric="cycle",
        parity_overrides={"pool_size": 0},
    ),
}


def image_models() -> list[str]:
    """Every registered model but the recommenders and the translators: the models of
    the image contract."""
    return [name for name in keras_genzoo.list_models()
            if get_entry(name).family not in (RATINGS_FAMILY, TRANSLATION_FAMILY)]


def translators() -> list[str]:
    """Every registered translator."""
    return [name for name in keras_genzoo.list_models()
            if get_entry(name).family == TRANSLATION_FAMILY]


def tiny_translator(name: str) -> TinyTranslator:
    """The translator row of `name`, or a failure saying to add one."""
    if name not in TINY_TRANSLATORS:
        raise AssertionError(
            f"Registered translator {name!r} has no row in tests/tiny_models.py "
            "TINY_TRANSLATORS: add one so the translator checks run on it."
        )
    return TINY_TRANSLATORS[name]


def build_translator(name: str, **extra: Any) -> keras.Model:
    """The translator `name` built from its row at the digits' shape."""
    return keras_genzoo.create_model(
        name, **{"image_shape": DIGITS_SHAPE, **tiny_translator(name).overrides, **extra}
    )


def digit_pairs(name: str, count: int = 128, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """What the translator `name` trains on, made from the first digits of `split` in
    [-1, 1]: (inputs, targets) by its transform, or (domain A, domain B) digits."""
    images = load_arrays("digits", split, scale="symmetric")[0]
    transform = tiny_translator(name).transform
    if transform is None:
        return images[:count], -images[count : 2 * count]
    return make_pairs(images[:count], transform, value_range=SYMMETRIC)


def pair_batches(name: str, count: int = 128, batch_size: int = 32) -> tf.data.Dataset:
    """`digit_pairs(name, count)` as batches in a fixed order."""
    return tf.data.Dataset.from_tensor_slices(digit_pairs(name, count)).batch(batch_size)


def recommenders() -> list[str]:
    """Every registered recommender."""
    return [name for name in keras_genzoo.list_models()
            if get_entry(name).family == RATINGS_FAMILY]


def tiny(name: str) -> TinyModel:
    """The table row of a registered model, or a failure saying to add one."""
    if name not in TINY_MODELS:
        raise AssertionError(
            f"Registered model {name!r} has no row in tests/tiny_models.py TINY_MODELS: add "
            "one (small builder arguments and its data) so the shared checks run on it."
        )
    return TINY_MODELS[name]


def build(name: str, **extra: Any) -> keras.Model:
    """`name` built from its row at the digits' shape; `extra` adds or replaces arguments
    (`image_shape` included)."""
    return keras_genzoo.create_model(
        name, **{"image_shape": DIGITS_SHAPE, **tiny(name).overrides, **extra}
    )


def digits(
    name: str, count: int = 256, split: str = "train", value_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The first `count` digits of `split` as the row of `name` trains on them:
    (images in its value range, binary if it says so; labels if conditional, else None).
    `value_range` replaces the row's, for a variant built with another range."""
    row = tiny(name)
    images, labels, _ = load_arrays("digits", split)
    images, labels = images[:count], labels[:count]
    if row.binary:
        images = (images > 0.5).astype(np.float32)
    low, high = row.value_range if value_range is None else value_range
    images = (low + (high - low) * images).astype(np.float32)
    return images, (labels.astype(np.int32) if row.conditional else None)


def dataset(name: str, count: int = 128, batch_size: int = 32, **options: Any) -> tf.data.Dataset:
    """`digits(name, count, **options)` as batches in a fixed order, with labels if conditional."""
    images, labels = digits(name, count, **options)
    elements = images if labels is None else (images, labels)
    return tf.data.Dataset.from_tensor_slices(elements).batch(batch_size)
