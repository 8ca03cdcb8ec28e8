"""Layers of a style-based generator (StyleGAN2): equalised learning rate, normalised
latents, modulated and demodulated convolutions, per-layer noise, a learned constant.

Equalised learning rate: weights are drawn from N(0, 1) and multiplied at run time by
He's constant 1 / sqrt(fan_in) (times `lr_multiplier`), so Adam moves every layer at the
same relative speed whatever its width. The synthesis layers read their style from the
per-layer styles `ws` (batch, num_styles, style_dim) at their own `style_index`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
from keras import ops

#: Gain after a leaky ReLU (slope 0.2) that keeps the signal's variance, as in StyleGAN.
ACTIVATION_GAIN = math.sqrt(2.0)
LEAKY_SLOPE = 0.2
EPSILON = 1e-8


def _unit_normal() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=1.0)


def _float32(x: Any) -> Any:
    return ops.cast(x, "float32")


@keras.saving.register_keras_serializable(package="keras_genzoo")
class NormalizeLatent(keras.layers.Layer):
    """Each vector divided by its root mean square: latents on a sphere of radius sqrt(d)."""

    def call(self, x: Any) -> Any:
        x = _float32(x)
        scale = ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + EPSILON)
        return ops.cast(x * scale, self.compute_dtype)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with an equalised learning rate and an optional leaky ReLU.

    `lr_multiplier` < 1 slows a layer down (the mapping network uses 0.01);
    `bias_initializer` is the bias' starting value (1 for the affine maps to styles).
    """

    def __init__(
        self,
        units: int,
        *,
        lr_multiplier: float = 1.0,
        bias_initializer: float = 0.0,
        activation: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if activation not in (None, "leaky_relu"):
            raise ValueError(f"activation must be None or 'leaky_relu', got {activation!r}.")
        self.units = int(units)
        self.lr_multiplier = float(lr_multiplier)
        self.bias_initializer = float(bias_initializer)
        self.activation = activation

    def build(self, input_shape: Sequence[int]) -> None:
        fan_in = int(input_shape[-1])
        self.scale = self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.Constant(self.bias_initializer / self.lr_multiplier),
            name="bias",
        )

    def call(self, x: Any) -> Any:
        kernel = ops.cast(self.kernel * self.scale, self.compute_dtype)
        bias = ops.cast(self.bias * self.lr_multiplier, self.compute_dtype)
        y = ops.matmul(x, kernel) + bias
        if self.activation == "leaky_relu":
            y = ops.leaky_relu(y, LEAKY_SLOPE) * ACTIVATION_GAIN
        return y

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(units=self.units, lr_multiplier=self.lr_multiplier,
                      bias_initializer=self.bias_initializer, activation=self.activation)
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class BroadcastStyles(keras.layers.Layer):
    """w (batch, style_dim) -> the same w for every synthesis layer (batch, num_styles, style_dim)."""

    def __init__(self, num_styles: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_styles = int(num_styles)

    def call(self, w: Any) -> Any:
        return ops.repeat(ops.expand_dims(w, 1), self.num_styles, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_styles": self.num_styles}


@keras.saving.register_keras_serializable(package="keras_genzoo")
class ConstantInput(keras.layers.Layer):
    """The synthesis network's learned starting feature map, one copy per row of `ws`."""

    def __init__(self, size: Sequence[int], channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = tuple(int(s) for s in size)
        self.channels = int(channels)

    def build(self, input_shape: Sequence[int]) -> None:
        self.constant = self.add_weight(
            shape=(*self.size, self.channels), initializer=_unit_normal(), name="constant"
        )

    def call(self, ws: Any) -> Any:
        batch = ops.shape(ws)[0]
        constant = ops.cast(self.constant, self.compute_dtype)
        return ops.tile(constant[None], (batch, 1, 1, 1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "channels": self.channels}


@keras.saving.register_keras_serializable(package="keras_genzoo")
class ModulatedConv2D(keras.layers.Layer):
    """A convolution whose weights are scaled per sample by a style, then (optionally)
    demodulated: [x, ws] -> features.

    The style s (one scale per input channel) is an affine map of `ws[:, style_index]`
    (bias 1). Modulation scales the weights w[k, i, o] by s[i]; demodulation divides each
    output channel by sqrt(sum_{k,i} (w[k, i, o] s[i])^2), which gives unit output
    variance for inputs of unit variance. Computed as (x * s) conv w, times the
    demodulation factor per sample and output channel (the same numbers as convolving
    with the per-sample weights, without grouped convolutions).
    """

    def __init__(
        self,
        filters: int,
        *,
        style_index: int,
        kernel_size: int = 3,
        demodulate: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.style_index = int(style_index)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)

    def build(self, input_shape: Sequence[Sequence[int]]) -> None:
        features_shape, ws_shape = input_shape
        in_channels = int(features_shape[-1])
        self.affine = EqualizedDense(in_channels, bias_initializer=1.0, name="affine")
        self.affine.build((None, int(ws_shape[-1])))
        k = self.kernel_size
        self.scale = 1.0 / math.sqrt(k * k * in_channels)
        self.kernel = self.add_weight(
            shape=(k, k, in_channels, self.filters), initializer=_unit_normal(), name="kernel"
        )

    def styles(self, ws: Any) -> Any:
        """The per-sample input-channel scales s (batch, in_channels) this layer applies."""
        return self.affine(ws[:, self.style_index])

    def call(self, inputs: Sequence[Any]) -> Any:
        x, ws = inputs
        s = self.styles(ws)
        kernel = self.kernel * self.scale
        y = ops.conv(x * ops.cast(s[:, None, None, :], x.dtype), ops.cast(kernel, self.compute_dtype),
                     padding="same")
        if not self.demodulate:
            return y
        # sum_{k,i} (w[k, i, o] s[i])^2 = sum_i s[i]^2 sum_k w[k, i, o]^2, in float32
        energy = ops.sum(ops.square(_float32(kernel)), axis=(0, 1))  # (in, out)
        demodulation = ops.rsqrt(ops.matmul(ops.square(_float32(s)), energy) + EPSILON)
        return y * ops.cast(demodulation[:, None, None, :], y.dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(filters=self.filters, style_index=self.style_index,
                      kernel_size=self.kernel_size, demodulate=self.demodulate)
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class NoiseInjection(keras.layers.Layer):
    """[x, noise] -> x + strength * noise: per-pixel noise (batch, h, w, 1) broadcast over
    the channels, with a learned strength per channel (starting at 0)."""

    def build(self, input_shape: Sequence[Sequence[int]]) -> None:
        self.strength = self.add_weight(
            shape=(int(input_shape[0][-1]),), initializer="zeros", name="strength"
        )

    def call(self, inputs: Sequence[Any]) -> Any:
        x, noise = inputs
        return x + ops.cast(noise, x.dtype) * ops.cast(self.strength, x.dtype)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class BiasActivation(keras.layers.Layer):
    """x + bias, then a leaky ReLU with the variance-keeping gain."""

    def build(self, input_shape: Sequence[int]) -> None:
        self.bias = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", name="bias")

    def call(self, x: Any) -> Any:
        y = x + ops.cast(self.bias, x.dtype)
        return ops.leaky_relu(y, LEAKY_SLOPE) * ops.cast(ACTIVATION_GAIN, x.dtype)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class ToImage(keras.layers.Layer):
    """[features, ws] -> image channels: a modulated 1x1 convolution without
    demodulation, plus a bias (StyleGAN2's toRGB)."""

    def __init__(self, channels: int, *, style_index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.style_index = int(style_index)
        self.conv = ModulatedConv2D(
            self.channels, style_index=self.style_index, kernel_size=1, demodulate=False, name="conv"
        )

    def build(self, input_shape: Sequence[Sequence[int]]) -> None:
        self.conv.build(input_shape)
        self.bias = self.add_weight(shape=(self.channels,), initializer="zeros", name="bias")

    def call(self, inputs: Sequence[Any]) -> Any:
        y = self.conv(inputs)
        return y + ops.cast(self.bias, y.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "channels": self.channels, "style_index": self.style_index}
