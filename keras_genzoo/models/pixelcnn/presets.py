"""The PixelCNN presets (declared on import; built into `pretrained/<model>/<tag>/`)."""

from keras_genzoo.core.preset_table import PresetDeclaration, register_presets

PRESETS = (
    PresetDeclaration("pixelcnn_conditional", "digits",
                      "zoo_configs/pixelcnn_conditional_digits.json",
                      "class-conditional Gated PixelCNN on the digits' 17 grey levels", "digits"),
    PresetDeclaration("pixelrnn", "mnist_t10k", "zoo_configs/pixelrnn_mnist_t10k.json",
                      "Row LSTM PixelRNN (2 layers, 32 filters) on the binarised MNIST test split "
                      "(8,000 train)", "mnist"),
)

register_presets(*PRESETS)
