"""The RBMs' held-out measurements (registered on import): pseudo-likelihood, and the
log-likelihood under an AIS estimate of log Z."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from keras_genzoo.evaluation.heldout import HeldOut, Measurement, MeasurementError, register_measurement
from keras_genzoo.models.rbm.model import RBMModel


def _pseudo_likelihood(model: RBMModel, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    return {"pseudo_likelihood": float(np.mean(model.pseudo_likelihood(held.targets, seed=held.seed)))}


def _ais(model: RBMModel, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    if held.train_images is None:
        raise MeasurementError("The 'ais' measurement starts from the training images' base rates; "
                               "the held-out split was given none (HeldOut.train_images).")
    log_z = model.estimate_log_partition(
        "ais", train_images=held.train_images, num_chains=options["num_chains"],
        num_betas=options["num_betas"], seed=held.seed,
    )
    log_px = model.log_likelihood(held.targets, log_z=log_z)
    return {"ais_log_z": float(log_z), "ais_log_likelihood": float(np.mean(log_px))}


register_measurement(Measurement(
    "pseudo_likelihood", _pseudo_likelihood, {}, {"pseudo_likelihood": "max"}, RBMModel,
    "log pseudo-likelihood per image",
))
register_measurement(Measurement(
    "ais", _ais, {"num_chains": 100, "num_betas": 10000}, {"ais_log_likelihood": "max"}, RBMModel,
    "log-likelihood with an AIS estimate of log Z from the training base rates",
))
