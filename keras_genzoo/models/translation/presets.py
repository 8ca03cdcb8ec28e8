"""The translation presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("super_resolution", "digits", "zoo_configs/super_resolution_digits.json",
                      "x2 super-resolution of the digits (4x4 block averages to 8x8)", "digits"),
    PresetDeclaration("srgan", "digits", "zoo_configs/srgan_digits.json",
                      "SRGAN x2 on the digits: the same network with an adversarial term", "digits"),
    PresetDeclaration("pix2pix", "digits", "zoo_configs/pix2pix_digits.json",
                      "pix2pix: digits drawn from their outlines (edges)", "digits"),
    PresetDeclaration("unet_translator", "digits", "zoo_configs/unet_translator_digits.json",
                      "pix2pix's U-Net on L1 alone: digits from their outlines", "digits"),
    PresetDeclaration("cyclegan", "mnist_t10k_digits", "zoo_configs/cyclegan_mnist_t10k_digits.json",
                      "CycleGAN between MNIST's test split (8,000 train) and the digits resized to 28x28",
                      "mnist"),
)

register_presets(*PRESETS)
