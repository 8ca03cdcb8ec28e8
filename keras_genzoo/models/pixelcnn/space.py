"""What a search tunes and optimises for the Gated PixelCNNs (registered on import)."""

from keras_genzoo.core.search_space import (
    COMMON,
    Choice,
    Int,
    Objective,
    register_family_search,
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
