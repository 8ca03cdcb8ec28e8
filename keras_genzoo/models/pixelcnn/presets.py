"""The PixelCNN presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("pixelcnn_conditional", "digits",
                      "zoo_configs/pixelcnn_conditional_digits.json",
                      "class-conditional Gated PixelCNN on the digits' 17 grey levels", "digits"),
)

register_presets(*PRESETS)
