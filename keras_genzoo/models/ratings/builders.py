"""Registered recommender builders: `autorec`, `rbm_cf` and `multvae`, rows of one table.

Recommenders are built for the users and items of their data: `create_recommender(name,
train)` fills `num_users`, `num_items` and (for `rbm_cf`) the rating `levels` from a
`RatingsData`.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from keras_genzoo.core.registry import builder_parameters, create_model
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.data.ratings import RatingsData
from keras_genzoo.models.ratings.model import AutoRec, MultVAE, RatingsModel, RatingsRBM

_CLASSES = {"autorec": AutoRec, "rbm_cf": RatingsRBM, "multvae": MultVAE}


def _build(*, name: str, kind: str, explicit: bool, learning_rate: float, **arguments: Any) -> RatingsModel:
    """The one recommender builder: the class of `kind` (`explicit`: it predicts ratings), compiled
    with Adam."""
    model = _CLASSES[kind](name=name, **arguments)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    return model


#: Every argument of the recommender builders, in signature order.
ARGUMENTS = (
    Argument("num_users", int | None, None),
    Argument("num_items", int | None, None),
    Argument("levels", Sequence[float], (1.0, 2.0, 3.0, 4.0, 5.0), only={"kind": "rbm_cf"}),
    Argument("hidden_units", int, 500, only={"explicit": True}),
    Argument("cd_steps", int, 1, only={"kind": "rbm_cf"}),
    Argument("l2", float, 1.0, only={"explicit": True}),
    Argument("activation", str, "sigmoid", only={"kind": "autorec"}),
    Argument("input_shrinkage", float | None, None, only={"kind": "autorec"}),
    Argument("latent_dim", int, 200, only={"kind": "multvae"}),
    Argument("units", Sequence[int], (600,), only={"kind": "multvae"}),
    Argument("dropout", float, 0.5, only={"kind": "multvae"}),
    Argument("beta", float, 0.2, only={"kind": "multvae"}),
    Argument("anneal_steps", int, 20000, only={"kind": "multvae"}),
    Argument("learning_rate", float, 1e-3),
    Argument("seed", int | None, None),
)
BUILDERS = BuilderTable("ratings", ARGUMENTS, _build, module=__name__, returns=RatingsModel)

autorec = BUILDERS.variant(
    "autorec",
    """Item-based AutoRec (I-AutoRec) for explicit ratings: masked squared error, L2 `l2`.

    `hidden_units` units of `activation` (500 sigmoid units in the paper); `l2` is the
    paper's lambda. `input_shrinkage` s (None: the paper's raw ratings) has the encoder read
    each item's deviations from the training mean times s / (n + s), n its number of ratings.
    """,
    kind="autorec", explicit=True, returns=AutoRec,
)
rbm_cf = BUILDERS.variant(
    "rbm_cf",
    """RBM for collaborative filtering: softmax visible units per rating level, CD-k.

    Missing ratings are left out of the visible layer; predictions are expected ratings.
    """,
    kind="rbm_cf", explicit=True, defaults={"hidden_units": 100, "l2": 1e-3, "learning_rate": 3e-3},
    returns=RatingsRBM,
)
multvae = BUILDERS.variant(
    "multvae",
    """Mult-VAE for implicit feedback: multinomial likelihood, KL annealing to `beta`.""",
    kind="multvae", explicit=False, returns=MultVAE,
)


def create_recommender(name: str, train: RatingsData, **overrides: Any) -> RatingsModel:
    """Build the registered recommender `name` for the users, items and levels of `train`."""
    if not isinstance(train, RatingsData):
        raise TypeError(f"create_recommender needs the training RatingsData, got {type(train).__name__}.")
    arguments: dict[str, Any] = {"num_users": train.num_users, "num_items": train.num_items}
    if "levels" in builder_parameters(name):
        arguments["levels"] = [float(v) for v in train.levels]
    return create_model(name, **{**arguments, **overrides})
