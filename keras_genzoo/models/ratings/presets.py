"""The recommender presets (declared on import; built into `pretrained/<model>/<tag>/`).

All three train on the SYNTHETIC ratings of `keras_genzoo.data.ratings.synthetic_ratings`
(planted low-rank structure): MovieLens may not be redistributed, so no preset ships
weights trained on it.
"""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("autorec", "synthetic", "zoo_configs/autorec_synthetic.json",
                      "item-based AutoRec on SYNTHETIC ratings (planted low-rank structure)",
                      "synthetic_ratings"),
    PresetDeclaration("rbm_cf", "synthetic", "zoo_configs/rbm_cf_synthetic.json",
                      "softmax-visible RBM for ratings on SYNTHETIC ratings", "synthetic_ratings"),
    PresetDeclaration("multvae", "synthetic", "zoo_configs/multvae_synthetic.json",
                      "Mult-VAE for implicit feedback on SYNTHETIC ratings", "synthetic_ratings"),
)

register_presets(*PRESETS)
