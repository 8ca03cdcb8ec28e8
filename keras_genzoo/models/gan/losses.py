"""Adversarial objectives, written on raw discriminator outputs (logits or critic scores).

Each objective gives the per-sample discriminator loss on a real and a generated batch
and the per-sample generator loss on a generated batch; the model averages them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from keras import ops

LOSSES = ("non_saturating", "minimax", "least_squares", "hinge", "wasserstein")

# Losses whose real target is a label that one-sided smoothing can lower below 1.
SMOOTHABLE = ("non_saturating", "minimax", "least_squares")
# Losses whose discriminator output is a logit of "real": report sigmoid(output).
PROBABILISTIC = ("non_saturating", "minimax")


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    discriminator: Callable  # (real_out, fake_out, real_target) -> per-sample loss
    generator: Callable  # (fake_out) -> per-sample loss


def _bce_discriminator(real, fake, real_target):
    # Cross-entropy with logits: -t log sigmoid(r) - (1 - t) log(1 - sigmoid(r)) - log(1 - sigmoid(f)).
    return (
        real_target * ops.softplus(-real)
        + (1.0 - real_target) * ops.softplus(real)
        + ops.softplus(fake)
    )


def _least_squares_discriminator(real, fake, real_target):
    return 0.5 * (ops.square(real - real_target) + ops.square(fake))


def _hinge_discriminator(real, fake, real_target):
    return ops.relu(1.0 - real) + ops.relu(1.0 + fake)


def _wasserstein_discriminator(real, fake, real_target):
    return fake - real


_OBJECTIVES = {
    # G maximises log D(G(z)): strong gradients while D rejects the samples.
    "non_saturating": AdversarialLoss("non_saturating", _bce_discriminator, lambda f: ops.softplus(-f)),
    # G minimises log(1 - D(G(z))) = -softplus(f): the original zero-sum game.
    "minimax": AdversarialLoss("minimax", _bce_discriminator, lambda f: -ops.softplus(f)),
    "least_squares": AdversarialLoss(
        "least_squares", _least_squares_discriminator, lambda f: 0.5 * ops.square(f - 1.0)
    ),
    "hinge": AdversarialLoss("hinge", _hinge_discriminator, lambda f: -f),
    "wasserstein": AdversarialLoss("wasserstein", _wasserstein_discriminator, lambda f: -f),
}


def get_loss(name: str) -> AdversarialLoss:
    """The adversarial objective called `name` (one of `LOSSES`)."""
    if name not in _OBJECTIVES:
        raise ValueError(f"Unknown GAN loss {name!r}. Choose one of: {', '.join(LOSSES)}.")
    return _OBJECTIVES[name]
