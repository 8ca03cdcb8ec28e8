"""What a search tunes and optimises for the diffusion models (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Choice,
    Float,
    Objective,
    Widths,
    register_family_search,
)

SPACE = {
    "widths": Widths(halvings=True),
    "schedule": Choice(("linear", "cosine")),
    "prediction": Choice(("epsilon", "v")),
    "min_snr_gamma": Float(1.0, 10.0, sampling="log"),
    "dropout": Float(0.0, 0.3),
    **COMMON,
}
OBJECTIVES = [
    Objective(
        "val_fid", "generator", "FID of samples against the held-out images (shipped classifier)", key="fid"
    ),
    Objective(
        "val_kid", "generator", "KID of samples against the held-out images (shipped classifier)", key="kid"
    ),
    Objective(
        "val_bound_bits_per_dim",
        "diffusion_bound",
        "variational bound on held-out bits per sub-pixel",
        key="bound_bits_per_dim",
    ),
    Objective(
        "val_conditional_accuracy",
        "generator",
        "share of samples classified as the requested class",
        key="conditional_accuracy",
        applies=lambda params: "num_classes" in params,
    ),
]

register_family_search("diffusion", SPACE, OBJECTIVES)
