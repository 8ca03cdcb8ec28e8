"""The GAN presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("dcgan", "digits", "zoo_configs/dcgan_digits.json",
                      "DCGAN on the bundled digits, EMA generator", "digits"),
    PresetDeclaration("cgan", "digits", "zoo_configs/cgan_digits.json",
                      "class-conditional GAN (projection discriminator) on the digits", "digits"),
    PresetDeclaration("wgan_gp", "digits", "zoo_configs/wgan_gp_digits.json",
                      "WGAN-GP on the bundled digits, EMA generator", "digits"),
    PresetDeclaration("stylegan", "digits", "zoo_configs/stylegan_digits.json",
                      "StyleGAN2-style generator (mapping network, modulated convolutions) on the "
                      "digits, EMA generator", "digits"),
)

register_presets(*PRESETS)
