"""What a search tunes and optimises for the VAEs (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Float,
    Int,
    Objective,
    Widths,
    register_family_search,
)

SPACE = {
    "latent_dim": Int(2, 128, sampling="log"),
    "units": Widths(),
    "filters": Widths(halvings=True),
    "beta": Float(0.25, 4.0, sampling="log"),
    "kl_warmup_steps": Int(0, 2000, step=250),
    **COMMON,
}
OBJECTIVES = [
    Objective("val_neg_elbo", "neg_elbo", "held-out negative ELBO, nats"),
    Objective("val_iw_nll", "iw_nll", "held-out importance-weighted negative log-likelihood, nats"),
]

register_family_search("vae", SPACE, OBJECTIVES)
