"""The VAE presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("vae_conv", "mnist_t10k", "zoo_configs/vae_conv_mnist_t10k.json",
                      "convolutional Bernoulli VAE on the MNIST test split (8,000 train)",
                      "mnist"),
    PresetDeclaration("cvae_conv", "digits", "zoo_configs/cvae_conv_digits.json",
                      "conditional convolutional VAE on the digits' 17 grey levels",
                      "digits"),
)

register_presets(*PRESETS)
