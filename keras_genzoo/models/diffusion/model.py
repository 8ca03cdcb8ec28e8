"""`Diffusion`: a denoising diffusion model (DDPM) with DDPM and DDIM samplers,
classifier-free guidance and the variational bound on log p(x)."""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy.special import log_ndtr

from keras_genzoo.core.capabilities import DensityModel, Generator, batch_slices
from keras_genzoo.core.checks import check_choice, check_positive_int, off_level_value
from keras_genzoo.core.conditioning import first_batch, model_labels, split_batch
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.randomness import evaluation_seed, fold_in_replica, resolve_seed
from keras_genzoo.models.diffusion.schedules import NoiseSchedule

PREDICTIONS = ("epsilon", "v")
SAMPLERS = ("ddpm", "ddim")
DECODERS = ("discretised", "gaussian")


@keras.saving.register_keras_serializable(package="keras_genzoo")
class Diffusion(Generator, DensityModel, ZooModel):
    """A denoising diffusion model: `network([noisy, times(, labels)])` predicts the noise
    (`prediction="epsilon"`) or v = sqrt(a) eps - sqrt(1 - a) x (`"v"`) of images noised
    to level u in [0, 1] by the `schedule` (`keras_genzoo.models.diffusion.schedules`).

    Training (`fit`) minimises the mean squared error of that prediction at a random
    level per image, weighted by Min-SNR-gamma (min(SNR, gamma) / SNR for epsilon,
    / (SNR + 1) for v) when `min_snr_gamma` is set. `ema_decay` keeps an exponential
    moving average of the weights, saved with the model and used for sampling and
    the bound. A conditional model (`num_classes`) trains on (images, labels) and
    replaces each label by "no class" with probability `label_dropout`, so one network
    gives conditional and unconditional predictions (classifier-free guidance).

    `generate(n, labels=None, seed=None, steps=50, sampler="ddim", eta=0.0,
    guidance=1.0, clip=True)` runs one compiled loop: DDIM over `steps` evenly spaced
    levels (`eta=0` deterministic given the seed), or ancestral DDPM sampling over all
    `timesteps` steps (`sampler="ddpm"`, reverse variances of the posterior).
    `log_likelihood` is the variational bound of Ho et al. (2020), reverse variances
    beta_t, with a discretised Gaussian decoder over `num_levels` grey levels: a lower
    bound on log p(x), in nats. `invert` runs DDIM backwards (images to noise); it is
    well conditioned when alpha_bar at T is not vanishingly small (the linear schedule),
    not for the cosine schedule, whose last level holds almost no signal.

    Pixels live in `value_range` (mapped to [-1, 1] inside).
    """

    likelihood_kind = "bound"
    submodels = ("network",)
    #: A denoiser needs thousands of steps before its samples look like data.
    min_training_steps = 2000
    #: A U-Net step costs far more than the per-step overhead that several steps per
    #: execution save, and each extra step in an execution is traced again.
    cpu_steps_per_execution = 1

    def __init__(
        self,
        network: keras.Model,
        *,
        schedule: str = "linear",
        timesteps: int = 1000,
        continuous: bool = False,
        prediction: str = "epsilon",
        min_snr_gamma: float | None = None,
        ema_decay: float | None = 0.999,
        num_classes: int | None = None,
        label_dropout: float = 0.1,
        num_levels: int = 256,
        image_shape: Sequence[int] | None = None,
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(network, keras.Model) or not getattr(network, "inputs", None):
            raise TypeError(f"network must be a functional keras.Model, got {type(network).__name__}.")
        shape = tuple(int(d) for d in network.inputs[0].shape[1:])
        if image_shape is not None and tuple(int(d) for d in image_shape) != shape:
            raise ValueError(f"image_shape {tuple(image_shape)} does not match the network's input {shape}.")
        super().__init__(image_shape=shape, value_range=value_range, **kwargs)
        self.network = network
        self.num_classes = None if num_classes is None else check_positive_int(num_classes, "num_classes")
        self.is_conditional = self.num_classes is not None
        expected_inputs = 3 if self.is_conditional else 2
        if len(network.inputs) != expected_inputs:
            names = "noisy_images, times, labels" if self.is_conditional else "noisy_images, times"
            raise ValueError(
                f"A {'conditional' if self.is_conditional else 'unconditional'} diffusion network takes "
                f"{expected_inputs} inputs [{names}], got {len(network.inputs)}."
            )
        self.schedule = NoiseSchedule(schedule, timesteps, continuous)
        self.prediction = check_choice(prediction, PREDICTIONS, "prediction")
        if min_snr_gamma is not None and not float(min_snr_gamma) > 0:
            raise ValueError(f"min_snr_gamma must be a positive number or None, got {min_snr_gamma!r}.")
        self.min_snr_gamma = None if min_snr_gamma is None else float(min_snr_gamma)
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay!r}.")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        if not 0.0 <= float(label_dropout) < 1.0:
            raise ValueError(f"label_dropout must be in [0, 1), got {label_dropout!r}.")
        self.label_dropout = float(label_dropout)
        self.num_levels = check_positive_int(num_levels, "num_levels")
        if self.num_levels < 2:
            raise ValueError(f"num_levels must be at least 2, got {num_levels}.")
        self.seed = int(seed) if seed is not None else random.randint(1, 2**31 - 1)
        # Noise state in a variable, saved in `.keras` files: a reloaded model trains on
        # with the same noise stream.
        self._noise_state = self.add_weight(
            shape=(2,),
            dtype="int64",
            initializer=keras.initializers.Constant([self.seed, 0]),
            trainable=False,
            aggregation="only_first_replica",
            name="noise_state",
        )
        self._ema_weights = []
        if self.ema_decay is not None:
            for i, variable in enumerate(network.trainable_variables):
                average = self.add_weight(
                    shape=variable.shape,
                    dtype=variable.dtype,
                    initializer="zeros",
                    trainable=False,
                    aggregation="only_first_replica",
                    name=f"network_ema_{i}",
                )
                average.assign(variable)
                self._ema_weights.append(average)
        self._evaluation_seeds = None  # set while a test step is traced
        self._samplers: dict[tuple, Any] = {}
        self._compiled_predict: Any = None  # `_predict` as one tf.function, for the bound
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    # --------------------------------------------------------------- data

    def _to_model(self, images: Any) -> Any:
        low, high = self.value_range
        return (ops.cast(images, "float32") - low) * (2.0 / (high - low)) - 1.0

    def _from_model(self, x: np.ndarray) -> np.ndarray:
        low, high = self.value_range
        return (np.clip(x, -1.0, 1.0) + 1.0) * ((high - low) / 2.0) + low

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        _, labels = first_batch(x, y)
        if self.is_conditional:
            if labels is None:
                raise ValueError(
                    f"{self.name} is class-conditional and trains on (images, labels) batches: "
                    "pass fit(x, labels) or load_dataset(..., labels=True)."
                )
            labels = np.asarray(labels).reshape(-1)
            model_labels(self, labels, len(labels))

    def _unpack(self, data: Any) -> tuple[Any, Any]:
        images, labels = split_batch(data)
        if self.is_conditional:
            if labels is None:
                raise ValueError(f"{self.name} is class-conditional: train it on (images, labels).")
            labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return self._to_model(images), labels

    # --------------------------------------------------------------- noise

    def _next_seed(self) -> Any:
        """A fresh stateless seed, distinct per replica; a test step draws from a stream
        of its own and advances nothing."""
        if self._evaluation_seeds is not None:
            base, draws = self._evaluation_seeds
            self._evaluation_seeds = (base, draws + 1)
            seed = tf.random.experimental.stateless_fold_in(base, draws)
        else:
            seed = ops.convert_to_tensor(self._noise_state)
            self._noise_state.assign(seed + ops.convert_to_tensor([0, 1], dtype="int64"))
        return fold_in_replica(seed)

    def _predict(self, noisy, times, labels, training: bool = False, weights=None):
        """The network's float32 prediction; `weights` (trainable values) replace the
        live ones, as the average is used for sampling."""
        inputs = [noisy, ops.reshape(ops.cast(times, "float32"), (-1, 1))]
        if self.is_conditional:
            inputs.append(ops.reshape(ops.cast(labels, "int32"), (-1, 1)))
        if weights is None:
            return ops.cast(self.network(inputs, training=training), "float32")
        non_trainable = [v.value for v in self.network.non_trainable_variables]
        out, _ = self.network.stateless_call(weights, non_trainable, inputs, training=False)
        return ops.cast(out, "float32")

    def add_noise(self, x0: Any, times: Any, noise: Any) -> Any:
        """The forward process: x_u = sqrt(alpha_bar(u)) x0 + sqrt(1 - alpha_bar(u)) noise,
        for images `x0` in the model's [-1, 1] scale and levels `times` (batch,)."""
        return _noised(x0, ops.reshape(self.schedule.alpha_bar(times), (-1, 1, 1, 1)), noise)

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The network's prediction for `[noisy_images, times]` (plus `labels` if
        conditional), noisy images in the model's [-1, 1] scale."""
        return ops.cast(self.network(list(inputs), training=training), "float32")

    def _split(self, prediction, noisy, alpha_bar):
        """(eps, x0) from a prediction of images noised to `alpha_bar` (batch, 1, 1, 1)."""
        signal, noise = ops.sqrt(alpha_bar), ops.sqrt(1.0 - alpha_bar)
        if self.prediction == "epsilon":
            eps = prediction
            return eps, (noisy - noise * eps) / signal
        x0 = signal * noisy - noise * prediction
        return (noisy - signal * x0) / noise, x0

    # ------------------------------------------------------------------ training

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker]

    def _loss(self, x0, labels, training: bool):
        batch = ops.shape(x0)[0]
        seed = self._next_seed()
        draw = lambda i: tf.random.experimental.stateless_fold_in(seed, i)  # noqa: E731
        steps = self.schedule.timesteps
        if self.schedule.continuous:
            times = tf.random.stateless_uniform((batch,), draw(0), minval=1.0 / steps, maxval=1.0)
        else:
            index = tf.random.stateless_uniform((batch,), draw(0), minval=1, maxval=steps + 1, dtype=tf.int32)
            times = ops.cast(index, "float32") / steps
        alpha_bar = ops.reshape(self.schedule.alpha_bar(times), (-1, 1, 1, 1))
        eps = tf.random.stateless_normal(ops.shape(x0), draw(1))
        noisy = _noised(x0, alpha_bar, eps)
        if self.is_conditional and self.label_dropout:
            dropped = tf.random.stateless_uniform((batch,), draw(2)) < self.label_dropout
            labels = ops.where(dropped, self.num_classes, labels)
        prediction = self._predict(noisy, times, labels, training)
        if self.prediction == "epsilon":
            target = eps
        else:
            target = ops.sqrt(alpha_bar) * eps - ops.sqrt(1.0 - alpha_bar) * x0
        per_example = ops.mean(ops.reshape(ops.square(prediction - target), (batch, -1)), axis=1)
        if self.min_snr_gamma is not None:
            snr = ops.reshape(alpha_bar / (1.0 - alpha_bar), (-1,))
            clipped = ops.minimum(snr, self.min_snr_gamma)
            per_example = per_example * clipped / (snr if self.prediction == "epsilon" else snr + 1.0)
        return ops.mean(per_example)

    def train_step(self, data: Any) -> dict[str, Any]:
        x0, labels = self._unpack(data)

        def objective():
            loss = self._loss(x0, labels, True)
            total = loss + ops.cast(ops.sum(self.network.losses), "float32") if self.network.losses else loss
            return total, loss

        _, loss = self.gradient_step(objective, self.network.trainable_variables)
        self._update_ema()
        self.loss_tracker.update_state(loss, sample_weight=ops.cast(ops.shape(x0)[0], "float32"))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data: Any) -> dict[str, Any]:
        x0, labels = self._unpack(data)
        batch_index = ops.cast(self.loss_tracker.count, "int64")
        self._evaluation_seeds = (evaluation_seed(ops.convert_to_tensor(self._noise_state), batch_index), 0)
        try:
            loss = self._loss(x0, labels, False)
        finally:
            self._evaluation_seeds = None
        self.loss_tracker.update_state(loss, sample_weight=ops.cast(ops.shape(x0)[0], "float32"))
        return {m.name: m.result() for m in self.metrics}

    def _update_ema(self) -> None:
        if not self._ema_weights:
            return
        # Warm-up: early on the average follows the weights closely, then settles at ema_decay.
        step = ops.cast(self.optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, variable in zip(self._ema_weights, self.network.trainable_variables):
            average.assign(decay * average + (1.0 - decay) * ops.cast(variable, average.dtype))

    def _sampling_weights(self, use_ema: bool | None) -> list[Any] | None:
        if use_ema is None:
            use_ema = bool(self._ema_weights)
        if use_ema and not self._ema_weights:
            raise ValueError(
                f"{self.name} keeps no weight average: build it with ema_decay=..., or use_ema=False."
            )
        return [w.value for w in self._ema_weights] if use_ema else None

    # ------------------------------------------------------------------ sampling

    def _guided(self, noisy, times, labels, guidance, weights):
        """The prediction, with classifier-free guidance for a conditional model:
        unconditional + guidance * (conditional - unconditional)."""
        if not self.is_conditional:
            return self._predict(noisy, times, None, weights=weights)
        null = ops.full_like(labels, self.num_classes)
        both = self._predict(
            ops.concatenate([noisy, noisy]),
            ops.concatenate([times, times]),
            ops.concatenate([labels, null]),
            weights=weights,
        )
        conditional, unconditional = ops.split(both, 2)
        return unconditional + guidance * (conditional - unconditional)

    def _sampler(self, kind: str, inverse: bool = False):
        """A compiled loop over a grid of levels: (x, labels, grid, seed, eta, guidance,
        clip, weights) -> x at the last level. `inverse` runs DDIM (eta 0) upwards."""
        key = (kind, inverse)
        if key in self._samplers:
            return self._samplers[key]
        table = tf.constant(self.schedule.alpha_bar_grid, tf.float32)
        steps_total = float(self.schedule.timesteps)

        def loop(x, labels, grid, seed, eta, guidance, clip, weights):
            def body(k, x):
                t, t_next = grid[k], grid[k + 1]
                ab, ab_next = tf.gather(table, t), tf.gather(table, t_next)
                times = tf.fill((tf.shape(x)[0],), tf.cast(t, tf.float32) / steps_total)
                prediction = self._guided(x, times, labels, guidance, weights)
                eps, x0 = self._split(prediction, x, ab)
                if inverse:
                    return k + 1, tf.sqrt(ab_next) * x0 + tf.sqrt(1.0 - ab_next) * eps
                x0 = tf.cond(clip, lambda: tf.clip_by_value(x0, -1.0, 1.0), lambda: x0)
                noise = tf.random.stateless_normal(
                    tf.shape(x), tf.random.experimental.stateless_fold_in(seed, k)
                )
                if kind == "ddpm":  # the posterior q(x_prev | x, x0) with the predicted x0
                    alpha = ab / ab_next
                    mean = (tf.sqrt(ab_next) * (1.0 - alpha) * x0 + tf.sqrt(alpha) * (1.0 - ab_next) * x) / (
                        1.0 - ab
                    )
                    variance = (1.0 - ab_next) / (1.0 - ab) * (1.0 - alpha)
                    return k + 1, mean + tf.sqrt(variance) * noise
                eps = tf.cond(clip, lambda: (x - tf.sqrt(ab) * x0) / tf.sqrt(1.0 - ab), lambda: eps)
                sigma = eta * tf.sqrt((1.0 - ab_next) / (1.0 - ab) * (1.0 - ab / ab_next))
                direction = tf.sqrt(tf.maximum(1.0 - ab_next - sigma**2, 0.0))
                return k + 1, tf.sqrt(ab_next) * x0 + direction * eps + sigma * noise

            _, x = tf.while_loop(lambda k, x: k < tf.shape(grid)[0] - 1, body, (tf.constant(0), x))
            return x

        compiled = tf.function(loop, reduce_retracing=True)
        self._samplers[key] = compiled
        return compiled

    def _run(self, sampler, x, labels, grid, seed, eta, guidance, clip, use_ema, batch_size):
        weights = self._sampling_weights(use_ema)
        out = []
        for chunk, rows in enumerate(batch_slices(len(x), batch_size)):
            chunk_labels = tf.zeros((rows.stop - rows.start,), tf.int32) if labels is None else labels[rows]
            out.append(
                sampler(
                    tf.constant(x[rows]),
                    tf.constant(chunk_labels, tf.int32),
                    tf.constant(grid, tf.int32),
                    tf.constant([seed, chunk], tf.int64),
                    tf.constant(float(eta)),
                    tf.constant(float(guidance)),
                    tf.constant(bool(clip)),
                    weights,
                ).numpy()
            )
        return np.concatenate(out)

    def _grid(self, sampler: str, steps: int | None) -> np.ndarray:
        check_choice(sampler, SAMPLERS, "sampler")
        if sampler == "ddpm":
            if steps not in (None, self.schedule.timesteps):
                raise ValueError(
                    f"The ddpm sampler runs all {self.schedule.timesteps} steps; use sampler='ddim' "
                    f"for {steps} steps."
                )
            return self.schedule.grid(self.schedule.timesteps)
        return self.schedule.grid(min(50, self.schedule.timesteps) if steps is None else steps)

    def _check_guidance(self, guidance: float) -> float:
        if (
            not isinstance(guidance, (int, float))
            or isinstance(guidance, bool)
            or not math.isfinite(guidance)
        ):
            raise ValueError(
                f"guidance must be a number (1 is plain conditional sampling), got {guidance!r}."
            )
        if guidance != 1.0 and not self.is_conditional:
            raise ValueError("guidance applies to a class-conditional model; this one is unconditional.")
        return float(guidance)

    def _generate(
        self,
        n,
        labels,
        seed,
        batch_size,
        *,
        steps: int | None = None,
        sampler: str = "ddim",
        eta: float = 0.0,
        guidance: float = 1.0,
        clip: bool = True,
        use_ema: bool | None = None,
    ) -> np.ndarray:
        """Samples: DDIM over `steps` levels (default 50) with `eta`, or ancestral DDPM over
        all levels; `guidance` for a conditional model (0: unconditional); `clip` keeps the
        predicted clean image in range at every step."""
        noise = np.random.default_rng([seed, 0x5A]).standard_normal((n, *self.image_shape)).astype(np.float32)
        return self._denoise(noise, labels, steps, sampler, eta, guidance, clip, seed, use_ema, batch_size)

    def _denoise(self, noise, labels, steps, sampler, eta, guidance, clip, seed, use_ema, batch_size):
        """Images from checked starting noise and labels, in the value range: the one
        sampling path of `generate` and `denoise`."""
        grid = self._grid(sampler, steps)
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f"eta must be in [0, 1] (0: deterministic DDIM), got {eta!r}.")
        guidance = self._check_guidance(guidance)
        x = self._run(
            self._sampler(sampler), noise, labels, grid, seed, eta, guidance, clip, use_ema, batch_size
        )
        return self._from_model(x)

    def denoise(
        self,
        noise: Any,
        *,
        labels: Any = None,
        steps: int | None = None,
        sampler: str = "ddim",
        eta: float = 0.0,
        guidance: float = 1.0,
        clip: bool = True,
        seed: int | None = None,
        use_ema: bool | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """Images sampled from given starting noise (n, *image_shape), as `generate` does
        from its own; with `eta=0` and DDIM the result is a function of the noise."""
        noise = np.asarray(noise, np.float32)
        if noise.shape[1:] != self.image_shape or noise.ndim != 4:
            raise ValueError(
                f"noise must have shape (n, {', '.join(map(str, self.image_shape))}), got {noise.shape}."
            )
        labels = model_labels(self, labels, len(noise), cycle=True)
        return self._denoise(
            noise, labels, steps, sampler, eta, guidance, clip, resolve_seed(seed), use_ema,
            check_positive_int(batch_size, "batch_size"),
        )

    def invert(
        self,
        x: Any,
        *,
        labels: Any = None,
        steps: int = 50,
        guidance: float = 1.0,
        use_ema: bool | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """DDIM inversion: the starting noise from which `denoise(noise, steps=steps,
        clip=False)` (eta 0) gives back the images `x`, up to discretisation error."""
        images = self.as_images(x)
        labels = model_labels(self, labels, len(images), cycle=True)
        grid = self._grid("ddim", steps)[::-1].copy()
        guidance = self._check_guidance(guidance)
        start = ops.convert_to_numpy(self._to_model(images))
        return self._run(
            self._sampler("ddim", inverse=True),
            start,
            labels,
            grid,
            0,
            0.0,
            guidance,
            False,
            use_ema,
            check_positive_int(batch_size, "batch_size"),
        )

    # ------------------------------------------------------------------ the bound

    def check_pixel_levels(self, images: np.ndarray) -> None:
        """Pixels must be on the `num_levels` grid of the value range for the bound."""
        low, high = self.value_range
        example = off_level_value((images - low) / (high - low), self.num_levels)
        if example is not None:
            raise ValueError(
                f"{self.name} bounds the probability of images on {self.num_levels} grey levels, but the "
                f"images hold a value off that grid (e.g. {low + example * (high - low):g}): quantise them, "
                "or build the model with num_levels matching the data (DatasetInfo.num_levels)."
            )

    def _log_likelihood(
        self,
        images,
        labels,
        *,
        seed: int | None = None,
        num_timesteps: int | None = None,
        decoder: str = "discretised",
        batch_size: int = 64,
        use_ema: bool | None = None,
    ) -> np.ndarray:
        """The variational lower bound on log p(x), in nats per image: -(L_T + sum of the
        KL terms at t = 2..T + the decoder's -log p(x | x_1)), each KL at one draw of
        x_t. `num_timesteps` < T estimates the KL sum from that many stratified steps
        (unbiased for the bound, faster). `decoder="discretised"` bounds the probability
        of images on `num_levels` grey levels; `"gaussian"` bounds the density of
        real-valued data (in the model's [-1, 1] scale)."""
        check_choice(decoder, DECODERS, "decoder")
        if decoder == "discretised":
            self.check_pixel_levels(images)
        seed = resolve_seed(seed)
        steps = self.schedule.timesteps
        if num_timesteps is None:
            chosen = np.arange(2, steps + 1)
        else:
            count = min(check_positive_int(num_timesteps, "num_timesteps"), steps - 1)
            rng = np.random.default_rng([seed, 0xB0])
            edges = np.linspace(2, steps + 1, count + 1)
            chosen = np.floor(edges[:-1] + rng.random(count) * np.diff(edges)).astype(np.int64)
        weight = (steps - 1) / len(chosen)
        weights = self._sampling_weights(use_ema)
        # One compiled call per batch (the bound makes (timesteps + 1) x batches of them),
        # traced once per model like the samplers, the weights passed in as they are.
        if self._compiled_predict is None:
            self._compiled_predict = tf.function(
                lambda noisy, times, labels, weights: self._predict(noisy, times, labels, weights=weights),
                reduce_retracing=True,
            )
        x0_all = ops.convert_to_numpy(self._to_model(images)).astype(np.float64)
        total = np.zeros(len(images))
        ab = self.schedule.alpha_bar_grid
        dims = tuple(range(1, 4))
        # L_T: KL(q(x_T | x0) || N(0, I)).
        total += 0.5 * np.sum(ab[steps] * x0_all**2 + (1 - ab[steps]) - 1 - np.log(1 - ab[steps]), axis=dims)
        batch_size = check_positive_int(batch_size, "batch_size")
        for t_index, t in enumerate(np.concatenate([[1], chosen])):
            alpha = ab[t] / ab[t - 1]
            rng = np.random.default_rng([seed, int(t), t_index])
            for rows in batch_slices(len(images), batch_size):
                x0 = x0_all[rows]
                eps = rng.standard_normal(x0.shape)
                noisy = np.sqrt(ab[t]) * x0 + np.sqrt(1 - ab[t]) * eps
                hot = None if labels is None else tf.constant(labels[rows], tf.int32)
                prediction = self._compiled_predict(
                    tf.constant(noisy, tf.float32), tf.fill((len(x0),), float(t) / steps), hot, weights
                )
                prediction = ops.convert_to_numpy(prediction).astype(np.float64)
                if self.prediction == "epsilon":
                    x0_hat = (noisy - np.sqrt(1 - ab[t]) * prediction) / np.sqrt(ab[t])
                else:
                    x0_hat = np.sqrt(ab[t]) * noisy - np.sqrt(1 - ab[t]) * prediction
                if t == 1:  # the decoder: a Gaussian of variance beta_1 (over each level's bin)
                    if decoder == "gaussian":
                        log_density = -0.5 * (
                            (x0 - x0_hat) ** 2 / (1 - alpha) + np.log(2 * np.pi * (1 - alpha))
                        )
                        total[rows] -= np.sum(log_density, axis=dims)
                    else:
                        total[rows] -= self._discretised_log_prob(x0, x0_hat, 1 - alpha)
                    continue
                # KL(q(x_{t-1} | x_t, x0) || p(x_{t-1} | x_t)), p of variance beta_t (the
                # choice of Ho et al. that is exact for Gaussian data as T grows).
                beta = 1 - alpha
                variance_ratio = (1 - ab[t - 1]) / (1 - ab[t])  # posterior variance / beta_t
                coefficient = np.sqrt(ab[t - 1]) * beta / (1 - ab[t])
                squared = coefficient**2 * np.sum((x0 - x0_hat) ** 2, axis=dims) / beta
                per_dim = variance_ratio - 1 - np.log(variance_ratio)
                total[rows] += weight * 0.5 * (squared + per_dim * math.prod(self.image_shape))
        return -total

    def _discretised_log_prob(self, x0, mean, variance) -> np.ndarray:
        """log P(x0) under N(mean, variance) integrated over each grey level's bin in
        [-1, 1] (the outermost bins reach to infinity), summed per image."""
        half_bin = 1.0 / (self.num_levels - 1)
        std = np.sqrt(variance)
        upper = np.where(x0 > 1 - half_bin, np.inf, (x0 + half_bin - mean) / std)
        lower = np.where(x0 < -1 + half_bin, -np.inf, (x0 - half_bin - mean) / std)
        # log(Phi(b) - Phi(a)) with the bin moved into the lower tail, where log_ndtr is exact.
        a = np.where(lower > 0, -upper, lower)
        b = np.where(lower > 0, -lower, upper)
        log_a, log_b = log_ndtr(a), log_ndtr(b)
        per_pixel = log_b + np.log1p(-np.exp(log_a - log_b))
        return np.sum(per_pixel, axis=tuple(range(1, per_pixel.ndim)))

    def bits_per_dim(self, x: Any, *, labels: Any = None, **options: Any) -> np.ndarray:
        """The bound as bits per sub-pixel, -log2 p(x) / (H * W * C): an upper bound."""
        return -self.log_likelihood(x, labels=labels, **options) / (
            math.prod(self.image_shape) * math.log(2.0)
        )

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            schedule=self.schedule.kind,
            timesteps=self.schedule.timesteps,
            continuous=self.schedule.continuous,
            prediction=self.prediction,
            min_snr_gamma=self.min_snr_gamma,
            ema_decay=self.ema_decay,
            num_classes=self.num_classes,
            label_dropout=self.label_dropout,
            num_levels=self.num_levels,
            seed=self.seed,
        )
        return config


def _noised(x0: Any, alpha_bar: Any, noise: Any) -> Any:
    """sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise: the forward process at `alpha_bar`."""
    return ops.sqrt(alpha_bar) * ops.cast(x0, "float32") + ops.sqrt(1.0 - alpha_bar) * noise


__all__ = ["PREDICTIONS", "SAMPLERS", "Diffusion"]
