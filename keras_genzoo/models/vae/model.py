"""The variational autoencoder: negative-ELBO training and the tools users call on it."""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy.special import logsumexp

from keras_genzoo.core.model import ZooModel, _first_batch, split_batch
from keras_genzoo.models.vae import likelihoods

LIKELIHOODS = ("bernoulli", "gaussian")
MIN_DECODER_STD = 1e-3  # floor of a learned Gaussian std, as a fraction of the value range


def _replica_id():
    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `SeedGenerator` whose seeds also depend on the replica that draws them.

    The generator's state is the same on every replica of a distribution strategy,
    so folding in the replica id is what makes replicas draw different noise. On a
    single device the sequence is as reproducible as the plain generator's.
    """

    def next(self, ordered: bool = True):
        seed = super().next(ordered=ordered)
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        return tf.random.experimental.stateless_fold_in(seed, tf.cast(_replica_id(), tf.int32))


def _check_positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}.")
    return int(value)


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


@keras.saving.register_keras_serializable(package="keras_genzoo")
class VAE(ZooModel):
    """A variational autoencoder trained on the negative evidence lower bound (ELBO).

    `encoder` maps images (and, for a conditional VAE, one-hot labels as a second
    input) to `2 * latent_dim` numbers: the mean and log-variance of the diagonal
    Gaussian posterior q(z|x). `decoder` maps a latent code (and one-hot labels) to
    one value per pixel: Bernoulli logits (`likelihood="bernoulli"`, data in [0, 1])
    or Gaussian means (`likelihood="gaussian"`, any real-valued data) with a fixed
    standard deviation `decoder_std` or a learned one per channel (`"learned"`).

    The training loss per example is -log p(x|z) + w * KL(q(z|x) || N(0, I)) with the
    KL in closed form and z drawn by the reparameterisation trick; both terms are in
    nats per example. The KL weight w is `beta` (beta > 1 gives a beta-VAE), or rises
    linearly from 0 at the first step to `beta` after `kl_warmup_steps` optimizer
    steps. The step count is the optimizer's, so a saved and reloaded model resumes
    the warm-up where it stopped. Evaluation always uses w = `beta`.
    """

    saved_seed_states = {"seed_generator": "seed_generator_state"}
    submodels = ("encoder", "decoder")

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        *,
        likelihood: str = "bernoulli",
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
        if likelihood == "bernoulli" and self.value_range != (0.0, 1.0):
            raise ValueError(
                f"A Bernoulli likelihood needs data in [0, 1], but value_range is "
                f"{list(self.value_range)}. Use likelihood='gaussian' for real-valued data "
                "or load the data with scale='unit'."
            )
        if likelihood == "bernoulli" and decoder_std != "learned":
            raise ValueError(
                f"decoder_std={decoder_std!r} applies to the Gaussian likelihood only; pass "
                "likelihood='gaussian' to use it, or leave decoder_std at its default."
            )
        if likelihood == "gaussian" and decoder_std != "learned":
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
            num_classes = _check_positive_int(num_classes, "num_classes")

        self.likelihood = likelihood
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
        if likelihood == "gaussian" and decoder_std == "learned":
            span = self.value_range[1] - self.value_range[0]
            self.decoder_log_std = self.add_weight(
                shape=(self.image_shape[2],),
                initializer=keras.initializers.Constant(math.log(0.1 * span)),
                name="decoder_log_std",
            )
        # The networks are built functional models; nothing is left to build lazily.
        self.built = True

    # ------------------------------------------------------------------ validation

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

    def _check_labels(self, labels: Any, n: int, what: str = "labels") -> np.ndarray | None:
        """Integer labels as an array of length n (None for unconditional models)."""
        if not self.is_conditional:
            if labels is not None:
                raise ValueError(
                    f"{self.name} is an unconditional VAE and takes no labels; build a "
                    "conditional one (e.g. create_model('cvae_conv')) to condition on classes."
                )
            return None
        if labels is None:
            raise ValueError(
                f"{self.name} is a conditional VAE: pass {what} (integers in "
                f"[0, {self.num_classes - 1}]) for the images."
            )
        arr = np.asarray(labels)
        if arr.ndim == 0:
            arr = np.full((n,), arr)
        arr = arr.reshape(-1) if arr.ndim == 2 and arr.shape[1] == 1 else arr
        if arr.ndim != 1 or len(arr) != n:
            raise ValueError(f"Expected {n} {what}, one integer per image, got shape {arr.shape}.")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.equal(np.mod(arr, 1), 0)):
                raise ValueError(f"{what} must be integer class ids, got dtype {arr.dtype}.")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.num_classes):
            raise ValueError(
                f"{what} must lie in [0, {self.num_classes - 1}] for num_classes="
                f"{self.num_classes}, got values in [{arr.min()}, {arr.max()}]."
            )
        return arr

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        if self.is_conditional:
            images, labels = _first_batch(x, y)
            if images is not None:
                if labels is None:
                    raise ValueError(
                        f"{self.name} is a conditional VAE and trains on (images, labels) "
                        "batches: pass fit(x, labels) or load_dataset(..., labels=True)."
                    )
                self._check_labels(labels, len(images))

    def _as_images(self, x: Any, what: str = "images") -> np.ndarray:
        arr = np.asarray(x)
        self.check_images(arr, what)
        return arr.astype(np.float32, copy=False)

    # --------------------------------------------------------------- core maths

    def _one_hot(self, labels):
        if labels is None:
            return None
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return ops.one_hot(labels, self.num_classes)

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
        """Per-channel std of the Gaussian likelihood (learned or fixed); None for Bernoulli."""
        if self.likelihood != "gaussian":
            return None
        log_std = ops.convert_to_numpy(self._decoder_log_std())
        return np.broadcast_to(np.exp(log_std), (self.image_shape[2],)).astype(np.float32)

    def _log_prob(self, images, decoded):
        """log p(x|z) per example, from the decoder's output for z."""
        if self.likelihood == "bernoulli":
            return likelihoods.bernoulli_log_prob(images, decoded)
        return likelihoods.gaussian_log_prob(images, decoded, self._decoder_log_std())

    def _mean_image(self, decoded):
        if self.likelihood == "bernoulli":
            return ops.sigmoid(decoded)
        return ops.clip(decoded, self.value_range[0], self.value_range[1])

    @staticmethod
    def _reparameterise(mean, log_var, seed):
        noise = keras.random.normal(ops.shape(mean), seed=seed)
        return mean + ops.exp(0.5 * log_var) * noise

    def _elbo_terms(self, images, one_hot, training: bool, seed):
        """Per-example reconstruction NLL (one posterior sample) and analytic KL."""
        mean, log_var = self._encode(images, one_hot, training)
        z = self._reparameterise(mean, log_var, seed)
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

    def _unpack(self, data):
        images, labels = split_batch(data)
        if self.is_conditional and labels is None:
            raise ValueError(
                f"{self.name} is a conditional VAE and trains on (images, labels) batches; "
                "use load_dataset(..., labels=True) or fit(x, labels)."
            )
        return images, self._one_hot(labels) if self.is_conditional else None

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
        images, one_hot = self._unpack(data)
        with tf.GradientTape() as tape:
            reconstruction, kl = self._elbo_terms(images, one_hot, True, self.seed_generator)
            reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
            loss = reconstruction + self._kl_weight(training=True) * kl
            if self.losses:
                loss = loss + ops.cast(ops.sum(self.losses), "float32")
            # The optimizer sums gradients over replicas: average the loss over them.
            replica_loss = loss / self.distribute_strategy.num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(replica_loss)
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update_metrics(loss, reconstruction, kl, images)

    def test_step(self, data):
        images, one_hot = self._unpack(data)
        reconstruction, kl = self._elbo_terms(images, one_hot, False, self.seed_generator)
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
            images, one_hot = inputs[0], self._one_hot(inputs[1])
        else:
            images, one_hot = inputs, None
        mean, _ = self._encode(images, one_hot, training)
        return self._mean_image(self._decode(mean, one_hot, training))

    # ---------------------------------------------------------------- user tools

    def _one_hot_np(self, labels: np.ndarray | None, rows: slice):
        return None if labels is None else self._one_hot(labels[rows])

    def encode(
        self, x: Any, labels: Any = None, batch_size: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and log-variances of q(z|x), each of shape (n, latent_dim)."""
        images = self._as_images(x)
        labels = self._check_labels(labels, len(images))
        means, log_vars = [], []
        for rows in _chunks(len(images), batch_size):
            mean, log_var = self._encode(images[rows], self._one_hot_np(labels, rows))
            means.append(ops.convert_to_numpy(mean))
            log_vars.append(ops.convert_to_numpy(log_var))
        if not means:
            empty = np.zeros((0, self.latent_dim), np.float32)
            return empty, empty.copy()
        return np.concatenate(means), np.concatenate(log_vars)

    def _decode_soft(
        self, z: np.ndarray, one_hot: np.ndarray | None, batch_size: int
    ) -> np.ndarray:
        out = []
        for rows in _chunks(len(z), batch_size):
            hot = None if one_hot is None else ops.convert_to_tensor(one_hot[rows], "float32")
            out.append(ops.convert_to_numpy(self._mean_image(self._decode(z[rows], hot))))
        if not out:
            return np.zeros((0, *self.image_shape), np.float32)
        return np.concatenate(out).astype(np.float32)

    def decode(self, z: Any, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """Images (distribution means, in `value_range`) for latent codes z (n, latent_dim)."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"decode expects latent codes of shape (n, {self.latent_dim}), got {z.shape}."
            )
        labels = self._check_labels(labels, len(z))
        one_hot = None if labels is None else np.eye(self.num_classes, dtype=np.float32)[labels]
        return self._decode_soft(z, one_hot, batch_size)

    def reconstruct(self, x: Any, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """Decode the posterior mean of each image: the model's reconstruction of x."""
        mean, _ = self.encode(x, labels, batch_size)
        return self.decode(mean, labels, batch_size)

    def generate(self, n: int, labels: Any = None, seed: int | None = None) -> np.ndarray:
        """n new images decoded from prior samples z ~ N(0, I), in `value_range`.

        Each image is the decoder's mean (pixel probabilities for a Bernoulli
        likelihood), the usual way to show VAE samples.

        Conditional models generate the requested classes (`labels=None` cycles
        through all classes). The same seed gives the same images.
        """
        n = _check_positive_int(n, "n")
        if self.is_conditional and labels is None:
            labels = np.arange(n) % self.num_classes
        labels = self._check_labels(labels, n)
        z = keras.random.normal((n, self.latent_dim), seed=keras.random.SeedGenerator(seed))
        return self.decode(ops.convert_to_numpy(z), labels)

    def interpolate(
        self, x_a: Any, x_b: Any, steps: int = 8, labels: tuple[Any, Any] | None = None
    ) -> np.ndarray:
        """Images decoded along the straight line between the posterior means of x_a and x_b.

        x_a and x_b are single images (H, W, C) or equal-sized batches; the result is
        (steps, H, W, C), or (n, steps, H, W, C) for batches; the first and last steps
        reconstruct x_a and x_b. Conditional models take `labels=(labels_a, labels_b)`
        and blend the one-hot labels along the same line.
        """
        steps = _check_positive_int(steps, "steps")
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (both end points), got {steps}.")
        a, b = np.asarray(x_a, np.float32), np.asarray(x_b, np.float32)
        single = a.ndim == 3
        if single:
            a, b = a[None], b[None]
        if a.shape != b.shape:
            raise ValueError(f"x_a and x_b must have the same shape, got {a.shape} and {b.shape}.")
        if self.is_conditional:
            if labels is None or len(labels) != 2:
                raise ValueError(
                    f"{self.name} is a conditional VAE: pass labels=(labels_a, labels_b)."
                )
            labels_a = self._check_labels(labels[0], len(a), "labels_a")
            labels_b = self._check_labels(labels[1], len(b), "labels_b")
        else:
            labels_a = labels_b = self._check_labels(labels, len(a))
        z_a, _ = self.encode(a, labels_a)
        z_b, _ = self.encode(b, labels_b)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
        z = ((1 - t) * z_a[:, None] + t * z_b[:, None]).reshape(-1, self.latent_dim)
        one_hot = None
        if self.is_conditional:
            eye = np.eye(self.num_classes, dtype=np.float32)
            one_hot = ((1 - t) * eye[labels_a][:, None] + t * eye[labels_b][:, None])
            one_hot = one_hot.reshape(-1, self.num_classes)
        images = self._decode_soft(z, one_hot, 256).reshape(len(a), steps, *self.image_shape)
        return images[0] if single else images

    def attribute_vector(
        self, x_with: Any, x_without: Any, labels_with: Any = None, labels_without: Any = None
    ) -> np.ndarray:
        """Mean latent code of images showing an attribute minus that of images without it."""
        with_mean, _ = self.encode(x_with, labels_with)
        without_mean, _ = self.encode(x_without, labels_without)
        if not len(with_mean) or not len(without_mean):
            raise ValueError("attribute_vector needs at least one image in each group.")
        return with_mean.mean(axis=0) - without_mean.mean(axis=0)

    def add_attribute(
        self, x: Any, vector: Any, strength: float = 1.0, labels: Any = None
    ) -> np.ndarray:
        """Decode the posterior means of x shifted by `strength * vector` in latent space."""
        vector = np.asarray(vector, np.float32)
        if vector.shape != (self.latent_dim,):
            raise ValueError(
                f"vector must have shape ({self.latent_dim},) (see attribute_vector), "
                f"got {vector.shape}."
            )
        mean, _ = self.encode(x, labels)
        return self.decode(mean + float(strength) * vector, labels)

    def log_prob_given_latent(self, x: Any, z: Any, labels: Any = None) -> np.ndarray:
        """log p(x|z) in nats for each image and its latent code."""
        images = self._as_images(x)
        z = np.asarray(z, np.float32)
        if z.shape != (len(images), self.latent_dim):
            raise ValueError(
                f"z must have shape ({len(images)}, {self.latent_dim}), got {z.shape}."
            )
        labels = self._check_labels(labels, len(images))
        one_hot = self._one_hot(labels) if labels is not None else None
        return ops.convert_to_numpy(self._log_prob(images, self._decode(z, one_hot)))

    def elbo_terms(
        self,
        x: Any,
        labels: Any = None,
        num_samples: int = 10,
        seed: int | None = None,
        batch_size: int = 256,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-example (reconstruction NLL, KL) of the ELBO, in nats.

        The reconstruction term E_q[-log p(x|z)] is averaged over `num_samples`
        posterior samples; the KL to N(0, I) is exact.
        """
        images = self._as_images(x)
        labels = self._check_labels(labels, len(images))
        num_samples = _check_positive_int(num_samples, "num_samples")
        generator = keras.random.SeedGenerator(seed)
        recs, kls = [], []
        for rows in _chunks(len(images), batch_size):
            batch, one_hot = images[rows], self._one_hot_np(labels, rows)
            mean, log_var = self._encode(batch, one_hot)
            total = 0.0
            for _ in range(num_samples):
                z = self._reparameterise(mean, log_var, generator)
                total += ops.convert_to_numpy(-self._log_prob(batch, self._decode(z, one_hot)))
            recs.append(np.asarray(total, np.float64) / num_samples)
            kls.append(ops.convert_to_numpy(likelihoods.kl_to_standard_normal(mean, log_var)))
        if not recs:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(recs), np.concatenate(kls).astype(np.float64)

    def anomaly_score(
        self, x: Any, labels: Any = None, num_samples: int = 10, seed: int | None = None
    ) -> np.ndarray:
        """Per-example negative ELBO (beta = 1) in nats: higher means less typical."""
        reconstruction, kl = self.elbo_terms(x, labels, num_samples=num_samples, seed=seed)
        return reconstruction + kl

    def log_likelihood(
        self,
        x: Any,
        labels: Any = None,
        num_samples: int = 1000,
        seed: int | None = None,
        batch_size: int = 2048,
    ) -> np.ndarray:
        """Importance-weighted estimate of log p(x) (log p(x|y) if conditional), nats each.

        log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), with
        k = `num_samples`. The estimate is a lower bound that tightens as k grows
        (k = 1 is a one-sample ELBO). At most `batch_size` decoder evaluations are
        run at once, so large k fits in memory.
        """
        images = self._as_images(x)
        labels = self._check_labels(labels, len(images))
        k = _check_positive_int(num_samples, "num_samples")
        batch_size = _check_positive_int(batch_size, "batch_size")
        examples_per_pass = max(1, batch_size // k)
        samples_per_pass = min(k, max(1, batch_size // examples_per_pass))
        seed_pair = tf.constant(np.random.default_rng(seed).integers(0, 2**31 - 1, 2), tf.int32)
        if self._log_weights_fn is None:
            # one graph for every block and call (shapes and block bounds are tensors)
            self._log_weights_fn = tf.function(self._importance_log_weights, reduce_retracing=True)
        results = []
        for rows in _chunks(len(images), examples_per_pass):
            batch = ops.convert_to_tensor(images[rows])
            one_hot = self._one_hot_np(labels, rows)
            one_hot = None if one_hot is None else ops.convert_to_tensor(one_hot, "float32")
            mean, log_var = self._encode(batch, one_hot)
            example_ids = tf.range(rows.start, rows.stop)
            log_weights = [
                self._log_weights_fn(
                    batch, one_hot, mean, log_var, example_ids, seed_pair,
                    tf.constant(block.start), tf.constant(block.stop), tf.constant(k),
                ).numpy()
                for block in _chunks(k, samples_per_pass)
            ]
            log_weights = np.concatenate(log_weights, axis=1).astype(np.float64)  # (m, k)
            results.append(logsumexp(log_weights, axis=1) - math.log(k))
        return np.concatenate(results) if results else np.zeros(0)

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
            decoder_std=self.decoder_std,
            beta=self.beta,
            kl_warmup_steps=self.kl_warmup_steps,
            num_classes=self.num_classes,
            seed=self.seed,
        )
        return config
