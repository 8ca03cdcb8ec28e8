"""Variational autoencoders: VAE, beta-VAE and conditional VAE."""
