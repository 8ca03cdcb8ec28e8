"""Recommenders for ratings and implicit feedback: AutoRec, an RBM with softmax visible
units, and Mult-VAE.

Builders registered here: `autorec`, `rbm_cf`, `multvae`.
"""

from keras_genzoo.models.ratings import measurements, presets  # noqa: F401  (registers measurements and presets)
from keras_genzoo.models.ratings.builders import autorec, create_recommender, multvae, rbm_cf
from keras_genzoo.models.ratings.model import AutoRec, MultVAE, RatingsModel, RatingsRBM

__all__ = [
    "AutoRec",
    "MultVAE",
    "RatingsModel",
    "RatingsRBM",
    "autorec",
    "create_recommender",
    "multvae",
    "rbm_cf",
]
