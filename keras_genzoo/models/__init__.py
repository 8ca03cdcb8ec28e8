"""The model families, one folder each; importing this registers every built-in builder."""

from keras_genzoo.models import autoencoders, gan, pixelcnn, ratings, rbm, vae

__all__ = ["autoencoders", "gan", "pixelcnn", "ratings", "rbm", "vae"]
