"""Registered RBM builders."""

from __future__ import annotations

from typing import Sequence

import keras

from keras_genzoo.core.registry import register_model
from keras_genzoo.models.rbm.model import RBMModel


def _compile(model: RBMModel, learning_rate: float, momentum: float) -> RBMModel:
    # ZooModel.compile's defaults: a whole CD-1 epoch of MNIST per execution on a CPU,
    # XLA as Keras chooses it (off on a CPU, where it measured no faster).
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum))
    return model


@register_model("rbm_bernoulli", family="rbm")
def rbm_bernoulli(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    value_range: Sequence[float] = (0.0, 1.0),
    hidden_units: int = 256,
    cd_steps: int = 1,
    persistent: bool = False,
    num_chains: int = 100,
    sparsity_target: float | None = None,
    sparsity_cost: float = 0.1,
    learning_rate: float = 0.05,
    momentum: float = 0.5,
    seed: int | None = None,
) -> RBMModel:
    """Bernoulli-Bernoulli RBM for images in [0, 1], trained by CD-k or persistent CD."""
    model = RBMModel(
        image_shape=image_shape,
        value_range=value_range,
        hidden_units=hidden_units,
        visible="bernoulli",
        cd_steps=cd_steps,
        persistent=persistent,
        num_chains=num_chains,
        sparsity_target=sparsity_target,
        sparsity_cost=sparsity_cost,
        seed=seed,
    )
    return _compile(model, learning_rate, momentum)


@register_model("rbm_gaussian", family="rbm")
def rbm_gaussian(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    value_range: Sequence[float] = (0.0, 1.0),
    hidden_units: int = 256,
    cd_steps: int = 1,
    persistent: bool = False,
    num_chains: int = 100,
    sparsity_target: float | None = None,
    sparsity_cost: float = 0.1,
    learning_rate: float = 0.005,
    momentum: float = 0.5,
    seed: int | None = None,
) -> RBMModel:
    """Gaussian-Bernoulli RBM (unit-variance visible units on standardised pixels)."""
    model = RBMModel(
        image_shape=image_shape,
        value_range=value_range,
        hidden_units=hidden_units,
        visible="gaussian",
        cd_steps=cd_steps,
        persistent=persistent,
        num_chains=num_chains,
        sparsity_target=sparsity_target,
        sparsity_cost=sparsity_cost,
        seed=seed,
    )
    return _compile(model, learning_rate, momentum)
