"""What a search tunes and optimises for the autoencoders (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Choice,
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
    "noise": Choice(("gaussian", "masking")),
    "noise_level": Float(0.05, 0.5),
    **COMMON,
}
OBJECTIVES = [
    Objective("val_reconstruction_mse", "reconstruction",
              "held-out mean squared reconstruction error", key="mse"),
    Objective("val_denoising_mse", "denoising",
              "held-out error of denoising the model's own corruption", key="denoised_mse",
              applies=lambda params: "noise" in params),
]

register_family_search("autoencoders", SPACE, OBJECTIVES)
