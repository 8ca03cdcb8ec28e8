"""`VectorQuantizer`: the nearest codebook vector of every latent vector, with
straight-through gradients, an optional EMA codebook and the restart of dead codes.

The layer keeps its state in float32 whatever the dtype policy. Batch statistics
(code counts, sums of assigned vectors, restart candidates) are summed over the
replicas of a `tf.distribute` strategy, so every replica keeps the same codebook.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from keras_genzoo.core.checks import check_positive_int


def _replica_sum(value: Any) -> Any:
    """`value` summed over the replicas of the current strategy (itself on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _first_replica(value: Any) -> Any:
    """The first replica's `value`, on every replica."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    first = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), value.dtype)
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value * first)


def _check_fraction(value: Any, what: str, *, closed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number in [0, 1), got {value!r}.")
    value = float(value)
    if not (0.0 <= value < 1.0 or (closed and value == 1.0)):
        raise ValueError(f"{what} must lie in [0, 1), got {value!r}.")
    return value


@keras.saving.register_keras_serializable(package="keras_genzoo")
class VectorQuantizer(keras.layers.Layer):
    """Maps each vector (last axis, `code_dim` values) to its nearest of `num_codes`
    codebook vectors (squared Euclidean distance).

    `call(z)` returns `(quantised, indices, codebook_loss, commitment_loss)`: the
    quantised vectors with straight-through gradients (the forward value is the
    codebook vector, the gradient passes to `z` unchanged), the int32 code indices,
    mean ||sg(z) - e||^2 (the codebook's own loss, zero with `ema=True`) and mean
    ||z - sg(e)||^2 (the commitment loss the caller weights).

    With `ema=True` the codebook is not trained by gradients: `ema_update(z, indices)`
    moves each code to the exponential moving average (`decay`) of the vectors assigned
    to it, with Laplace smoothing (`epsilon`) of the counts. `restart_dead_codes(z,
    errors)` moves every code whose moving usage fell below `dead_code_threshold` (a
    fraction of the average usage 1 / num_codes) onto the vectors the codebook fits
    worst.
    """

    def __init__(
        self,
        num_codes: int,
        code_dim: int,
        *,
        ema: bool = True,
        decay: float = 0.99,
        epsilon: float = 1e-5,
        dead_code_threshold: float = 0.03,
        **kwargs: Any,
    ) -> None:
        kwargs["dtype"] = "float32"  # distances and moving averages stay in float32
        super().__init__(**kwargs)
        self.num_codes = check_positive_int(num_codes, "num_codes")
        if self.num_codes < 2:
            raise ValueError(f"num_codes must be at least 2, got {num_codes}.")
        self.code_dim = check_positive_int(code_dim, "code_dim")
        self.ema = bool(ema)
        self.decay = _check_fraction(decay, "decay")
        self.epsilon = float(epsilon)
        self.dead_code_threshold = _check_fraction(dead_code_threshold, "dead_code_threshold", closed=True)
        self.codebook = self.add_weight(
            shape=(self.num_codes, self.code_dim), name="codebook", trainable=not self.ema,
            initializer=keras.initializers.RandomUniform(-1.0 / self.num_codes, 1.0 / self.num_codes),
        )
        state = dict(trainable=False, aggregation="only_first_replica")
        # The moving averages start as if each code had received one vector, itself, so an
        # unused code stays where it is instead of collapsing to zero.
        self.ema_counts = self.add_weight(
            shape=(self.num_codes,), name="ema_counts", initializer="ones", **state
        )
        self.ema_sums = self.add_weight(
            shape=(self.num_codes, self.code_dim), name="ema_sums", initializer="zeros", **state
        )
        self.ema_sums.assign(self.codebook)
        # Moving fraction of the vectors each code receives; starts at the uniform share.
        self.usage = self.add_weight(
            shape=(self.num_codes,), name="usage",
            initializer=keras.initializers.Constant(1.0 / self.num_codes), **state,
        )
        self.built = True

    # ------------------------------------------------------------------ lookup

    def distances(self, flat: Any) -> Any:
        """Squared distances (n, num_codes) from vectors `flat` (n, code_dim) to the codes."""
        flat = ops.cast(flat, "float32")
        codebook = ops.convert_to_tensor(self.codebook)
        return (
            ops.sum(flat**2, axis=1, keepdims=True)
            - 2.0 * ops.matmul(flat, ops.transpose(codebook))
            + ops.sum(codebook**2, axis=1)[None, :]
        )

    def lookup(self, indices: Any) -> Any:
        """Codebook vectors (..., code_dim) of int indices (...)."""
        return ops.take(ops.convert_to_tensor(self.codebook), ops.cast(indices, "int32"), axis=0)

    def nearest(self, z: Any) -> Any:
        """int32 indices (...) of the nearest code of every vector of `z` (..., code_dim)."""
        z = ops.cast(z, "float32")
        flat = ops.reshape(z, (-1, self.code_dim))
        indices = ops.cast(ops.argmin(self.distances(flat), axis=1), "int32")
        return ops.reshape(indices, ops.shape(z)[:-1])

    def call(self, z: Any) -> tuple[Any, Any, Any, Any]:
        z = ops.cast(z, "float32")
        indices = self.nearest(z)
        codes = self.lookup(indices)
        commitment = ops.mean(ops.square(z - ops.stop_gradient(codes)))
        codebook_loss = ops.mean(ops.square(ops.stop_gradient(z) - codes)) if not self.ema else 0.0
        quantised = z + ops.stop_gradient(codes - z)
        return quantised, indices, ops.convert_to_tensor(codebook_loss, "float32"), commitment

    # --------------------------------------------------------------- updates

    def batch_counts(self, indices: Any) -> Any:
        """How many vectors of the global batch each code received, (num_codes,) float32."""
        hot = ops.one_hot(ops.reshape(indices, (-1,)), self.num_codes, dtype="float32")
        return _replica_sum(ops.sum(hot, axis=0))

    def update_usage(self, counts: Any) -> None:
        """Move the usage average towards this batch's share of each code."""
        share = counts / ops.maximum(ops.sum(counts), 1.0)
        self.usage.assign(self.decay * self.usage + (1.0 - self.decay) * share)

    def ema_update(self, z: Any, indices: Any, counts: Any) -> None:
        """One EMA step of the codebook from the vectors `z` (..., code_dim) assigned to
        `indices` (...); `counts` are the global batch's counts (`batch_counts`)."""
        flat = ops.reshape(ops.cast(z, "float32"), (-1, self.code_dim))
        hot = ops.one_hot(ops.reshape(indices, (-1,)), self.num_codes, dtype="float32")
        sums = _replica_sum(ops.matmul(ops.transpose(hot), flat))
        counts_avg = self.decay * self.ema_counts + (1.0 - self.decay) * counts
        sums_avg = self.decay * self.ema_sums + (1.0 - self.decay) * sums
        total = ops.sum(counts_avg)
        smoothed = (counts_avg + self.epsilon) / (total + self.num_codes * self.epsilon) * total
        self.ema_counts.assign(counts_avg)
        self.ema_sums.assign(sums_avg)
        self.codebook.assign(sums_avg / smoothed[:, None])

    def restart_dead_codes(self, z: Any, errors: Any, due: Any = True) -> Any:
        """Move every dead code onto one of the vectors with the largest quantisation
        `errors`, the worst fitted first; returns the number of codes restarted.

        A code is dead when its moving usage is below `dead_code_threshold / num_codes`.
        The candidates come from the first replica's batch, so all replicas agree.
        `due` (a boolean tensor) False makes the call change nothing; the call runs its
        cross-replica step either way, as a strategy cannot synchronise inside a branch.
        """
        flat = ops.reshape(ops.cast(z, "float32"), (-1, self.code_dim))
        errors = ops.reshape(ops.cast(errors, "float32"), (-1,))
        dead = ops.cast(self.usage < self.dead_code_threshold / self.num_codes, "int32")
        take = ops.minimum(self.num_codes, ops.shape(flat)[0])
        order = tf.math.top_k(errors, k=take).indices
        candidates = _first_replica(ops.take(flat, order, axis=0))
        # The i-th dead code (in index order) takes the i-th worst vector, while any last.
        rank = ops.cumsum(dead) - 1
        chosen = dead * ops.cast(rank < take, "int32") * ops.cast(due, "int32")
        fresh = ops.take(candidates, ops.clip(rank, 0, take - 1), axis=0)
        mask = ops.cast(chosen, "float32")[:, None]
        self.codebook.assign(mask * fresh + (1.0 - mask) * self.codebook)
        share = 1.0 / self.num_codes
        keep = 1.0 - mask[:, 0]
        self.usage.assign(keep * self.usage + (1.0 - keep) * share)
        if self.ema:
            counts = ops.sum(self.ema_counts) * share
            self.ema_counts.assign(keep * self.ema_counts + (1.0 - keep) * counts)
            self.ema_sums.assign(mask * fresh * counts + (1.0 - mask) * self.ema_sums)
        return ops.sum(chosen)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("dtype", None)
        config.update(
            num_codes=self.num_codes, code_dim=self.code_dim, ema=self.ema, decay=self.decay,
            epsilon=self.epsilon, dead_code_threshold=self.dead_code_threshold,
        )
        return config
