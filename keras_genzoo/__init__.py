"""keras_genzoo: a zoo of generative models for Keras 3 on TensorFlow."""

from keras_genzoo.core.quiet import quiet_startup

quiet_startup()  # before TensorFlow is imported: the package starts quietly

from keras_genzoo import data, evaluation, models, presets, training, tuning  # noqa: E402
from keras_genzoo.core import layers  # noqa: E402
from keras_genzoo.core.registry import UnknownModelError, create_model, register_model  # noqa: E402
from keras_genzoo.core.version import VERSION  # noqa: E402
from keras_genzoo.io.images import save_images  # noqa: E402
from keras_genzoo.loading import list_models, load  # noqa: E402
from keras_genzoo.presets import list_presets, save_preset  # noqa: E402
from keras_genzoo.tuning import tune  # noqa: E402

__version__ = VERSION

__all__ = [
    "UnknownModelError",
    "create_model",
    "data",
    "evaluation",
    "layers",
    "list_models",
    "list_presets",
    "load",
    "models",
    "presets",
    "register_model",
    "save_images",
    "save_preset",
    "training",
    "tune",
    "tuning",
]
