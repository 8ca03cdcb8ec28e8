"""The VQ-VAE's held-out measurement (registered on import): rate and distortion of
its compression, and the prior's exact negative log-likelihood of the codes."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from keras_genzoo.evaluation.heldout import HeldOut, Measurement, model_labels, register_measurement
from keras_genzoo.models.vqvae.model import VQVAE


def psnr(images: np.ndarray, references: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB, one per image (a perfect copy gives inf)."""
    error = np.mean((np.asarray(images, np.float64) - np.asarray(references, np.float64)) ** 2,
                    axis=tuple(range(1, np.ndim(images))))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(peak**2 / error)


def _rate_distortion(model: VQVAE, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    count = options["num_images"] or len(held.targets)
    images, labels = held.targets[:count], model_labels(model, held, count)
    data = model.compress(images, labels=labels)
    decoded = model.decompress(data)
    codes = model.code_indices(images, labels=labels)
    nll = -model.code_log_likelihood(codes, labels=labels)
    low, high = model.value_range
    values = psnr((decoded - low) / (high - low), (images - low) / (high - low))
    return {
        "bits_per_image": float(np.mean([8 * len(d) for d in data])),
        "ideal_bits_per_image": float(np.mean(nll) / np.log(2.0)),
        "code_nll": float(np.mean(nll)),
        "psnr": float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else float("inf"),
        "mse": float(np.mean((decoded - images) ** 2)),
    }


register_measurement(Measurement(
    "rate_distortion", _rate_distortion, {"num_images": None},
    {"bits_per_image": "min", "ideal_bits_per_image": "min", "code_nll": "min", "psnr": "max",
     "mse": "min"},
    VQVAE, "bits per compressed image, PSNR (dB) and the prior's exact NLL of the codes (nats)",
))
