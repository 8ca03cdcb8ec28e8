"""Loss scaling for float16 training that stays correct under several replicas."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_genzoo")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras' dynamic loss scaling, with the skip decision agreed by every replica.

    Keras 3's `LossScaleOptimizer` decides whether a step's gradients are finite from
    the first replica's gradients alone, before they are summed over replicas: when
    another replica overflows, its inf/NaN gradients are applied and the weights are
    lost. Here every replica (of every worker) reports whether its gradients are finite,
    and the step is applied only when all are, else skipped with the scale halved.
    """

    def _tf_apply(self, grads: list[Any], trainable_variables: list[Any] | None = None) -> None:
        context = tf.distribute.get_replica_context()
        if context is None or tf.__internal__.distribute.strategy_supports_no_merge_call():
            super()._tf_apply(grads, trainable_variables)
            return

        def nonfinite_count(replica_grads):
            return tf.cast(tf.logical_not(self.check_finite(replica_grads)), tf.float32)

        def apply_or_skip(distribution, grads, trainable_variables):
            per_replica = distribution.extended.call_for_each_replica(
                nonfinite_count, args=(grads,)
            )
            overflowed = distribution.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

            def apply():
                distribution.extended.call_for_each_replica(
                    self._stateful_handle_finite_grads, args=(grads, trainable_variables)
                )

            # A cross-replica cond: the branch that applies gradients calls merge_call.
            keras.ops.cond(
                tf.equal(overflowed, 0.0), apply, self._stateful_handle_non_finite_grads
            )

        context.merge_call(apply_or_skip, args=(grads, trainable_variables))


def with_replica_safe_loss_scaling(optimizer: Any) -> Any:
    """`optimizer`, with a Keras `LossScaleOptimizer` replaced by `LossScaleOptimizer`.

    Call it under the strategy scope the optimizer was created in (as `compile` runs).
    """
    if type(optimizer) is not keras.optimizers.LossScaleOptimizer:
        return optimizer
    return LossScaleOptimizer(
        optimizer.inner_optimizer,
        initial_scale=optimizer.initial_scale,
        dynamic_growth_steps=optimizer.dynamic_growth_steps,
        name=optimizer.name,
    )
