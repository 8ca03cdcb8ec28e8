"""Denoising diffusion models: DDPM training, DDIM and ancestral sampling, classifier-free
guidance and the variational bound.

Builders registered here: `ddpm`, `ddpm_conditional`.
"""

from keras_genzoo.models.diffusion import measurements, presets, space  # noqa: F401  (registers measurements, presets, search table)
from keras_genzoo.models.diffusion.builders import ddpm, ddpm_conditional
from keras_genzoo.models.diffusion.model import PREDICTIONS, SAMPLERS, Diffusion
from keras_genzoo.models.diffusion.schedules import SCHEDULES, NoiseSchedule
from keras_genzoo.models.diffusion.unet import SinusoidalEmbedding, build_unet

__all__ = [
    "PREDICTIONS",
    "SAMPLERS",
    "SCHEDULES",
    "Diffusion",
    "NoiseSchedule",
    "SinusoidalEmbedding",
    "build_unet",
    "ddpm",
    "ddpm_conditional",
]
