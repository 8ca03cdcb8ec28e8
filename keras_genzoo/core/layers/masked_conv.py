"""A causally masked 2-D convolution for autoregressive image models (PixelCNN).

Pixels are ordered row by row, left to right, and within a pixel channel by channel
(R before G before B). The mask zeroes every kernel tap that would let an output see a
later input: all rows below the centre, the taps right of the centre in the centre row,
and at the centre tap the channel connections that point backwards in the ordering.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

MASK_TYPES = ("A", "B")


def channel_groups(channels: int, groups: int) -> np.ndarray:
    """The colour group (0 .. groups-1) of each of `channels` feature maps.

    Feature maps are assigned to colours in turn (map k belongs to colour k % groups),
    so splitting a layer's maps into equal halves (as a gated unit does) keeps each
    half's colour pattern.
    """
    return np.arange(channels) % groups


def causal_mask(
    kernel_size: tuple[int, int],
    in_channels: int,
    out_channels: int,
    mask_type: str,
    color_groups: int = 1,
) -> np.ndarray:
    """The 0/1 mask (kh, kw, in, out) of a causal convolution kernel.

    Type "A" (first layer) keeps, at the centre tap, only connections from earlier
    colours; type "B" (later layers) also keeps a colour's connection to itself.
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}.")
    kh, kw = kernel_size
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(
            f"A causal mask needs odd kernel sizes (a centre tap), got {kernel_size}."
        )
    for channels, what in ((in_channels, "input"), (out_channels, "output")):
        if channels % color_groups:
            raise ValueError(
                f"The {what} channels ({channels}) must be a multiple of color_groups "
                f"({color_groups}) so each colour gets the same number of feature maps."
            )
    mask = np.zeros((kh, kw, in_channels, out_channels), np.float32)
    ch, cw = kh // 2, kw // 2
    mask[:ch] = 1.0
    mask[ch, :cw] = 1.0
    source = channel_groups(in_channels, color_groups)[:, None]
    target = channel_groups(out_channels, color_groups)[None, :]
    allowed = source < target if mask_type == "A" else source <= target
    mask[ch, cw] = allowed.astype(np.float32)
    return mask


@keras.saving.register_keras_serializable(package="keras_genzoo")
class MaskedConv2D(keras.layers.Conv2D):
    """`Conv2D` whose kernel is multiplied by a causal mask in every forward pass.

    Args:
        filters, kernel_size, ...: as for `keras.layers.Conv2D` (odd kernel sizes,
            stride 1, "same" padding, so each output sits on its input pixel).
        mask_type: "A" for the first layer (a pixel never sees itself) or "B" for
            later layers (a feature sees the features of its own pixel and colour).
        color_groups: number of colour channels of the modelled image (3 for RGB).
            Input and output feature maps are split into that many groups (see
            `channel_groups`), and at the centre tap group g sees only groups before g
            (type A) or up to g (type B). 1 for grey or binary images.

    The mask multiplies the kernel inside `convolution_op`, so it holds for every
    call, for gradients and for any weights loaded into the layer; nothing depends on
    an optimizer step or a kernel constraint.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        mask_type: str = "B",
        color_groups: int = 1,
        **kwargs: Any,
    ) -> None:
        if mask_type not in MASK_TYPES:
            raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}.")
        if isinstance(color_groups, bool) or int(color_groups) != color_groups or color_groups < 1:
            raise ValueError(f"color_groups must be a positive integer, got {color_groups!r}.")
        kwargs.setdefault("padding", "same")
        if kwargs["padding"] != "same":
            raise ValueError("MaskedConv2D keeps outputs on their pixels: use padding='same'.")
        strides = kwargs.get("strides", 1)
        if strides not in (1, (1, 1), [1, 1]):
            raise ValueError(f"MaskedConv2D works with stride 1, got strides={strides!r}.")
        super().__init__(filters, kernel_size, **kwargs)
        self.mask_type = mask_type
        self.color_groups = int(color_groups)

    def build(self, input_shape) -> None:
        super().build(input_shape)
        in_channels = int(input_shape[-1])
        # A NumPy constant, so no tensor from the building graph outlives it.
        self.kernel_mask = causal_mask(
            tuple(self.kernel_size), in_channels, self.filters, self.mask_type, self.color_groups
        )

    def convolution_op(self, inputs, kernel):
        mask = ops.convert_to_tensor(self.kernel_mask, kernel.dtype)
        return super().convolution_op(inputs, kernel * mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(mask_type=self.mask_type, color_groups=self.color_groups)
        return config
