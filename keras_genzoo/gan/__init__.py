"""Generative adversarial networks: DCGAN, conditional GAN and WGAN-GP."""
