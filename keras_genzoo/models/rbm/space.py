"""What a search tunes and optimises for the RBMs (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Boolean,
    Float,
    Int,
    Objective,
    register_family_search,
)

SPACE = {
    "hidden_units": Int(16, 1024, sampling="log"),
    "cd_steps": Int(1, 10),
    "persistent": Boolean(),
    "num_chains": Int(10, 500, sampling="log"),
    "momentum": Float(0.0, 0.9),
    **COMMON,
}
# The number of persistent chains only matters for persistent CD.
CONDITIONS = {"num_chains": ("persistent", (True,))}
OBJECTIVES = [
    Objective("val_pseudo_likelihood", "pseudo_likelihood",
              "held-out log pseudo-likelihood per image"),
    # The run layer's AIS (base rates of the training images) with 1,000 temperatures
    # instead of 10,000: cheap enough to score every epoch of every trial.
    Objective("val_ais_log_likelihood", "ais",
              "held-out log-likelihood with an AIS estimate of log Z",
              key="ais_log_likelihood", options={"num_betas": 1000}),
]

register_family_search("rbm", SPACE, OBJECTIVES, conditions=CONDITIONS)
