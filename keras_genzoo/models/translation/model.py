"""Translation models trained by `fit`: `PairedTranslator` (a generator on a pixel loss:
super-resolution), `AdversarialTranslator` (the same plus a discriminator: pix2pix,
SRGAN) and `CycleGAN` (two domains, no pairs)."""

from __future__ import annotations

import random
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_genzoo.core.capabilities import Translator
from keras_genzoo.core.checks import check_count
from keras_genzoo.core.conditioning import first_batch, split_batch
from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.optimizers import optimizer_from_spec
from keras_genzoo.core.precision import LossScaleOptimizer
from keras_genzoo.core.randomness import fold_in_replica, replica_evaluation_seed
from keras_genzoo.models.translation.losses import (
    check_losses,
    discriminator_loss,
    generator_loss,
    reconstruction_loss,
)


def _check_network(role: str, network: Any) -> None:
    if not isinstance(network, keras.Model) or not getattr(network, "inputs", None):
        raise TypeError(
            f"{role} must be a functional keras.Model (built from keras.Input), got "
            f"{type(network).__name__}."
        )


def _image_shape(tensor: Any, role: str) -> tuple[int, ...]:
    shape = tuple(int(d) for d in tensor.shape[1:])
    if len(shape) != 3:
        raise ValueError(f"The {role} must be images (height, width, channels), got shape {shape}.")
    return shape


class _NoiseStream:
    """A model's training noise: a seed state saved with its weights, advanced by every
    training draw; a test step draws from a stream of its own (see core.randomness)."""

    def _init_noise(self, seed: int | None) -> None:
        self.seed = int(seed) if seed is not None else random.randint(1, 2**31 - 1)
        self._noise_state = self.add_weight(
            shape=(2,), dtype="int64", initializer=keras.initializers.Constant([self.seed, 0]),
            trainable=False, aggregation="only_first_replica", name="noise_state",
        )
        self._evaluation_batch = None  # the batch's place in an evaluation, in a test step

    def _next_seed(self) -> Any:
        """A stateless int32 seed (2,), different on every replica."""
        state = ops.convert_to_tensor(self._noise_state)
        if self._evaluation_batch is not None:
            return replica_evaluation_seed(state, self._evaluation_batch)
        self._noise_state.assign(state + ops.convert_to_tensor([0, 1], dtype="int64"))
        return fold_in_replica(tf.cast(tf.math.floormod(state, 2**31 - 1), tf.int32))

    def _evaluating(self, tracker: keras.metrics.Mean) -> None:
        self._evaluation_batch = ops.cast(tracker.count, "int64")


