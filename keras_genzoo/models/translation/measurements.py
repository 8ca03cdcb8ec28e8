"""The translation models' held-out measurements (registered on import).

`translation`: the held-out inputs (`HeldOut.images`) translated and compared with their
targets (`HeldOut.targets`): mean absolute error, PSNR and SSIM (`tf.image.psnr`,
`tf.image.ssim`, on pixels mapped to [0, 1]). `cycle`: a CycleGAN's held-out domain-A
images taken to B and back, the mean absolute error of the round trip.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from keras_genzoo.evaluation.heldout import HeldOut, Measurement, register_measurement
from keras_genzoo.models.translation.model import CycleGAN, PairedTranslator


def image_scores(
    outputs: np.ndarray, targets: np.ndarray, value_range: tuple[float, float]
) -> dict[str, float]:
    """L1 (in the value range), PSNR (dB) and SSIM of `outputs` against `targets`."""
    low, high = value_range
    unit_outputs = tf.convert_to_tensor((outputs - low) / (high - low), tf.float32)
    unit_targets = tf.convert_to_tensor((targets - low) / (high - low), tf.float32)
    # SSIM's window must fit the images: at most their smaller side, odd.
    window = min(11, int(min(targets.shape[1:3])) // 2 * 2 - 1)
    return {
        "l1": float(np.mean(np.abs(outputs - targets))),
        "psnr": float(tf.reduce_mean(tf.image.psnr(unit_outputs, unit_targets, 1.0))),
        "ssim": float(tf.reduce_mean(tf.image.ssim(unit_outputs, unit_targets, 1.0, filter_size=window))),
    }


def _translation(model: PairedTranslator, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    count = min(options["num_images"] or len(held.images), len(held.images))
    outputs = model.translate(held.images[:count], seed=held.seed)
    return {"num_images": int(count), **image_scores(outputs, held.targets[:count], model.value_range)}


def _cycle(model: CycleGAN, held: HeldOut, options: Mapping[str, Any]) -> dict[str, float]:
    count = min(options["num_images"] or len(held.images), len(held.images))
    images = held.images[:count]
    back = model.translate(model.translate(images, direction="a_to_b"), direction="b_to_a")
    return {"num_images": int(count), "cycle_l1": float(np.mean(np.abs(back - images)))}


register_measurement(Measurement(
    "translation", _translation, {"num_images": 1000},
    {"l1": "min", "psnr": "max", "ssim": "max"}, PairedTranslator,
    "L1, PSNR and SSIM of held-out translations against their targets",
))
register_measurement(Measurement(
    "cycle", _cycle, {"num_images": 1000}, {"cycle_l1": "min"}, CycleGAN,
    "L1 of held-out domain-A images taken to domain B and back",
))
