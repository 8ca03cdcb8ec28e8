"""Registered RBM builders.

Two rows of one variant table: the visible units and the default learning rate differ.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.rbm.model import RBMModel


def _build(*, visible: str, learning_rate: float, momentum: float, **model_arguments: Any) -> RBMModel:
    """The one RBM builder: an `RBMModel` with `visible` units and its SGD optimizer."""
    model = RBMModel(visible=visible, **model_arguments)
    # ZooModel.compile's defaults: a whole CD-1 epoch of MNIST per execution on a CPU,
    # XLA as Keras chooses it (off on a CPU, where it measured no faster).
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum))
    return model


#: Every argument of the RBM builders, in signature order (all but the last two are
#: `RBMModel`'s); the variants differ in their visible units and learning rate.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("value_range", Sequence[float], (0.0, 1.0)),
    Argument("hidden_units", int, 256),
    Argument("cd_steps", int, 1),
    Argument("persistent", bool, False),
    Argument("num_chains", int, 100),
    Argument("sparsity_target", float | None, None),
    Argument("sparsity_cost", float, 0.1),
    Argument("learning_rate", float, 0.05),
    Argument("momentum", float, 0.5),
    Argument("seed", int | None, None),
)
# RBMs keep Keras' default model name, so the builders do not pass theirs.
BUILDERS = BuilderTable("rbm", ARGUMENTS, _build, module=__name__, returns=RBMModel, passes_name=False)

rbm_bernoulli = BUILDERS.variant(
    "rbm_bernoulli",
    """Bernoulli-Bernoulli RBM for images in [0, 1], trained by CD-k or persistent CD.""",
    visible="bernoulli",
)
rbm_gaussian = BUILDERS.variant(
    "rbm_gaussian",
    """Gaussian-Bernoulli RBM (unit-variance visible units on standardised pixels).""",
    visible="gaussian", defaults={"learning_rate": 0.005},
)
