"""An image model around the RBM layer, trained by contrastive divergence in `train_step`."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_genzoo.core.capabilities import DensityModel, Generator, batch_slices
from keras_genzoo.core.checks import check_choice, check_positive_int, check_probability
from keras_genzoo.core.conditioning import first_batch, split_batch
from keras_genzoo.core.layers.rbm import RBM, VISIBLE_TYPES, bernoulli_sample
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.randomness import resolve_seed
from keras_genzoo.models.rbm import likelihood

# Gaussian units: per-pixel standard deviations are floored at this fraction of the value
# range, so pixels that never vary in the training data (image borders) stay bounded.
MIN_STD_FRACTION = 0.05
# Rows of each training batch the pseudo-likelihood is estimated on (None: every row).
# A sample of rows is cheaper, but then the metric under MirroredStrategy would differ
# from one device's on the same global batch, so every row is used.
PSEUDO_LIKELIHOOD_ROWS = None


@keras.saving.register_keras_serializable(package="keras_genzoo")
class RBMModel(Generator, DensityModel, ZooModel):
    """A restricted Boltzmann machine over flattened images.

    `fit` trains it by CD-k (`persistent=False`) or persistent CD (`persistent=True`,
    `num_chains` fantasy particles per replica, kept as non-trainable state). Each step
    minimises the free-energy difference `mean F(data) - mean F(negatives)` with the
    negative samples held constant, whose gradient is the usual negative-minus-positive
    statistics, so any Keras optimizer applies the update. `sparsity_target` adds a
    penalty `sparsity_cost * KL(target || mean hidden activation)` summed over hidden units.

    Bernoulli models map pixels linearly from `value_range` to [0, 1]. Gaussian models
    standardise each pixel with statistics that `adapt` (called by the first `fit`)
    measures on the training data.

    Calling the model on images returns the hidden probabilities (features).

    `log_likelihood` is an estimate: `-F(v) - log Z` with log Z from
    `estimate_log_partition`, cached until the weights change (AIS with its defaults
    when no estimate is cached).
    """

    likelihood_kind = "estimate"
    # One pass by default: the chains of one call are drawn together from its seed.
    generate_batch_size = None

    # A CD-1 step is a few milliseconds, so per-execution costs weigh most here: run a
    # whole epoch of MNIST at batch size 100 per execution (benchmarks/rbm_cd1.py).
    cpu_steps_per_execution = 100

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        hidden_units: int = 256,
        visible: str = "bernoulli",
        cd_steps: int = 1,
        persistent: bool = False,
        num_chains: int = 100,
        sparsity_target: float | None = None,
        sparsity_cost: float = 0.1,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(image_shape=image_shape, value_range=value_range, **kwargs)
        self.visible = check_choice(visible, VISIBLE_TYPES, "visible")
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.cd_steps = check_positive_int(cd_steps, "cd_steps")
        self.persistent = bool(persistent)
        self.num_chains = check_positive_int(num_chains, "num_chains")
        self.sparsity_target = None if sparsity_target is None else check_probability(
            sparsity_target, "sparsity_target (the desired mean hidden activation)"
        )
        if float(sparsity_cost) < 0:
            raise ValueError(f"sparsity_cost must be non-negative, got {sparsity_cost!r}.")
        self.sparsity_cost = float(sparsity_cost)
        self.seed = seed
        self.visible_units = int(np.prod(self.image_shape))
        self.rbm = RBM(self.hidden_units, visible=visible, seed=seed, name="rbm")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_error")
        self.pseudo_likelihood_tracker = (
            keras.metrics.Mean(name="pseudo_likelihood") if visible == "bernoulli" else None
        )
        self._generate_fn = None
        self._log_partition = None  # (fingerprint of the weights, log Z) once estimated
        self.build((None, *self.image_shape))

    # ------------------------------------------------------------------ state

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.rbm.build((None, self.visible_units))
        if self.visible == "gaussian":
            self.data_mean = self.add_weight(
                shape=(self.visible_units,), initializer="zeros", trainable=False, name="data_mean"
            )
            self.data_std = self.add_weight(
                shape=(self.visible_units,), initializer="ones", trainable=False, name="data_std"
            )
            self.adapted = self.add_weight(
                shape=(), initializer="zeros", trainable=False, name="adapted"
            )
        if self.persistent:
            # One set of chains per replica: on-read variables are written locally.
            self.chains = keras.Variable(
                initializer="zeros",
                shape=(self.num_chains, self.visible_units),
                dtype="float32",
                trainable=False,
                synchronization="on_read",
                aggregation="only_first_replica",
                name="persistent_chains",
            )
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = [self.reconstruction_tracker]
        if self.pseudo_likelihood_tracker is not None:
            trackers.append(self.pseudo_likelihood_tracker)
        return trackers

    # ------------------------------------------------------------- data space

    def to_visible(self, images: Any) -> tf.Tensor:
        """Flatten images and map them to the RBM's visible space."""
        x = ops.reshape(ops.cast(images, self.compute_dtype), (-1, self.visible_units))
        if self.visible == "bernoulli":
            low, high = self.value_range
            return x if (low, high) == (0.0, 1.0) else (x - low) / (high - low)
        return (x - ops.cast(self.data_mean, x.dtype)) / ops.cast(self.data_std, x.dtype)

    def from_visible(self, v: Any) -> tf.Tensor:
        """Visible means back to images in `value_range`."""
        v = ops.cast(v, "float32")
        low, high = self.value_range
        if self.visible == "bernoulli":
            x = v * (high - low) + low
        else:
            x = v * self.data_std + self.data_mean
        return ops.reshape(ops.clip(x, low, high), (-1, *self.image_shape))

    def adapt(self, data: Any) -> None:
        """Measure per-pixel mean and standard deviation for Gaussian visible units.

        `data` is an image array or a `tf.data.Dataset` of image batches.
        """
        if self.visible != "gaussian":
            raise ValueError("adapt() only applies to Gaussian visible units.")
        total = np.zeros(self.visible_units)
        total_sq = np.zeros(self.visible_units)
        count = 0
        batches = data if isinstance(data, tf.data.Dataset) else [np.asarray(data)]
        for batch in batches:
            images, _ = split_batch(batch)
            self.check_images(images, "adapt() data")
            flat = np.asarray(images, np.float64).reshape(-1, self.visible_units)
            total += flat.sum(axis=0)
            total_sq += np.square(flat).sum(axis=0)
            count += len(flat)
        if count < 2:
            raise ValueError("adapt() needs at least two images to measure pixel statistics.")
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
        floor = MIN_STD_FRACTION * (self.value_range[1] - self.value_range[0])
        self.data_mean.assign(mean.astype(np.float32))
        self.data_std.assign(np.maximum(std, floor).astype(np.float32))
        self.adapted.assign(1.0)

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        _, labels = first_batch(x, y)
        if labels is not None:
            raise ValueError(
                f"{self.name} is an unconditional model and trains on images alone; got "
                "labels too. Pass only the images (load_dataset(..., labels=False))."
            )

    def prepare_for_training(self, x: Any, y: Any = None) -> None:
        """A Gaussian RBM measures its pixel statistics (`adapt`) before its first step."""
        if self.visible == "gaussian" and not float(self.adapted.numpy()):
            self.check_training_data(x, y)
            if not isinstance(x, (np.ndarray, tf.data.Dataset)):
                raise ValueError(
                    "A Gaussian RBM standardises pixels with statistics of the training "
                    "data: call model.adapt(images) before fitting on this kind of input."
                )
            self.adapt(x)

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any):
        self.prepare_for_training(x, y)
        return super().fit(x, y, *args, **kwargs)

    # ------------------------------------------------------------------ steps

    def call(self, inputs: Any) -> tf.Tensor:
        return self.rbm(self.to_visible(inputs))

    def _step_seeds(self, count: int, seed: tf.Tensor | None = None) -> list[tf.Tensor]:
        """`count` seeds split from `seed`, by default the next of the layer's stream (which
        folds in the replica id: each replica draws its own noise)."""
        seed = self.rbm.seed_tensor() if seed is None else seed
        return tf.unstack(tf.random.experimental.stateless_split(seed, count))

    def _negative_samples(
        self, v_data: tf.Tensor, positive_probabilities: tf.Tensor, seeds: list[tf.Tensor]
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """(negative visible samples, one-step reconstruction E[v | h ~ p(h | data)])."""
        hidden = bernoulli_sample(positive_probabilities, seeds[0])
        reconstruction = self.rbm.visible_probabilities(hidden)
        if self.persistent:
            start = ops.cast(self.chains, v_data.dtype)
            negatives = self.rbm.gibbs(start, self.cd_steps, seed=seeds[1])
            self.chains.assign(ops.cast(negatives, "float32"))
        else:
            negatives = self.rbm.sample_visible_from_means(reconstruction, seeds[1])
            if self.cd_steps > 1:
                negatives = self.rbm.gibbs(negatives, self.cd_steps - 1, seed=seeds[2])
        return negatives, reconstruction

    def _sparsity_penalty(self, positive_logits: tf.Tensor) -> tf.Tensor:
        target = self.sparsity_target
        mean_activity = ops.clip(
            ops.mean(ops.sigmoid(ops.cast(positive_logits, "float32")), axis=0), 1e-6, 1 - 1e-6
        )
        kl = target * ops.log(target / mean_activity) + (1 - target) * ops.log(
            (1 - target) / (1 - mean_activity)
        )
        return self.sparsity_cost * ops.sum(kl)

    def _update_metrics(
        self,
        v_data: tf.Tensor,
        positive_logits: tf.Tensor,
        positive_probabilities: tf.Tensor,
        reconstruction: tf.Tensor,
        seed: tf.Tensor,
        rows: int | None = None,
    ) -> list[tf.Tensor]:
        """Update the trackers; returns the per-example values.

        The pseudo-likelihood uses the first `rows` rows only (all when None); batches
        are shuffled, so they are a random sample of the data.
        """
        error = ops.mean(
            ops.square(ops.cast(v_data, "float32") - ops.cast(reconstruction, "float32")), axis=-1
        )
        self.reconstruction_tracker.update_state(error)
        if self.pseudo_likelihood_tracker is None:
            return [error]
        if rows is not None:
            v_data, positive_logits, positive_probabilities = (
                t[:rows] for t in (v_data, positive_logits, positive_probabilities)
            )
        indices = tf.random.stateless_uniform(
            (ops.shape(v_data)[0],), seed, maxval=self.visible_units, dtype=tf.int32,
            alg="philox",
        )
        gap = likelihood.flipped_free_energy_gap(
            self.rbm, v_data, positive_logits, indices, positive_probabilities
        )
        pseudo_likelihood = likelihood.pseudo_likelihood_from_gap(gap, self.visible_units)
        self.pseudo_likelihood_tracker.update_state(pseudo_likelihood)
        return [error, pseudo_likelihood]

    def free_energy_loss(self, v_data: Any, negatives: Any) -> tf.Tensor:
        """`mean F(data) - mean F(negatives)` (+ sparsity penalty), negatives held constant.

        Its gradient with respect to the weights is the CD update with the sign flipped:
        `dL/dW = -(<v p(h|v)>_data - <v p(h|v)>_negatives)`, and likewise for the biases.
        `train_step` applies exactly this gradient, computed from the step's own products.
        """
        v_data = self.rbm.check_visible(v_data)
        negatives = ops.cast(tf.stop_gradient(negatives), v_data.dtype)
        positive_logits = self.rbm.hidden_logits(v_data)
        loss = ops.mean(self.rbm.free_energy_from_logits(v_data, positive_logits)) - ops.mean(
            self.rbm.free_energy(negatives)
        )
        if self.sparsity_target is not None:
            loss = loss + self._sparsity_penalty(positive_logits)
        return loss

    def _cd_gradients(
        self,
        v_data: tf.Tensor,
        positive_probabilities: tf.Tensor,
        negatives: tf.Tensor,
        negative_probabilities: tf.Tensor,
    ) -> list[tf.Tensor]:
        """Gradients of `free_energy_loss` (without sparsity) for (kernel, visible bias,
        hidden bias), in closed form: negative minus positive statistics.

        Autodiff would recompute both free energies and their sigmoids; the closed form
        reuses the probabilities the Gibbs sweep already computed, and the two
        weight-gradient products run as one product of twice the depth.
        """
        def mean_over_rows(x):  # negatives may be persistent chains, not the batch
            return ops.cast(x, "float32") / ops.cast(ops.shape(x)[0], "float32")

        positive, negative = mean_over_rows(positive_probabilities), mean_over_rows(
            negative_probabilities
        )
        visible = ops.concatenate([negatives, v_data], axis=0)
        hidden = ops.cast(ops.concatenate([negative, -positive], axis=0), visible.dtype)
        kernel = ops.cast(tf.matmul(visible, hidden, transpose_a=True), "float32")
        visible_bias = ops.sum(mean_over_rows(negatives), 0) - ops.sum(mean_over_rows(v_data), 0)
        hidden_bias = ops.sum(negative, 0) - ops.sum(positive, 0)
        return [kernel, visible_bias, hidden_bias]

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        images, _ = split_batch(data)
        v_data = self.to_visible(images)
        seeds = self._step_seeds(4)
        weights = [self.rbm.kernel, self.rbm.visible_bias, self.rbm.hidden_bias]
        with tf.GradientTape(watch_accessed_variables=self.sparsity_target is not None) as tape:
            positive_logits = self.rbm.hidden_logits(v_data)
            penalty = None if self.sparsity_target is None else self._sparsity_penalty(
                positive_logits
            )
        positive_probabilities = ops.sigmoid(positive_logits)
        negatives, reconstruction = self._negative_samples(v_data, positive_probabilities, seeds)
        negatives = ops.cast(tf.stop_gradient(negatives), v_data.dtype)
        gradients = self._cd_gradients(
            v_data, positive_probabilities, negatives, self.rbm.hidden_probabilities(negatives)
        )
        if penalty is not None:
            penalty_gradients = tape.gradient(penalty, weights)
            gradients = [
                g if extra is None else g + ops.cast(extra, g.dtype)
                for g, extra in zip(gradients, penalty_gradients)
            ]
        # Replicas' gradients are summed; under float16 loss scaling the optimizer
        # divides by its current scale, so apply the same scale to the closed form.
        scale = self.optimizer.scale_loss(
            ops.convert_to_tensor(1.0 / self.distribute_strategy.num_replicas_in_sync)
        )
        gradients = [g * ops.cast(scale, g.dtype) for g in gradients]
        # Metrics first, so they describe the same weights as the positive phase.
        measured = self._update_metrics(
            v_data, positive_logits, positive_probabilities, reconstruction, seeds[3],
            rows=PSEUDO_LIKELIHOOD_ROWS,
        )
        # Finish reading the weights for the metrics before the optimizer updates them in
        # place; a read still pending would make TensorFlow copy the kernel first.
        with tf.control_dependencies(measured):
            self.optimizer.apply_gradients(zip(gradients, weights))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        """Held-out metrics with stateless noise (`RBM.evaluation_seed`), keyed by the
        examples this evaluation has seen so far (the trackers restart at every evaluate):
        evaluating again gives the same numbers and leaves the training stream as it was."""
        images, _ = split_batch(data)
        v_data = self.to_visible(images)
        seen = ops.cast(self.reconstruction_tracker.count, "int64")
        seeds = self._step_seeds(2, self.rbm.evaluation_seed(seen))
        positive_logits = self.rbm.hidden_logits(v_data)
        positive_probabilities = ops.sigmoid(positive_logits)
        hidden = bernoulli_sample(positive_probabilities, seeds[0])
        reconstruction = self.rbm.visible_probabilities(hidden)
        self._update_metrics(
            v_data, positive_logits, positive_probabilities, reconstruction, seeds[1]
        )
        return {m.name: m.result() for m in self.metrics}

    # --------------------------------------------------------------- sampling

    def _generate_graph(self, n: int, gibbs_steps: int, seed: tf.Tensor) -> tf.Tensor:
        start_seed, chain_seed, final_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 3)
        )
        dtype = self.compute_dtype
        bias = ops.broadcast_to(ops.cast(self.rbm.visible_bias, dtype), (n, self.visible_units))
        start_means = ops.sigmoid(bias) if self.visible == "bernoulli" else bias
        v = self.rbm.sample_visible_from_means(start_means, start_seed)
        v = self.rbm.gibbs(v, gibbs_steps, seed=chain_seed)
        hidden = bernoulli_sample(self.rbm.hidden_probabilities(v), final_seed)
        return self.from_visible(self.rbm.visible_probabilities(hidden))

    def _generate(self, n, labels, seed, batch_size, *, gibbs_steps: int = 1000) -> np.ndarray:
        """Images from `gibbs_steps` of Gibbs sampling started at the visible biases: the
        visible probabilities (Bernoulli) or means (Gaussian) given the last hidden
        sample, in `value_range`. Chunk i of `batch_size` chains draws from the seed
        pair (seed, i); by default all chains run in one chunk."""
        gibbs_steps = check_positive_int(gibbs_steps, "gibbs_steps")
        if self._generate_fn is None:
            self._generate_fn = tf.function(self._generate_graph, reduce_retracing=True)
        chunks = [
            self._generate_fn(rows.stop - rows.start, gibbs_steps, tf.constant([seed, i], tf.int32))
            for i, rows in enumerate(batch_slices(n, batch_size))
        ]
        return np.concatenate([np.asarray(chunk) for chunk in chunks])

    # ------------------------------------------------------------ likelihoods

    def pseudo_likelihood(self, images: Any, seed: int | None = None) -> np.ndarray:
        """Per-image log pseudo-likelihood (scikit-learn's `score_samples` definition);
        `seed` (seed policy of `keras_genzoo.core.randomness`) picks the flipped units."""
        self.check_images(images)
        return likelihood.pseudo_likelihood(
            self.rbm, np.asarray(self.to_visible(images)), seed=resolve_seed(seed)
        )

    def _weights_fingerprint(self) -> str:
        weights = [self.rbm.kernel, self.rbm.visible_bias, self.rbm.hidden_bias]
        arrays = [np.asarray(w) for w in weights]
        if self.visible == "gaussian":
            arrays += [np.asarray(self.data_mean), np.asarray(self.data_std)]
        return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()

    def _log_likelihood(self, images, labels, log_z: float | None = None) -> np.ndarray:
        """log p(v) = -F(v) - log Z per image, in the RBM's visible space (for Gaussian
        units, the log-density of the standardised pixels). `log_z` defaults to the
        cached estimate (see `log_partition`)."""
        visible = np.asarray(self.to_visible(images))
        return likelihood.log_probability(
            self.rbm, visible, self.log_partition() if log_z is None else float(log_z)
        )

    def log_partition(self) -> float:
        """The cached log Z of the current weights: the last `estimate_log_partition`
        result, or, when there is none or the weights changed since, a fresh AIS
        estimate with its default options."""
        fingerprint = self._weights_fingerprint()
        if self._log_partition is None or self._log_partition[0] != fingerprint:
            self.estimate_log_partition("ais")
        return self._log_partition[1]

    def estimate_log_partition(
        self, method: str = "ais", train_images: Any = None, **ais_options: Any
    ) -> float:
        """log Z of the RBM, cached for `log_likelihood` until the weights change.

        `method="exact"` enumerates the hidden states (few hidden units only); `"ais"` runs
        annealed importance sampling (options as `ais_log_partition`), starting from the
        base rates of `train_images` when they are given.
        """
        check_choice(method, ("ais", "exact"), "method")
        if method == "exact":
            log_z = likelihood.exact_log_partition(self.rbm)
        else:
            if train_images is not None:
                self.check_images(train_images, "train_images")
                ais_options["data"] = np.asarray(self.to_visible(train_images))
            log_z = likelihood.ais_log_partition(self.rbm, **ais_options).log_z
        self._log_partition = (self._weights_fingerprint(), log_z)
        return log_z

    # ---------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            hidden_units=self.hidden_units,
            visible=self.visible,
            cd_steps=self.cd_steps,
            persistent=self.persistent,
            num_chains=self.num_chains,
            sparsity_target=self.sparsity_target,
            sparsity_cost=self.sparsity_cost,
            seed=self.seed,
        )
        return config

