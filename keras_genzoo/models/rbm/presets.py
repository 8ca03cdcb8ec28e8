"""The RBM presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("rbm_bernoulli", "digits", "zoo_configs/rbm_bernoulli_digits.json",
                      "Bernoulli RBM with 100 hidden units on the binarised digits", "digits"),
)

register_presets(*PRESETS)
