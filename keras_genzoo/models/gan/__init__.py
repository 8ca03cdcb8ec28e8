"""Generative adversarial networks: DCGAN, conditional GAN, WGAN-GP and StyleGAN."""

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
    stylegan,
    stylegan_conditional,
    wgan_gp,
)
from keras_genzoo.models.gan.losses import LOSSES
from keras_genzoo.models.gan.model import GAN, latent_interpolation
from keras_genzoo.models.gan.style_networks import build_style_generator
from keras_genzoo.models.gan.stylegan import StyleGAN

__all__ = [
    "GAN",
    "LOSSES",
    "StyleGAN",
    "build_conditional_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_projection_discriminator",
    "build_style_generator",
    "cgan",
    "dcgan",
    "latent_interpolation",
    "stylegan",
    "stylegan_conditional",
    "wgan_gp",
]
