"""The denoising autoencoders' held-out measurement (registered on import)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from keras_genzoo.evaluation.heldout import (
    HeldOut,
    Measurement,
    model_labels,
    reconstruct,
    register_measurement,
)
from keras_genzoo.models.autoencoders.model import DenoisingAutoencoder


def _denoising(model: DenoisingAutoencoder, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    noisy = np.asarray(model.corrupt(held.targets, seed=held.seed))
    denoised = reconstruct(model, noisy, model_labels(model, held))
    return {"noisy_input_mse": float(np.mean((noisy - held.targets) ** 2)),
            "denoised_mse": float(np.mean((denoised - held.targets) ** 2))}


register_measurement(Measurement(
    "denoising", _denoising, {}, {"denoised_mse": "min"}, DenoisingAutoencoder,
    "mean squared error of denoising the model's own corruption", section="reconstruction",
))
