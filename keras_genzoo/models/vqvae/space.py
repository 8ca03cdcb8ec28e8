"""What a search tunes and optimises for the VQ-VAEs (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Choice,
    Float,
    Int,
    Objective,
    register_family_search,
)

SPACE = {
    "num_codes": Choice((16, 32, 64, 128, 256)),
    "code_dim": Int(4, 64, sampling="log"),
    "commitment_cost": Float(0.1, 1.0),
    "prior_filters": Int(16, 128, sampling="log"),
    "prior_layers": Int(2, 8),
    **COMMON,
}
OBJECTIVES = [
    Objective("val_rate", "rate_distortion", "held-out bits per compressed image", key="bits_per_image"),
    Objective("val_distortion", "rate_distortion", "held-out mean squared error after decompression",
              key="mse"),
    Objective("val_code_nll", "rate_distortion", "the prior's exact held-out NLL of the codes, nats",
              key="code_nll"),
]

register_family_search("vqvae", SPACE, OBJECTIVES)
