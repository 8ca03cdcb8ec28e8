"""Autoencoder models: encoder -> bottleneck -> decoder, trained to reproduce images."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_genzoo.core.model import ZooModel, _first_batch

NOISE_KINDS = ("gaussian", "masking")


def default_loss(value_range: Sequence[float]) -> keras.losses.Loss:
    """Binary cross-entropy for [0, 1] pixels, mean squared error for any other range."""
    if tuple(float(v) for v in value_range) == (0.0, 1.0):
        return keras.losses.BinaryCrossentropy(name="binary_crossentropy")
    return keras.losses.MeanSquaredError(name="mean_squared_error")


def _batched(fn: Callable[[tf.Tensor], tf.Tensor], array: Any, batch_size: int) -> np.ndarray:
    """Apply `fn` to `array` in batches (inference mode) and stack the numpy results."""
    array = np.asarray(array, dtype=np.float32)
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    parts = [
        np.asarray(fn(tf.constant(array[start : start + batch_size])))
        for start in range(0, len(array), batch_size)
    ]
    if not parts:
        raise ValueError("Expected at least one image, got an empty batch.")
    return np.concatenate(parts).astype(np.float32)


def _output_shape(model: keras.Model) -> tuple[int, ...]:
    return tuple(int(d) for d in model.outputs[0].shape[1:])


def _input_shape(model: keras.Model) -> tuple[int, ...]:
    return tuple(int(d) for d in model.inputs[0].shape[1:])


@keras.saving.register_keras_serializable(package="keras_genzoo")
class Autoencoder(ZooModel):
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

    # ------------------------------------------------------------------ forward passes

    def call(self, inputs: Any, training: bool = False) -> tf.Tensor:
        features = self.encoder(inputs, training=training)
        codes = self.bottleneck(features, training=training)
        return self.decoder(codes, training=training)

    def encode(self, images: Any, batch_size: int = 256) -> np.ndarray:
        """Latent codes of `images` (N, *image_shape) -> (N, latent_dim)."""
        self.check_images(images, "images")
        return _batched(
            lambda x: self.bottleneck(self.encoder(x, training=False), training=False),
            images, batch_size,
        )

    def decode(self, codes: Any, batch_size: int = 256) -> np.ndarray:
        """Images decoded from latent codes (N, latent_dim), in `value_range`."""
        codes = np.asarray(codes, dtype=np.float32)
        expected = _input_shape(self.decoder)
        if codes.ndim != 1 + len(expected) or tuple(codes.shape[1:]) != expected:
            raise ValueError(
                f"{self.name} decodes codes of shape (batch, {', '.join(map(str, expected))}), "
                f"got {codes.shape}. Get codes from encode()."
            )
        return _batched(lambda z: self.decoder(z, training=False), codes, batch_size)

    def reconstruct(self, images: Any, batch_size: int = 256) -> np.ndarray:
        """Decoded encodings of `images`; a denoising model returns the cleaned images."""
        self.check_images(images, "images")
        return _batched(lambda x: self(x, training=False), images, batch_size)

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
        images, targets = _first_batch(x, y)
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
        noise_level: float = 0.25,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, bottleneck, decoder, **kwargs)
        check_noise(noise, noise_level)
        self.noise = noise
        self.noise_level = float(noise_level)
        self.seed = seed
        self.noise_seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    def _corrupt(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        low, high = self.value_range
        images = tf.convert_to_tensor(images)
        shape = tf.shape(images)
        if self.noise == "gaussian":
            noise = tf.random.stateless_normal(shape, seed, stddev=self.noise_level * (high - low))
            return tf.clip_by_value(images + tf.cast(noise, images.dtype), low, high)
        masked = tf.random.stateless_uniform(shape, seed) < self.noise_level
        return tf.where(masked, tf.cast(low, images.dtype), images)

    def _replica_seed(self) -> tf.Tensor:
        """Next seed of the noise stream, folded with the replica id so replicas differ."""
        seed = tf.cast(tf.math.floormod(self.noise_seed_generator.next(), 2**31 - 1), tf.int32)
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group if context is not None else 0
        return tf.random.experimental.stateless_fold_in(seed, replica)

    def corrupt(self, images: Any, seed: int | None = None) -> np.ndarray:
        """`images` with this model's training noise added (same seed, same noise)."""
        self.check_images(images, "images")
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        return np.asarray(
            self._corrupt(np.asarray(images, np.float32), tf.constant([seed, 0], tf.int32))
        )

    def training_pair(self, inputs: Any, targets: Any) -> tuple[Any, Any]:
        """(model input, target) of a training batch: plain images are corrupted here."""
        if targets is not None:
            return inputs, targets
        return self._corrupt(inputs, self._replica_seed()), inputs

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.training_pair(x, y)
        return super().train_step((x, y, sample_weight))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(noise=self.noise, noise_level=self.noise_level, seed=self.seed)
        return config


def check_noise(noise: str, noise_level: float) -> None:
    """Raise a ValueError for an unknown noise kind or an unusable noise level."""
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise must be one of {NOISE_KINDS}, got {noise!r}.")
    level = float(noise_level)
    if noise == "masking" and not 0.0 < level < 1.0:
        raise ValueError(
            f"Masking noise_level is the probability of hiding a pixel and must be in "
            f"(0, 1), got {noise_level!r}."
        )
    if noise == "gaussian" and not level > 0.0:
        raise ValueError(
            f"Gaussian noise_level is the noise standard deviation as a fraction of the "
            f"value range and must be > 0, got {noise_level!r}."
        )
