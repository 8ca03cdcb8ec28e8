"""What a search tunes and optimises for the GANs, StyleGAN included (registered on import).

Both objectives are outputs of the held-out `generator` measurement (1,000 samples
against the held-out images, in the features of the dataset's shipped classifier).
"""

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
    "latent_dim": Int(2, 256, sampling="log"),
    "generator_filters": Widths(halvings=True),
    "discriminator_filters": Widths(halvings=True),
    "critic_filters": Widths(halvings=True),
    "loss": Choice(("non_saturating", "minimax", "least_squares", "hinge")),
    "label_smoothing": Float(0.0, 0.3),
    "instance_noise": Float(0.0, 0.3),
    "critic_steps": Int(1, 8),
    "gradient_penalty_weight": Float(1.0, 30.0, sampling="log"),
    "beta_1": Float(0.0, 0.9),
    "style_dim": Int(8, 512, sampling="log"),
    "mapping_layers": Int(1, 8),
    "synthesis_filters": Widths(halvings=True),
    "r1_weight": Float(0.001, 10.0, sampling="log"),
    "r1_interval": Int(1, 16),
    "mixing_probability": Float(0.0, 1.0),
    **COMMON,
}
# Label smoothing only exists for the cross-entropy and least-squares losses.
CONDITIONS = {"label_smoothing": ("loss", ("non_saturating", "minimax", "least_squares"))}
OBJECTIVES = [
    Objective("val_fid", "generator",
              "FID of samples against the held-out images (shipped classifier)", key="fid"),
    Objective("val_conditional_accuracy", "generator",
              "share of samples classified as the requested class",
              key="conditional_accuracy", applies=lambda params: "num_classes" in params),
]

register_family_search("gan", SPACE, OBJECTIVES, conditions=CONDITIONS)