class _TwoOptimizers:
    """`compile(d_optimizer=..., g_optimizer=...)`: the discriminators' and the
    generators' optimizers (Adam(2e-4, 0.5) when None), built here, loss-scaled under
    `mixed_float16`."""

    generator_networks: tuple[str, ...]
    discriminator_networks: tuple[str, ...]

    def compile(
        self,
        d_optimizer: Any = None,
        g_optimizer: Any = None,
        *,
        jit_compile: bool | str = "auto",
        run_eagerly: bool = False,
        steps_per_execution: int | None = None,
        auto_scale_loss: bool = True,
    ) -> None:
        d_opt = self._optimizer(d_optimizer, "d_optimizer")
        g_opt = self._optimizer(g_optimizer, "g_optimizer")
        if d_opt is g_opt:
            raise ValueError(
                "d_optimizer and g_optimizer must be two separate optimizer instances; one "
                "optimizer cannot keep state for both kinds of network."
            )
        if steps_per_execution is None:
            steps_per_execution = self.default_steps_per_execution()
        ZooModel.compile(
            self, optimizer=None, run_eagerly=run_eagerly, jit_compile=jit_compile,
            steps_per_execution=steps_per_execution, auto_scale_loss=auto_scale_loss,
        )
        self._pair_compile_config = {
            "d_optimizer": d_opt, "g_optimizer": g_opt, "jit_compile": bool(self.jit_compile),
            "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
            "auto_scale_loss": auto_scale_loss,
        }
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16":
            d_opt = LossScaleOptimizer(d_opt, name="d_loss_scale_optimizer")
            g_opt = LossScaleOptimizer(g_opt, name="g_loss_scale_optimizer")
        with self.distribute_strategy.scope():
            d_opt.build(self._variables_of(self.discriminator_networks))
            g_opt.build(self._variables_of(self.generator_networks))
        self.d_optimizer, self.g_optimizer = d_opt, g_opt

    def _variables_of(self, names: Sequence[str]) -> list[Any]:
        return [v for name in names for v in getattr(self, name).trainable_variables]

    @staticmethod
    def _optimizer(spec: Any, role: str) -> keras.optimizers.Optimizer:
        if spec is None:
            return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5, name=role)
        optimizer = keras.optimizers.get(spec)
        if optimizer is None:
            raise ValueError(f"Could not interpret {role}={spec!r} as an optimizer.")
        return optimizer

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        found = [getattr(self, role, None) for role in ("d_optimizer", "g_optimizer")]
        return [opt for opt in found if isinstance(opt, keras.optimizers.Optimizer)]

    def recompile_with_optimizer(self, spec: dict[str, Any], learning_rate: float | None = None) -> None:
        """Compile again with two fresh optimizers made from `spec`."""
        settings = dict(self._pair_compile_config)
        for role in ("d_optimizer", "g_optimizer"):
            settings[role] = optimizer_from_spec(spec, learning_rate, name=role)
        self.compile(**settings)

    def get_compile_config(self) -> dict[str, Any]:
        if not self.compiled or not hasattr(self, "_pair_compile_config"):
            return {}
        return {k: keras.saving.serialize_keras_object(v) for k, v in self._pair_compile_config.items()}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        self.compile(**{k: keras.saving.deserialize_keras_object(v) for k, v in config.items()})


