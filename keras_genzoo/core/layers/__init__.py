"""Reusable Keras layers of the zoo."""

from keras_genzoo.core.layers.masked_conv import MaskedConv2D, causal_mask
from keras_genzoo.core.layers.rbm import RBM

__all__ = ["MaskedConv2D", "RBM", "causal_mask"]
