"""Autoregressive image models: Gated PixelCNN and Row LSTM PixelRNN, unconditional and
class-conditional, on one shared model class (`AutoregressiveModel`).

Builders registered here: `pixelcnn`, `pixelcnn_conditional`, `pixelrnn`, `pixelrnn_conditional`.
"""

from keras_genzoo.models.pixelcnn import presets, space  # noqa: F401  (declares the presets and search table)
from keras_genzoo.models.pixelcnn.builders import (
    GatedActivation,
    build_gated_pixelcnn,
    pixelcnn,
    pixelcnn_conditional,
    pixelrnn,
    pixelrnn_conditional,
)
from keras_genzoo.models.pixelcnn.model import LIKELIHOODS, AutoregressiveModel, PixelCNN, PixelRNN
from keras_genzoo.models.pixelcnn.row_lstm import RowLSTM, build_row_lstm

__all__ = [
    "LIKELIHOODS",
    "AutoregressiveModel",
    "GatedActivation",
    "PixelCNN",
    "PixelRNN",
    "RowLSTM",
    "build_gated_pixelcnn",
    "build_row_lstm",
    "pixelcnn",
    "pixelcnn_conditional",
    "pixelrnn",
    "pixelrnn_conditional",
]
