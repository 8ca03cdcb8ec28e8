"""Restricted Boltzmann machines trained by contrastive divergence."""

from keras_genzoo.models.rbm.builders import rbm_bernoulli, rbm_gaussian
from keras_genzoo.models.rbm.likelihood import (
    AISEstimate,
    ais_log_partition,
    average_log_likelihood,
    base_rate_visible_bias,
    exact_log_partition,
    free_energy,
    log_probability,
    pseudo_likelihood,
)
from keras_genzoo.models.rbm.model import RBMModel

__all__ = [
    "AISEstimate",
    "RBMModel",
    "ais_log_partition",
    "average_log_likelihood",
    "base_rate_visible_bias",
    "exact_log_partition",
    "free_energy",
    "log_probability",
    "pseudo_likelihood",
    "rbm_bernoulli",
    "rbm_gaussian",
]
