"""The translation family's objectives: a pixel loss against the target, and adversarial
losses written on raw discriminator scores (one per patch for a PatchGAN)."""

from __future__ import annotations

from typing import Any

from keras import ops

from keras_genzoo.core.checks import check_choice

RECONSTRUCTIONS = ("l1", "l2")
ADVERSARIAL_LOSSES = ("least_squares", "non_saturating")


def reconstruction_loss(kind: str, outputs: Any, targets: Any) -> Any:
    """Mean absolute ("l1") or squared ("l2") difference, float32."""
    difference = ops.cast(outputs, "float32") - ops.cast(targets, "float32")
    return ops.mean(ops.abs(difference) if kind == "l1" else ops.square(difference))


def discriminator_loss(kind: str, real_scores: Any, fake_scores: Any) -> Any:
    """The discriminator's loss: real scores pushed to 1 and generated ones to 0
    (squared error), or the cross-entropy of the logits."""
    real, fake = ops.cast(real_scores, "float32"), ops.cast(fake_scores, "float32")
    if kind == "least_squares":
        return 0.5 * (ops.mean(ops.square(real - 1.0)) + ops.mean(ops.square(fake)))
    return ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake))


def generator_loss(kind: str, fake_scores: Any) -> Any:
    """The generator's adversarial loss: its outputs scored as real."""
    fake = ops.cast(fake_scores, "float32")
    if kind == "least_squares":
        return 0.5 * ops.mean(ops.square(fake - 1.0))
    return ops.mean(ops.softplus(-fake))


def check_losses(reconstruction: str | None, adversarial: str | None) -> None:
    if reconstruction is not None:
        check_choice(reconstruction, RECONSTRUCTIONS, "reconstruction")
    if adversarial is not None:
        check_choice(adversarial, ADVERSARIAL_LOSSES, "adversarial_loss")
