"""Log-densities, the Gaussian KL and binarisation used by the VAE family.

Every function returns one value per example (summed over all other axes), in nats.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_example(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def bernoulli_log_prob(x, logits):
    """log p(x) under independent Bernoulli pixels with the given logits.

    x * logits - softplus(logits) is log sigmoid(logits) for x = 1 and
    log(1 - sigmoid(logits)) for x = 0, computed without overflow.
    """
    x = ops.cast(x, "float32")
    logits = ops.cast(logits, "float32")
    return _sum_per_example(x * logits - ops.softplus(logits))


def discretized_logistic_log_prob(x, loc, log_scale, num_levels: int):
    """log P(x) of pixels on the grid k / (num_levels - 1) of [0, 1], each the mass a
    logistic(loc, exp(log_scale)) puts on its level's bin, summed over pixels.

    The bins split the real line at the midpoints between levels, the two end bins
    reaching to -inf and +inf, so the masses of the levels sum to one. Each x is taken
    at its nearest level. For an inner bin [c - h, c + h], with a = (c + h - loc) / s and
    b = (c - h - loc) / s, the mass sigmoid(a) - sigmoid(b) equals
    sigmoid(a) * sigmoid(-b) * (1 - exp(b - a)), whose log is computed without
    cancellation; an end bin keeps only its one finite edge.
    """
    x = ops.cast(x, "float32")
    loc = ops.cast(loc, "float32")
    log_scale = ops.broadcast_to(ops.cast(log_scale, "float32"), ops.shape(x))
    top = float(num_levels - 1)
    level = ops.round(ops.clip(x, 0.0, 1.0) * top)
    half_bin = 0.5 / top
    inv_scale = ops.exp(-log_scale)
    upper = (level / top + half_bin - loc) * inv_scale
    lower = (level / top - half_bin - loc) * inv_scale
    zeros = ops.zeros_like(x)
    below_top = level < top
    above_bottom = level > 0.0
    log_cdf_upper = ops.where(below_top, -ops.softplus(-upper), zeros)
    log_sf_lower = ops.where(above_bottom, -ops.softplus(lower), zeros)
    log_width = ops.log(-ops.expm1(-2.0 * half_bin * inv_scale))
    inner = ops.logical_and(below_top, above_bottom)
    return _sum_per_example(log_cdf_upper + log_sf_lower + ops.where(inner, log_width, zeros))


def gaussian_log_prob(x, mean, log_std):
    """log N(x; mean, exp(log_std)^2), summed over pixels; log_std broadcasts."""
    x = ops.cast(x, "float32")
    mean = ops.cast(mean, "float32")
    log_std = ops.cast(log_std, "float32")
    log_std = ops.broadcast_to(log_std, ops.shape(x))
    z = (x - mean) * ops.exp(-log_std)
    return _sum_per_example(-0.5 * ops.square(z) - log_std - 0.5 * LOG_2PI)


def diagonal_normal_log_prob(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))) over the last axis (any leading axes)."""
    z = ops.cast(z, "float32")
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return ops.sum(
        -0.5 * (ops.square(z - mean) * ops.exp(-log_var) + log_var + LOG_2PI), axis=-1
    )


def standard_normal_log_prob(z):
    """log N(z; 0, I) over the last axis (any leading axes)."""
    z = ops.cast(z, "float32")
    return ops.sum(-0.5 * (ops.square(z) + LOG_2PI), axis=-1)


def kl_to_standard_normal(mean, log_var):
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) per example, in closed form."""
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def binarize(images: np.ndarray, seed: int | None = 0) -> np.ndarray:
    """Binary images with each pixel on with probability equal to its grey level.

    This is the usual "stochastically binarised MNIST": a Bernoulli likelihood is a
    proper probability mass function only on binary data, so likelihoods reported in
    nats on binarised images compare like for like. Images must lie in [0, 1].
    """
    images = np.asarray(images, dtype=np.float32)
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise ValueError(
            f"binarize expects grey levels in [0, 1], got values in "
            f"[{images.min():g}, {images.max():g}]. Load the data with scale='unit'."
        )
    noise = np.random.default_rng(seed).random(images.shape, dtype=np.float32)
    return (noise < images).astype(np.float32)
