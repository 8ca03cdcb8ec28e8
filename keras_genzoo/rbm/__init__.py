"""Restricted Boltzmann machines trained by contrastive divergence."""
