"""keras_genzoo: a zoo of generative models for Keras 3 on TensorFlow."""

from keras_genzoo.quiet import quiet_startup

quiet_startup()  # before TensorFlow is imported: the command line starts quietly


from keras_genzoo.registry import (
    UnknownModelError,
    create_model,
    list_models,
    register_model,
)
from keras_genzoo.loading import load
from keras_genzoo import data, distribute, layers
from keras_genzoo import autoencoders, vae, gan, rbm, pixelcnn, evaluation
from keras_genzoo import runs, presets, tuning
from keras_genzoo.presets import list_presets, save_preset
from keras_genzoo.tuning import tune

__version__ = "0.1.0"

__all__ = [
    "UnknownModelError",
    "autoencoders",
    "create_model",
    "data",
    "distribute",
    "evaluation",
    "gan",
    "layers",
    "list_models",
    "list_presets",
    "load",
    "pixelcnn",
    "rbm",
    "presets",
    "register_model",
    "runs",
    "save_preset",
    "tune",
    "tuning",
    "vae",
]
