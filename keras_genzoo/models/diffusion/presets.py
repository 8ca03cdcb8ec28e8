"""The diffusion presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("ddpm", "mnist_t10k", "zoo_configs/ddpm_mnist_t10k.json",
                      "DDPM (U-Net 16/32/64, attention at 7x7, T=1000) on the MNIST test split "
                      "(8,000 train)", "mnist"),
    PresetDeclaration("ddpm_conditional", "digits", "zoo_configs/ddpm_conditional_digits.json",
                      "class-conditional DDPM with classifier-free guidance on the digits", "digits"),
)

register_presets(*PRESETS)
