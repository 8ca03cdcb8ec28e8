"""`GAN`: a generator and a discriminator trained against each other by one `fit` call."""

from __future__ import annotations

import hashlib
import random
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_genzoo.core.capabilities import Generator, batch_slices
from keras_genzoo.core.checks import check_choice, check_class_labels, check_count
from keras_genzoo.core.conditioning import (
    cycled_labels,
    first_batch,
    model_labels,
    split_batch,
)
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.optimizers import optimizer_from_spec
from keras_genzoo.core.precision import LossScaleOptimizer
from keras_genzoo.core.randomness import evaluation_seed, fold_in_replica, numpy_rng
from keras_genzoo.models.gan.augment import (
    AUTO,
    AdaptiveProbability,
    auto_policy,
    check_policy,
    diff_augment,
)
from keras_genzoo.models.gan.losses import PROBABILISTIC, SMOOTHABLE, get_loss

INTERPOLATIONS = ("slerp", "linear")
# Batch-norm statistics for the moving-average generator are re-estimated on this many
# latent draws (in batches of EMA_STATISTICS_BATCH), from a fixed seed.
EMA_STATISTICS_SAMPLES = 2048
EMA_STATISTICS_BATCH = 256

def _network_losses(network: keras.Model) -> Any:
    """Sum (float32) of a network's own losses (weight regularisers, `add_loss`) from its
    last call; 0 when it has none."""
    losses = network.losses
    if not losses:
        return 0.0
    return ops.sum(ops.stack([ops.cast(loss, "float32") for loss in losses]))


def _batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(_batch_norm_layers(layer))
    return found


def latent_interpolation(
    start: np.ndarray, end: np.ndarray, steps: int, method: str = "slerp"
) -> np.ndarray:
    """`steps` latent vectors from `start` to `end` (both included).

    `slerp` follows the great circle between the two points, which keeps the norm of
    Gaussian latents typical; `linear` walks the straight line (whose midpoints have a
    smaller norm than the generator saw in training).
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    if start.shape != end.shape or start.ndim != 1:
        raise ValueError(
            f"start and end must be latent vectors of the same length, got shapes "
            f"{start.shape} and {end.shape}."
        )
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2 (the two end points), got {steps}.")
    check_choice(method, INTERPOLATIONS, "method")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    if method == "linear":
        return ((1 - t) * start + t * end).astype(np.float32)
    cos_angle = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end) + 1e-12)
    angle = np.arccos(np.clip(cos_angle, -1.0, 1.0))
    if angle < 1e-6:  # (anti-)parallel end points: the great circle is not defined
        return ((1 - t) * start + t * end).astype(np.float32)
    path = (np.sin((1 - t) * angle) * start + np.sin(t * angle) * end) / np.sin(angle)
    return path.astype(np.float32)


def _count_examples(x: Any, y: Any) -> int | None:
    """The number of training examples in `fit`'s data, when it can be told cheaply."""
    if isinstance(x, tf.data.Dataset):
        batches = int(x.cardinality())
        images, _ = first_batch(x, y)
        return None if batches < 0 or images is None else batches * len(images)
    images, _ = split_batch(x)
    return len(images) if hasattr(images, "__len__") else None


def _input_shapes(model: keras.Model) -> list[tuple]:
    return [tuple(x.shape[1:]) for x in model.inputs]


