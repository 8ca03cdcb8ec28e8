"""`StyleGAN`: a GAN whose generator is a mapping network and a style-modulated
synthesis network (StyleGAN2), with lazy R1, style mixing and a tracked mean w."""

from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_genzoo.core.checks import check_choice, check_count, check_positive_int, check_probability, is_int
from keras_genzoo.core.conditioning import model_labels
from keras_genzoo.core.randomness import SEED_LIMIT, resolve_seed
from keras_genzoo.models.gan.model import GAN

#: How `synthesize` fills the per-layer noise: drawn per image from the call's seed,
#: one fixed draw shared by every image and call, or zeros.
NOISE_MODES = ("random", "fixed", "none")
#: Stream tags folded into a seed: the per-image noise seeds, and the fixed noise.
NOISE_STREAM = 7
FIXED_NOISE_SEED = 12345
#: Latent draws that give the starting value of the tracked mean w.
W_MEAN_SAMPLES = 256


def _check_real(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be a finite number, got {value!r}.")
    return float(value)


@keras.saving.register_keras_serializable(package="keras_genzoo")
class StyleGAN(GAN):
    """A style-based GAN (StyleGAN2) trained by `fit`, on the `GAN`'s machinery.

    The generator (`keras_genzoo.models.gan.style_networks.build_style_generator`) takes
    `[z, (label,) noise_0, ..., noise_k]`; its sub-models `mapping` (z [, label] -> w)
    and `synthesis` (per-layer styles ws and noise images -> image) are used apart for
    style mixing, truncation and interpolation in W. The discriminator is any `GAN`
    discriminator.

    Training adds to the `GAN`'s step (two optimizers, EMA generator, augmentation, seed
    stream, mixed precision, replicas):

    * style mixing: with probability `mixing_probability` a generated image takes the
      styles of a second latent from a random crossover layer on;
    * lazy R1: every `r1_interval` discriminator steps, `r1_weight / 2 * r1_interval`
      times the mean squared gradient norm of the discriminator at the real images
      (reported as `r1_penalty`);
    * the tracked mean w (`w_mean`), a moving average (decay `w_mean_decay`) of the
      mapping network's outputs, the centre of truncation.

    Sampling: `generate(n, labels=None, seed=None, truncation=1.0, noise="random")`
    draws w = mean + truncation * (w - mean); `noise` is one of `NOISE_MODES`.
    `mix_styles` mixes the styles of two seeds, `style_walk` interpolates in W, and
    `map_latent` / `synthesize` expose the two halves.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        r1_weight: float = 0.1,
        r1_interval: int = 4,
        mixing_probability: float = 0.9,
        w_mean_decay: float = 0.995,
        **kwargs: Any,
    ) -> None:
        super().__init__(generator, discriminator, **kwargs)
        self.r1_weight = _check_real(r1_weight, "r1_weight")
        if self.r1_weight < 0:
            raise ValueError(f"r1_weight must be >= 0, got {r1_weight}.")
        self.r1_interval = check_positive_int(r1_interval, "r1_interval")
        self.mixing_probability = check_probability(
            mixing_probability, "mixing_probability", allow_zero=True, allow_one=True
        )
        self.w_mean_decay = check_probability(w_mean_decay, "w_mean_decay")
        self.mapping = generator.get_layer("mapping")
        self.synthesis = generator.get_layer("synthesis")
        self.num_styles = int(self.synthesis.inputs[0].shape[1])
        self.style_dim = int(self.synthesis.inputs[0].shape[2])
        self.noise_shapes = [tuple(int(d) for d in x.shape[1:]) for x in self.synthesis.inputs[1:]]
        positions = {id(v): i for i, v in enumerate(generator.trainable_variables)}
        self._positions = {
            "mapping": [positions[id(v)] for v in self.mapping.trainable_variables],
            "synthesis": [positions[id(v)] for v in self.synthesis.trainable_variables],
        }
        self.w_mean = self.add_weight(
            shape=(self.style_dim,),
            dtype="float32",
            initializer=keras.initializers.Constant(self._initial_w_mean()),
            trainable=False,
            aggregation="mean",
            name="w_mean",
        )
        self.r1_tracker = keras.metrics.Mean(name="r1_penalty") if self.r1_weight else None

    def _check_sub_models(self) -> None:
        names = [layer.name for layer in self.generator.layers]
        if "mapping" not in names or "synthesis" not in names:
            raise ValueError(
                "A StyleGAN's generator must contain the sub-models 'mapping' and 'synthesis'; "
                "build it with keras_genzoo.models.gan.style_networks.build_style_generator."
            )
        expected = 2 if self.is_conditional else 1
        mapping_inputs = len(self.generator.get_layer("mapping").inputs)
        d_inputs = [tuple(x.shape[1:]) for x in self.discriminator.inputs]
        if mapping_inputs != expected or len(d_inputs) != expected:
            raise ValueError(
                f"A {'conditional' if self.is_conditional else 'unconditional'} StyleGAN needs "
                f"{expected} input(s) to the mapping network and the discriminator; they take "
                f"{mapping_inputs} and {len(d_inputs)}. Set num_classes only for label-conditioned "
                "networks."
            )
        if d_inputs[0] != self.image_shape:
            raise ValueError(
                f"The discriminator takes samples of shape {d_inputs[0]} but the generator "
                f"makes {self.image_shape}."
            )

    def _initial_w_mean(self) -> np.ndarray:
        latent = np.random.default_rng(self.seed).standard_normal((W_MEAN_SAMPLES, self.latent_dim))
        inputs = [latent.astype(np.float32)]
        if self.is_conditional:
            inputs.append((np.arange(W_MEAN_SAMPLES) % self.num_classes).astype(np.int32)[:, None])
        w = self.mapping(inputs if self.is_conditional else inputs[0], training=False)
        return np.mean(np.asarray(ops.convert_to_numpy(ops.cast(w, "float32"))), axis=0)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = super().metrics
        return trackers + [self.r1_tracker] if self.r1_tracker is not None else trackers

    # ------------------------------------------------------------------ training

    def _mapped(self, latent: Any, labels: Any, training: bool) -> Any:
        return self.mapping(latent if labels is None else [latent, labels], training=training)

    def _training_styles(self, batch_size: Any, labels: Any, training: bool) -> tuple[Any, Any]:
        """(ws, w): per-layer styles of a batch, mixed from two latents in training with
        probability `mixing_probability`, and the first latent's w."""
        w = self._mapped(self._normal((batch_size, self.latent_dim)), labels, training)
        ws = ops.repeat(ops.expand_dims(w, 1), self.num_styles, axis=1)
        if not training or not self.mixing_probability:
            return ws, w
        other = self._mapped(self._normal((batch_size, self.latent_dim)), labels, training)
        mixes = tf.random.stateless_uniform((batch_size,), seed=self._next_seed()) < self.mixing_probability
        where = tf.random.stateless_uniform((batch_size,), seed=self._next_seed())
        # a crossover layer in [1, num_styles - 1]; num_styles (no mixing) otherwise
        crossover = 1 + ops.cast(ops.floor(where * (self.num_styles - 1)), "int32")
        crossover = ops.where(mixes, crossover, self.num_styles)
        layer = ops.arange(self.num_styles, dtype="int32")[None, :, None]
        ws = ops.where(layer < crossover[:, None, None], ws, ops.expand_dims(other, 1))
        return ws, w

    def _fake_batch_and_w(self, batch_size: Any, labels: Any, training: bool) -> tuple[Any, Any]:
        ws, w = self._training_styles(batch_size, labels, training)
        noises = [self._normal((batch_size, *shape)) for shape in self.noise_shapes]
        images = self.synthesis([ws, *noises], training=training)
        return ops.cast(images, "float32"), w

    def _fake_batch(self, batch_size: Any, labels: Any, training: bool) -> Any:
        return self._fake_batch_and_w(batch_size, labels, training)[0]

    def _r1_penalty(self, real: Any, labels: Any) -> Any:
        """Mean over the batch of ||grad_x D(x)||^2 at the real images."""
        with tf.GradientTape() as tape:
            tape.watch(real)
            total = ops.sum(self._scores(real, labels, training=True))
        grads = ops.cast(tape.gradient(total, real), "float32")
        return ops.mean(ops.sum(ops.square(grads), axis=tuple(range(1, len(real.shape)))))

    def _lazy_r1(self, real: Any, labels: Any) -> tuple[Any, Any]:
        """(R1 penalty, 1.0) on the steps where it is due, else (0.0, 0.0)."""
        due = ops.equal(ops.mod(self.d_optimizer.iterations, self.r1_interval), 0)
        penalty = tf.cond(due, lambda: self._r1_penalty(real, labels), lambda: tf.constant(0.0))
        return penalty, ops.cast(due, "float32")

    def train_step(self, data: Any) -> dict[str, Any]:
        real, labels = self._unpack(data)
        batch_size = ops.shape(real)[0]

        for _ in range(self.discriminator_steps):
            fake = ops.stop_gradient(self._fake_batch(batch_size, labels, training=True))

            def discriminator_objective(fake=fake):
                loss, real_scores, fake_scores, penalty = self._discriminator_loss(
                    real, fake, labels, training=True
                )
                r1, due = (0.0, 0.0) if not self.r1_weight else self._lazy_r1(real, labels)
                loss = loss + 0.5 * self.r1_weight * self.r1_interval * r1
                return loss, real_scores, fake_scores, penalty, r1, due

            d_loss, real_scores, fake_scores, penalty, r1, due = self.gradient_step(
                discriminator_objective, self.discriminator.trainable_variables, self.d_optimizer
            )

        def generator_objective():
            fake, w = self._fake_batch_and_w(batch_size, labels, training=True)
            scores = self._scores(self._noisy(self._augmented(fake, True)), labels, training=True)
            return ops.mean(self._objective.generator(scores)), w

        g_loss, w = self.gradient_step(
            generator_objective, self.generator.trainable_variables, self.g_optimizer
        )
        self._update_ema()
        batch_mean = ops.mean(ops.cast(ops.stop_gradient(w), "float32"), axis=0)
        self.w_mean.assign(self.w_mean + (1.0 - self.w_mean_decay) * (batch_mean - self.w_mean))
        if self.r1_tracker is not None:
            self.r1_tracker.update_state(r1, sample_weight=due)
        self._track(d_loss, g_loss, real_scores, fake_scores, penalty)
        logs = {m.name: m.result() for m in self.metrics}
        self._adapt_augmentation(real_scores, fake_scores, logs)
        return logs

    def test_step(self, data: Any) -> dict[str, Any]:
        """The `GAN`'s evaluation, without R1: a training regulariser, not computed here."""
        logs = super().test_step(data)
        logs.pop("r1_penalty", None)
        return logs

    # ------------------------------------------------------------------ sampling

    def _use_ema(self, use_ema: bool | None) -> bool:
        if use_ema is None:
            return bool(self._ema_weights)
        if use_ema and not self._ema_weights:
            raise ValueError(
                "This model keeps no moving average of the generator weights; build it with "
                "ema_decay=... or sample with use_ema=False."
            )
        return bool(use_ema)

    def _run(self, part: str, inputs: Any, use_ema: bool) -> np.ndarray:
        """The mapping or the synthesis network on `inputs`, with the averaged weights
        when `use_ema`; float32 NumPy output."""
        network = getattr(self, part)
        if use_ema:
            trainable = [self._ema_weights[i].value for i in self._positions[part]]
            state = [v.value for v in network.non_trainable_variables]
            out, _ = network.stateless_call(trainable, state, inputs, training=False)
        else:
            out = network(inputs, training=False)
        return np.asarray(ops.convert_to_numpy(ops.cast(out, "float32")))

    def truncate(self, w: Any, truncation: float = 1.0) -> np.ndarray:
        """w pulled towards the tracked mean: mean + truncation * (w - mean)."""
        psi = _check_real(truncation, "truncation")
        mean = np.asarray(ops.convert_to_numpy(self.w_mean))
        return (mean + psi * (np.asarray(w, np.float32) - mean)).astype(np.float32)

    def map_latent(
        self,
        latent: Any,
        *,
        labels: Any = None,
        truncation: float = 1.0,
        use_ema: bool | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """w (n, style_dim) of latent vectors z (n, latent_dim), truncated towards the
        tracked mean by `truncation` (1 leaves w as it is, 0 gives the mean)."""
        latent = np.asarray(latent, np.float32)
        if latent.ndim != 2 or latent.shape[1] != self.latent_dim:
            raise ValueError(f"latent must have shape (n, {self.latent_dim}), got {latent.shape}.")
        labels = model_labels(self, labels, len(latent), cycle=True)
        use_ema = self._use_ema(use_ema)
        batch_size = check_positive_int(batch_size, "batch_size")
        parts = [np.zeros((0, self.style_dim), np.float32)]
        for start in range(0, len(latent), batch_size):
            rows = slice(start, start + batch_size)
            inputs = latent[rows] if labels is None else [latent[rows], labels[rows, None]]
            parts.append(self._run("mapping", inputs, use_ema))
        return self.truncate(np.concatenate(parts), truncation)

    def _noise(self, rows: int, mode: str, row_seeds: np.ndarray | None) -> list[np.ndarray]:
        if mode == "none":
            return [np.zeros((rows, *shape), np.float32) for shape in self.noise_shapes]
        if mode == "fixed":
            rng = np.random.default_rng(FIXED_NOISE_SEED)
            fixed = [rng.standard_normal(shape).astype(np.float32) for shape in self.noise_shapes]
            return [np.repeat(x[None], rows, axis=0) for x in fixed]
        generators = [np.random.default_rng(int(s)) for s in row_seeds]
        return [
            np.stack([g.standard_normal(shape) for g in generators]).astype(np.float32)
            for shape in self.noise_shapes
        ]

    def synthesize(
        self,
        styles: Any,
        *,
        noise: str = "random",
        seed: int | None = None,
        use_ema: bool | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """Images of styles: one w per image (n, style_dim) or one per layer
        (n, num_styles, style_dim). `noise` is one of `NOISE_MODES`; "random" draws each
        image's noise from `seed` and its place (seed policy of `core.randomness`)."""
        ws = np.asarray(styles, np.float32)
        if ws.ndim == 2:
            ws = np.repeat(ws[:, None], self.num_styles, axis=1)
        if ws.ndim != 3 or ws.shape[1:] != (self.num_styles, self.style_dim):
            raise ValueError(
                f"styles must have shape (n, {self.style_dim}) or (n, {self.num_styles}, "
                f"{self.style_dim}), got {np.shape(styles)}."
            )
        check_choice(noise, NOISE_MODES, "noise")
        use_ema = self._use_ema(use_ema)
        batch_size = check_positive_int(batch_size, "batch_size")
        row_seeds = None
        if noise == "random":
            stream = np.random.default_rng([resolve_seed(seed), NOISE_STREAM])
            row_seeds = stream.integers(0, SEED_LIMIT, len(ws))
        chunks = [np.zeros((0, *self.image_shape), np.float32)]
        for start in range(0, len(ws), batch_size):
            rows = slice(start, start + batch_size)
            count = len(ws[rows])
            noises = self._noise(count, noise, None if row_seeds is None else row_seeds[rows])
            chunks.append(self._run("synthesis", [ws[rows], *noises], use_ema))
        low, high = self.value_range
        return np.clip(np.concatenate(chunks), low, high)

    def generate_from_latent(
        self,
        latent: np.ndarray,
        *,
        labels: Any = None,
        use_ema: bool | None = None,
        batch_size: int = 256,
        truncation: float = 1.0,
        noise: str = "fixed",
        seed: int | None = None,
    ) -> np.ndarray:
        """Images of latent vectors z (n, latent_dim): `map_latent`, then `synthesize`."""
        w = self.map_latent(latent, labels=labels, truncation=truncation, use_ema=use_ema,
                            batch_size=batch_size)
        return self.synthesize(w, noise=noise, seed=seed, use_ema=use_ema, batch_size=batch_size)

    def _generate(
        self,
        n: int,
        labels: Any,
        seed: int,
        batch_size: int,
        *,
        truncation: float = 1.0,
        noise: str = "random",
        use_ema: bool | None = None,
    ) -> np.ndarray:
        return self.generate_from_latent(
            self.sample_latent(n, seed), labels=labels, use_ema=use_ema, batch_size=batch_size,
            truncation=truncation, noise=noise, seed=seed,
        )

    def mix_styles(
        self,
        seed_a: int | Sequence[int],
        seed_b: int | Sequence[int],
        *,
        crossover: int,
        labels: tuple[Any, Any] | None = None,
        truncation: float = 1.0,
        noise: str = "fixed",
        use_ema: bool | None = None,
    ) -> np.ndarray:
        """Style mixing: image [i, j] (len(a), len(b), H, W, C) takes the styles of layers
        below `crossover` (the coarse ones) from the latent of `seed_a[i]` and the rest
        from that of `seed_b[j]`. Seeds are integers (one, or a list); each gives the
        latent `generate(1, seed=s)` draws. `crossover` is in [0, num_styles]: 0 takes
        everything from B, num_styles everything from A. A conditional model takes
        `labels=(labels_a, labels_b)` (default: classes cycled along each list).
        `noise="random"` draws fresh noise on each call."""
        seeds = []
        for given, what in ((seed_a, "seed_a"), (seed_b, "seed_b")):
            values = [given] if is_int(given) else list(given)
            if not values or not all(is_int(s) for s in values):
                raise ValueError(
                    f"{what} must be an integer seed or a non-empty list of them, got {given!r}."
                )
            seeds.append(values)
        if not is_int(crossover) or not 0 <= crossover <= self.num_styles:
            raise ValueError(f"crossover must be an integer in [0, {self.num_styles}], got {crossover!r}.")
        if labels is not None and (not isinstance(labels, (tuple, list)) or len(labels) != 2):
            raise ValueError("labels must be a pair (labels_a, labels_b), one entry per seed list.")
        ends = []
        for side, values in enumerate(seeds):
            latent = np.concatenate([self.sample_latent(1, s) for s in values])
            given = None if labels is None else labels[side]
            ends.append(self.map_latent(latent, labels=given, truncation=truncation, use_ema=use_ema))
        w_a, w_b = ends
        layer = np.arange(self.num_styles)[None, None, :, None]
        ws = np.where(layer < crossover, w_a[:, None, None], w_b[None, :, None])
        images = self.synthesize(ws.reshape(-1, self.num_styles, self.style_dim), noise=noise,
                                 use_ema=use_ema)
        return images.reshape(len(w_a), len(w_b), *self.image_shape)

    def style_walk(
        self,
        steps: int = 8,
        *,
        seed: int | None = None,
        labels: Any = None,
        truncation: float = 1.0,
        noise: str = "fixed",
        use_ema: bool | None = None,
    ) -> np.ndarray:
        """Images along the straight line in W between the w of two latents drawn from
        `seed`; a conditional model takes the class to draw (`labels=k`)."""
        steps = check_count(steps, "steps")
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (the two end points), got {steps}.")
        if self.is_conditional and labels is None:
            raise ValueError(f"{self.name} is conditional: pass the class to draw as labels=k.")
        w = self.map_latent(self.sample_latent(2, seed), labels=labels, truncation=truncation,
                            use_ema=use_ema)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.synthesize((1 - t) * w[0] + t * w[1], noise=noise, seed=seed, use_ema=use_ema)

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(r1_weight=self.r1_weight, r1_interval=self.r1_interval,
                      mixing_probability=self.mixing_probability, w_mean_decay=self.w_mean_decay)
        return config


__all__ = ["NOISE_MODES", "StyleGAN"]
