"""The model families, one folder each; importing this registers every built-in builder."""

from keras_genzoo.models import (
    autoencoders,
    diffusion,
    gan,
    pixelcnn,
    ratings,
    rbm,
    translation,
    vae,
    vqvae,
)

__all__ = ["autoencoders", "diffusion", "gan", "pixelcnn", "ratings", "rbm", "translation", "vae",
           "vqvae"]
