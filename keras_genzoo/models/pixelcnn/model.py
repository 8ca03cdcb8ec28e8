"""The autoregressive image models: the shared `AutoregressiveModel` (exact likelihood,
sampling, training) and its networks, the Gated `PixelCNN` and the Row LSTM `PixelRNN`."""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_genzoo.core.capabilities import DensityModel, Generator, batch_slices
from keras_genzoo.core.checks import check_choice, check_positive_int, off_level_value
from keras_genzoo.core.conditioning import (
    conditioned_batch,
    first_batch,
    model_labels,
    one_hot,
    one_hot_tensor,
)
from keras_genzoo.core.model import ZooModel

LIKELIHOODS = ("bernoulli", "categorical")


class AutoregressiveModel(Generator, DensityModel, ZooModel):
    """What every autoregressive image model of the family shares; only the network differs.

    p(x) = prod_i p(x_i | x_<i) over sub-pixels in raster order (row, column, colour).
    Calling the model gives the logits of every sub-pixel's conditional distribution
    from one teacher-forced pass, shape (batch, H, W, C, K). Likelihoods:

    * `"bernoulli"` (K = 1): binary images, pixels 0 or 1;
    * `"categorical"` (K = `num_levels`): grey levels k / (num_levels - 1) in [0, 1],
      e.g. 256 levels for 8-bit images (x = uint8 / 255).

    `fit` minimises the exact negative log-likelihood; metrics `loss` (nats per
    image) and `bits_per_dim`. Conditional models (`num_classes` set) train on
    (images, labels). `log_likelihood` is exact; `generate` samples one sub-pixel at a
    time in a compiled loop.

    A subclass holds its networks (named in `submodels`) and implements `_logits`
    (the teacher-forced pass) and `_check_networks`; it may cache work per row while
    sampling by overriding `_row_context` and `_row_logits`.
    """

    likelihood_kind = "exact"

    def __init__(
        self,
        *,
        likelihood: str = "bernoulli",
        num_levels: int = 2,
        num_classes: int | None = None,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(image_shape=image_shape, value_range=value_range, **kwargs)
        if self.value_range != (0.0, 1.0):
            raise ValueError(
                f"{type(self).__name__} models pixels in [0, 1] (binary, or grey levels k / "
                f"(num_levels - 1)); got value_range {list(self.value_range)}. Load the data "
                "with scale='unit'."
            )
        check_choice(likelihood, LIKELIHOODS, "likelihood")
        num_levels = check_positive_int(num_levels, "num_levels")
        if likelihood == "bernoulli" and num_levels != 2:
            raise ValueError(f"A Bernoulli likelihood has 2 levels, got num_levels={num_levels}.")
        if num_levels < 2:
            raise ValueError(f"num_levels must be at least 2, got {num_levels}.")
        self.likelihood = likelihood
        self.num_levels = num_levels
        self.num_classes = None if num_classes is None else check_positive_int(num_classes, "num_classes")
        self.is_conditional = self.num_classes is not None
        self.num_dims = int(np.prod(self.image_shape))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_dim")
        self._samplers: dict[tuple[bool, bool], Any] = {}

    @property
    def outputs_per_channel(self) -> int:
        """Logits per sub-pixel: 1 for a Bernoulli likelihood, else `num_levels`."""
        return 1 if self.likelihood == "bernoulli" else self.num_levels

    def _check_image_input(self, got: tuple, what: str) -> None:
        """Raise unless `got` (a network input's shape without the batch) is `image_shape`."""
        if tuple(got) != self.image_shape:
            raise ValueError(
                f"The {what} takes images of shape {tuple(got)}, but image_shape is {self.image_shape}."
            )

    def _check_logits_shape(self, got: tuple, what: str) -> None:
        """Raise unless `got` (a network output's shape without the batch) is the logits' shape."""
        height, width, channels = self.image_shape
        expected = (height, width, channels, self.outputs_per_channel)
        got = tuple(got)
        if len(got) != 4 or got[1:] != expected[1:] or got[0] not in (None, height):
            raise ValueError(
                f"The {what} must output logits (rows, {width}, {channels}, "
                f"{self.outputs_per_channel}) for a {self.likelihood} likelihood with "
                f"{self.num_levels} levels; got {got}."
            )

    def _check_networks(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _check_networks.")

    def _logits(self, images, one_hot, training: bool = False):
        """Logits (batch, H, W, C, K), float32, of every sub-pixel given the ones before it."""
        raise NotImplementedError(f"{type(self).__name__} must implement _logits.")

    # ------------------------------------------------------------------ validation

    def check_pixel_values(self, images: Any, what: str = "inputs") -> None:
        """Raise a ValueError for pixels that are not levels of the model's likelihood."""
        example = off_level_value(images, self.num_levels)
        if example is not None:
            if self.likelihood == "bernoulli":
                hint = (
                    "binarise them (load_dataset(..., binarize=True) or "
                    "keras_genzoo.models.vae.binarize) or build the model with likelihood='categorical'"
                )
            else:
                hint = (
                    f"quantise them (np.round(x * {self.num_levels - 1}) / "
                    f"{self.num_levels - 1}) or build the model with num_levels matching the data"
                )
            raise ValueError(
                f"{self.name} has a {self.likelihood} likelihood over {self.num_levels} levels "
                f"k / {self.num_levels - 1}, but the {what} hold other values (e.g. {example:g}): "
                f"{hint}."
            )

    def as_images(self, x: Any, what: str = "images") -> np.ndarray:
        """`x` as float32 images after `check_images` and `check_pixel_values`."""
        images = super().as_images(x, what)
        self.check_pixel_values(images, what)
        return images

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        images, labels = first_batch(x, y)
        if images is None:
            return
        self.check_pixel_values(images, "training images")
        if self.is_conditional:
            if labels is None:
                raise ValueError(
                    f"{self.name} is class-conditional and trains on (images, labels) batches: "
                    "pass fit(x, labels) or load_dataset(..., labels=True)."
                )
            model_labels(self, np.asarray(labels).reshape(-1), len(images))

    # --------------------------------------------------------------- core maths

    def _log_probs(self, logits):
        """Log-probabilities of every level, (..., num_levels), from the network's logits."""
        if self.likelihood == "bernoulli":
            logit = logits[..., 0]
            return ops.stack([-ops.softplus(logit), -ops.softplus(-logit)], axis=-1)
        return ops.log_softmax(logits, axis=-1)

    def _image_log_prob(self, images, logits):
        """log p(x) per image in nats, from the teacher-forced logits."""
        images = ops.cast(images, "float32")
        if self.likelihood == "bernoulli":
            logit = logits[..., 0]
            per_pixel = images * logit - ops.softplus(logit)
        else:
            levels = ops.cast(ops.round(images * (self.num_levels - 1)), "int32")
            picked = ops.one_hot(levels, self.num_levels) * ops.log_softmax(logits, axis=-1)
            per_pixel = ops.sum(picked, axis=-1)
        return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)

    def call(self, inputs, training: bool = False):
        """Logits (batch, H, W, C, K) of every sub-pixel given the ones before it.

        Conditional models take `(images, labels)`.
        """
        if self.is_conditional:
            if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
                raise ValueError(f"{self.name} is class-conditional: call it on (images, labels).")
            return self._logits(inputs[0], one_hot_tensor(inputs[1], self.num_classes), training)
        return self._logits(inputs, None, training)

    # ------------------------------------------------------------------- training

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.bits_tracker]

    def _unpack(self, data):
        images, one_hot = conditioned_batch(self, data)
        return ops.cast(images, "float32"), one_hot

    def _update_metrics(self, nll, images):
        batch = ops.cast(ops.shape(images)[0], "float32")
        self.loss_tracker.update_state(nll, sample_weight=batch)
        self.bits_tracker.update_state(nll / (self.num_dims * math.log(2.0)), sample_weight=batch)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        images, one_hot = self._unpack(data)

        def objective():
            nll = -ops.mean(self._image_log_prob(images, self._logits(images, one_hot, True)))
            loss = nll
            if self.losses:
                loss = loss + ops.cast(ops.sum(self.losses), "float32")
            return loss, nll

        _, nll = self.gradient_step(objective, self.trainable_variables)
        return self._update_metrics(nll, images)

    def test_step(self, data):
        images, one_hot = self._unpack(data)
        nll = -ops.mean(self._image_log_prob(images, self._logits(images, one_hot)))
        return self._update_metrics(nll, images)

    # ---------------------------------------------------------------- user tools

    def _log_likelihood(self, images, labels, batch_size: int = 256) -> np.ndarray:
        """Exact log p(x) per image, `batch_size` images per pass."""
        batch_size = check_positive_int(batch_size, "batch_size")
        conditions = one_hot(labels, self.num_classes)
        out = []
        for rows in batch_slices(len(images), batch_size):
            batch = images[rows]
            hot = None if conditions is None else conditions[rows]
            out.append(ops.convert_to_numpy(self._image_log_prob(batch, self._logits(batch, hot))))
        return np.concatenate(out).astype(np.float64)

    def bits_per_dim(self, x: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """-log2 p(x) / (H * W * C): bits per sub-pixel, one per image."""
        log_px = self.log_likelihood(x, labels=labels, batch_size=batch_size)
        return -log_px / (self.num_dims * math.log(2.0))

    def predict_distributions(self, x: Any, *, labels: Any = None) -> np.ndarray:
        """Log-probabilities (n, H, W, C, num_levels) of every level of every sub-pixel."""
        images = self.as_images(x)
        hot = one_hot(model_labels(self, labels, len(images)), self.num_classes)
        return ops.convert_to_numpy(self._log_probs(self._logits(images, hot)))

    # ------------------------------------------------------------------ sampling

    def _draw(self, logits, seed):
        """One level per row of `logits` (n, K): values in [0, 1] and log-probs (n, levels)."""
        log_probs = self._log_probs(logits)
        levels = tf.random.stateless_categorical(log_probs, 1, seed, dtype=tf.int32)[:, 0]
        return tf.cast(levels, tf.float32) / (self.num_levels - 1), log_probs

    def _row_context(self, canvas, i, one_hot, cached: bool) -> list:
        """What sampling row `i` reuses for each of its sub-pixels (rows < i are final in
        `canvas`); nothing by default."""
        return []

    def _row_logits(self, canvas, row, i, context, one_hot, cached: bool):
        """Logits (n, W, C, K) of row `i`, whose drawn part is `row` (n, 1, W, C), with
        the rows above final in `canvas`. By default one teacher-forced pass over the
        whole image."""
        row_of = tf.reshape(tf.one_hot(i, self.image_shape[0]), (1, -1, 1, 1))
        return self._logits(canvas + row_of * row, one_hot)[:, i]

    def _sampler(self, cached: bool, keep_distributions: bool):
        """The compiled sampling loop: (one_hot, seed (2,), n) -> (images, log-probs).

        The log-probabilities (n, H, W, C, levels) come back only with
        `keep_distributions` (otherwise an empty tensor), as they can be large.
        """
        key = (cached, keep_distributions)
        if key in self._samplers:
            return self._samplers[key]
        height, width, channels = self.image_shape
        conditional = self.is_conditional
        row_of = lambda i: tf.reshape(tf.one_hot(i, height), (1, height, 1, 1))  # noqa: E731

        def sample(one_hot, seed, n):
            one_hot = one_hot if conditional else None
            canvas = tf.zeros((n, height, width, channels), tf.float32)
            size = height * width * channels if keep_distributions else 0
            log_probs = tf.TensorArray(tf.float32, size=size, element_shape=(None, self.num_levels))
            for i in tf.range(height):
                row = canvas[:, i : i + 1]
                context = self._row_context(canvas, i, one_hot, cached)
                for j in tf.range(width):
                    for c in range(channels):  # colours in order, unrolled
                        logits = self._row_logits(canvas, row, i, context, one_hot, cached)[:, j, c]
                        step = (i * width + j) * channels + c
                        value, step_log_probs = self._draw(
                            logits, tf.random.experimental.stateless_fold_in(seed, step)
                        )
                        if keep_distributions:
                            log_probs = log_probs.write(step, step_log_probs)
                        spot = tf.one_hot(j * channels + c, width * channels)
                        row = row + tf.reshape(spot, (1, 1, width, channels)) * value[:, None, None, None]
                canvas = canvas + row_of(i) * row
            if not keep_distributions:
                return canvas, tf.zeros((0,), tf.float32)
            stacked = tf.transpose(log_probs.stack(), (1, 0, 2))
            return canvas, tf.reshape(stacked, (n, height, width, channels, self.num_levels))

        compiled = tf.function(sample, reduce_retracing=True)
        self._samplers[key] = compiled
        return compiled

    def _sample(self, n, labels, seed, batch_size, keep_distributions, cached=False):
        sampler = self._sampler(bool(cached), keep_distributions)
        images, log_probs = [], []
        for chunk, rows in enumerate(batch_slices(n, batch_size)):
            size = rows.stop - rows.start
            conditions = (
                tf.zeros((size, 0)) if labels is None
                else tf.one_hot(labels[rows], self.num_classes)
            )
            chunk_seed = tf.constant([seed, chunk], tf.int64)
            x, lp = sampler(conditions, chunk_seed, tf.constant(size, tf.int32))
            images.append(x.numpy())
            log_probs.append(lp.numpy())
        return np.concatenate(images), (np.concatenate(log_probs) if keep_distributions else None)

    def _sample_request(self, n, labels, seed, batch_size, cached=False):
        """`sample_with_distributions`' work, once its arguments are known."""
        n, labels, seed, batch_size = self.generation_request(n, labels, seed, batch_size)
        if n == 0:
            return (
                np.zeros((0, *self.image_shape), np.float32),
                np.zeros((0, *self.image_shape, self.num_levels), np.float32),
            )
        return self._sample(n, labels, seed, batch_size, True, cached)

    def sample_with_distributions(
        self, n: int, *, labels: Any = None, seed: int | None = None, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`n` samples, as `generate` draws them, and the log-probabilities
        (n, H, W, C, levels) each sub-pixel was drawn from."""
        return self._sample_request(n, labels, seed, batch_size)

    def _generate(self, n, labels, seed, batch_size) -> np.ndarray:
        """Samples in [0, 1], one compiled loop; chunk i of `batch_size` images draws from
        the seed pair (seed, i)."""
        return self._sample(n, labels, seed, batch_size, False)[0]

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            likelihood=self.likelihood, num_levels=self.num_levels, num_classes=self.num_classes
        )
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class PixelCNN(AutoregressiveModel):
    """A Gated PixelCNN: `vertical` and `horizontal` are its two stacks (see
    `keras_genzoo.models.pixelcnn.build_gated_pixelcnn`).

    Everything but the network comes from `AutoregressiveModel`: likelihoods, training,
    the exact `log_likelihood`, `bits_per_dim`, sampling. `generate` samples with a
    compiled loop that runs the vertical stack once per row and only the horizontal
    stack, on one row, per sub-pixel (`cached=True`, the default); `cached=False` runs
    the whole network per sub-pixel and draws the same images.
    """

    submodels = ("vertical", "horizontal")

    def __init__(self, vertical: keras.Model, horizontal: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vertical = vertical
        self.horizontal = horizontal
        self._check_networks()
        self.built = True

    def _check_networks(self) -> None:
        for net, what in ((self.vertical, "vertical"), (self.horizontal, "horizontal")):
            if not isinstance(net, keras.Model) or not getattr(net, "inputs", None):
                raise TypeError(f"{what} must be a functional keras.Model, got {type(net).__name__}.")
        extra = 1 if self.is_conditional else 0
        self.num_links = len(self.vertical.outputs)
        expected_h = 1 + self.num_links + extra
        if len(self.vertical.inputs) != 1 + extra or len(self.horizontal.inputs) != expected_h:
            raise ValueError(
                "vertical must take images (and one-hot labels if conditional) and horizontal "
                "rows, one link per vertical output (and labels); got "
                f"{len(self.vertical.inputs)} and {len(self.horizontal.inputs)} inputs."
            )
        self._check_image_input(tuple(self.vertical.inputs[0].shape[1:]), "vertical stack")
        self._check_logits_shape(tuple(self.horizontal.outputs[0].shape[1:]), "horizontal stack")

    def _vertical(self, images, one_hot, training: bool = False):
        inputs = images if one_hot is None else [images, one_hot]
        links = self.vertical(inputs, training=training)
        return list(links) if isinstance(links, (list, tuple)) else [links]

    def _horizontal(self, rows, links, one_hot, training: bool = False):
        inputs = [rows, *links] + ([] if one_hot is None else [one_hot])
        return ops.cast(self.horizontal(inputs, training=training), "float32")

    def _logits(self, images, one_hot, training: bool = False):
        images = ops.convert_to_tensor(images, "float32")
        one_hot = None if one_hot is None else ops.convert_to_tensor(one_hot, "float32")
        return self._horizontal(images, self._vertical(images, one_hot, training), one_hot, training)

    def _row_context(self, canvas, i, one_hot, cached: bool) -> list:
        # The vertical stack's outputs for row i depend on rows < i only.
        return [link[:, i : i + 1] for link in self._vertical(canvas, one_hot)] if cached else []

    def _row_logits(self, canvas, row, i, context, one_hot, cached: bool):
        if cached:
            return self._horizontal(row, context, one_hot)[:, 0]
        return super()._row_logits(canvas, row, i, context, one_hot, cached)

    def sample_with_distributions(
        self,
        n: int,
        *,
        labels: Any = None,
        seed: int | None = None,
        cached: bool = True,
        batch_size: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`n` samples, as `generate` draws them, and the log-probabilities
        (n, H, W, C, levels) each sub-pixel was drawn from."""
        return self._sample_request(n, labels, seed, batch_size, cached)

    def _generate(self, n, labels, seed, batch_size, *, cached: bool = True) -> np.ndarray:
        """Samples in [0, 1]. `cached=True` runs the vertical stack once per row and the
        horizontal stack on one row per sub-pixel; `cached=False` runs the whole network
        per sub-pixel. Both are one compiled loop and draw the same samples from the same
        seed; chunk i of `batch_size` images draws from the seed pair (seed, i)."""
        return self._sample(n, labels, seed, batch_size, False, cached)[0]


@keras.saving.register_keras_serializable(package="keras_genzoo")
class PixelRNN(AutoregressiveModel):
    """A PixelRNN: `network` maps images (and one-hot labels, if conditional) to the
    logits (batch, H, W, C, K) in one pass, e.g. the Row LSTM of
    `keras_genzoo.models.pixelcnn.build_row_lstm`.

    Everything but the network comes from `AutoregressiveModel`: likelihoods, training,
    the exact `log_likelihood`, `bits_per_dim`, sampling. Sampling reruns the whole
    network once per sub-pixel inside one compiled loop (there is no row cache as in the
    PixelCNN), so it costs H * W * C passes: fine for small images, minutes for large
    batches of MNIST-sized ones.
    """

    submodels = ("network",)

    def __init__(self, network: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network = network
        self._check_networks()
        self.built = True

    def _check_networks(self) -> None:
        if not isinstance(self.network, keras.Model) or not getattr(self.network, "inputs", None):
            raise TypeError(f"network must be a functional keras.Model, got {type(self.network).__name__}.")
        expected = 2 if self.is_conditional else 1
        if len(self.network.inputs) != expected:
            raise ValueError(
                f"network must take images{' and one-hot labels' if self.is_conditional else ''} "
                f"({expected} input{'s' if expected > 1 else ''}); got {len(self.network.inputs)}."
            )
        self._check_image_input(tuple(self.network.inputs[0].shape[1:]), "network")
        self._check_logits_shape(tuple(self.network.outputs[0].shape[1:]), "network")

    def _logits(self, images, one_hot, training: bool = False):
        images = ops.convert_to_tensor(images, "float32")
        inputs = images if one_hot is None else [images, ops.convert_to_tensor(one_hot, "float32")]
        return ops.cast(self.network(inputs, training=training), "float32")
