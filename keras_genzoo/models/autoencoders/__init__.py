"""Autoencoders: dense, convolutional and denoising.

Registered builders: `ae_dense`, `ae_conv`, `dae_dense`, `dae_conv`.
"""

from keras_genzoo.models.autoencoders import presets, space  # noqa: F401  (declares the presets and search table)
from keras_genzoo.models.autoencoders.builders import (
    ae_conv,
    ae_dense,
    dae_conv,
    dae_dense,
)
from keras_genzoo.models.autoencoders.model import (
    NOISE_KINDS,
    Autoencoder,
    DenoisingAutoencoder,
    default_loss,
)

__all__ = [
    "NOISE_KINDS",
    "Autoencoder",
    "DenoisingAutoencoder",
    "ae_conv",
    "ae_dense",
    "dae_conv",
    "dae_dense",
    "default_loss",
]