@keras.saving.register_keras_serializable(package="keras_genzoo")
class PairedTranslator(_NoiseStream, Translator, ZooModel):
    """A generator from input images to target images, trained by `fit` on (input,
    target) pairs with a pixel loss (`reconstruction`: "l1" or "l2").

    The generator is a functional model: `generator(images)`, or, for a generator whose
    noise is seeded dropout, `generator([images, seeds])` with seeds (batch, 2) int32
    (the model passes a fresh seed every training step, and `translate` the one its seed
    gives). Inputs may have another size than the targets (super-resolution) and
    another number of channels (an outline, a grey image). `fit` reports `loss`.
    """

    submodels: tuple[str, ...] = ("generator",)
    min_training_steps = 200

    def __init__(
        self,
        generator: keras.Model,
        *,
        reconstruction: str = "l1",
        image_shape: Sequence[int] | None = None,
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        _check_network("generator", generator)
        output_shape = _image_shape(generator.outputs[0], "generator's outputs")
        if image_shape is not None and tuple(int(d) for d in image_shape) != output_shape:
            raise ValueError(
                f"image_shape {tuple(image_shape)} does not match the generator's output shape "
                f"{output_shape}."
            )
        super().__init__(image_shape=output_shape, value_range=value_range, **kwargs)
        self.generator = generator
        self.input_image_shape = _image_shape(generator.inputs[0], "generator's inputs")
        self.noisy = len(generator.inputs) == 2
        check_losses(reconstruction, None)
        self.reconstruction = reconstruction
        self._init_noise(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    # -------------------------------------------------------------- translation

    @property
    def call_input_shape(self) -> tuple[int, ...]:
        return self.input_image_shape

    def translation_shapes(self, direction: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self.input_image_shape, self.image_shape

    def _translate_batch(self, images: np.ndarray, seed: np.ndarray, direction: str) -> Any:
        return self._translated(images, seed, training=False)

    def _translated(self, images: Any, seed: Any, training: bool) -> Any:
        inputs = images = ops.convert_to_tensor(images)
        if self.noisy:
            rows = ops.shape(images)[0]
            inputs = [images, ops.tile(ops.reshape(ops.cast(seed, "int32"), (1, 2)), (rows, 1))]
        return ops.cast(self.generator(inputs, training=training), "float32")

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The translations of a batch of inputs (noise, if any, from seed (0, 0))."""
        return self._translated(inputs, ops.zeros((2,), "int32"), training)

    # -------------------------------------------------------------- training

    def check_training_data(self, x: Any, y: Any = None) -> None:
        inputs, targets = first_batch(x, y)
        if inputs is None:
            return
        if targets is None:
            raise ValueError(
                f"{self.name} trains on (inputs, targets) pairs: fit(inputs, targets), or a "
                "dataset of (input, target) batches (keras_genzoo.data.pairs.pair_dataset)."
            )
        self.check_images(inputs, "inputs", shape=self.input_image_shape)
        self.check_images(targets, "targets")
        if len(inputs) != len(targets):
            raise ValueError(
                f"{self.name} needs one target per input, got {len(inputs)} inputs and "
                f"{len(targets)} targets in the first batch."
            )
        self.warn_unused_range(targets)

    def _pair(self, data: Any) -> tuple[Any, Any]:
        inputs, targets = split_batch(data)
        if targets is None:
            raise ValueError(f"{self.name} trains on (inputs, targets) pairs.")
        return ops.cast(inputs, "float32"), ops.cast(targets, "float32")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker]

    def train_step(self, data: Any) -> dict[str, Any]:
        inputs, targets = self._pair(data)
        seed = self._next_seed()
        loss = self.gradient_step(
            lambda: reconstruction_loss(
                self.reconstruction, self._translated(inputs, seed, True), targets
            ),
            self.generator.trainable_variables,
        )
        self.loss_tracker.update_state(loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data: Any) -> dict[str, Any]:
        inputs, targets = self._pair(data)
        self._evaluating(self.loss_tracker)
        try:
            outputs = self._translated(inputs, self._next_seed(), False)
        finally:
            self._evaluation_batch = None
        self.loss_tracker.update_state(reconstruction_loss(self.reconstruction, outputs, targets))
        return {m.name: m.result() for m in self.metrics}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(reconstruction=self.reconstruction, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class AdversarialTranslator(_TwoOptimizers, PairedTranslator):
    """A `PairedTranslator` with a discriminator: the generator minimises its pixel loss
    plus `adversarial_weight` times its adversarial loss (`adversarial_loss`:
    "least_squares" or "non_saturating"), the discriminator tells targets from
    translations. A discriminator with two inputs scores `[input, image]` pairs
    (pix2pix's conditional PatchGAN), one with a single input scores images (SRGAN).

    Each step updates the discriminator on a batch's targets and translations, then the
    generator through it, with the same dropout noise. Compile with two optimizers;
    `fit` reports `d_loss`, `g_loss` (the weighted sum), `reconstruction` and
    `adversarial`.
    """

    submodels = ("generator", "discriminator")
    generator_networks = ("generator",)
    discriminator_networks = ("discriminator",)
    min_training_steps = 1000

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        adversarial_loss: str = "least_squares",
        adversarial_weight: float = 0.01,
        **kwargs: Any,
    ) -> None:
        _check_network("discriminator", discriminator)
        super().__init__(generator, **kwargs)
        self.discriminator = discriminator
        check_losses(None, adversarial_loss)
        self.adversarial_loss = adversarial_loss
        self.adversarial_weight = float(adversarial_weight)
        if not self.adversarial_weight > 0:
            raise ValueError(f"adversarial_weight must be > 0, got {adversarial_weight!r}.")
        self.conditional_discriminator = len(discriminator.inputs) == 2
        scored = [_image_shape(t, "discriminator's inputs") for t in discriminator.inputs]
        expected = [self.input_image_shape, self.image_shape] if self.conditional_discriminator else [
            self.image_shape
        ]
        if scored != expected:
            raise ValueError(
                f"The discriminator takes inputs of shapes {scored}; it must score images "
                f"{self.image_shape}, or [input, image] pairs {expected} for a conditional one."
            )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.adversarial_tracker = keras.metrics.Mean(name="adversarial")
        self.d_optimizer = None
        self.g_optimizer = None

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.g_loss_tracker, self.reconstruction_tracker,
                self.adversarial_tracker]

    def _scores(self, inputs: Any, images: Any, training: bool) -> Any:
        scored = [inputs, images] if self.conditional_discriminator else images
        return self.discriminator(scored, training=training)

    def _batch_losses(self, inputs: Any, targets: Any, seed: Any, training: bool):
        """(d_loss, g_loss, reconstruction, adversarial) of one batch, no update."""
        outputs = self._translated(inputs, seed, training)
        d_loss = discriminator_loss(
            self.adversarial_loss, self._scores(inputs, targets, training),
            self._scores(inputs, outputs, training),
        )
        pixel = reconstruction_loss(self.reconstruction, outputs, targets)
        adversarial = generator_loss(self.adversarial_loss, self._scores(inputs, outputs, training))
        return d_loss, pixel + self.adversarial_weight * adversarial, pixel, adversarial

    def train_step(self, data: Any) -> dict[str, Any]:
        inputs, targets = self._pair(data)
        seed = self._next_seed()
        fake = ops.stop_gradient(self._translated(inputs, seed, True))
        d_loss = self.gradient_step(
            lambda: discriminator_loss(
                self.adversarial_loss, self._scores(inputs, targets, True),
                self._scores(inputs, fake, True),
            ),
            self.discriminator.trainable_variables, self.d_optimizer,
        )

        def generator_objective():
            outputs = self._translated(inputs, seed, True)
            pixel = reconstruction_loss(self.reconstruction, outputs, targets)
            adversarial = generator_loss(self.adversarial_loss, self._scores(inputs, outputs, True))
            return pixel + self.adversarial_weight * adversarial, pixel, adversarial

        g_loss, pixel, adversarial = self.gradient_step(
            generator_objective, self.generator.trainable_variables, self.g_optimizer
        )
        return self._track(d_loss, g_loss, pixel, adversarial)

    def test_step(self, data: Any) -> dict[str, Any]:
        inputs, targets = self._pair(data)
        self._evaluating(self.d_loss_tracker)
        try:
            losses = self._batch_losses(inputs, targets, self._next_seed(), False)
        finally:
            self._evaluation_batch = None
        return self._track(*losses)

    def _track(self, d_loss, g_loss, pixel, adversarial) -> dict[str, Any]:
        for tracker, value in zip(self.metrics, (d_loss, g_loss, pixel, adversarial)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(adversarial_loss=self.adversarial_loss, adversarial_weight=self.adversarial_weight)
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class CycleGAN(_NoiseStream, _TwoOptimizers, Translator, ZooModel):
    """Unpaired translation between domains A and B (Zhu et al., 2017): `generator_ab`
    and `generator_ba`, each judged by a PatchGAN of its target domain
    (`discriminator_b`, `discriminator_a`) under the least-squares loss, tied by the
    cycle-consistency loss (A -> B -> A and B -> A -> B give back the image, L1, weight
    `cycle_weight`) and the identity loss (a generator leaves an image of its target
    domain as it is, L1, weight `identity_weight`; 0 turns it off).

    The discriminators see generated images from a history of `pool_size` earlier
    translations per domain (0: only the current batch): once the history is full,
    each image of a batch is swapped with probability 1/2 for a stored one, which takes
    its place. Trains by `fit` on `(a, b)` batches of unrelated images of one shape
    (`keras_genzoo.data.pairs.unpaired_dataset`); `translate(images, direction=
    "a_to_b" | "b_to_a")`. Compile with two optimizers (generators, discriminators);
    `fit` reports `d_loss`, `g_loss`, `cycle` and `identity`.
    """

    submodels = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
    generator_networks = ("generator_ab", "generator_ba")
    discriminator_networks = ("discriminator_a", "discriminator_b")
    directions = ("a_to_b", "b_to_a")
    min_training_steps = 1000

    def __init__(
        self,
        generator_ab: keras.Model,
        generator_ba: keras.Model,
        discriminator_a: keras.Model,
        discriminator_b: keras.Model,
        *,
        cycle_weight: float = 10.0,
        identity_weight: float = 5.0,
        pool_size: int = 50,
        image_shape: Sequence[int] | None = None,
        value_range: Sequence[float] = (-1.0, 1.0),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        for name in self.submodels:
            _check_network(name, locals()[name])
        shape = _image_shape(generator_ab.outputs[0], "generator's outputs")
        networks = (generator_ab, generator_ba, discriminator_a, discriminator_b)
        shapes = [_image_shape(n.inputs[0], f"{n.name}'s inputs") for n in networks]
        shapes.append(_image_shape(generator_ba.outputs[0], "generator's outputs"))
        if any(s != shape for s in shapes) or any(len(n.inputs) != 1 for n in networks):
            raise ValueError(
                "A CycleGAN's two domains share one image shape: each generator maps images "
                f"of that shape to that shape and each discriminator scores one image; got "
                f"shapes {shapes} (expected {shape})."
            )
        if image_shape is not None and tuple(int(d) for d in image_shape) != shape:
            raise ValueError(f"image_shape {tuple(image_shape)} does not match the networks' {shape}.")
        super().__init__(image_shape=shape, value_range=value_range, **kwargs)
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        if self.cycle_weight < 0 or self.identity_weight < 0:
            raise ValueError(
                f"cycle_weight and identity_weight must be >= 0, got {cycle_weight!r} and "
                f"{identity_weight!r}."
            )
        self.pool_size = check_count(pool_size, "pool_size")
        self._init_noise(seed)
        self._pools = {}
        if self.pool_size:
            for domain in ("a", "b"):
                pool = self.add_weight(
                    shape=(self.pool_size, *shape), initializer="zeros", trainable=False,
                    aggregation="only_first_replica", name=f"history_{domain}",
                )
                stored = self.add_weight(
                    shape=(), dtype="int32", initializer="zeros", trainable=False,
                    aggregation="only_first_replica", name=f"history_{domain}_count",
                )
                self._pools[domain] = (pool, stored)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.cycle_tracker = keras.metrics.Mean(name="cycle")
        self.identity_tracker = keras.metrics.Mean(name="identity")
        self.d_optimizer = None
        self.g_optimizer = None
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.g_loss_tracker, self.cycle_tracker, self.identity_tracker]

    # -------------------------------------------------------------- translation

    def translation_shapes(self, direction: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return self.image_shape, self.image_shape

    def _translate_batch(self, images: np.ndarray, seed: np.ndarray, direction: str) -> Any:
        generator = self.generator_ab if direction == "a_to_b" else self.generator_ba
        return ops.cast(generator(images, training=False), "float32")

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Domain-B translations of a batch of domain-A images."""
        return ops.cast(self.generator_ab(inputs, training=training), "float32")

    # -------------------------------------------------------------- training

    def check_training_data(self, x: Any, y: Any = None) -> None:
        a, b = first_batch(x, y)
        if a is None:
            return
        if b is None:
            raise ValueError(
                f"{self.name} trains on (a, b) batches of the two domains: fit(images_a, "
                "images_b), or a dataset of (a, b) batches "
                "(keras_genzoo.data.pairs.unpaired_dataset)."
            )
        self.check_images(a, "domain A images")
        self.check_images(b, "domain B images")
        self.warn_unused_range(a)

    def _domains(self, data: Any) -> tuple[Any, Any]:
        a, b = split_batch(data)
        if b is None:
            raise ValueError(f"{self.name} trains on (a, b) batches of the two domains.")
        return ops.cast(a, "float32"), ops.cast(b, "float32")

    def _history(self, domain: str, fakes: Any) -> Any:
        """What the discriminator of `domain` sees of this batch's translations `fakes`,
        after the history buffer (see the class docstring), updating the buffer."""
        if not self.pool_size:
            return fakes
        pool, stored = self._pools[domain]
        rows = ops.shape(fakes)[0]
        seed = self._next_seed()
        coin_seed, slot_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        positions = ops.convert_to_tensor(stored) + ops.arange(rows, dtype="int32")
        filling = positions < self.pool_size
        coins = tf.random.stateless_uniform((rows,), coin_seed) < 0.5
        slots = tf.random.stateless_uniform((rows,), slot_seed, 0, self.pool_size, tf.int32)
        swap = tf.logical_and(tf.logical_not(filling), coins)
        current = ops.convert_to_tensor(pool)
        seen = tf.where(swap[:, None, None, None], tf.gather(current, slots), fakes)
        # Rows that write nothing go to a spare row past the end, dropped afterwards.
        write = tf.logical_or(filling, swap)
        where = tf.where(write, tf.where(filling, positions, slots), self.pool_size)
        padded = tf.concat([current, tf.zeros_like(current[:1])], 0)
        pool.assign(tf.tensor_scatter_nd_update(padded, where[:, None], fakes)[: self.pool_size])
        stored.assign(tf.minimum(ops.convert_to_tensor(stored) + rows, self.pool_size))
        return seen

    def _generator_losses(self, real_a: Any, real_b: Any, training: bool):
        """(g_loss, cycle, identity, fake_a, fake_b) of one batch."""
        fake_b = ops.cast(self.generator_ab(real_a, training=training), "float32")
        fake_a = ops.cast(self.generator_ba(real_b, training=training), "float32")
        cycle = reconstruction_loss("l1", self.generator_ba(fake_b, training=training), real_a)
        cycle = cycle + reconstruction_loss("l1", self.generator_ab(fake_a, training=training), real_b)
        adversarial = generator_loss("least_squares", self.discriminator_b(fake_b, training=training))
        adversarial = adversarial + generator_loss(
            "least_squares", self.discriminator_a(fake_a, training=training)
        )
        identity = ops.zeros((), "float32")
        if self.identity_weight:
            identity = reconstruction_loss("l1", self.generator_ab(real_b, training=training), real_b)
            identity = identity + reconstruction_loss(
                "l1", self.generator_ba(real_a, training=training), real_a
            )
        total = adversarial + self.cycle_weight * cycle + self.identity_weight * identity
        return total, cycle, identity, fake_a, fake_b

    def _discriminator_loss(self, real_a, real_b, seen_a, seen_b, training: bool) -> Any:
        loss_a = discriminator_loss(
            "least_squares", self.discriminator_a(real_a, training=training),
            self.discriminator_a(seen_a, training=training),
        )
        loss_b = discriminator_loss(
            "least_squares", self.discriminator_b(real_b, training=training),
            self.discriminator_b(seen_b, training=training),
        )
        return loss_a + loss_b

    def train_step(self, data: Any) -> dict[str, Any]:
        real_a, real_b = self._domains(data)
        g_loss, cycle, identity, fake_a, fake_b = self.gradient_step(
            lambda: self._generator_losses(real_a, real_b, True),
            self._variables_of(self.generator_networks), self.g_optimizer,
        )
        seen_a = self._history("a", ops.stop_gradient(fake_a))
        seen_b = self._history("b", ops.stop_gradient(fake_b))
        d_loss = self.gradient_step(
            lambda: self._discriminator_loss(real_a, real_b, seen_a, seen_b, True),
            self._variables_of(self.discriminator_networks), self.d_optimizer,
        )
        return self._track(d_loss, g_loss, cycle, identity)

    def test_step(self, data: Any) -> dict[str, Any]:
        real_a, real_b = self._domains(data)
        g_loss, cycle, identity, fake_a, fake_b = self._generator_losses(real_a, real_b, False)
        d_loss = self._discriminator_loss(real_a, real_b, fake_a, fake_b, False)
        return self._track(d_loss, g_loss, cycle, identity)

    def _track(self, d_loss, g_loss, cycle, identity) -> dict[str, Any]:
        for tracker, value in zip(self.metrics, (d_loss, g_loss, cycle, identity)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            cycle_weight=self.cycle_weight, identity_weight=self.identity_weight,
            pool_size=self.pool_size, seed=self.seed,
        )
        return config


__all__ = ["AdversarialTranslator", "CycleGAN", "PairedTranslator"]
