"""The Row LSTM network of a PixelRNN (van den Oord et al., 2016, "Pixel Recurrent Neural
Networks").

The image is processed row by row, top to bottom. Each Row LSTM layer has

* an input-to-state convolution, 1 x k along the row and masked (type B), so a pixel's
  gates see its own row only up to itself; it runs on every row at once;
* a state-to-state convolution, 1-D with kernel k along the row, over the previous
  row's hidden state; it runs inside a scan over the rows (`tf.scan`, one
  compiled loop, no Python loop per row).

Before the layers a 7 x 7 convolution with mask A keeps a pixel from seeing itself;
after each layer a masked 1 x 1 convolution joins a residual connection; a head of
masked 1 x 1 convolutions gives the logits. A pixel's receptive field is a triangle
above it (widening by k // 2 columns per row and layer) plus the pixels to its left in
its own row (within reach of the kernels).
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf
from keras import layers, ops

from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.layers.masked_conv import MaskedConv2D
from keras_genzoo.models.pixelcnn.parts import (
    check_network_sizes,
    check_odd,
    class_bias,
    logits_head,
    with_bias,
)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class RowLSTM(layers.Layer):
    """The recurrent part of a Row LSTM layer: a scan over the rows of an image.

    Takes the input-to-state gates of every pixel, (batch, H, W, 4 * units) in the
    order [input, forget, output, candidate], and returns the hidden states (batch, H,
    W, units). Row i's gates get the state-to-state convolution (kernel `kernel_size`
    along the row, "same" padding) of row i - 1's hidden state added; the first row
    starts from zero states. With `units` a multiple of the image's colour count, each
    quarter of the gates keeps the colour pattern of the masked convolution that made
    them (map k belongs to colour k % colours).
    """

    def __init__(self, units: int, kernel_size: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.kernel_size = check_odd(kernel_size, "kernel_size")
        self.state_to_state = layers.Conv1D(
            4 * self.units, self.kernel_size, padding="same", dtype=self.dtype_policy,
            name="state_to_state",
        )

    def build(self, input_shape) -> None:
        if input_shape[-1] != 4 * self.units:
            raise ValueError(
                f"RowLSTM({self.units}) takes 4 * units = {4 * self.units} gate channels, "
                f"got {input_shape[-1]}."
            )
        self.state_to_state.build((None, input_shape[2], self.units))

    def call(self, gates):
        shape = ops.shape(gates)
        zeros = ops.zeros((shape[0], shape[2], self.units), self.compute_dtype)

        def step(carry, row_gates):
            _, hidden, cell = carry
            z = row_gates + self.state_to_state(hidden)
            i, f, o, g = ops.split(z, 4, axis=-1)
            cell = ops.sigmoid(f) * cell + ops.sigmoid(i) * ops.tanh(g)
            hidden = ops.sigmoid(o) * ops.tanh(cell)
            return hidden, hidden, cell

        # One compiled loop over the leading axis, the rows. tf.scan, as keras.ops.scan
        # (Keras 3.15, TensorFlow) refuses outputs shaped unlike its carry.
        rows = ops.transpose(gates, (1, 0, 2, 3))
        hidden, _, _ = tf.scan(step, rows, initializer=(zeros, zeros, zeros))
        return ops.transpose(hidden, (1, 0, 2, 3))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(units=self.units, kernel_size=self.kernel_size)
        return config


def build_row_lstm(
    image_shape: Sequence[int],
    *,
    outputs_per_channel: int,
    filters: int = 64,
    num_layers: int = 4,
    kernel_size: int = 3,
    first_kernel_size: int = 7,
    head_filters: int | None = None,
    num_classes: int | None = None,
) -> keras.Model:
    """The Row LSTM network for `image_shape`: images (and one-hot labels) -> logits
    (batch, H, W, C, outputs_per_channel).

    `filters` is the width of the hidden state and of the residual stream, `kernel_size`
    that of both convolutions of each of the `num_layers` Row LSTM layers along the
    row, `first_kernel_size` that of the mask-A input convolution and `head_filters`
    (default: `filters`) that of the output head; widths are rounded up to a multiple
    of the channel count (`channel_width`). With `num_classes` the network takes one-hot
    labels as its second input and every layer's gates get a learned per-class bias.
    """
    height, width, channels, filters, num_layers, kernel_size, first_kernel_size, head_filters = (
        check_network_sizes(image_shape, filters, num_layers, kernel_size, first_kernel_size, head_filters)
    )
    conditional = num_classes is not None

    images = keras.Input((height, width, channels), name="images")
    labels = keras.Input((num_classes,), name="labels") if conditional else None
    x = layers.Rescaling(2.0, offset=-1.0, name="scale")(images)
    x = MaskedConv2D(filters, first_kernel_size, "A", channels, name="input_conv")(x)
    for layer in range(num_layers):
        gates = MaskedConv2D(
            4 * filters, (1, kernel_size), "B", channels, name=f"r{layer}_input_to_state"
        )(x)
        gates = with_bias(gates, class_bias(labels, 4 * filters, f"r{layer}_class"), f"r{layer}_cond")
        hidden = RowLSTM(filters, kernel_size, name=f"r{layer}_lstm")(gates)
        out = MaskedConv2D(filters, 1, "B", channels, name=f"r{layer}_out")(hidden)
        x = layers.Add(name=f"r{layer}_residual")([x, out])
    logits = logits_head(x, head_filters, channels, outputs_per_channel, height, width)
    return keras.Model([images, labels] if conditional else images, logits, name="network")
