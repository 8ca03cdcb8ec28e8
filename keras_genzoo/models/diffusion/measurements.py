"""The diffusion models' held-out measurement (registered on import): the variational
bound on the negative log-likelihood, in nats and bits per sub-pixel."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from keras_genzoo.evaluation.heldout import HeldOut, Measurement, model_labels, register_measurement
from keras_genzoo.models.diffusion.model import Diffusion


def _bound(model: Diffusion, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    count = options["num_images"] or len(held.targets)
    log_px = model.log_likelihood(
        held.targets[:count],
        labels=model_labels(model, held, count),
        num_timesteps=options["num_timesteps"],
        seed=held.seed,
    )
    nll = float(-np.mean(log_px))
    return {"bound_nll": nll, "bound_bits_per_dim": nll / (math.prod(model.image_shape) * math.log(2.0))}


register_measurement(
    Measurement(
        "diffusion_bound",
        _bound,
        {"num_images": 500, "num_timesteps": 100},
        {"bound_nll": "min", "bound_bits_per_dim": "min"},
        Diffusion,
        "variational bound on the negative log-likelihood (an upper bound), nats and bits per sub-pixel",
    )
)