@keras.saving.register_keras_serializable(package="keras_genzoo")
class GAN(Generator, ZooModel):
    """A generator and a discriminator trained adversarially by `fit`.

    Each training step first updates the discriminator (`discriminator_steps` times) on a
    real batch and a generated batch, leaving the generator untouched, then updates the
    generator through the discriminator, whose weights are left untouched. Compile with
    two optimizers: `compile(d_optimizer=..., g_optimizer=...)`.

    Sub-models are functional Keras models:

    * unconditional: `generator(noise) -> samples`, `discriminator(samples) -> scores`;
    * conditional (`num_classes` set): `generator([noise, labels])` and
      `discriminator([samples, labels])`, labels as integer class ids of shape (batch, 1).

    Samples are images of shape (height, width, channels). Non-image data is expressed
    the same way: a D-dimensional vector is a (1, 1, D) sample, e.g. 2-D points are
    (1, 1, 2) arrays (reshape `points` with `points.reshape(-1, 1, 1, 2)`).

    `loss` is one of `non_saturating` (default), `minimax`, `least_squares`, `hinge`
    or `wasserstein` (which adds a gradient penalty of weight `gradient_penalty_weight`,
    10 by default, on per-sample interpolates of real and generated data). Stabilisers:
    `label_smoothing` lowers the real target of the discriminator (one-sided),
    `instance_noise` adds Gaussian noise of that standard deviation to everything the
    discriminator sees, and `ema_decay` keeps an exponential moving average of the
    generator weights, used by `generate` and saved with the model. The generator's
    batch-norm moving statistics follow the live weights, not their average, so
    `generate` re-estimates them for the averaged weights (population statistics over
    2,048 latent draws with a fixed seed, recomputed whenever the average changed) and
    leaves the model's own statistics untouched.

    Each network's own losses (weight regularisers, `add_loss` in a user's layers) are
    added to its objective: the discriminator's, averaged over its calls on the real and
    the generated batch, to `d_loss`; the generator's to `g_loss`.

    `augment` applies differentiable augmentation (`keras_genzoo.models.gan.augment`)
    to everything the discriminator sees in training, real and generated: None (default
    here) for none, operations such as "translation,cutout" (DiffAugment: every image,
    every operation), "adaptive" or "adaptive:translation" (ADA: each operation with a
    probability p that follows the discriminator's overfitting, reported as
    `augment_p` and saved with the model), or "auto", which decides at the first `fit`
    from the number of training images (the run layer passes the exact number; `fit`
    counts an array's rows or a dataset's batches times the first batch's size, and an
    unknown count means no augmentation).

    `fit` reports `d_loss`, `g_loss`, `d_real` and `d_fake` (the mean discriminator
    output on real and on generated batches: a probability for the cross-entropy losses,
    the raw score for the others), plus `gradient_penalty` when one is used. With
    `discriminator_steps` > 1 each extra critic step reuses the real batch with freshly
    generated samples. `image_shape` is inferred from the generator's output.
    `evaluate` runs both networks in inference mode and draws its noise from a stream of
    its own (a function of the training noise state and the batch's place in the
    evaluation), so it changes no state: the same weights give the same scores, and
    `fit` with `validation_data` trains exactly as without it.

    Calling the model scores data with the discriminator (raw outputs: logits for the
    cross-entropy losses); sample with `generate`.
    """

    submodels = ("generator", "discriminator")
    #: An adversarial game needs many steps before samples look like data.
    min_training_steps = 1000

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        num_classes: int | None = None,
        loss: str = "non_saturating",
        discriminator_steps: int = 1,
        gradient_penalty_weight: float | None = None,
        label_smoothing: float = 0.0,
        instance_noise: float = 0.0,
        ema_decay: float | None = None,
        augment: str | Sequence[str] | None = None,
        image_shape: Sequence[int] | None = None,
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        for role, sub in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(sub, keras.Model) or not getattr(sub, "inputs", None):
                raise TypeError(
                    f"{role} must be a functional keras.Model (built from keras.Input), "
                    f"got {type(sub).__name__}."
                )
        sample_shape = tuple(int(d) for d in generator.outputs[0].shape[1:])
        if image_shape is not None and tuple(int(d) for d in image_shape) != sample_shape:
            raise ValueError(
                f"image_shape {tuple(image_shape)} does not match the generator's output "
                f"shape {sample_shape}."
            )
        if len(sample_shape) != 3:
            raise ValueError(
                f"The generator must output samples of shape (height, width, channels), got "
                f"{sample_shape}. Express a D-dimensional vector as a (1, 1, D) sample, e.g. "
                "end the generator with keras.layers.Reshape((1, 1, D))."
            )
        super().__init__(image_shape=sample_shape, value_range=value_range, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.num_classes = None if num_classes is None else int(num_classes)
        self.is_conditional = self.num_classes is not None
        self._check_sub_models()
        self.latent_dim = int(generator.inputs[0].shape[-1])

        self.loss_name = loss
        self._objective = get_loss(loss)
        self.discriminator_steps = int(discriminator_steps)
        if self.discriminator_steps < 1:
            raise ValueError(f"discriminator_steps must be >= 1, got {discriminator_steps}.")
        if gradient_penalty_weight is None:
            gradient_penalty_weight = 10.0 if loss == "wasserstein" else 0.0
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        if self.gradient_penalty_weight < 0:
            raise ValueError(f"gradient_penalty_weight must be >= 0, got {gradient_penalty_weight}.")
        self.label_smoothing = float(label_smoothing)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        if self.label_smoothing and loss not in SMOOTHABLE:
            raise ValueError(
                f"label_smoothing applies to the {', '.join(SMOOTHABLE)} losses, whose real "
                f"target is a label; the {loss!r} loss has none. Drop label_smoothing."
            )
        self.instance_noise = float(instance_noise)
        if self.instance_noise < 0:
            raise ValueError(f"instance_noise is a standard deviation >= 0, got {instance_noise}.")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay}.")
        self.augment = check_policy(augment)
        self.augment_probability = None
        self._track_adaptive_policy()
        self.seed = int(seed) if seed is not None else random.randint(1, 2**31 - 1)

        # Noise state lives in a variable (not a SeedGenerator) so `.keras` files keep it
        # and a reloaded model continues with the same noise stream.
        self._noise_state = self.add_weight(
            shape=(2,),
            dtype="int64",
            initializer=keras.initializers.Constant([self.seed, 0]),
            trainable=False,
            aggregation="only_first_replica",
            name="noise_state",
        )
        averages = []
        if self.ema_decay is not None:
            for i, variable in enumerate(generator.trainable_variables):
                average = self.add_weight(
                    shape=variable.shape,
                    dtype=variable.dtype,
                    initializer="zeros",
                    trainable=False,
                    aggregation="only_first_replica",
                    name=f"generator_ema_{i}",
                )
                average.assign(variable)
                averages.append(average)
        self._ema_weights = averages
        self._ema_statistics = None  # (fingerprint of the average, statistics) once computed
        self._evaluation_seeds = None  # set while a test step is traced

        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.penalty_tracker = (
            keras.metrics.Mean(name="gradient_penalty") if self.gradient_penalty_weight else None
        )
        self.d_optimizer = None
        self.g_optimizer = None
        # The sub-models are built functional models, so the GAN needs no build step.
        self.built = True

    # ------------------------------------------------------------------ validation

    def _check_sub_models(self) -> None:
        g_inputs, d_inputs = _input_shapes(self.generator), _input_shapes(self.discriminator)
        expected = 2 if self.is_conditional else 1
        how = (
            "generator([noise, labels]) and discriminator([samples, labels])"
            if self.is_conditional
            else "generator(noise) and discriminator(samples)"
        )
        if len(g_inputs) != expected or len(d_inputs) != expected:
            raise ValueError(
                f"A {'conditional' if self.is_conditional else 'unconditional'} GAN needs "
                f"{how}; the generator takes {len(g_inputs)} input(s) and the discriminator "
                f"{len(d_inputs)}. Set num_classes only for label-conditioned sub-models."
            )
        if len(g_inputs[0]) != 1:
            raise ValueError(
                f"The generator's first input must be a noise vector (latent_dim,), got {g_inputs[0]}."
            )
        if d_inputs[0] != self.image_shape:
            raise ValueError(
                f"The discriminator takes samples of shape {d_inputs[0]} but the generator "
                f"makes {self.image_shape}."
            )

    def _track_adaptive_policy(self) -> None:
        """Give an adaptive policy its probability p. Only adaptive policies have one, so
        the weights of every other GAN (the shipped presets') keep their layout."""
        if self.augment == AUTO or not self.augment.adaptive or self.augment_probability is not None:
            return
        self.augment_probability = AdaptiveProbability(name="augment_probability")

    def adapt_to_training_set(self, num_examples: int | None) -> None:
        """Settle `augment="auto"` for a training set of `num_examples` images (see
        `keras_genzoo.models.gan.augment.auto_policy`); a settled policy stays."""
        if self.augment == AUTO:
            self.augment = auto_policy(num_examples, self.image_shape)
            self._track_adaptive_policy()

    def settled_arguments(self) -> dict[str, Any]:
        """`augment` when it is adaptive: the policy adds the variable p to the weights."""
        if self.augment_probability is None:
            return {}
        return {"augment": self.augment.spec()}

    def check_training_data(self, x: Any, y: Any = None) -> None:
        super().check_training_data(x, y)
        if self.augment == AUTO:
            self.adapt_to_training_set(_count_examples(x, y))
        if not self.is_conditional:
            return
        _, labels = first_batch(x, y)
        if labels is None:
            if isinstance(x, tf.data.Dataset) or isinstance(x, np.ndarray):
                raise ValueError(
                    f"{self.name} is a conditional GAN and trains on (images, labels) "
                    "batches; got images only. Use load_dataset(..., labels=True) or "
                    "fit(images, labels)."
                )
            return
        check_class_labels(labels, self.num_classes, "training labels")

    # ------------------------------------------------------------------ compile

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
        g_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
        *,
        jit_compile: bool | str = "auto",
        run_eagerly: bool = False,
        steps_per_execution: int | None = None,
        auto_scale_loss: bool = True,
    ) -> None:
        """Set the discriminator's and the generator's optimizers (Adam(2e-4, 0.5) if None).

        `steps_per_execution` defaults to `default_steps_per_execution()` and
        `jit_compile` to Keras' "auto", as for every zoo model.

        Both are built here, under the model's distribution strategy, and wrapped in a
        `LossScaleOptimizer` when the model runs under the `mixed_float16` policy.
        """
        d_opt = self._optimizer(d_optimizer, "d_optimizer")
        g_opt = self._optimizer(g_optimizer, "g_optimizer")
        if d_opt is g_opt:
            raise ValueError(
                "d_optimizer and g_optimizer must be two separate optimizer instances; "
                "one optimizer cannot keep state for both networks."
            )
        if steps_per_execution is None:
            steps_per_execution = self.default_steps_per_execution()
        super().compile(
            optimizer=None,
            run_eagerly=run_eagerly,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=auto_scale_loss,
        )
        self._gan_compile_config = {
            "d_optimizer": d_opt,
            "g_optimizer": g_opt,
            "jit_compile": bool(self.jit_compile),
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "auto_scale_loss": auto_scale_loss,
        }
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16":
            d_opt = LossScaleOptimizer(d_opt, name="d_loss_scale_optimizer")
            g_opt = LossScaleOptimizer(g_opt, name="g_loss_scale_optimizer")
        with self.distribute_strategy.scope():
            d_opt.build(self.discriminator.trainable_variables)
            g_opt.build(self.generator.trainable_variables)
        self.d_optimizer, self.g_optimizer = d_opt, g_opt

    def _optimizer(self, spec: Any, role: str) -> keras.optimizers.Optimizer:
        if spec is None:
            return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5, name=role)
        optimizer = keras.optimizers.get(spec)
        if optimizer is None:
            raise ValueError(f"Could not interpret {role}={spec!r} as an optimizer.")
        return optimizer

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """The discriminator's and the generator's optimizers, once compiled."""
        found = [getattr(self, role, None) for role in ("d_optimizer", "g_optimizer")]
        return [opt for opt in found if isinstance(opt, keras.optimizers.Optimizer)]

    def recompile_with_optimizer(
        self, spec: dict[str, Any], learning_rate: float | None = None
    ) -> None:
        """Compile again with two fresh optimizers made from `spec`, one per network."""
        settings = dict(self._gan_compile_config)
        for role in ("d_optimizer", "g_optimizer"):
            settings[role] = optimizer_from_spec(spec, learning_rate, name=role)
        self.compile(**settings)

    def get_compile_config(self) -> dict[str, Any]:
        if not self.compiled or not hasattr(self, "_gan_compile_config"):
            return {}
        return {k: keras.saving.serialize_keras_object(v) for k, v in self._gan_compile_config.items()}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        config = {k: keras.saving.deserialize_keras_object(v) for k, v in config.items()}
        self.compile(**config)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]
        if self.penalty_tracker is not None:
            trackers.append(self.penalty_tracker)
        return trackers

    # ------------------------------------------------------------------ training

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Discriminator scores of `inputs` (samples, or `(samples, labels)` if conditional)."""
        samples, labels = split_batch(inputs)
        if self.is_conditional and labels is None:
            raise ValueError(
                f"{self.name} is conditional: call it on (samples, labels), not on samples alone."
            )
        return self._discriminator_output(samples, labels, training)

    def _discriminator_output(self, samples: Any, labels: Any, training: bool) -> Any:
        inputs = samples if labels is None else [samples, labels]
        return self.discriminator(inputs, training=training)

    def _scores(self, samples: Any, labels: Any, training: bool) -> Any:
        """One float32 score per sample (outputs with more elements are averaged)."""
        out = ops.cast(self._discriminator_output(samples, labels, training), "float32")
        return ops.mean(ops.reshape(out, (ops.shape(out)[0], -1)), axis=1)

    def _next_seed(self) -> Any:
        """A fresh stateless seed, different on every replica of a distributed step.

        Training advances the noise state; a test step draws from its own stream.
        """
        if self._evaluation_seeds is not None:
            base, draws = self._evaluation_seeds
            self._evaluation_seeds = (base, draws + 1)
            seed = tf.random.experimental.stateless_fold_in(base, draws)
        else:
            seed = ops.convert_to_tensor(self._noise_state)
            self._noise_state.assign(seed + ops.convert_to_tensor([0, 1], dtype="int64"))
        return fold_in_replica(seed)

    def _normal(self, shape: Any) -> Any:
        return tf.random.stateless_normal(shape, seed=self._next_seed())

    def _noisy(self, samples: Any) -> Any:
        if not self.instance_noise:
            return samples
        return samples + self.instance_noise * self._normal(ops.shape(samples))

    def _augmented(self, samples: Any, training: bool) -> Any:
        """`samples` under the augmentation policy, in training only."""
        if not training or self.augment == AUTO or not self.augment:
            return samples
        probability = None
        if self.augment_probability is not None:
            probability = self.augment_probability.probability.value
        return diff_augment(
            samples, self.augment.operations, self._next_seed(), self.value_range, probability
        )

    def _adapt_augmentation(self, real_scores: Any, fake_scores: Any, logs: dict[str, Any]) -> None:
        """Move an adaptive policy's p after a training step (from the discriminator's
        scores on the real batch, against the decision threshold of the loss: the mean
        fake score for the Wasserstein critic) and report it as `augment_p`."""
        if self.augment_probability is None:
            return
        threshold = 0.0
        if self.loss_name == "least_squares":
            threshold = 0.5 * (1.0 - self.label_smoothing)
        elif self.loss_name == "wasserstein":
            threshold = ops.mean(fake_scores)
        logs["augment_p"] = self.augment_probability.update(
            ops.stop_gradient(real_scores), ops.stop_gradient(threshold)
        )

    def _fake_batch(self, batch_size: Any, labels: Any, training: bool) -> Any:
        noise = self._normal((batch_size, self.latent_dim))
        inputs = noise if labels is None else [noise, labels]
        return ops.cast(self.generator(inputs, training=training), "float32")

    def _unpack(self, data: Any) -> tuple[Any, Any]:
        samples, labels = split_batch(data)
        samples = ops.cast(samples, "float32")
        if not self.is_conditional:
            return samples, None
        if labels is None:
            raise ValueError(
                f"{self.name} is a conditional GAN and trains on (images, labels) batches."
            )
        return samples, ops.reshape(ops.cast(labels, "int32"), (-1, 1))

    def _gradient_penalty(self, real: Any, fake: Any, labels: Any, training: bool) -> Any:
        """Mean of (||grad_x D(x)|| - 1)^2 at per-sample random interpolates of real and fake."""
        weight_shape = (ops.shape(real)[0],) + (1,) * (len(real.shape) - 1)
        mix = tf.random.stateless_uniform(weight_shape, seed=self._next_seed())
        interpolates = mix * real + (1.0 - mix) * fake
        with tf.GradientTape() as tape:
            tape.watch(interpolates)
            total = ops.sum(self._scores(interpolates, labels, training))
        grads = tape.gradient(total, interpolates)
        axes = tuple(range(1, len(real.shape)))
        norms = ops.sqrt(ops.sum(ops.square(ops.cast(grads, "float32")), axis=axes) + 1e-12)
        return ops.mean(ops.square(norms - 1.0))

    def _discriminator_loss(self, real: Any, fake: Any, labels: Any, training: bool):
        real_in = self._noisy(self._augmented(real, training))
        fake_in = self._noisy(self._augmented(fake, training))
        real_scores = self._scores(real_in, labels, training)
        real_losses = _network_losses(self.discriminator)
        fake_scores = self._scores(fake_in, labels, training)
        own_losses = 0.5 * (real_losses + _network_losses(self.discriminator))
        target = 1.0 - self.label_smoothing
        loss = ops.mean(self._objective.discriminator(real_scores, fake_scores, target))
        loss = loss + own_losses
        penalty = None
        if self.gradient_penalty_weight:
            penalty = self._gradient_penalty(real_in, fake_in, labels, training)
            loss = loss + self.gradient_penalty_weight * penalty
        return loss, real_scores, fake_scores, penalty

    def _reported(self, scores: Any) -> Any:
        if self.loss_name in PROBABILISTIC:
            scores = ops.sigmoid(scores)
        return ops.mean(scores)

    def train_step(self, data: Any) -> dict[str, Any]:
        real, labels = self._unpack(data)
        batch_size = ops.shape(real)[0]

        for _ in range(self.discriminator_steps):
            fake = ops.stop_gradient(self._fake_batch(batch_size, labels, training=True))
            d_loss, real_scores, fake_scores, penalty = self.gradient_step(
                lambda fake=fake: self._discriminator_loss(real, fake, labels, training=True),
                self.discriminator.trainable_variables,
                self.d_optimizer,
            )

        def generator_objective():
            fake = self._fake_batch(batch_size, labels, training=True)
            g_own_losses = _network_losses(self.generator)
            g_scores = self._scores(self._noisy(self._augmented(fake, True)), labels, training=True)
            return ops.mean(self._objective.generator(g_scores)) + g_own_losses

        g_loss = self.gradient_step(
            generator_objective, self.generator.trainable_variables, self.g_optimizer
        )
        self._update_ema()

        self._track(d_loss, g_loss, real_scores, fake_scores, penalty)
        logs = {m.name: m.result() for m in self.metrics}
        self._adapt_augmentation(real_scores, fake_scores, logs)
        return logs

    def test_step(self, data: Any) -> dict[str, Any]:
        real, labels = self._unpack(data)
        batch_size = ops.shape(real)[0]
        # The batch's place in this evaluation (trackers restart at every evaluate).
        batch_index = ops.cast(self.d_loss_tracker.count, "int64")
        self._evaluation_seeds = (
            evaluation_seed(ops.convert_to_tensor(self._noise_state), batch_index), 0
        )
        try:
            fake = self._fake_batch(batch_size, labels, training=False)
            g_own_losses = _network_losses(self.generator)
            d_loss, real_scores, fake_scores, penalty = self._discriminator_loss(
                real, fake, labels, training=False
            )
            g_scores = self._scores(self._noisy(fake), labels, False)
        finally:
            self._evaluation_seeds = None
        g_loss = ops.mean(self._objective.generator(g_scores)) + g_own_losses
        self._track(d_loss, g_loss, real_scores, fake_scores, penalty)
        return {m.name: m.result() for m in self.metrics}

    def _track(self, d_loss, g_loss, real_scores, fake_scores, penalty) -> None:
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(self._reported(real_scores))
        self.d_fake_tracker.update_state(self._reported(fake_scores))
        if penalty is not None:
            self.penalty_tracker.update_state(penalty)

    def _update_ema(self) -> None:
        if not self._ema_weights:
            return
        # Warm-up: early on the average follows the weights closely, then settles at ema_decay.
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, variable in zip(self._ema_weights, self.generator.trainable_variables):
            average.assign(decay * average + (1.0 - decay) * ops.cast(variable, average.dtype))

    # ------------------------------------------------------------------ sampling

    def sample_latent(self, n: int, seed: int | None = None) -> np.ndarray:
        """`n` standard-normal latent vectors; the same seed gives the same vectors.

        `seed` follows the seed policy of `keras_genzoo.core.randomness`.
        """
        n = check_count(n, "n")
        return numpy_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    def _generate(
        self, n: int, labels: Any, seed: int, batch_size: int, *, use_ema: bool | None = None
    ) -> np.ndarray:
        """Samples of `n` latent draws; `use_ema` (default: whenever the model keeps one)
        samples with the moving average of the generator weights."""
        return self.generate_from_latent(
            self.sample_latent(n, seed), labels=labels, use_ema=use_ema, batch_size=batch_size
        )

    def generate_from_latent(
        self,
        latent: np.ndarray,
        *,
        labels: Any = None,
        use_ema: bool | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """Samples for given latent vectors (n, latent_dim) and, if conditional, labels
        (as `generate` takes them)."""
        latent = np.asarray(latent, np.float32)
        if latent.ndim != 2 or latent.shape[1] != self.latent_dim:
            raise ValueError(
                f"latent must have shape (n, {self.latent_dim}), got {latent.shape}."
            )
        labels = model_labels(self, labels, len(latent), cycle=True)
        if use_ema is None:
            use_ema = bool(self._ema_weights)
        if use_ema and not self._ema_weights:
            raise ValueError(
                "This model keeps no moving average of the generator weights; build it with "
                "ema_decay=... or sample with use_ema=False."
            )
        if use_ema:
            ema_weights = [w.value for w in self._ema_weights]
            ema_state = self.ema_generator_state()
        chunks = []
        for start in range(0, len(latent), batch_size):
            noise = latent[start : start + batch_size]
            inputs = noise if labels is None else [noise, labels[start : start + batch_size, None]]
            if use_ema:
                out, _ = self.generator.stateless_call(ema_weights, ema_state, inputs, training=False)
            else:
                out = self.generator(inputs, training=False)
            chunks.append(np.asarray(ops.convert_to_numpy(ops.cast(out, "float32"))))
        if not chunks:
            return np.zeros((0, *self.image_shape), np.float32)
        low, high = self.value_range
        return np.clip(np.concatenate(chunks), low, high)

    def ema_generator_state(self) -> list[Any]:
        """Values for `generator.non_trainable_variables` that go with the EMA weights.

        Batch-norm moving statistics are replaced by population statistics of the
        averaged generator: the mean of its batch statistics (training mode) over
        `EMA_STATISTICS_SAMPLES` latent draws from a fixed seed, with classes cycled for
        a conditional model. Other state is taken as it is. Cached until the average
        changes.
        """
        variables = self.generator.non_trainable_variables
        current = [v.value for v in variables]
        layers = [layer for layer in _batch_norm_layers(self.generator) if layer.trainable]
        if not self._ema_weights or not layers:
            return current
        arrays = [ops.convert_to_numpy(w.value) for w in self._ema_weights]
        fingerprint = hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()
        if self._ema_statistics is not None and self._ema_statistics[0] == fingerprint:
            return list(self._ema_statistics[1])
        statistic_ids = {id(v) for layer in layers for v in (layer.moving_mean, layer.moving_variance)}
        positions = [i for i, v in enumerate(variables) if id(v) in statistic_ids]
        ema_weights = [w.value for w in self._ema_weights]
        rng = np.random.default_rng(0)
        totals = [np.zeros(current[i].shape, np.float64) for i in positions]
        batches = EMA_STATISTICS_SAMPLES // EMA_STATISTICS_BATCH
        momenta = [layer.momentum for layer in layers]
        try:
            for layer in layers:  # the "moving" statistics become this batch's statistics
                layer.momentum = 0.0
            classes = None
            if self.is_conditional:
                classes = cycled_labels(EMA_STATISTICS_SAMPLES, self.num_classes)[:, None]
            for rows in batch_slices(batches * EMA_STATISTICS_BATCH, EMA_STATISTICS_BATCH):
                noise = rng.standard_normal((EMA_STATISTICS_BATCH, self.latent_dim)).astype(np.float32)
                inputs = noise if classes is None else [noise, classes[rows]]
                _, updated = self.generator.stateless_call(ema_weights, current, inputs, training=True)
                for total, i in zip(totals, positions):
                    total += ops.convert_to_numpy(updated[i])
        finally:
            for layer, momentum in zip(layers, momenta):
                layer.momentum = momentum
        state = list(current)
        for total, i in zip(totals, positions):
            state[i] = ops.convert_to_tensor((total / batches).astype(np.float32), dtype=variables[i].dtype)
        self._ema_statistics = (fingerprint, tuple(state))
        return state

    def latent_walk(
        self,
        steps: int = 8,
        *,
        seed: int | None = None,
        labels: Any = None,
        method: str = "slerp",
        use_ema: bool | None = None,
    ) -> np.ndarray:
        """Samples along a latent path (`latent_interpolation`) between two random points
        drawn from `seed` (seed policy of `keras_genzoo.core.randomness`).

        Conditional models take the class to draw: one class id kept along the walk,
        or one per step.
        """
        if self.is_conditional and labels is None:
            raise ValueError(f"{self.name} is conditional: pass the class to draw as labels=k.")
        start, end = self.sample_latent(2, seed)
        path = latent_interpolation(start, end, steps, method)
        return self.generate_from_latent(path, labels=labels, use_ema=use_ema)

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            loss=self.loss_name,
            discriminator_steps=self.discriminator_steps,
            gradient_penalty_weight=self.gradient_penalty_weight,
            label_smoothing=self.label_smoothing,
            instance_noise=self.instance_noise,
            ema_decay=self.ema_decay,
            augment=self.augment if self.augment == AUTO else self.augment.spec(),
            seed=self.seed,
        )
        return config


__all__ = ["GAN", "INTERPOLATIONS", "latent_interpolation"]
