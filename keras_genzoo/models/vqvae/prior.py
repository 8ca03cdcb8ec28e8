"""The prior over code grids: a Gated PixelCNN with a categorical likelihood over the
codebook, built from core's `MaskedConv2D`.

It takes one-hot codes (batch, h, w, num_codes), with all-zero rows where a code is not
known yet, and returns the logits (batch, h, w, num_codes) of every position's code
given the codes before it in raster order. A vertical stack looks only at the rows
above (its first layer is shifted down by one row) and feeds a horizontal stack that
looks only left within the row (a type-A masked 1 x k convolution first), so the
receptive field has no blind spot.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers, ops

from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.layers.masked_conv import MaskedConv2D


@keras.saving.register_keras_serializable(package="keras_genzoo")
class CodeGate(layers.Layer):
    """tanh(a) * sigmoid(b) for the two halves [a, b] of the last axis."""

    def call(self, inputs):
        a, b = ops.split(inputs, 2, axis=-1)
        return ops.tanh(a) * ops.sigmoid(b)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)


def _gate(x, name: str):
    return CodeGate(name=name)(x)


def _conditioned(x, labels, channels: int, name: str):
    if labels is None:
        return x
    bias = layers.Dense(channels, use_bias=False, name=f"{name}_class")(labels)
    bias = layers.Reshape((1, 1, channels), name=f"{name}_class_shape")(bias)
    return layers.Add(name=f"{name}_cond")([x, bias])


def build_code_prior(
    grid_shape: Sequence[int],
    num_codes: int,
    *,
    filters: int = 64,
    num_layers: int = 5,
    kernel_size: int = 3,
    num_classes: int | None = None,
    name: str = "prior",
) -> keras.Model:
    """A Gated PixelCNN over a (h, w) grid of `num_codes` codes; with `num_classes`, it
    takes one-hot labels as a second input and every gate gets a learned class bias."""
    height, width = (check_positive_int(d, "grid size") for d in grid_shape)
    num_codes = check_positive_int(num_codes, "num_codes")
    filters = check_positive_int(filters, "prior_filters")
    num_layers = check_positive_int(num_layers, "prior_layers")
    kernel_size = check_positive_int(kernel_size, "prior_kernel_size")
    if kernel_size % 2 == 0:
        raise ValueError(
            f"prior_kernel_size must be odd (a causal kernel has a centre tap), got {kernel_size}."
        )
    half = kernel_size // 2
    codes = keras.Input((height, width, num_codes), name=f"{name}_codes")
    labels = keras.Input((num_classes,), name=f"{name}_labels") if num_classes else None
    v = layers.ZeroPadding2D(((half + 1, 0), (half, half)), name=f"{name}_v0_pad")(codes)
    v = layers.Cropping2D(((0, 1), (0, 0)), name=f"{name}_v0_shift")(v)
    h = codes
    skip = None
    for layer in range(num_layers):
        if layer:
            v = layers.ZeroPadding2D(((half, 0), (half, half)), name=f"{name}_v{layer}_pad")(v)
        v_pre = layers.Conv2D(2 * filters, (half + 1, kernel_size), name=f"{name}_v{layer}_conv")(v)
        v_pre = _conditioned(v_pre, labels, 2 * filters, f"{name}_v{layer}")
        link = layers.Conv2D(2 * filters, 1, name=f"{name}_v{layer}_link")(v_pre)
        v = _gate(v_pre, f"{name}_v{layer}_gate")
        mask = "A" if layer == 0 else "B"
        h_pre = MaskedConv2D(2 * filters, (1, kernel_size), mask, name=f"{name}_h{layer}_conv")(h)
        h_pre = layers.Add(name=f"{name}_h{layer}_join")([h_pre, link])
        h_pre = _conditioned(h_pre, labels, 2 * filters, f"{name}_h{layer}")
        gated = _gate(h_pre, f"{name}_h{layer}_gate")
        out = layers.Conv2D(filters, 1, name=f"{name}_h{layer}_out")(gated)
        h = out if layer == 0 else layers.Add(name=f"{name}_h{layer}_residual")([h, out])
        to_skip = layers.Conv2D(filters, 1, name=f"{name}_h{layer}_skip")(gated)
        skip = to_skip if skip is None else layers.Add(name=f"{name}_h{layer}_skip_sum")([skip, to_skip])
    x = layers.ReLU(name=f"{name}_head_relu")(skip)
    x = layers.Conv2D(filters, 1, activation="relu", name=f"{name}_head")(x)
    logits = layers.Conv2D(num_codes, 1, dtype="float32", name=f"{name}_logits")(x)
    inputs = [codes, labels] if labels is not None else codes
    return keras.Model(inputs, logits, name=name)
