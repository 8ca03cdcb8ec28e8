"""Autoregressive image models: Gated PixelCNN, unconditional and class-conditional.

Builders registered here: `pixelcnn`, `pixelcnn_conditional`.
"""

from keras_genzoo.models.pixelcnn import presets, space  # noqa: F401  (declares the presets and search table)
from keras_genzoo.models.pixelcnn.builders import (
    GatedActivation,
    build_gated_pixelcnn,
    pixelcnn,
    pixelcnn_conditional,
)
from keras_genzoo.models.pixelcnn.model import LIKELIHOODS, PixelCNN

__all__ = [
    "LIKELIHOODS",
    "GatedActivation",
    "PixelCNN",
    "build_gated_pixelcnn",
    "pixelcnn",
    "pixelcnn_conditional",
]
