"""Evaluation of generated data: FID, KID, conditional accuracy, mode coverage."""
