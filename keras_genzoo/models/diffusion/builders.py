"""The diffusion builders: a U-Net denoiser in a `Diffusion` model, unconditional or
class-conditional (classifier-free guidance)."""

from __future__ import annotations

from typing import Sequence

import keras

from keras_genzoo.core.blocks import check_image_shape
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.diffusion.model import Diffusion
from keras_genzoo.models.diffusion.unet import build_unet

SYMMETRIC_RANGE = (-1.0, 1.0)
#: Grey levels the bound assumes when the builder is not told the data's (8-bit images).
DEFAULT_LEVELS = 256


def _build(
    *,
    name: str,
    conditional: bool,
    image_shape: Sequence[int],
    widths: Sequence[int],
    blocks_per_level: int,
    attention_size: int,
    dropout: float,
    schedule: str,
    timesteps: int,
    continuous: bool,
    prediction: str,
    min_snr_gamma: float | None,
    ema_decay: float | None,
    num_levels: int | None,
    learning_rate: float,
    seed: int | None,
    num_classes: int | None = None,
    label_dropout: float = 0.0,
) -> Diffusion:
    """The one diffusion builder."""
    image_shape = check_image_shape(image_shape)
    if conditional:
        num_classes = check_positive_int(num_classes, "num_classes")
    network = build_unet(
        image_shape,
        widths=widths,
        blocks_per_level=blocks_per_level,
        attention_size=attention_size,
        dropout=dropout,
        num_classes=num_classes,
    )
    model = Diffusion(
        network,
        schedule=schedule,
        timesteps=timesteps,
        continuous=continuous,
        prediction=prediction,
        min_snr_gamma=min_snr_gamma,
        ema_decay=ema_decay,
        num_classes=num_classes,
        label_dropout=label_dropout,
        num_levels=DEFAULT_LEVELS if num_levels is None else num_levels,
        value_range=SYMMETRIC_RANGE,
        seed=seed,
        name=name,
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    return model


#: Every argument of the diffusion builders, in signature order; `only` marks the
#: variants that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("num_classes", int, 10, only={"conditional": True}),
    Argument("label_dropout", float, 0.1, only={"conditional": True}),
    Argument("widths", Sequence[int], (32, 64, 128)),
    Argument("blocks_per_level", int, 1),
    Argument("attention_size", int, 8),
    Argument("dropout", float, 0.0),
    Argument("schedule", str, "linear"),
    Argument("timesteps", int, 1000),
    Argument("continuous", bool, False),
    Argument("prediction", str, "epsilon"),
    Argument("min_snr_gamma", float | None, None),
    Argument("ema_decay", float | None, 0.999),
    Argument("num_levels", int | None, None),
    Argument("learning_rate", float, 2e-4),
    Argument("seed", int | None, None),
)
BUILDERS = BuilderTable("diffusion", ARGUMENTS, _build, module=__name__, returns=Diffusion)

ddpm = BUILDERS.variant(
    "ddpm",
    """Denoising diffusion (DDPM) with a U-Net for any image shape; DDIM or ancestral sampling.

    Images in [-1, 1] (`load_dataset(..., scale="symmetric")`). `schedule` "linear" or
    "cosine" (`continuous=True` trains at any noise level); `prediction` "epsilon" or
    "v"; `min_snr_gamma` (e.g. 5) weights the loss by Min-SNR; `num_levels` is the
    data's grey levels, for the likelihood bound (filled in from the data by runs and
    tuning; 256 when not given). `widths` per resolution level (the
    image halves between levels), self-attention at levels of at most `attention_size`
    pixels a side (0: none).
    """,
    conditional=False,
)
ddpm_conditional = BUILDERS.variant(
    "ddpm_conditional",
    """Class-conditional DDPM trained with label dropout: one network samples with
    classifier-free guidance (`generate(n, labels=..., guidance=3.0)`; 0 unconditional).

    Trains on (images, labels) with images in [-1, 1]. Other arguments as in `ddpm`.
    """,
    conditional=True,
)
