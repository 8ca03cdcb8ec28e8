"""Pieces the family's networks share: argument checks, channel widths, class biases."""

from __future__ import annotations

from typing import Any

from keras import layers

from keras_genzoo.core.checks import check_positive_int


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
