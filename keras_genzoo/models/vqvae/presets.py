"""The VQ-VAE presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("vqvae", "digits", "zoo_configs/vqvae_digits.json",
                      "VQ-VAE (4x4 grid of 32 codes) with a PixelCNN prior on the digits", "digits"),
    PresetDeclaration("vqvae", "mnist_t10k", "zoo_configs/vqvae_mnist.json",
                      "VQ-VAE (7x7 grid of 32 codes) with a PixelCNN prior on the MNIST test split "
                      "(8,000 train)", "mnist"),
)

register_presets(*PRESETS)
