"""Reusable Keras layers of the zoo."""

from keras_genzoo.layers.rbm import RBM

__all__ = ["RBM"]
