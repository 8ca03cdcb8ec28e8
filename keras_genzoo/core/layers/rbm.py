"""A restricted Boltzmann machine as a Keras layer.

The energy of a visible vector `v` and a binary hidden vector `h` is

    Bernoulli visible units:  E(v, h) = -v.b - h.c - v W h
    Gaussian visible units:   E(v, h) = |v - b|^2 / 2 - h.c - v W h   (unit variance)

so `p(h_j = 1 | v) = sigmoid(c_j + (v W)_j)` for both kinds, while `v | h` is Bernoulli with
probabilities `sigmoid(b + W h)` or Gaussian with mean `b + W h` and unit variance.
"""

from __future__ import annotations

import random
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.randomness import fold_in_replica, replica_evaluation_seed

VISIBLE_TYPES = ("bernoulli", "gaussian")

Seed = Any  # None, an int, a keras.random.SeedGenerator or an int tensor of shape (2,)


def bernoulli_sample(probabilities: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """0/1 samples (same dtype as `probabilities`) drawn with a stateless seed of shape (2,).

    The uniform noise is drawn and compared in float32 whatever the dtype of
    `probabilities`: float16 uniforms take only 1,024 values and bfloat16 ones 128, so
    under a mixed policy small probabilities would be switched on far too often.
    """
    noise = tf.random.stateless_uniform(
        tf.shape(probabilities), seed, dtype=tf.float32, alg="philox"
    )
    return tf.cast(noise < tf.cast(probabilities, tf.float32), probabilities.dtype)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class RBM(keras.layers.Layer):
    """Restricted Boltzmann machine with binary hidden units.

    Args:
        units: number of hidden units.
        visible: "bernoulli" for data in [0, 1] (binary or probabilities) or "gaussian"
            for real-valued data with unit variance (standardise it first).
        kernel_initializer: initialiser of the (visible, hidden) weight matrix.
        seed: initial state of the layer's random stream, used when sampling methods get
            no seed. The stream's state is a (non-trainable) weight, so a saved layer
            continues the same stream after loading.

    Calling the layer on a batch of visible vectors returns the hidden probabilities
    `p(h = 1 | v)`, so it works as a feature extractor inside any Keras model.
    """

    def __init__(
        self,
        units: int,
        visible: str = "bernoulli",
        kernel_initializer: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        units = check_positive_int(units, "RBM units")
        if visible not in VISIBLE_TYPES:
            raise ValueError(
                f"RBM visible must be one of {VISIBLE_TYPES}, got {visible!r}. Use "
                "'bernoulli' for pixels in [0, 1] and 'gaussian' for standardised real values."
            )
        self.units = units
        self.visible = visible
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(stddev=0.01, seed=seed)
        )
        self.seed = seed

    # ------------------------------------------------------------------ weights

    def build(self, input_shape: Any) -> None:
        visible_units = input_shape[-1]
        if visible_units is None:
            raise ValueError(
                "RBM needs a known number of visible units (last input dimension); "
                f"got input shape {input_shape}. Flatten images first."
            )
        self.kernel = self.add_weight(
            shape=(visible_units, self.units), initializer=self.kernel_initializer, name="kernel"
        )
        self.visible_bias = self.add_weight(
            shape=(visible_units,), initializer="zeros", name="visible_bias"
        )
        self.hidden_bias = self.add_weight(
            shape=(self.units,), initializer="zeros", name="hidden_bias"
        )
        initial_seed = self.seed if self.seed is not None else random.randint(1, 2**30)
        self.seed_state = self.add_weight(
            shape=(2,),
            dtype="int32",
            initializer=keras.initializers.Constant([initial_seed, 0]),
            trainable=False,
            # every replica advances the stream identically; replicas fold in their id
            aggregation="only_first_replica",
            name="seed_state",
        )

    @property
    def visible_units(self) -> int:
        return int(self.kernel.shape[0])

    def check_visible(self, v: Any) -> tf.Tensor:
        """`v` as a tensor of the compute dtype; raises unless it is (batch, visible units)."""
        v = ops.convert_to_tensor(v, dtype=self.compute_dtype)
        if len(v.shape) != 2 or (v.shape[-1] is not None and v.shape[-1] != self.visible_units):
            raise ValueError(
                f"RBM expects visible vectors of shape (batch, {self.visible_units}), got "
                f"{tuple(v.shape)}. Flatten images with ops.reshape(x, (len(x), -1))."
            )
        return v

    def _check_hidden(self, h: Any) -> tf.Tensor:
        h = ops.convert_to_tensor(h, dtype=self.compute_dtype)
        if len(h.shape) != 2 or (h.shape[-1] is not None and h.shape[-1] != self.units):
            raise ValueError(
                f"RBM expects hidden vectors of shape (batch, {self.units}), got {tuple(h.shape)}."
            )
        return h

    def seed_tensor(self, seed: Seed = None) -> tf.Tensor:
        """A stateless seed of shape (2,) from `seed` (None advances the layer's own stream).

        The layer's own stream and a `SeedGenerator` advance identically on every replica
        of a distributed step, so the replica id is folded into their seeds: replicas
        draw different noise. An explicit int or seed tensor is used as given.
        """
        if seed is None:
            current = ops.convert_to_tensor(self.seed_state)
            self.seed_state.assign(current + ops.convert_to_tensor([0, 1], dtype="int32"))
            return fold_in_replica(current)
        if isinstance(seed, keras.random.SeedGenerator):
            return fold_in_replica(tf.cast(seed.next(), tf.int32))
        if isinstance(seed, int):
            seed = [seed, 0]
        return tf.cast(seed, tf.int32)

    def evaluation_seed(self, batch_index: Any) -> tf.Tensor:
        """A stateless seed (2,) for evaluation batch `batch_index`, distinct per replica
        (`keras_genzoo.core.randomness.evaluation_seed`); the layer's stream does not move."""
        return replica_evaluation_seed(ops.convert_to_tensor(self.seed_state), batch_index)

    # ------------------------------------------------------------ conditionals

    def hidden_logits(self, v: Any) -> tf.Tensor:
        """Total input of each hidden unit, `c + v W`."""
        v = self.check_visible(v)
        return ops.matmul(v, ops.cast(self.kernel, v.dtype)) + ops.cast(self.hidden_bias, v.dtype)

    def hidden_probabilities(self, v: Any) -> tf.Tensor:
        """p(h = 1 | v)."""
        return ops.sigmoid(self.hidden_logits(v))

    def visible_activations(self, h: Any) -> tf.Tensor:
        """Total input of each visible unit, `b + W h`."""
        h = self._check_hidden(h)
        kernel = ops.cast(self.kernel, h.dtype)
        return tf.matmul(h, kernel, transpose_b=True) + ops.cast(self.visible_bias, h.dtype)

    def visible_probabilities(self, h: Any) -> tf.Tensor:
        """p(v = 1 | h) for Bernoulli units; the mean E[v | h] for Gaussian units."""
        activations = self.visible_activations(h)
        return ops.sigmoid(activations) if self.visible == "bernoulli" else activations

    def sample_hidden(self, v: Any, seed: Seed = None) -> tf.Tensor:
        """Binary hidden states drawn from p(h | v)."""
        return bernoulli_sample(self.hidden_probabilities(v), self.seed_tensor(seed))

    def sample_visible(self, h: Any, seed: Seed = None) -> tf.Tensor:
        """Visible states drawn from p(v | h): 0/1 values or unit-variance Gaussians."""
        means = self.visible_probabilities(h)
        return self.sample_visible_from_means(means, self.seed_tensor(seed))

    def sample_visible_from_means(self, means: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Visible states given `visible_probabilities(h)` and a stateless seed of shape (2,)."""
        if self.visible == "bernoulli":
            return bernoulli_sample(means, seed)
        return means + tf.random.stateless_normal(
            tf.shape(means), seed, dtype=means.dtype, alg="philox"
        )

    def gibbs(self, v: Any, k: int = 1, seed: Seed = None) -> tf.Tensor:
        """Visible states after `k` steps of block Gibbs sampling (v -> h -> v) from `v`."""
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"gibbs needs a positive integer number of steps k, got {k!r}.")
        v = self.check_visible(v)
        seed = self.seed_tensor(seed)

        def step(i: tf.Tensor, state: tf.Tensor) -> tf.Tensor:
            h = bernoulli_sample(
                self.hidden_probabilities(state),
                tf.random.experimental.stateless_fold_in(seed, 2 * i),
            )
            return self.sample_visible_from_means(
                self.visible_probabilities(h),
                tf.random.experimental.stateless_fold_in(seed, 2 * i + 1),
            )

        if k == 1:
            return step(tf.constant(0), v)
        return ops.fori_loop(0, k, step, v)

    # ------------------------------------------------------------------ energy

    def free_energy(self, v: Any) -> tf.Tensor:
        """F(v) = -log sum_h exp(-E(v, h)), one float32 value per row of `v`."""
        v = self.check_visible(v)
        return self.free_energy_from_logits(v, self.hidden_logits(v))

    def free_energy_from_logits(self, v: tf.Tensor, hidden_logits: tf.Tensor) -> tf.Tensor:
        """F(v) given `hidden_logits = c + v W` already computed for the same `v`.

        Reductions run in float32 so the value is accurate under mixed precision.
        """
        v32 = ops.cast(v, "float32")
        bias = ops.cast(self.visible_bias, "float32")
        if self.visible == "bernoulli":
            visible_term = -tf.linalg.matvec(v32, bias)
        else:
            visible_term = 0.5 * ops.sum(ops.square(v32 - bias), axis=-1)
        return visible_term - ops.sum(ops.softplus(ops.cast(hidden_logits, "float32")), axis=-1)

    # -------------------------------------------------------------- Keras API

    def call(self, inputs: Any) -> tf.Tensor:
        return self.hidden_probabilities(inputs)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            visible=self.visible,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            seed=self.seed,
        )
        return config
