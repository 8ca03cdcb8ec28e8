"""Gated PixelCNN networks (vertical and horizontal stacks) and the registered builders.

The network is split in two functional models so sampling can reuse work:

* `vertical(images[, labels])` -> one tensor per layer, (batch, H, W, 2 * filters): what
  the vertical stack passes to the horizontal stack. The value at (i, j) depends only on
  rows above i (the first layer looks strictly upwards through a shifted convolution),
  so it is fixed once those rows are known.
* `horizontal(rows, *links[, labels])` -> logits (batch, R, W, C, K) for any number of
  rows R: every operation is row-local (1 x k masked convolutions and 1 x 1 ones), so
  it runs on the whole image in training and on a single row while sampling.

Together they have no blind spot: a pixel sees every earlier pixel within the receptive
field, the rows above through the vertical stack and its own row through the
horizontal one. The registered builders are rows of one variant table over one build
function, which also builds the family's Row LSTM (`row_lstm.py`) for the `pixelrnn` rows.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers, ops

from keras_genzoo.core.blocks import check_image_shape
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.layers.masked_conv import MaskedConv2D
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.pixelcnn.model import LIKELIHOODS, PixelCNN, PixelRNN
from keras_genzoo.models.pixelcnn.parts import check_network_sizes, class_bias, logits_head, with_bias
from keras_genzoo.models.pixelcnn.row_lstm import build_row_lstm


@keras.saving.register_keras_serializable(package="keras_genzoo")
class GatedActivation(layers.Layer):
    """tanh(a) * sigmoid(b) for the two halves [a, b] of the last axis."""

    def call(self, inputs):
        a, b = ops.split(inputs, 2, axis=-1)
        return ops.tanh(a) * ops.sigmoid(b)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)


def build_gated_pixelcnn(
    image_shape: Sequence[int],
    *,
    outputs_per_channel: int,
    filters: int = 64,
    num_layers: int = 7,
    kernel_size: int = 3,
    first_kernel_size: int = 7,
    head_filters: int | None = None,
    num_classes: int | None = None,
) -> tuple[keras.Model, keras.Model]:
    """The (vertical, horizontal) stacks of a Gated PixelCNN for `image_shape`.

    `outputs_per_channel` is the number of logits per sub-pixel (1 for Bernoulli, the
    number of levels for a categorical likelihood). `filters` is the width of both
    stacks and `head_filters` (default: `filters`) that of the output head; each is
    rounded up to a multiple of the number of channels (see `channel_width`), so every
    colour gets the same share and any width builds on any image. Each of the
    `num_layers` gated layers has a residual connection in the horizontal stack and a
    skip connection to the output head. With `num_classes`, both submodels take one-hot
    labels as their last input and every gate gets a learned per-class bias.
    """
    height, width, channels, filters, num_layers, kernel_size, first_kernel_size, head_filters = (
        check_network_sizes(image_shape, filters, num_layers, kernel_size, first_kernel_size, head_filters)
    )
    conditional = num_classes is not None
    kernels = [first_kernel_size] + [kernel_size] * (num_layers - 1)

    # ------------------------------------------------------------ vertical stack
    images = keras.Input((height, width, channels), name="vertical_images")
    v_labels = keras.Input((num_classes,), name="vertical_labels") if conditional else None
    v = layers.Rescaling(2.0, offset=-1.0, name="vertical_scale")(images)
    links = []
    for layer, k in enumerate(kernels):
        half = k // 2
        if layer == 0:  # shifted down one row: the first layer never sees its own row
            v = layers.ZeroPadding2D(((half + 1, 0), (half, half)), name="v0_pad")(v)
            v = layers.Cropping2D(((0, 1), (0, 0)), name="v0_shift")(v)
        else:
            v = layers.ZeroPadding2D(((half, 0), (half, half)), name=f"v{layer}_pad")(v)
        pre = layers.Conv2D(2 * filters, (half + 1, k), name=f"v{layer}_conv")(v)
        pre = with_bias(pre, class_bias(v_labels, 2 * filters, f"v{layer}_class"), f"v{layer}_cond")
        links.append(layers.Conv2D(2 * filters, 1, name=f"v{layer}_link")(pre))
        v = GatedActivation(name=f"v{layer}_gate")(pre)
    vertical_inputs = [images, v_labels] if conditional else images
    vertical = keras.Model(vertical_inputs, links, name="vertical")

    # ---------------------------------------------------------- horizontal stack
    rows = keras.Input((None, width, channels), name="horizontal_rows")
    link_inputs = [
        keras.Input((None, width, 2 * filters), name=f"horizontal_link{layer}")
        for layer in range(num_layers)
    ]
    h_labels = keras.Input((num_classes,), name="horizontal_labels") if conditional else None
    h = layers.Rescaling(2.0, offset=-1.0, name="horizontal_scale")(rows)
    skip = None
    for layer, (k, link) in enumerate(zip(kernels, link_inputs)):
        mask = "A" if layer == 0 else "B"
        pre = MaskedConv2D(2 * filters, (1, k), mask, channels, name=f"h{layer}_conv")(h)
        pre = layers.Add(name=f"h{layer}_join")([pre, link])
        pre = with_bias(pre, class_bias(h_labels, 2 * filters, f"h{layer}_class"), f"h{layer}_cond")
        gated = GatedActivation(name=f"h{layer}_gate")(pre)
        out = MaskedConv2D(filters, 1, "B", channels, name=f"h{layer}_out")(gated)
        h = out if layer == 0 else layers.Add(name=f"h{layer}_residual")([h, out])
        to_skip = MaskedConv2D(head_filters, 1, "B", channels, name=f"h{layer}_skip")(gated)
        skip = to_skip if skip is None else layers.Add(name=f"h{layer}_skip_sum")([skip, to_skip])
    logits = logits_head(skip, head_filters, channels, outputs_per_channel, -1, width)
    horizontal_inputs = [rows, *link_inputs] + ([h_labels] if conditional else [])
    horizontal = keras.Model(horizontal_inputs, logits, name="horizontal")
    return vertical, horizontal


def _build(
    *,
    name: str,
    network: str,
    conditional: bool,
    image_shape: Sequence[int],
    likelihood: str,
    num_levels: int,
    filters: int,
    num_layers: int,
    kernel_size: int,
    first_kernel_size: int,
    head_filters: int | None,
    learning_rate: float,
    num_classes: int | None = None,
) -> PixelCNN | PixelRNN:
    """The one builder of the family: a Gated PixelCNN (`network="gated"`) or a Row LSTM
    PixelRNN (`network="row_lstm"`), class-`conditional` or not."""
    if conditional:
        num_classes = check_positive_int(num_classes, "num_classes")
    image_shape = check_image_shape(image_shape)
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
    if likelihood == "categorical":
        if isinstance(num_levels, bool) or not isinstance(num_levels, int) or num_levels < 2:
            raise ValueError(f"num_levels must be an integer >= 2, got {num_levels!r}.")
    sizes = dict(
        outputs_per_channel=1 if likelihood == "bernoulli" else num_levels,
        filters=filters, num_layers=num_layers, kernel_size=kernel_size,
        first_kernel_size=first_kernel_size, head_filters=head_filters, num_classes=num_classes,
    )
    common = dict(
        likelihood=likelihood, num_levels=2 if likelihood == "bernoulli" else num_levels,
        num_classes=num_classes, image_shape=image_shape, name=name,
    )
    if network == "row_lstm":
        model = PixelRNN(build_row_lstm(image_shape, **sizes), **common)
    else:
        model = PixelCNN(*build_gated_pixelcnn(image_shape, **sizes), **common)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    return model


#: Every argument of the family's builders, in signature order; `only` marks the
#: variants that take it.
ARGUMENTS = (
    Argument("image_shape", Sequence[int], (28, 28, 1)),
    Argument("num_classes", int, 10, only={"conditional": True}),
    Argument("likelihood", str, "bernoulli"),
    Argument("num_levels", int, 256),
    Argument("filters", int, 64),
    Argument("num_layers", int, 7),
    Argument("kernel_size", int, 3),
    Argument("first_kernel_size", int, 7),
    Argument("head_filters", int | None, None),
    Argument("learning_rate", float, 1e-3),
)
BUILDERS = BuilderTable("pixelcnn", ARGUMENTS, _build, module=__name__, returns=PixelCNN)

pixelcnn = BUILDERS.variant(
    "pixelcnn",
    """Gated PixelCNN for any image shape: exact log-likelihood, autoregressive sampling.

    `likelihood="bernoulli"` models binary images (binarise grey levels first);
    `"categorical"` models each sub-pixel as one of `num_levels` grey levels k /
    (num_levels - 1) in [0, 1] (256 for 8-bit images), colour channels in R, G, B order.
    `filters` and `head_filters` are rounded up to a multiple of the channel count
    (64 filters on an RGB image build 66).
    """,
    network="gated",
    conditional=False,
)
pixelcnn_conditional = BUILDERS.variant(
    "pixelcnn_conditional",
    """Class-conditional Gated PixelCNN: a learned class bias in every gate of both stacks.

    Trains on (images, labels); `generate(n, labels=...)` draws the requested classes.
    Likelihoods as in `pixelcnn`.
    """,
    network="gated",
    conditional=True,
)
pixelrnn = BUILDERS.variant(
    "pixelrnn",
    """Row LSTM PixelRNN for any image shape: exact log-likelihood, autoregressive sampling.

    A masked `first_kernel_size` convolution (mask A), then `num_layers` Row LSTM layers
    of `filters` units that run over the image row by row, each with a masked 1 x
    `kernel_size` input-to-state convolution and a `kernel_size` state-to-state
    convolution over the row above, with residual connections; the output head and the
    likelihoods are those of `pixelcnn`. Sampling runs the whole network per sub-pixel.
    """,
    defaults={"num_layers": 4},
    returns=PixelRNN,
    network="row_lstm",
    conditional=False,
)
pixelrnn_conditional = BUILDERS.variant(
    "pixelrnn_conditional",
    """Class-conditional Row LSTM PixelRNN: a learned class bias in every layer's gates.

    Trains on (images, labels); `generate(n, labels=...)` draws the requested classes.
    Likelihoods as in `pixelcnn`.
    """,
    defaults={"num_layers": 4},
    returns=PixelRNN,
    network="row_lstm",
    conditional=True,
)
