"""tf.distribute strategies for training zoo models."""

from keras_genzoo.distribute.strategies import STRATEGIES, get_strategy

__all__ = ["STRATEGIES", "get_strategy"]
