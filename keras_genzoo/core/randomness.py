"""The zoo's one seed policy and its one replica fold-in.

Seed policy, for every method of every model that takes a `seed`:

* `seed=<int>`: the output is a function of the seed (and the model's weights) alone.
  The same seed gives the same output, whatever was called before, and the draws are
  stateless: no random state of the model or of Keras advances.
* `seed=None`: a fresh seed is drawn for each call from Keras' global random state
  (`resolve_seed`), so `keras.utils.set_random_seed(s)` before the call reproduces it,
  and two calls in a row differ.

Training noise comes from seed streams kept in the model (saved with it). Their state
is the same on every replica of a distribution strategy, so each draw folds in the
replica id (`fold_in_replica`): replicas draw different noise, and one device draws
as replica 0 does.

Evaluation noise (a test step's) is stateless: `evaluation_seed` derives it from the
stream's state and the batch's place in the evaluation, on a stream of its own, and
advances nothing, so evaluating twice gives the same numbers and leaves the training
noise as it was.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_genzoo.core.checks import is_int

SEED_LIMIT = 2**31 - 1  # seeds are drawn from [0, SEED_LIMIT) and folded into int32
EVALUATION_STREAM = 0x5EED  # tag folded into a stream's state to give evaluation its own


def resolve_seed(seed: Any, what: str = "seed") -> int:
    """The integer seed a call uses: `seed` itself, or a fresh draw for None (see the
    module's seed policy)."""
    if seed is None:
        draw = keras.random.randint((), 0, SEED_LIMIT, dtype="int32")
        return int(keras.ops.convert_to_numpy(draw))
    if not is_int(seed):
        raise ValueError(f"{what} must be an integer or None, got {seed!r}.")
    return int(seed)


def numpy_rng(seed: Any) -> np.random.Generator:
    """A NumPy generator seeded by the seed policy (`resolve_seed`)."""
    return np.random.default_rng(resolve_seed(seed))


def replica_id() -> tf.Tensor:
    """The id (int32) of the replica running this code: 0 outside a distributed step."""
    context = tf.distribute.get_replica_context()
    return tf.constant(0, tf.int32) if context is None else tf.cast(
        context.replica_id_in_sync_group, tf.int32
    )


def fold_in_replica(seed: Any) -> tf.Tensor:
    """A stateless seed (2,) made distinct per replica (replica 0 included)."""
    return tf.random.experimental.stateless_fold_in(seed, replica_id())


def as_int32_seed(seed: Any) -> tf.Tensor:
    """A seed tensor (2,) of any integer dtype as int32, wrapped into [0, SEED_LIMIT)."""
    return tf.cast(tf.math.floormod(seed, SEED_LIMIT), tf.int32)


def evaluation_seed(state: Any, batch_index: Any) -> tf.Tensor:
    """The stateless seed (2,) of one evaluation batch: a seed stream's current `state`
    folded with `EVALUATION_STREAM`, then with the batch's place in the evaluation. It
    reads the state and advances nothing."""
    tagged = tf.random.experimental.stateless_fold_in(state, EVALUATION_STREAM)
    return tf.random.experimental.stateless_fold_in(tagged, batch_index)


def replica_evaluation_seed(state: Any, batch_index: Any) -> tf.Tensor:
    """`evaluation_seed` as an int32 seed (2,), distinct per replica (`fold_in_replica`)."""
    return fold_in_replica(as_int32_seed(evaluation_seed(state, batch_index)))


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `SeedGenerator` whose seeds also depend on the replica that draws them.

    The generator's state advances identically on every replica, so folding in the
    replica id (`fold_in_replica`) is what makes replicas draw different noise. On a
    single device the sequence is as reproducible as the plain generator's.
    """

    def next(self, ordered: bool = True) -> tf.Tensor:
        return fold_in_replica(as_int32_seed(super().next(ordered=ordered)))

    def evaluation_seed(self, batch_index: Any) -> tf.Tensor:
        """A stateless int32 seed (2,) for evaluation batch `batch_index`, distinct per
        replica (`evaluation_seed` of the module); the generator's state does not move."""
        return replica_evaluation_seed(tf.convert_to_tensor(self.state.value), batch_index)
