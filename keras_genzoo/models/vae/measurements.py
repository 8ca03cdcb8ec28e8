"""The VAEs' held-out measurements (registered on import): the importance-weighted bound
and the negative ELBO, both in nats."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from keras_genzoo.evaluation.heldout import HeldOut, Measurement, model_labels, register_measurement
from keras_genzoo.models.vae.model import VAE


def _iw_nll(model: VAE, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    count = options["num_images"] or len(held.targets)
    log_px = model.log_likelihood(
        held.targets[:count], labels=model_labels(model, held, count),
        num_samples=options["num_samples"], seed=held.seed,
    )
    return {"iw_nll": float(-np.mean(log_px))}


def _neg_elbo(model: VAE, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    reconstruction, kl = model.elbo_terms(
        held.targets, labels=model_labels(model, held), num_samples=options["num_samples"],
        seed=held.seed,
    )
    return {"neg_elbo": float(np.mean(reconstruction + kl))}


register_measurement(Measurement(
    "iw_nll", _iw_nll, {"num_samples": 100, "num_images": None}, {"iw_nll": "min"}, VAE,
    "importance-weighted negative log-likelihood (a bound), nats",
))
register_measurement(Measurement(
    "neg_elbo", _neg_elbo, {"num_samples": 1}, {"neg_elbo": "min"}, VAE, "negative ELBO, nats",
))
