"""`VQVAE`: a convolutional autoencoder with a vector-quantised code grid, a Gated
PixelCNN prior over the codes, and lossy compression of images to bytes."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_genzoo.core.capabilities import Encoder, Generator, batch_slices
from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.conditioning import conditioned_batch, first_batch, model_labels, one_hot
from keras_genzoo.core.model import ZooModel
from keras_genzoo.models.vqvae.codec import decode_codes, encode_codes
from keras_genzoo.models.vqvae.quantizer import VectorQuantizer


@keras.saving.register_keras_serializable(package="keras_genzoo")
class VQVAE(Encoder, Generator, ZooModel):
    """Encoder -> `VectorQuantizer` -> decoder, and a prior over the code grid.

    `encoder` maps images to a grid (h, w, code_dim) of vectors, the quantiser replaces
    each by its nearest of `num_codes` codebook vectors, and `decoder` maps the grid back
    to images. `prior` (see `build_code_prior`) gives the logits of each grid position's
    code given the codes before it in raster order; with `num_classes`, it also takes the
    image's class.

    `fit` trains all of it at once: the autoencoder on the squared reconstruction error
    plus `commitment_cost` times the commitment loss (and the codebook loss without
    EMA), and the prior on the stop-gradient codes of each batch (its exact negative
    log-likelihood; no gradient reaches the autoencoder). `fit_prior` trains the prior
    alone on the codes of a fixed autoencoder. Every `restart_interval` steps, codes
    that fell out of use move onto the worst-fitted encoder outputs.

    Metrics: `loss`, `reconstruction` (mean squared error per pixel), `commitment`,
    `prior_nll` (nats per code grid), `perplexity` (of the batch's code frequencies) and
    `codes_in_use` (the fraction of codes the batch uses).

    As an `Encoder`, `encode` gives the quantised grid (n, h, w, code_dim) and `decode`
    decodes such grids; `code_indices` gives the integer codes. `generate` samples
    codes from the prior and decodes them. `compress` and `decompress` turn images into
    bytes and back (see `keras_genzoo.models.vqvae.codec`).
    """

    submodels = ("encoder", "decoder", "prior")
    min_training_steps = 500

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        prior: keras.Model,
        *,
        num_codes: int,
        commitment_cost: float = 0.25,
        ema: bool = True,
        decay: float = 0.99,
        dead_code_threshold: float = 0.03,
        restart_interval: int = 100,
        num_classes: int | None = None,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(image_shape=image_shape, value_range=value_range, **kwargs)
        self.encoder, self.decoder, self.prior = encoder, decoder, prior
        self.num_classes = None if num_classes is None else check_positive_int(num_classes, "num_classes")
        self.is_conditional = self.num_classes is not None
        grid = tuple(int(d) for d in encoder.outputs[0].shape[1:])
        if len(grid) != 3:
            raise ValueError(f"The encoder must output a grid (h, w, code_dim), got shape {grid}.")
        self.grid_shape = grid[:2]
        self.code_dim = grid[2]
        self.code_shape = grid
        self.num_codes = check_positive_int(num_codes, "num_codes")
        self.quantizer = VectorQuantizer(
            num_codes, self.code_dim, ema=ema, decay=decay,
            dead_code_threshold=dead_code_threshold, name="quantizer",
        )
        if tuple(decoder.inputs[0].shape[1:]) != grid:
            raise ValueError(f"The decoder must take grids {grid}, got {tuple(decoder.inputs[0].shape[1:])}.")
        expected = (*self.grid_shape, self.num_codes)
        if tuple(prior.outputs[0].shape[1:]) != expected or tuple(prior.inputs[0].shape[1:]) != expected:
            raise ValueError(f"The prior must map one-hot codes {expected} to logits {expected}.")
        if len(prior.inputs) != (2 if self.is_conditional else 1):
            raise ValueError(
                "A conditional model's prior takes (codes, labels); an unconditional one codes only."
            )
        if float(commitment_cost) < 0:
            raise ValueError(f"commitment_cost must be >= 0, got {commitment_cost!r}.")
        self.commitment_cost = float(commitment_cost)
        self.restart_interval = check_positive_int(restart_interval, "restart_interval")
        self.num_positions = int(np.prod(self.grid_shape))
        names = ("loss", "reconstruction", "commitment", "prior_nll", "perplexity", "codes_in_use")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self._coding_step = None
        self._prior_only = False  # set by fit_prior
        self._samplers: dict[int, Any] = {}
        self.built = True

    # ---------------------------------------------------------------- networks

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Reconstructions of images (or of `(images, labels)`)."""
        images = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        quantised = self.quantizer(self.encoder(images, training=training))[0]
        return self._in_range(self.decoder(quantised, training=training))

    def _in_range(self, decoded: Any) -> Any:
        """The decoder's linear output clipped to the value range: the images it means."""
        low, high = self.value_range
        return ops.clip(ops.cast(decoded, "float32"), low, high)

    def _prior_logits(self, codes: Any, known: Any, hot: Any, training: bool = False) -> Any:
        """Logits (n, h, w, num_codes) from int codes (n, h, w); `known` (n, h, w) or
        (h, w) is 1 where a code is given and 0 where it is not (an all-zero one-hot)."""
        inputs = ops.one_hot(ops.cast(codes, "int32"), self.num_codes) * ops.cast(known, "float32")[..., None]
        inputs = inputs if hot is None else [inputs, ops.convert_to_tensor(hot, "float32")]
        return ops.cast(self.prior(inputs, training=training), "float32")

    def _code_log_prob(self, codes: Any, hot: Any, training: bool = False) -> Any:
        """log p(codes) per grid in nats, from one teacher-forced pass of the prior."""
        logits = self._prior_logits(codes, ops.ones(ops.shape(codes)[1:]), hot, training)
        picked = ops.one_hot(ops.cast(codes, "int32"), self.num_codes) * ops.log_softmax(logits, axis=-1)
        return ops.sum(ops.reshape(picked, (ops.shape(picked)[0], -1)), axis=-1)

    # ---------------------------------------------------------------- training

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def _objective_terms(self, images: Any, hot: Any, training: bool) -> tuple[Any, ...]:
        z = self.encoder(images, training=training)
        quantised, indices, codebook_loss, commitment = self.quantizer(z)
        recon = ops.cast(self.decoder(quantised, training=training), "float32")
        reconstruction = ops.mean(ops.square(recon - images))
        prior_nll = -ops.mean(self._code_log_prob(ops.stop_gradient(indices), hot, training))
        loss = (
            reconstruction + codebook_loss + self.commitment_cost * commitment
            + prior_nll / self.num_positions
        )
        if self.losses:
            loss = loss + ops.cast(ops.sum(self.losses), "float32")
        return loss, reconstruction, commitment, prior_nll, z, indices

    def _update_metrics(self, images: Any, values: dict[str, Any], counts: Any) -> dict[str, Any]:
        share = counts / ops.maximum(ops.sum(counts), 1.0)
        entropy = -ops.sum(share * ops.log(ops.maximum(share, 1e-12)))
        values = dict(values, perplexity=ops.exp(entropy),
                      codes_in_use=ops.mean(ops.cast(counts > 0, "float32")))
        batch = ops.cast(ops.shape(images)[0], "float32")
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name], sample_weight=batch)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data: Any) -> dict[str, Any]:
        images, hot = conditioned_batch(self, data)
        images = ops.cast(images, "float32")
        if self._prior_only:
            indices = self.quantizer.nearest(self.encoder(images))

            def prior_objective():
                return -ops.mean(self._code_log_prob(indices, hot, True))

            nll = self.gradient_step(prior_objective, self.prior.trainable_variables)
            counts = self.quantizer.batch_counts(indices)
            zero = ops.zeros(())
            values = {"loss": nll / self.num_positions, "reconstruction": zero, "commitment": zero,
                      "prior_nll": nll}
            return self._update_metrics(images, values, counts)

        terms = lambda: self._objective_terms(images, hot, True)  # noqa: E731
        result = self.gradient_step(terms, self.trainable_variables)
        loss, reconstruction, commitment, prior_nll, z, indices = result
        counts = self.quantizer.batch_counts(indices)
        self.quantizer.update_usage(counts)
        if self.quantizer.ema:
            self.quantizer.ema_update(z, indices, counts)

        flat = ops.reshape(ops.cast(z, "float32"), (-1, self.code_dim))
        errors = ops.min(self.quantizer.distances(flat), axis=1)
        due = ops.equal(self.optimizer.iterations % self.restart_interval, 0)
        self.quantizer.restart_dead_codes(flat, errors, due)
        values = {"loss": loss, "reconstruction": reconstruction, "commitment": commitment,
                  "prior_nll": prior_nll}
        return self._update_metrics(images, values, counts)

    def test_step(self, data: Any) -> dict[str, Any]:
        images, hot = conditioned_batch(self, data)
        images = ops.cast(images, "float32")
        loss, reconstruction, commitment, prior_nll, _, indices = self._objective_terms(images, hot, False)
        counts = self.quantizer.batch_counts(indices)
        values = {"loss": loss, "reconstruction": reconstruction, "commitment": commitment,
                  "prior_nll": prior_nll}
        return self._update_metrics(images, values, counts)

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        images, labels = first_batch(x, y)
        if images is None or not self.is_conditional:
            return
        if labels is None:
            raise ValueError(
                f"{self.name} is class-conditional and trains on (images, labels) batches: "
                "pass fit(x, labels) or load_dataset(..., labels=True)."
            )
        model_labels(self, np.asarray(labels).reshape(-1), len(images))

    def fit_prior(self, x: Any, y: Any = None, **kwargs: Any) -> keras.callbacks.History:
        """Train only the prior, on the codes of the fixed autoencoder, with `fit`'s
        arguments (the autoencoder's weights and codebook do not change)."""
        self._prior_only = True
        self._forget_train_functions()
        try:
            return self.fit(x, y, **kwargs)
        finally:
            self._prior_only = False
            self._forget_train_functions()

    def _forget_train_functions(self) -> None:
        """Drop every compiled train step (they are traced for one training mode)."""
        self.train_function = None
        for key, (_, test_function) in self.__dict__.get("_compiled_functions", {}).items():
            self.__dict__["_compiled_functions"][key] = (None, test_function)

    # ------------------------------------------------------------ Encoder hooks

    def _encode_batch(self, images: np.ndarray, one_hot: Any) -> Any:
        return self.quantizer.lookup(self.quantizer.nearest(self.encoder(images)))

    def _decode_batch(self, codes: np.ndarray, one_hot: Any) -> Any:
        return self._in_range(self.decoder(ops.convert_to_tensor(codes, "float32")))

    def encode_continuous(self, x: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """The encoder's vectors (n, h, w, code_dim) before quantisation."""
        images, _ = self._encoder_inputs(x, labels)
        parts = [ops.convert_to_numpy(ops.cast(self.encoder(images[rows]), "float32"))
                 for rows in batch_slices(len(images), check_positive_int(batch_size, "batch_size"))]
        return np.concatenate(parts) if parts else np.zeros((0, *self.code_shape), np.float32)

    def quantise(self, z: Any) -> np.ndarray:
        """The nearest codebook vector of every vector of grids `z` (n, h, w, code_dim)."""
        return ops.convert_to_numpy(self.quantizer.lookup(self.nearest_codes(z)))

    def nearest_codes(self, z: Any) -> np.ndarray:
        """int32 code indices (n, h, w) of the nearest codebook vectors of grids `z`."""
        z = np.asarray(z, np.float32)
        if z.ndim != 4 or tuple(z.shape[1:]) != self.code_shape:
            dims = ", ".join(map(str, self.code_shape))
            raise ValueError(f"Expected grids of shape (n, {dims}), got {z.shape}.")
        return ops.convert_to_numpy(self.quantizer.nearest(z)).astype(np.int32)

    def code_indices(self, x: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """int32 code indices (n, h, w) of images x."""
        return self.nearest_codes(self.encode_continuous(x, labels=labels, batch_size=batch_size))

    def decode_indices(self, codes: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """Images decoded from int code indices (n, h, w)."""
        codes = self._checked_codes(codes)
        return self.decode(ops.convert_to_numpy(self.quantizer.lookup(codes)), labels=labels,
                           batch_size=batch_size)

    def _checked_codes(self, codes: Any) -> np.ndarray:
        codes = np.asarray(codes)
        shape_ok = codes.ndim == 3 and tuple(codes.shape[1:]) == self.grid_shape
        if not shape_ok or not np.issubdtype(codes.dtype, np.integer):
            height, width = self.grid_shape
            raise ValueError(
                f"Expected integer codes of shape (n, {height}, {width}), got {codes.dtype} {codes.shape}."
            )
        if codes.size and (codes.min() < 0 or codes.max() >= self.num_codes):
            raise ValueError(f"Codes must lie in [0, {self.num_codes - 1}].")
        return codes.astype(np.int32)

    # ------------------------------------------------------------------ prior

    def code_log_likelihood(self, codes: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """Exact log p(codes) under the prior, in nats, one float64 per grid of int
        codes (n, h, w) (conditional models: given `labels`)."""
        codes = self._checked_codes(codes)
        hot = one_hot(model_labels(self, labels, len(codes)), self.num_classes)
        out = [ops.convert_to_numpy(self._code_log_prob(codes[rows], None if hot is None else hot[rows]))
               for rows in batch_slices(len(codes), check_positive_int(batch_size, "batch_size"))]
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0,), np.float64)

    def _sampler(self) -> Any:
        if "codes" in self._samplers:
            return self._samplers["codes"]
        height, width = self.grid_shape
        conditional = self.is_conditional

        def sample(hot, seed, n):
            codes = tf.zeros((n, height, width), tf.int32)
            for step in tf.range(height * width):
                known = tf.reshape(tf.cast(tf.range(height * width) < step, tf.float32), (height, width))
                logits = self._prior_logits(codes, known, hot if conditional else None)
                logits = tf.reshape(logits, (n, height * width, self.num_codes))
                at = tf.gather(logits, step, axis=1)
                draw = tf.random.stateless_categorical(
                    at, 1, tf.random.experimental.stateless_fold_in(seed, step), dtype=tf.int32
                )[:, 0]
                spot = tf.reshape(tf.one_hot(step, height * width, dtype=tf.int32), (1, height, width))
                codes = codes + spot * draw[:, None, None]
            return codes

        self._samplers["codes"] = tf.function(sample, reduce_retracing=True)
        return self._samplers["codes"]

    def sample_codes(self, n: int, *, labels: Any = None, seed: int | None = None,
                     batch_size: int | None = None) -> np.ndarray:
        """int32 codes (n, h, w) drawn from the prior; chunk i of `batch_size` grids draws
        from the seed pair (seed, i)."""
        n, labels, seed, batch_size = self.generation_request(n, labels, seed, batch_size)
        sampler = self._sampler()
        parts = [np.zeros((0, *self.grid_shape), np.int32)]
        for chunk, rows in enumerate(batch_slices(n, batch_size)):
            size = rows.stop - rows.start
            hot = tf.zeros((size, 0)) if labels is None else tf.one_hot(labels[rows], self.num_classes)
            parts.append(sampler(hot, tf.constant([seed, chunk], tf.int64), tf.constant(size)).numpy())
        return np.concatenate(parts)

    def _generate(self, n: int, labels: Any, seed: int, batch_size: int) -> np.ndarray:
        codes = self.sample_codes(n, labels=labels, seed=seed, batch_size=batch_size)
        return self.decode_indices(codes, labels=labels, batch_size=batch_size)

    # ------------------------------------------------------------ compression

    def _step_probabilities(self, codes: np.ndarray, labels: np.ndarray | None, step: int) -> np.ndarray:
        """float64 probabilities (batch, num_codes) of the code at raster `step` given the
        codes before it: the entropy model of compression, the same on both sides."""
        if self._coding_step is None:
            def logits_at(codes, hot, step):
                height, width = self.grid_shape
                known = tf.reshape(tf.cast(tf.range(height * width) < step, tf.float32), (height, width))
                logits = self._prior_logits(codes, known, hot if self.is_conditional else None)
                return tf.gather(tf.reshape(logits, (tf.shape(codes)[0], -1, self.num_codes)), step, axis=1)

            self._coding_step = tf.function(logits_at, reduce_retracing=True)
        hot = np.zeros((len(codes), 0), np.float32) if labels is None else one_hot(labels, self.num_classes)
        logits = self._coding_step(
            tf.constant(codes, tf.int32), tf.constant(hot), tf.constant(step, tf.int32)
        )
        logits = np.asarray(logits, np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return probs / probs.sum(axis=1, keepdims=True)

    def compress(self, x: Any, *, labels: Any = None, batch_size: int = 256) -> list[bytes]:
        """One self-describing byte string per image: its code grid, range-coded with
        the prior's conditionals (conditional models: given `labels`, stored with it).
        `decompress` gives back exactly `decode_indices(code_indices(x))`."""
        images = self.as_images(x)
        labels = model_labels(self, labels, len(images))
        codes = self.code_indices(images, labels=labels, batch_size=batch_size)
        return encode_codes(codes, labels, self.num_codes, self._step_probabilities)

    def decompress_codes(self, data: bytes | Sequence[bytes]) -> tuple[np.ndarray, np.ndarray | None]:
        """(int codes (n, h, w), labels or None) of compressed images; a corrupted,
        truncated or foreign byte string raises `CorruptDataError`."""
        items = [data] if isinstance(data, (bytes, bytearray, memoryview)) else list(data)
        return decode_codes(
            items, self.grid_shape, self.num_codes, self.num_classes, self._step_probabilities
        )

    def decompress(self, data: bytes | Sequence[bytes], *, batch_size: int = 256) -> np.ndarray:
        """Images (n, *image_shape) from byte strings made by `compress` (one byte string
        gives a batch of one)."""
        codes, labels = self.decompress_codes(data)
        if not len(codes):
            return np.zeros((0, *self.image_shape), np.float32)
        return self.decode_indices(codes, labels=labels, batch_size=batch_size)

    # ---------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        q = self.quantizer
        config.update(
            num_codes=self.num_codes, commitment_cost=self.commitment_cost, ema=q.ema, decay=q.decay,
            dead_code_threshold=q.dead_code_threshold, restart_interval=self.restart_interval,
            num_classes=self.num_classes,
        )
        return config


def bits_per_image(data: Sequence[bytes]) -> np.ndarray:
    """The length in bits of each compressed image."""
    return np.array([8 * len(d) for d in data], np.int64)
