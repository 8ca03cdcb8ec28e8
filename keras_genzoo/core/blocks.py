"""Shared encoder and decoder stacks that every model family builds on.

Convolutional stacks work for any image shape: the encoder halves the spatial size
with each strided convolution (rounding up) and the decoder doubles it back, then crops
to the exact target shape.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers


def downsampled_size(image_shape: Sequence[int], num_downsamples: int) -> tuple[int, int]:
    """Spatial size after `num_downsamples` stride-2 'same' convolutions."""
    height, width = int(image_shape[0]), int(image_shape[1])
    for _ in range(num_downsamples):
        height, width = math.ceil(height / 2), math.ceil(width / 2)
    return height, width


def _normalization(kind: str | None, name: str) -> layers.Layer | None:
    if kind is None:
        return None
    if kind == "batch":
        # Statistics over the global batch: under several replicas, per-replica statistics
        # would train differently from one device and let the moving averages diverge.
        return layers.BatchNormalization(synchronized=True, name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    raise ValueError(f"normalization must be None, 'batch' or 'layer', got {kind!r}.")


def _activation(activation: str, name: str) -> layers.Layer:
    if activation == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2, name=name)
    return layers.Activation(activation, name=name)


def check_image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """Validate and normalise an (height, width, channels) image shape."""
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (height, width, channels) with positive sizes, got "
            f"{tuple(image_shape)!r}. For grey-scale images use channels=1, e.g. (28, 28, 1)."
        )
    return shape  # type: ignore[return-value]


def check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """Validate and normalise the shape of one example: an image (height, width, channels)
    or a vector of `d` features, `(d,)` (tabular data, for the dense builders)."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 1 and shape[0] >= 1:
        return shape
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"The input shape must be (height, width, channels) for images or (features,) for "
            f"vectors, with positive sizes; got {tuple(input_shape)!r}."
        )
    return shape


def build_conv_encoder(
    image_shape: Sequence[int],
    filters: Sequence[int] = (32, 64),
    output_dim: int | None = None,
    *,
    kernel_size: int = 3,
    activation: str = "relu",
    normalization: str | None = None,
    dropout: float = 0.0,
    name: str = "encoder",
) -> keras.Model:
    """Strided convolutions, flatten, then an optional dense projection to `output_dim`."""
    image_shape = check_image_shape(image_shape)
    inputs = keras.Input(image_shape, name=f"{name}_input")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, kernel_size, strides=2, padding="same", name=f"{name}_conv{i}")(x)
        norm = _normalization(normalization, f"{name}_norm{i}") if i > 0 else None
        if norm is not None:
            x = norm(x)
        x = _activation(activation, f"{name}_act{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    if output_dim is not None:
        x = layers.Dense(output_dim, name=f"{name}_out")(x)
    return keras.Model(inputs, x, name=name)


def build_conv_decoder(
    image_shape: Sequence[int],
    latent_dim: int,
    filters: Sequence[int] = (64, 32),
    *,
    kernel_size: int = 3,
    activation: str = "relu",
    normalization: str | None = None,
    output_activation: str | None = "sigmoid",
    upsampling: str = "transpose",
    name: str = "decoder",
) -> keras.Model:
    """Dense to a small feature map, upsampling convolutions, crop to `image_shape`.

    `upsampling="transpose"` uses stride-2 transposed convolutions; `"resize"` uses
    nearest-neighbour 2x upsampling followed by a convolution, which avoids
    checkerboard artefacts (GAN generators train more reliably with it).
    """
    image_shape = check_image_shape(image_shape)
    if upsampling not in ("transpose", "resize"):
        raise ValueError(f"upsampling must be 'transpose' or 'resize', got {upsampling!r}.")
    height, width = downsampled_size(image_shape, len(filters))
    inputs = keras.Input((latent_dim,), name=f"{name}_input")
    x = layers.Dense(height * width * filters[0], name=f"{name}_project")(inputs)
    norm = _normalization(normalization, f"{name}_project_norm")
    if norm is not None:
        x = norm(x)
    x = _activation(activation, f"{name}_project_act")(x)
    x = layers.Reshape((height, width, filters[0]), name=f"{name}_reshape")(x)
    for i, f in enumerate(filters):
        if upsampling == "resize":
            x = layers.UpSampling2D(2, name=f"{name}_upsample{i}")(x)
            x = layers.Conv2D(f, kernel_size, padding="same", name=f"{name}_upconv{i}")(x)
        else:
            x = layers.Conv2DTranspose(
                f, kernel_size, strides=2, padding="same", name=f"{name}_deconv{i}"
            )(x)
        norm = _normalization(normalization, f"{name}_norm{i}")
        if norm is not None:
            x = norm(x)
        x = _activation(activation, f"{name}_act{i}")(x)
    extra_h = height * 2 ** len(filters) - image_shape[0]
    extra_w = width * 2 ** len(filters) - image_shape[1]
    if extra_h or extra_w:
        x = layers.Cropping2D(((0, extra_h), (0, extra_w)), name=f"{name}_crop")(x)
    x = layers.Conv2D(
        image_shape[2], kernel_size, padding="same", activation=output_activation,
        name=f"{name}_out",
    )(x)
    return keras.Model(inputs, x, name=name)


def build_dense_encoder(
    image_shape: Sequence[int],
    units: Sequence[int] = (256, 128),
    output_dim: int | None = None,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    name: str = "encoder",
) -> keras.Model:
    """Flatten, dense hidden layers, then an optional dense projection to `output_dim`.

    `image_shape` may be a vector shape `(d,)`."""
    image_shape = check_input_shape(image_shape)
    inputs = keras.Input(image_shape, name=f"{name}_input")
    x = layers.Flatten(name=f"{name}_flatten")(inputs)
    for i, u in enumerate(units):
        x = layers.Dense(u, name=f"{name}_dense{i}")(x)
        x = _activation(activation, f"{name}_act{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
    if output_dim is not None:
        x = layers.Dense(output_dim, name=f"{name}_out")(x)
    return keras.Model(inputs, x, name=name)


def build_dense_decoder(
    image_shape: Sequence[int],
    latent_dim: int,
    units: Sequence[int] = (128, 256),
    *,
    activation: str = "relu",
    output_activation: str | None = "sigmoid",
    name: str = "decoder",
) -> keras.Model:
    """Dense hidden layers up to the flattened image, reshaped to `image_shape` (an image or
    a vector shape `(d,)`)."""
    image_shape = check_input_shape(image_shape)
    inputs = keras.Input((latent_dim,), name=f"{name}_input")
    x = inputs
    for i, u in enumerate(units):
        x = layers.Dense(u, name=f"{name}_dense{i}")(x)
        x = _activation(activation, f"{name}_act{i}")(x)
    x = layers.Dense(math.prod(image_shape), activation=output_activation, name=f"{name}_out")(x)
    x = layers.Reshape(image_shape, name=f"{name}_reshape")(x)
    return keras.Model(inputs, x, name=name)
