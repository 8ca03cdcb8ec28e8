"""Autoencoders: dense, convolutional and denoising."""
