"""The autoencoder presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("ae_conv", "digits", "zoo_configs/ae_conv_digits.json",
                      "convolutional autoencoder on the bundled 8x8 digits", "digits"),
    PresetDeclaration("dae_conv", "digits", "zoo_configs/dae_conv_digits.json",
                      "denoising convolutional autoencoder (Gaussian noise, std 0.25)", "digits"),
)

register_presets(*PRESETS)
