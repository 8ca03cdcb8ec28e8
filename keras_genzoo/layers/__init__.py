"""Reusable Keras layers of the zoo."""
