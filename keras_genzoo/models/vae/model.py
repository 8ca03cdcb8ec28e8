"""The variational autoencoder: negative-ELBO training and the tools users call on it."""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy.special import logsumexp

from keras_genzoo.core.capabilities import (
    DensityModel,
    Encoder,
    Generator,
    batch_slices,
    map_batches,
)
from keras_genzoo.core.checks import check_positive_int, is_int, off_level_value
from keras_genzoo.core.conditioning import (
    conditioned_batch,
    first_batch,
    model_labels,
    one_hot,
    one_hot_tensor,
)
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.randomness import ReplicaSeedGenerator, numpy_rng, resolve_seed
from keras_genzoo.models.vae import likelihoods

LIKELIHOODS = ("bernoulli", "discretized_logistic", "gaussian")
_LIKELIHOOD_NAMES = {"bernoulli": "Bernoulli", "discretized_logistic": "discretised logistic"}
DEFAULT_NUM_LEVELS = 256  # 8-bit grey levels, when a discretised likelihood is not told
MIN_DECODER_STD = 1e-3  # floor of a learned std or scale, as a fraction of the value range


@keras.saving.register_keras_serializable(package="keras_genzoo")
class VAE(Encoder, Generator, DensityModel, ZooModel):
    """A variational autoencoder trained on the negative evidence lower bound (ELBO).

    `encoder` maps images (and, for a conditional VAE, one-hot labels as a second
    input) to `2 * latent_dim` numbers: the mean and log-variance of the diagonal
    Gaussian posterior q(z|x). `decoder` maps a latent code (and one-hot labels) to
    one value per pixel, the parameter of one of three likelihoods:

    * `"bernoulli"`: logits of binary pixels (0 or 1; binarise grey images first);
    * `"discretized_logistic"`: the location of a logistic whose mass on each of
      `num_levels` bins is the probability of the grey levels k / (num_levels - 1) of
      [0, 1] (17 for the bundled digits, 256 for 8-bit images);
    * `"gaussian"`: means of a Gaussian density, for any real-valued data.

    The last two take a fixed scale (standard deviation) `decoder_std` or a learned one
    per channel (`"learned"`). The first two are probability mass functions, so their
    numbers are log-probabilities of the data; the Gaussian's are densities, which do
    not compare with them. A Bernoulli likelihood refuses pixels other than 0 and 1; the
    discretised logistic takes each pixel at its nearest level (resized images, say), so
    its numbers are log-probabilities of the data quantised to `num_levels` levels.

    The training loss per example is -log p(x|z) + w * KL(q(z|x) || N(0, I)) with the
    KL in closed form and z drawn by the reparameterisation trick; both terms are in
    nats per example. The KL weight w is `beta` (beta > 1 gives a beta-VAE), or rises
    linearly from 0 at the first step to `beta` after `kl_warmup_steps` optimizer
    steps. The step count is the optimizer's, so a saved and reloaded model resumes
    the warm-up where it stopped. Evaluation always uses w = `beta`.

    `log_likelihood(x, labels=..., num_samples=1000, seed=None, batch_size=2048)` is
    the importance-weighted lower bound on log p(x) from `num_samples` posterior samples
    per image.
    """

    likelihood_kind = "bound"
    saved_seed_states = {"seed_generator": "seed_generator_state"}
    submodels = ("encoder", "decoder")

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        *,
        likelihood: str = "bernoulli",
        num_levels: int | None = None,
        decoder_std: float | str = "learned",
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        num_classes: int | None = None,
        seed: int | None = None,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(image_shape=image_shape, value_range=value_range, **kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
        if likelihood != "gaussian" and self.value_range != (0.0, 1.0):
            raise ValueError(
                f"A {_LIKELIHOOD_NAMES[likelihood]} likelihood needs data in [0, 1], but "
                f"value_range is "
                f"{list(self.value_range)}. Use likelihood='gaussian' for real-valued data "
                "or load the data with scale='unit'."
            )
        num_levels = self._check_num_levels(likelihood, num_levels)
        if likelihood == "bernoulli" and decoder_std != "learned":
            raise ValueError(
                f"decoder_std={decoder_std!r} applies to the Gaussian and discretised logistic "
                "likelihoods only; leave it at its default for a Bernoulli likelihood."
            )
        if likelihood != "bernoulli" and decoder_std != "learned":
            if isinstance(decoder_std, str) or not float(decoder_std) > 0:
                raise ValueError(
                    f"decoder_std must be 'learned' or a positive number, got {decoder_std!r}."
                )
            decoder_std = float(decoder_std)
        if not float(beta) >= 0:
            raise ValueError(f"beta must be a non-negative number, got {beta!r}.")
        is_int = isinstance(kl_warmup_steps, (int, np.integer)) and not isinstance(
            kl_warmup_steps, bool
        )
        if not is_int or kl_warmup_steps < 0:
            raise ValueError(
                f"kl_warmup_steps must be a non-negative integer (0 turns warm-up off), "
                f"got {kl_warmup_steps!r}."
            )
        if num_classes is not None:
            num_classes = check_positive_int(num_classes, "num_classes")

        self.likelihood = likelihood
        self.num_levels = num_levels
        self.decoder_std = decoder_std
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.num_classes = num_classes
        self.is_conditional = num_classes is not None
        self.seed = seed
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = self._check_networks(encoder, decoder)

        self.seed_generator = ReplicaSeedGenerator(seed)
        self._log_weights_fn = None  # compiled on first log_likelihood call
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        if likelihood != "bernoulli" and decoder_std == "learned":
            span = self.value_range[1] - self.value_range[0]
            self.decoder_log_std = self.add_weight(
                shape=(self.image_shape[-1],),
                initializer=keras.initializers.Constant(math.log(0.1 * span)),
                name="decoder_log_std",
            )
        # The networks are built functional models; nothing is left to build lazily.
        self.built = True

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _check_num_levels(likelihood: str, num_levels: Any) -> int | None:
        """The number of pixel levels the likelihood models (None for the Gaussian)."""
        if likelihood == "gaussian":
            if num_levels is not None:
                raise ValueError(
                    f"num_levels={num_levels!r} applies to discrete likelihoods only; a "
                    "Gaussian models real values. Drop num_levels or pass "
                    "likelihood='discretized_logistic'."
                )
            return None
        if likelihood == "bernoulli":
            if num_levels not in (None, 2):
                raise ValueError(
                    f"A Bernoulli likelihood models 2 levels, got num_levels={num_levels!r}; "
                    "use likelihood='discretized_logistic' for more grey levels."
                )
            return 2
        if num_levels is None:
            return DEFAULT_NUM_LEVELS
        if not is_int(num_levels) or num_levels < 2:
            raise ValueError(f"num_levels must be an integer >= 2, got {num_levels!r}.")
        return int(num_levels)

    def check_pixel_values(self, images: Any, what: str = "inputs") -> None:
        """Raise a ValueError for pixels a Bernoulli likelihood does not define (not 0 or 1)."""
        if self.likelihood != "bernoulli":
            return
        example = off_level_value(images, self.num_levels)
        if example is None:
            return
        hint = (
            "binarise them (load_dataset(..., binarize=True) or "
            "keras_genzoo.models.vae.binarize), or build the model with "
            "likelihood='discretized_logistic' and num_levels set to the data's grey "
            "levels (DatasetInfo.num_levels: 17 for the digits, 256 for 8-bit images)"
        )
        raise ValueError(
            f"{self.name} has a bernoulli likelihood over binary pixels (0 or 1), but the {what} "
            f"hold other values (e.g. {example:g}), whose probability it does not define: "
            f"{hint}."
        )

    def _check_networks(self, encoder: keras.Model, decoder: keras.Model) -> int:
        n_inputs = 2 if self.is_conditional else 1
        for net, what in ((encoder, "encoder"), (decoder, "decoder")):
            if not isinstance(net, keras.Model) or not getattr(net, "inputs", None):
                raise ValueError(
                    f"The {what} must be a functional keras.Model (built with keras.Input), "
                    f"got {type(net).__name__}."
                )
            if len(net.inputs) != n_inputs or len(net.outputs) != 1:
                kind = "a conditional" if self.is_conditional else "an unconditional"
                expected = "[inputs, one-hot labels]" if self.is_conditional else "one input"
                raise ValueError(
                    f"The {what} of {kind} VAE takes {expected} and returns one tensor; it "
                    f"has {len(net.inputs)} inputs and {len(net.outputs)} outputs."
                )
        enc_image_shape = tuple(encoder.inputs[0].shape[1:])
        if enc_image_shape != self.image_shape:
            raise ValueError(
                f"The encoder takes images of shape {enc_image_shape}, but image_shape is "
                f"{self.image_shape}. Build both for the same shape."
            )
        enc_out = encoder.outputs[0].shape[-1]
        if len(encoder.outputs[0].shape) != 2 or enc_out is None or enc_out % 2:
            raise ValueError(
                f"The encoder must output (batch, 2 * latent_dim) values (means then "
                f"log-variances), got shape {tuple(encoder.outputs[0].shape)}."
            )
        latent_dim = enc_out // 2
        if tuple(decoder.inputs[0].shape[1:]) != (latent_dim,):
            raise ValueError(
                f"The decoder takes codes of shape {tuple(decoder.inputs[0].shape[1:])}, "
                f"but the encoder gives latent_dim={latent_dim}."
            )
        if tuple(decoder.outputs[0].shape[1:]) != self.image_shape:
            raise ValueError(
                f"The decoder outputs shape {tuple(decoder.outputs[0].shape[1:])}, expected "
                f"one value per pixel: {self.image_shape}."
            )
        if self.is_conditional:
            for net, what in ((encoder, "encoder"), (decoder, "decoder")):
                if tuple(net.inputs[1].shape[1:]) != (self.num_classes,):
                    raise ValueError(
                        f"The {what}'s second input must be one-hot labels of shape "
                        f"({self.num_classes},), got {tuple(net.inputs[1].shape[1:])}."
                    )
        return latent_dim

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        images, _ = first_batch(x, y)
        if images is not None:
            self.check_pixel_values(images, "training images")
        if self.is_conditional:
            images, labels = first_batch(x, y)
            if images is not None:
                if labels is None:
                    raise ValueError(
                        f"{self.name} is a conditional VAE and trains on (images, labels) "
                        "batches: pass fit(x, labels) or load_dataset(..., labels=True)."
                    )
                model_labels(self, labels, len(images))

    # --------------------------------------------------------------- core maths

    def _encode(self, images, one_hot, training: bool = False):
        images = ops.convert_to_tensor(images)
        inputs = images if one_hot is None else [images, ops.convert_to_tensor(one_hot)]
        stats = ops.cast(self.encoder(inputs, training=training), "float32")
        mean, log_var = ops.split(stats, 2, axis=-1)
        return mean, log_var

    def _decode(self, z, one_hot, training: bool = False):
        z = ops.convert_to_tensor(z)
        inputs = z if one_hot is None else [z, ops.convert_to_tensor(one_hot)]
        return ops.cast(self.decoder(inputs, training=training), "float32")

    def _decoder_log_std(self):
        if self.decoder_std == "learned":
            floor = math.log(MIN_DECODER_STD * (self.value_range[1] - self.value_range[0]))
            return ops.maximum(ops.cast(self.decoder_log_std, "float32"), floor)
        return ops.convert_to_tensor(math.log(self.decoder_std), "float32")

    @property
    def observation_std(self) -> np.ndarray | None:
        """Per-channel (for vectors, per-feature) std of the Gaussian or scale of the
        logistic (learned or fixed); None for Bernoulli."""
        if self.likelihood == "bernoulli":
            return None
        log_std = ops.convert_to_numpy(self._decoder_log_std())
        return np.broadcast_to(np.exp(log_std), (self.image_shape[-1],)).astype(np.float32)

    def _log_prob(self, images, decoded):
        """log p(x|z) per example, from the decoder's output for z."""
        if self.likelihood == "bernoulli":
            return likelihoods.bernoulli_log_prob(images, decoded)
        if self.likelihood == "discretized_logistic":
            return likelihoods.discretized_logistic_log_prob(
                images, decoded, self._decoder_log_std(), self.num_levels
            )
        return likelihoods.gaussian_log_prob(images, decoded, self._decoder_log_std())

    def _mean_image(self, decoded):
        if self.likelihood == "bernoulli":
            return ops.sigmoid(decoded)
        return ops.clip(decoded, self.value_range[0], self.value_range[1])

    @staticmethod
    def _reparameterise(mean, log_var, noise):
        return mean + ops.exp(0.5 * log_var) * noise

    def _elbo_terms(self, images, one_hot, training: bool, seed):
        """Per-example reconstruction NLL (one posterior sample, its noise drawn from the
        stateless int32 seed (2,) `seed`) and analytic KL."""
        mean, log_var = self._encode(images, one_hot, training)
        noise = tf.random.stateless_normal(ops.shape(mean), seed=seed)
        z = self._reparameterise(mean, log_var, noise)
        reconstruction = -self._log_prob(images, self._decode(z, one_hot, training))
        kl = likelihoods.kl_to_standard_normal(mean, log_var)
        return reconstruction, kl

    # ------------------------------------------------------------------- training

    @property
    def kl_weight(self) -> float:
        """The KL weight the next training step uses (`beta` once warm-up is over)."""
        return float(ops.convert_to_numpy(self._kl_weight(training=True)))

    def _kl_weight(self, training: bool):
        if not training or self.kl_warmup_steps == 0 or self.optimizer is None:
            return ops.convert_to_tensor(self.beta, "float32")
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.kl_warmup_steps))

    def _update_metrics(self, loss, reconstruction, kl, images):
        batch = ops.cast(ops.shape(images)[0], "float32")
        self.loss_tracker.update_state(loss, sample_weight=batch)
        self.reconstruction_tracker.update_state(reconstruction, sample_weight=batch)
        self.kl_tracker.update_state(kl, sample_weight=batch)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def train_step(self, data):
        images, one_hot = conditioned_batch(self, data)

        def objective():
            seed = self.seed_generator.next()
            reconstruction, kl = self._elbo_terms(images, one_hot, True, seed)
            reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
            loss = reconstruction + self._kl_weight(training=True) * kl
            if self.losses:
                loss = loss + ops.cast(ops.sum(self.losses), "float32")
            return loss, reconstruction, kl

        loss, reconstruction, kl = self.gradient_step(objective, self.trainable_variables)
        return self._update_metrics(loss, reconstruction, kl, images)

    def test_step(self, data):
        """The held-out ELBO, its posterior noise stateless (`evaluation_seed`): keyed by the
        examples this evaluation has seen so far (the trackers restart at every evaluate),
        so evaluating again gives the same numbers and the training noise is untouched."""
        images, one_hot = conditioned_batch(self, data)
        seed = self.seed_generator.evaluation_seed(ops.cast(self.loss_tracker.count, "int64"))
        reconstruction, kl = self._elbo_terms(images, one_hot, False, seed)
        reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
        loss = reconstruction + self._kl_weight(training=False) * kl
        return self._update_metrics(loss, reconstruction, kl, images)

    def call(self, inputs, training: bool = False):
        """Reconstructions (distribution means) of the images, decoded from posterior means.

        Conditional models take `(images, labels)`.
        """
        if self.is_conditional:
            if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
                raise ValueError(
                    f"{self.name} is a conditional VAE: call it on (images, labels)."
                )
            images, one_hot = inputs[0], one_hot_tensor(inputs[1], self.num_classes)
        else:
            images, one_hot = inputs, None
        mean, _ = self._encode(images, one_hot, training)
        return self._mean_image(self._decode(mean, one_hot, training))

    # ---------------------------------------------------------------- user tools

    @property
    def code_shape(self) -> tuple[int]:
        """Shape of one latent code: (latent_dim,)."""
        return (self.latent_dim,)

    def _encode_batch(self, images: np.ndarray, one_hot: np.ndarray | None):
        return self._encode(images, one_hot)[0]

    def _decode_batch(self, codes: np.ndarray, one_hot: np.ndarray | None):
        return self._mean_image(self._decode(codes, one_hot))

    def encode_distribution(
        self, x: Any, *, labels: Any = None, batch_size: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and log-variances of q(z|x), each of shape (n, latent_dim)."""
        images, conditions = self._encoder_inputs(x, labels)
        stats = map_batches(
            lambda batch, hot: ops.concatenate(self._encode(batch, hot), axis=-1),
            images, conditions, batch_size,
        )
        return stats[:, : self.latent_dim], stats[:, self.latent_dim :]

    def _generate(self, n, labels, seed, batch_size):
        """Decoder means of prior samples z ~ N(0, I): pixel probabilities for a
        Bernoulli likelihood, the usual way to show VAE samples."""
        z = keras.random.normal((n, self.latent_dim), seed=keras.random.SeedGenerator(seed))
        return self.decode(ops.convert_to_numpy(z), labels=labels, batch_size=batch_size)

    def attribute_vector(
        self, x_with: Any, x_without: Any, *, labels_with: Any = None, labels_without: Any = None
    ) -> np.ndarray:
        """Mean latent code of images showing an attribute minus that of images without it."""
        with_mean = self.encode(x_with, labels=labels_with)
        without_mean = self.encode(x_without, labels=labels_without)
        if not len(with_mean) or not len(without_mean):
            raise ValueError("attribute_vector needs at least one image in each group.")
        return with_mean.mean(axis=0) - without_mean.mean(axis=0)

    def add_attribute(
        self, x: Any, vector: Any, strength: float = 1.0, *, labels: Any = None
    ) -> np.ndarray:
        """Decode the posterior means of x shifted by `strength * vector` in latent space."""
        vector = np.asarray(vector, np.float32)
        if vector.shape != (self.latent_dim,):
            raise ValueError(
                f"vector must have shape ({self.latent_dim},) (see attribute_vector), "
                f"got {vector.shape}."
            )
        mean = self.encode(x, labels=labels)
        return self.decode(mean + float(strength) * vector, labels=labels)

    def log_prob_given_latent(self, x: Any, z: Any, *, labels: Any = None) -> np.ndarray:
        """log p(x|z) in nats for each image and its latent code."""
        images = self.as_images(x)
        self.check_pixel_values(images)
        z = np.asarray(z, np.float32)
        if z.shape != (len(images), self.latent_dim):
            raise ValueError(
                f"z must have shape ({len(images)}, {self.latent_dim}), got {z.shape}."
            )
        hot = one_hot(model_labels(self, labels, len(images)), self.num_classes)
        return ops.convert_to_numpy(self._log_prob(images, self._decode(z, hot)))

    def elbo_terms(
        self,
        x: Any,
        *,
        labels: Any = None,
        num_samples: int = 10,
        seed: int | None = None,
        batch_size: int = 256,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-example (reconstruction NLL, KL) of the ELBO, in nats.

        The reconstruction term E_q[-log p(x|z)] is averaged over `num_samples`
        posterior samples; the KL to N(0, I) is exact. `seed` follows the seed policy
        of `keras_genzoo.core.randomness`.
        """
        images, conditions = self._encoder_inputs(x, labels)
        self.check_pixel_values(images)
        num_samples = check_positive_int(num_samples, "num_samples")
        batch_size = check_positive_int(batch_size, "batch_size")
        generator = keras.random.SeedGenerator(resolve_seed(seed))
        recs, kls = [], []
        for rows in batch_slices(len(images), batch_size):
            batch = images[rows]
            hot = None if conditions is None else conditions[rows]
            mean, log_var = self._encode(batch, hot)
            total = 0.0
            for _ in range(num_samples):
                noise = keras.random.normal(ops.shape(mean), seed=generator)
                z = self._reparameterise(mean, log_var, noise)
                total += ops.convert_to_numpy(-self._log_prob(batch, self._decode(z, hot)))
            recs.append(np.asarray(total, np.float64) / num_samples)
            kls.append(ops.convert_to_numpy(likelihoods.kl_to_standard_normal(mean, log_var)))
        return np.concatenate(recs), np.concatenate(kls).astype(np.float64)

    def anomaly_score(
        self, x: Any, *, labels: Any = None, num_samples: int = 10, seed: int | None = None
    ) -> np.ndarray:
        """Per-example negative ELBO (beta = 1) in nats: higher means less typical."""
        reconstruction, kl = self.elbo_terms(x, labels=labels, num_samples=num_samples, seed=seed)
        return reconstruction + kl

    def _log_likelihood(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        num_samples: int = 1000,
        seed: int | None = None,
        batch_size: int = 2048,
    ) -> np.ndarray:
        """Importance-weighted lower bound on log p(x), nats per image.

        log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), with
        k = `num_samples`. The bound tightens as k grows (k = 1 is a one-sample ELBO).
        At most `batch_size` decoder evaluations run at once, so large k fits in
        memory. `seed` follows the seed policy of `keras_genzoo.core.randomness`.
        """
        self.check_pixel_values(images)
        k = check_positive_int(num_samples, "num_samples")
        batch_size = check_positive_int(batch_size, "batch_size")
        examples_per_pass = max(1, batch_size // k)
        samples_per_pass = min(k, max(1, batch_size // examples_per_pass))
        seed_pair = tf.constant(numpy_rng(seed).integers(0, 2**31 - 1, 2), tf.int32)
        if self._log_weights_fn is None:
            # one graph for every block and call (shapes and block bounds are tensors)
            self._log_weights_fn = tf.function(self._importance_log_weights, reduce_retracing=True)
        conditions = one_hot(labels, self.num_classes)
        results = []
        for rows in batch_slices(len(images), examples_per_pass):
            batch = ops.convert_to_tensor(images[rows])
            hot = None if conditions is None else ops.convert_to_tensor(conditions[rows])
            mean, log_var = self._encode(batch, hot)
            example_ids = tf.range(rows.start, rows.stop)
            log_weights = [
                self._log_weights_fn(
                    batch, hot, mean, log_var, example_ids, seed_pair,
                    tf.constant(block.start), tf.constant(block.stop), tf.constant(k),
                ).numpy()
                for block in batch_slices(k, samples_per_pass)
            ]
            log_weights = np.concatenate(log_weights, axis=1).astype(np.float64)  # (m, k)
            results.append(logsumexp(log_weights, axis=1) - math.log(k))
        return np.concatenate(results)

    def _importance_log_weights(
        self, batch, one_hot, mean, log_var, example_ids, seed, start, stop, k
    ) -> tf.Tensor:
        """log p(x|z) + log p(z) - log q(z|x) for posterior samples start..stop-1 of k per
        example: (m, stop - start). Example i's k draws come from its own stream (the seed
        folded with i), so the estimate does not depend on how the work is split."""

        def draws(i):
            stream = tf.random.experimental.stateless_fold_in(seed, i)
            return tf.random.stateless_normal(tf.stack([k, self.latent_dim]), stream)[start:stop]

        noise = tf.map_fn(draws, example_ids, fn_output_signature=tf.float32)  # (m, s, d)
        m, s = ops.shape(mean)[0], stop - start
        z = mean[:, None] + ops.exp(0.5 * log_var)[:, None] * noise
        flat_z = ops.reshape(z, (-1, self.latent_dim))
        flat_x = tf.repeat(batch, s, axis=0)
        flat_hot = None if one_hot is None else tf.repeat(one_hot, s, axis=0)
        log_px_z = ops.reshape(self._log_prob(flat_x, self._decode(flat_z, flat_hot)), (m, s))
        log_pz = likelihoods.standard_normal_log_prob(z)
        log_qz_x = likelihoods.diagonal_normal_log_prob(z, mean[:, None], log_var[:, None])
        return log_px_z + log_pz - log_qz_x

    # ------------------------------------------------------------- serialisation

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            likelihood=self.likelihood,
            num_levels=self.num_levels,
            decoder_std=self.decoder_std,
            beta=self.beta,
            kl_warmup_steps=self.kl_warmup_steps,
            num_classes=self.num_classes,
            seed=self.seed,
        )
        return config
