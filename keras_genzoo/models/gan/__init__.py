"""Generative adversarial networks: DCGAN, conditional GAN and WGAN-GP."""

from keras_genzoo.models.gan import presets, space  # noqa: F401  (declares the presets and search table)
from keras_genzoo.models.gan.builders import (
    build_conditional_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
    build_projection_discriminator,
    cgan,
    dcgan,
    wgan_gp,
)
from keras_genzoo.models.gan.losses import LOSSES
from keras_genzoo.models.gan.model import GAN, latent_interpolation

__all__ = [
    "GAN",
    "LOSSES",
    "build_conditional_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_projection_discriminator",
    "cgan",
    "dcgan",
    "latent_interpolation",
    "wgan_gp",
]
