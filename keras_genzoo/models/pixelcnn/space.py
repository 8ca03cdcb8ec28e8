"""What a search tunes and optimises for the PixelCNNs and PixelRNNs (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Choice,
    Int,
    Objective,
    register_family_search,
    register_space,
)

SPACE = {
    # Any width builds on any image: the builder rounds it up to a multiple of the
    # channel count (channel_width), so a draw is never refused on colour images.
    "filters": Int(16, 256, sampling="log"),
    "num_layers": Int(2, 15),
    "kernel_size": Choice((3, 5)),
    **COMMON,
}
OBJECTIVES = [
    Objective("val_nll", "nll", "exact held-out negative log-likelihood, nats"),
    Objective("val_bits_per_dim", "nll", "held-out bits per sub-pixel", key="bits_per_dim"),
]

register_family_search("pixelcnn", SPACE, OBJECTIVES)

# The Row LSTM runs its layers one row after another: fewer, narrower layers than the
# Gated PixelCNN's keep a trial's training time comparable (its width, depth and the
# kernel size of both of its row convolutions are the family's dimensions above).
ROW_LSTM_SPACE = {
    "filters": Int(16, 128, sampling="log"),
    "num_layers": Int(1, 8),
}
for _name in ("pixelrnn", "pixelrnn_conditional"):
    register_space(_name, ROW_LSTM_SPACE)
