"""Autoencoders: dense, convolutional and denoising.

Registered builders: `ae_dense`, `ae_conv`, `dae_dense`, `dae_conv`.
"""

from keras_genzoo.models.autoencoders.builders import (
    ae_conv,
    ae_dense,
    dae_conv,
    dae_dense,
)
from keras_genzoo.models.autoencoders.model import (
    Autoencoder,
    DenoisingAutoencoder,
    default_loss,
)

__all__ = [
    "Autoencoder",
    "DenoisingAutoencoder",
    "ae_conv",
    "ae_dense",
    "dae_conv",
    "dae_dense",
    "default_loss",
]
