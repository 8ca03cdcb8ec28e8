"""What a search tunes and optimises for the translation models (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Boolean,
    Choice,
    Float,
    Int,
    Objective,
    Widths,
    register_family_search,
)

SPACE = {
    "filters": Int(8, 128, sampling="log"),
    "residual_blocks": Int(0, 16),
    "upsample_skip": Boolean(),
    "generator_filters": Widths(halvings=True),
    "discriminator_filters": Int(8, 128, sampling="log"),
    "dropout": Float(0.0, 0.5),
    "reconstruction": Choice(("l1", "l2")),
    "receptive_field": Choice((7, 16, 34, 70)),
    "adversarial_loss": Choice(("least_squares", "non_saturating")),
    "adversarial_weight": Float(1e-4, 0.1, sampling="log"),
    "cycle_weight": Float(1.0, 30.0, sampling="log"),
    "identity_weight": Float(0.0, 10.0),
    "beta_1": Float(0.0, 0.9),
    **COMMON,
}


def _paired(params) -> bool:
    return "cycle_weight" not in params


def _unpaired(params) -> bool:
    return "cycle_weight" in params


OBJECTIVES = [
    Objective("val_psnr", "translation", "PSNR of held-out translations against their targets",
              key="psnr", applies=_paired),
    Objective("val_l1", "translation", "L1 of held-out translations against their targets",
              key="l1", applies=_paired),
    Objective("val_ssim", "translation", "SSIM of held-out translations against their targets",
              key="ssim", applies=_paired),
    Objective("val_cycle_l1", "cycle", "L1 of held-out images taken to the other domain and back",
              key="cycle_l1", applies=_unpaired),
]

register_family_search("translation", SPACE, OBJECTIVES)
