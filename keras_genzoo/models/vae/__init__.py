"""Variational autoencoders: VAE, beta-VAE and conditional VAE.

Builders registered here: `vae_dense`, `vae_conv`, `cvae_dense`, `cvae_conv`.
"""

from keras_genzoo.models.vae.builders import cvae_conv, cvae_dense, vae_conv, vae_dense
from keras_genzoo.models.vae.likelihoods import binarize, kl_to_standard_normal
from keras_genzoo.models.vae.model import VAE

__all__ = [
    "VAE",
    "binarize",
    "cvae_conv",
    "cvae_dense",
    "kl_to_standard_normal",
    "vae_conv",
    "vae_dense",
]
