"""Likelihood tools for RBMs: pseudo-likelihood, exact and AIS estimates of log Z.

`log p(v) = -F(v) - log Z`; the partition function `Z` is intractable in general, so
`ais_log_partition` estimates it by annealed importance sampling (Salakhutdinov and
Murray, 2008), and `exact_log_partition` computes it by summing over every hidden
configuration, which is feasible for small hidden layers and validates AIS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from scipy.special import logsumexp

from keras_genzoo.core.layers.rbm import RBM

MAX_EXACT_HIDDEN_UNITS = 24


def _weights64(rbm: RBM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not rbm.built:
        raise ValueError("The RBM has no weights yet: build it or train it first.")
    return (
        np.asarray(rbm.kernel, np.float64),
        np.asarray(rbm.visible_bias, np.float64),
        np.asarray(rbm.hidden_bias, np.float64),
    )


def _visible_array(rbm: RBM, v: Any) -> np.ndarray:
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] != rbm.visible_units:
        raise ValueError(
            f"Expected visible vectors of shape (n, {rbm.visible_units}), got {v.shape}. "
            "Flatten images (and scale them as the model does) first."
        )
    return v


# ----------------------------------------------------------------- pseudo-likelihood


def flipped_free_energy_gap(
    rbm: RBM,
    v: tf.Tensor,
    hidden_logits: tf.Tensor,
    indices: tf.Tensor,
    hidden_probabilities: tf.Tensor | None = None,
) -> tf.Tensor:
    """F(v with unit `indices[n]` of row n replaced by 1 - v) - F(v), per row, in float32.

    Only one unit changes per row, so each hidden input moves by `delta * W[i, j]` and no
    second matrix product is needed. With `hidden_probabilities = sigmoid(hidden_logits)`
    already at hand, the change of each softplus term uses the identity
    `softplus(a + d) - softplus(a) = log1p(sigmoid(a) * expm1(d))`, which needs two
    transcendental functions per hidden unit instead of four (it loses precision only
    when hidden inputs and weights both exceed about 15 in magnitude).
    """
    v = tf.cast(v, tf.float32)
    logits = tf.cast(hidden_logits, tf.float32)
    indices = tf.cast(indices, tf.int32)
    old = tf.gather(v, indices, axis=1, batch_dims=1)
    delta = (1.0 - old) - old
    logit_change = delta[:, None] * tf.gather(tf.cast(rbm.kernel, tf.float32), indices)
    if hidden_probabilities is None:
        softplus_change = tf.nn.softplus(logits + logit_change) - tf.nn.softplus(logits)
    else:
        probabilities = tf.cast(hidden_probabilities, tf.float32)
        # softplus is 1-Lipschitz, so the change is at least min(d, 0): the bound only
        # replaces -inf where sigmoid(a) rounds to 1 and expm1(d) to -1.
        softplus_change = tf.maximum(
            tf.math.log1p(probabilities * tf.math.expm1(logit_change)),
            tf.minimum(logit_change, 0.0),
        )
    bias_change = -delta * tf.gather(tf.cast(rbm.visible_bias, tf.float32), indices)
    return bias_change - tf.reduce_sum(softplus_change, axis=-1)


def pseudo_likelihood_from_gap(gap: tf.Tensor, visible_units: int) -> tf.Tensor:
    """`D * log sigmoid(F(v') - F(v))`, the one-flip pseudo-likelihood estimate."""
    return -float(visible_units) * tf.nn.softplus(-gap)


def pseudo_likelihood(
    rbm: RBM, v: Any, *, flip_indices: Any = None, seed: int | None = None
) -> np.ndarray:
    """Per-row log pseudo-likelihood of Bernoulli visible vectors `v` (shape (n, D)).

    Same definition as scikit-learn's `BernoulliRBM.score_samples`: one unit per row,
    chosen at random (or given by `flip_indices`), is replaced by `1 - v`, and the
    estimate is `D * log sigmoid(F(v_flipped) - F(v))`, an unbiased estimate of the
    sum over units of `log p(v_i | v_rest)` for binary data.
    """
    if rbm.visible != "bernoulli":
        raise ValueError(
            "Pseudo-likelihood is defined here for Bernoulli visible units only; a "
            f"{rbm.visible!r} RBM has no closed-form conditional p(v_i | v_rest)."
        )
    v = _visible_array(rbm, v).astype(np.float32)
    if flip_indices is None:
        flip_indices = np.random.default_rng(seed).integers(0, v.shape[1], len(v))
    flip_indices = np.asarray(flip_indices)
    in_range = flip_indices.min() >= 0 and flip_indices.max() < v.shape[1]
    if flip_indices.shape != (len(v),) or not in_range:
        raise ValueError(
            f"flip_indices must hold one unit index in [0, {v.shape[1]}) per row, got "
            f"shape {flip_indices.shape}."
        )
    v_t = tf.constant(v)
    gap = flipped_free_energy_gap(rbm, v_t, rbm.hidden_logits(v_t), tf.constant(flip_indices))
    return pseudo_likelihood_from_gap(gap, v.shape[1]).numpy()


# ------------------------------------------------------------------- partition function


def _hidden_configurations(units: int, start: int, stop: int) -> np.ndarray:
    codes = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((codes >> np.arange(units, dtype=np.int64)) & 1).astype(np.float64)


def exact_log_partition(rbm: RBM, chunk_size: int = 1 << 14) -> float:
    """log Z computed exactly by summing over all 2^H hidden configurations.

    Given h, the visible units are independent, so each term is closed-form:
    Bernoulli: `c.h + sum_i softplus(b_i + (W h)_i)`;
    Gaussian:  `c.h + b.(W h) + |W h|^2 / 2 + (D / 2) log(2 pi)`.
    """
    kernel, visible_bias, hidden_bias = _weights64(rbm)
    units = kernel.shape[1]
    if units > MAX_EXACT_HIDDEN_UNITS:
        raise ValueError(
            f"Exact log Z enumerates 2^{units} hidden states; that is only feasible for "
            f"at most {MAX_EXACT_HIDDEN_UNITS} hidden units. Use ais_log_partition instead."
        )
    terms = []
    for start in range(0, 1 << units, chunk_size):
        h = _hidden_configurations(units, start, min(start + chunk_size, 1 << units))
        top_down = h @ kernel.T
        if rbm.visible == "bernoulli":
            log_terms = h @ hidden_bias + np.logaddexp(0.0, top_down + visible_bias).sum(axis=1)
        else:
            log_terms = (
                h @ hidden_bias
                + top_down @ visible_bias
                + 0.5 * np.square(top_down).sum(axis=1)
                + 0.5 * kernel.shape[0] * math.log(2.0 * math.pi)
            )
        terms.append(logsumexp(log_terms))
    return float(logsumexp(terms))


@dataclass(frozen=True)
class AISEstimate:
    """An AIS estimate of log Z, with a +-3 standard-error band (in log space)."""

    log_z: float
    log_z_low: float
    log_z_high: float
    base_log_z: float
    num_chains: int
    num_betas: int


def annealing_schedule(num_betas: int) -> np.ndarray:
    """Inverse temperatures from 0 to 1, denser near 1 where the distributions change most."""
    if num_betas < 10:
        raise ValueError(f"num_betas must be at least 10, got {num_betas}.")
    n1, n2 = num_betas // 10, (3 * num_betas) // 10
    n3 = num_betas - n1 - n2
    return np.concatenate(
        [
            np.linspace(0.0, 0.5, n1, endpoint=False),
            np.linspace(0.5, 0.9, n2, endpoint=False),
            np.linspace(0.9, 1.0, n3),
        ]
    )


def base_rate_visible_bias(rbm: RBM, data: Any) -> np.ndarray:
    """Visible biases of the independent-units base model that best fits `data`.

    Bernoulli: log-odds of each unit's mean (smoothed); Gaussian: each unit's mean.
    """
    data = _visible_array(rbm, data).astype(np.float64)
    mean = data.mean(axis=0)
    if rbm.visible == "gaussian":
        return mean
    p = (data.sum(axis=0) + 0.5) / (len(data) + 1.0)
    return np.log(p) - np.log1p(-p)


def _ais_log_weights(
    kernel: tf.Tensor,
    visible_bias: tf.Tensor,
    hidden_bias: tf.Tensor,
    base_bias: tf.Tensor,
    betas: tf.Tensor,
    num_chains: int,
    seed: tf.Tensor,
    gaussian: bool,
) -> tf.Tensor:
    dtype = kernel.dtype

    def affine(x: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor, transpose: bool = False) -> tf.Tensor:
        # The bias is broadcast to the product's shape first: TensorFlow's CPU graph
        # rewrite tries to fuse a MatMul and a broadcasting add, cannot in float64, and
        # logs "Not handling type DT_DOUBLE" for each; the sums are the same.
        product = tf.matmul(x, weights, transpose_b=transpose)
        return product + tf.broadcast_to(bias, tf.shape(product))

    def visible_part(v: tf.Tensor, beta: tf.Tensor) -> tf.Tensor:
        if gaussian:
            return -0.5 * (
                (1.0 - beta) * tf.reduce_sum(tf.square(v - base_bias), axis=1)
                + beta * tf.reduce_sum(tf.square(v - visible_bias), axis=1)
            )
        return (1.0 - beta) * tf.linalg.matvec(v, base_bias) + beta * tf.linalg.matvec(
            v, visible_bias
        )

    def log_unnormalised(v: tf.Tensor, hidden_input: tf.Tensor, beta: tf.Tensor) -> tf.Tensor:
        return visible_part(v, beta) + tf.reduce_sum(tf.nn.softplus(beta * hidden_input), axis=1)

    def sample_visible(mean_or_logit: tf.Tensor, step_seed: tf.Tensor) -> tf.Tensor:
        if gaussian:
            return mean_or_logit + tf.random.stateless_normal(
                tf.shape(mean_or_logit), step_seed, dtype=dtype
            )
        noise = tf.random.stateless_uniform(tf.shape(mean_or_logit), step_seed, dtype=dtype)
        return tf.cast(noise < tf.sigmoid(mean_or_logit), dtype)

    visible_units = tf.shape(kernel)[0]  # dynamic: one trace serves every visible size
    v = sample_visible(
        tf.broadcast_to(base_bias, (num_chains, visible_units)),
        tf.random.experimental.stateless_fold_in(seed, 0),
    )
    hidden_input = affine(v, kernel, hidden_bias)
    log_w = log_unnormalised(v, hidden_input, betas[1]) - log_unnormalised(
        v, hidden_input, betas[0]
    )

    def body(k, v, hidden_input, log_w):
        beta = betas[k]
        k_seed = tf.random.experimental.stateless_fold_in(seed, k)
        hidden_seed, visible_seed = tf.unstack(tf.random.experimental.stateless_split(k_seed, 2))
        hidden_probs = tf.sigmoid(beta * hidden_input)
        noise = tf.random.stateless_uniform(tf.shape(hidden_probs), hidden_seed, dtype=dtype)
        h = tf.cast(noise < hidden_probs, dtype)
        visible_input = (1.0 - beta) * base_bias + beta * affine(h, kernel, visible_bias, True)
        v = sample_visible(visible_input, visible_seed)
        hidden_input = affine(v, kernel, hidden_bias)
        log_w += log_unnormalised(v, hidden_input, betas[k + 1]) - log_unnormalised(
            v, hidden_input, beta
        )
        return k + 1, v, hidden_input, log_w

    num_betas = tf.shape(betas)[0]
    _, _, _, log_w = tf.while_loop(
        lambda k, *_: k < num_betas - 1, body, (tf.constant(1), v, hidden_input, log_w)
    )
    return log_w


_ais_compiled = tf.function(_ais_log_weights, reduce_retracing=True)


def ais_log_partition(
    rbm: RBM,
    *,
    num_chains: int = 100,
    num_betas: int = 10000,
    base_visible_bias: Any = None,
    data: Any = None,
    seed: int = 0,
    dtype: str = "float64",
) -> AISEstimate:
    """Estimate log Z by annealed importance sampling from an independent-units base model.

    The base model has the RBM's hidden units with zero weights and biases and visible
    biases `base_visible_bias`, or the base rates of `data` (flattened visible vectors),
    or zeros. Intermediate distributions interpolate the visible biases and scale the
    hidden inputs by the inverse temperature; each is left invariant by one Gibbs sweep.
    """
    kernel, visible_bias, hidden_bias = _weights64(rbm)
    visible_units, hidden_units = kernel.shape
    if num_chains < 2:
        raise ValueError(f"num_chains must be at least 2, got {num_chains}.")
    if base_visible_bias is not None and data is not None:
        raise ValueError("Pass either base_visible_bias or data (to derive it), not both.")
    if data is not None:
        base_visible_bias = base_rate_visible_bias(rbm, data)
    if base_visible_bias is None:
        base_visible_bias = np.zeros(visible_units)
    base = np.asarray(base_visible_bias, np.float64)
    if base.shape != (visible_units,):
        raise ValueError(f"base_visible_bias must have shape ({visible_units},), got {base.shape}.")
    gaussian = rbm.visible == "gaussian"
    if gaussian:
        base_log_z = hidden_units * math.log(2.0) + 0.5 * visible_units * math.log(2.0 * math.pi)
    else:
        base_log_z = hidden_units * math.log(2.0) + float(np.logaddexp(0.0, base).sum())
    betas = annealing_schedule(num_betas)
    const = lambda a: tf.constant(a, dtype=dtype)  # noqa: E731
    log_w = _ais_compiled(
        const(kernel), const(visible_bias), const(hidden_bias), const(base), const(betas),
        num_chains, tf.constant([seed, 0], tf.int32), gaussian,
    ).numpy().astype(np.float64)
    shift = log_w.max()
    w = np.exp(log_w - shift)
    mean, spread = w.mean(), 3.0 * w.std(ddof=1) / math.sqrt(num_chains)
    log_mean = math.log(mean) + shift + base_log_z
    low = math.log(mean - spread) + shift + base_log_z if mean > spread else -math.inf
    return AISEstimate(
        log_z=log_mean,
        log_z_low=low,
        log_z_high=math.log(mean + spread) + shift + base_log_z,
        base_log_z=base_log_z,
        num_chains=num_chains,
        num_betas=num_betas,
    )


def free_energy(rbm: RBM, v: Any, batch_size: int = 1000) -> np.ndarray:
    """F(v) per row of `v` (flattened visible vectors), in float64."""
    kernel, visible_bias, hidden_bias = _weights64(rbm)
    v = _visible_array(rbm, v).astype(np.float64)
    out = []
    for start in range(0, len(v), batch_size):
        chunk = v[start : start + batch_size]
        softplus = np.logaddexp(0.0, chunk @ kernel + hidden_bias).sum(axis=1)
        if rbm.visible == "bernoulli":
            out.append(-chunk @ visible_bias - softplus)
        else:
            out.append(0.5 * np.square(chunk - visible_bias).sum(axis=1) - softplus)
    return np.concatenate(out)


def log_probability(rbm: RBM, v: Any, log_z: float) -> np.ndarray:
    """`log p(v) = -F(v) - log Z` for each row of `v`, in float64."""
    return -free_energy(rbm, v) - log_z


def average_log_likelihood(rbm: RBM, v: Any, log_z: float) -> float:
    """Mean of `log p(v) = -F(v) - log Z` over the rows of `v`."""
    return float(np.mean(-free_energy(rbm, v)) - log_z)
