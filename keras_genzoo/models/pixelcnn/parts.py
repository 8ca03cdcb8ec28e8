"""Pieces the family's networks share: argument checks, channel widths, class biases,
the output head."""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from keras import layers

from keras_genzoo.core.blocks import check_image_shape
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.layers.masked_conv import MaskedConv2D


def class_bias(one_hot, channels: int, name: str):
    """A learned per-class bias (batch, 1, 1, channels), added to a gate's input."""
    if one_hot is None:
        return None
    bias = layers.Dense(channels, use_bias=False, name=name)(one_hot)
    return layers.Reshape((1, 1, channels), name=f"{name}_shape")(bias)


def with_bias(x, bias, name: str):
    """`x + bias`, or `x` when there is no bias (an unconditional model)."""
    return x if bias is None else layers.Add(name=name)([x, bias])


def check_odd(value: Any, what: str) -> int:
    """`value` as a positive odd integer, else a ValueError naming `what`."""
    value = check_positive_int(value, what)
    if value % 2 == 0:
        raise ValueError(f"{what} must be odd (a causal kernel has a centre tap), got {value}.")
    return value


def channel_width(filters: int, channels: int) -> int:
    """`filters` rounded up to a multiple of `channels`: the width a stack really has.

    A masked convolution gives each colour the same number of feature maps, so a width
    must divide by the channel count; 64 stays 64 on grey images and becomes 66 on RGB.
    """
    return -(-filters // channels) * channels


class NetworkSizes(NamedTuple):
    """A network's checked sizes, widths already rounded up by `channel_width`."""

    height: int
    width: int
    channels: int
    filters: int
    num_layers: int
    kernel_size: int
    first_kernel_size: int
    head_filters: int


def check_network_sizes(
    image_shape: Sequence[int],
    filters: Any,
    num_layers: Any,
    kernel_size: Any,
    first_kernel_size: Any,
    head_filters: Any,
) -> NetworkSizes:
    """The sizes a network builder takes, checked (a ValueError names the bad one), with
    `head_filters` defaulting to `filters` and both widths rounded up to a multiple of
    the channel count."""
    height, width, channels = check_image_shape(image_shape)
    filters = check_positive_int(filters, "filters")
    num_layers = check_positive_int(num_layers, "num_layers")
    kernel_size = check_odd(kernel_size, "kernel_size")
    first_kernel_size = check_odd(first_kernel_size, "first_kernel_size")
    head_filters = filters if head_filters is None else check_positive_int(head_filters, "head_filters")
    return NetworkSizes(
        height, width, channels, channel_width(filters, channels), num_layers, kernel_size,
        first_kernel_size, channel_width(head_filters, channels),
    )


def logits_head(x, head_filters: int, channels: int, outputs_per_channel: int, rows: int, width: int):
    """ReLU, a masked 1 x 1 convolution of `head_filters`, ReLU and a masked 1 x 1
    convolution to `channels * outputs_per_channel` maps, reshaped to logits
    (batch, rows, width, channels, outputs_per_channel); `rows=-1` leaves the row count
    open."""
    x = layers.ReLU(name="head_relu0")(x)
    x = MaskedConv2D(head_filters, 1, "B", channels, name="head_conv")(x)
    x = layers.ReLU(name="head_relu1")(x)
    x = MaskedConv2D(channels * outputs_per_channel, 1, "B", channels, name="head_logits")(x)
    # Map k belongs to colour k % channels: (.., K, C) -> (.., C, K).
    x = layers.Reshape((rows, width, outputs_per_channel, channels), name="head_split")(x)
    return layers.Permute((1, 2, 4, 3), name="logits")(x)
