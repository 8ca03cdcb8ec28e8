"""Autoencoder models: encoder -> bottleneck -> decoder, trained to reproduce images."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_genzoo.core.capabilities import Encoder
from keras_genzoo.core.conditioning import first_batch
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.randomness import ReplicaSeedGenerator, resolve_seed
from keras_genzoo.data.corruption import DEFAULT_NOISE_LEVEL, check_noise, corrupt


def default_loss(value_range: Sequence[float]) -> keras.losses.Loss:
    """Binary cross-entropy for [0, 1] pixels, mean squared error for any other range."""
    if tuple(float(v) for v in value_range) == (0.0, 1.0):
        return keras.losses.BinaryCrossentropy(name="binary_crossentropy")
    return keras.losses.MeanSquaredError(name="mean_squared_error")


def _output_shape(model: keras.Model) -> tuple[int, ...]:
    return tuple(int(d) for d in model.outputs[0].shape[1:])


def _input_shape(model: keras.Model) -> tuple[int, ...]:
    return tuple(int(d) for d in model.inputs[0].shape[1:])


@keras.saving.register_keras_serializable(package="keras_genzoo")
class Autoencoder(Encoder, ZooModel):
    """An encoder, a bottleneck and a decoder trained to reproduce their input.

    The encoder maps images to features, the bottleneck maps features to the latent
    code, and the decoder maps codes back to images of `image_shape` in `value_range`.

    `fit` takes image batches (the target is the input itself) or explicit
    `(inputs, targets)` pairs, e.g. `(noisy, clean)` images. `compile()` without
    arguments uses Adam, the loss that suits `value_range` (see `default_loss`) and
    tracks the mean squared error as `mse`.
    """

    submodels = ("encoder", "bottleneck", "decoder")

    def __init__(
        self,
        encoder: keras.Model,
        bottleneck: keras.Model,
        decoder: keras.Model,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(image_shape=image_shape, value_range=value_range, **kwargs)
        self.encoder = encoder
        self.bottleneck = bottleneck
        self.decoder = decoder
        self._check_parts()

    def _check_parts(self) -> None:
        parts = {"encoder": self.encoder, "bottleneck": self.bottleneck, "decoder": self.decoder}
        for what, part in parts.items():
            if not isinstance(part, keras.Model) or not getattr(part, "inputs", None):
                raise TypeError(
                    f"The {what} must be a functional keras.Model with known input shape "
                    f"(built from keras.Input), got {type(part).__name__}."
                )
        if _input_shape(self.encoder) != self.image_shape:
            raise ValueError(
                f"The encoder takes inputs of shape {_input_shape(self.encoder)} but "
                f"image_shape is {self.image_shape}."
            )
        if _output_shape(self.encoder) != _input_shape(self.bottleneck):
            raise ValueError(
                f"The encoder outputs {_output_shape(self.encoder)} but the bottleneck "
                f"takes {_input_shape(self.bottleneck)}."
            )
        if _output_shape(self.bottleneck) != _input_shape(self.decoder):
            raise ValueError(
                f"The bottleneck outputs codes of shape {_output_shape(self.bottleneck)} but "
                f"the decoder takes {_input_shape(self.decoder)}."
            )
        if _output_shape(self.decoder) != self.image_shape:
            raise ValueError(
                f"The decoder outputs {_output_shape(self.decoder)} but image_shape is "
                f"{self.image_shape}."
            )

    @property
    def latent_dim(self) -> int:
        """Size of the latent code."""
        return int(np.prod(_output_shape(self.bottleneck)))

    @property
    def code_shape(self) -> tuple[int, ...]:
        """Shape of one latent code, as the decoder takes it."""
        return _input_shape(self.decoder)

    # ------------------------------------------------------------------ forward passes

    def call(self, inputs: Any, training: bool = False) -> tf.Tensor:
        features = self.encoder(inputs, training=training)
        codes = self.bottleneck(features, training=training)
        return self.decoder(codes, training=training)

    def _encode_batch(self, images: np.ndarray, one_hot: None) -> tf.Tensor:
        return self.bottleneck(self.encoder(images, training=False), training=False)

    def _decode_batch(self, codes: np.ndarray, one_hot: None) -> tf.Tensor:
        return self.decoder(codes, training=False)

    def _reconstruct_batch(self, images: np.ndarray, one_hot: None) -> tf.Tensor:
        return self(images, training=False)

    # ------------------------------------------------------------------------ training

    def compile(
        self,
        optimizer: Any = "adam",
        loss: Any = None,
        metrics: Any = None,
        **kwargs: Any,
    ) -> None:
        """Keras `compile` with defaults: Adam, `default_loss(value_range)`, an `mse` metric."""
        if loss is None:
            loss = default_loss(self.value_range)
        if metrics is None:
            metrics = [keras.metrics.MeanSquaredError(name="mse")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """The compiled loss against `y`, or against the input itself when there is no `y`."""
        return super().compute_loss(
            x, x if y is None else y, y_pred, sample_weight, training=training
        )

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return super().compute_metrics(x, x if y is None else y, y_pred, sample_weight)

    def check_training_data(self, x: Any, y: Any = None) -> None:
        images, targets = first_batch(x, y)
        if images is None:
            return
        self.check_images(images)
        if targets is not None:
            self.check_images(targets, "targets")
            if len(targets) != len(images):
                raise ValueError(
                    f"Got {len(images)} inputs but {len(targets)} targets; pass one target "
                    "image per input image, or only the images to reconstruct them."
                )


@keras.saving.register_keras_serializable(package="keras_genzoo")
class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained to map corrupted images back to the clean ones.

    Given plain image batches, `fit` corrupts each batch itself (`noise="gaussian"`:
    additive Gaussian noise with standard deviation `noise_level` times the width of
    `value_range`, clipped to the range; `noise="masking"`: each pixel set to the low
    end of the range with probability `noise_level`) from a seeded generator, with a
    different stream on each replica. Explicit `(noisy, clean)` pairs are used as given.
    Evaluation and inference never add noise: evaluate on `(noisy, clean)` pairs to
    measure denoising.
    """

    saved_seed_states = {"noise_seed_generator": "noise_seed_state"}

    def __init__(
        self,
        encoder: keras.Model,
        bottleneck: keras.Model,
        decoder: keras.Model,
        noise: str = "gaussian",
        noise_level: float = DEFAULT_NOISE_LEVEL,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, bottleneck, decoder, **kwargs)
        self.noise = noise
        self.noise_level = check_noise(noise, noise_level)
        self.seed = seed
        self.noise_seed_generator = ReplicaSeedGenerator(seed, name="noise_seed")

    def corrupt(self, images: Any, seed: int | None = None) -> np.ndarray:
        """`images` with this model's training noise added (same seed, same noise)."""
        self.check_images(images, "images")
        seed = tf.constant([resolve_seed(seed), 0], tf.int32)
        images = np.asarray(images, np.float32)
        return np.asarray(corrupt(images, seed, self.noise, self.noise_level, self.value_range))

    def training_pair(self, inputs: Any, targets: Any) -> tuple[Any, Any]:
        """(model input, target) of a training batch: plain images are corrupted here."""
        if targets is not None:
            return inputs, targets
        noisy = corrupt(
            inputs, self.noise_seed_generator.next(), self.noise, self.noise_level,
            self.value_range,
        )
        return noisy, inputs

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.training_pair(x, y)
        return super().train_step((x, y, sample_weight))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(noise=self.noise, noise_level=self.noise_level, seed=self.seed)
        return config
