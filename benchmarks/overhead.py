"""Training images/s of each family's zoo model against a plain-Keras twin and the floor.

    python benchmarks/overhead.py                          # every family, digits
    python benchmarks/overhead.py --write docs/BENCHMARKS.md

The twin of each model is built here from clones of the zoo model's own networks (same
architecture, fresh weights) with a minimal `train_step` written the plain Keras way
(`compile(loss=...)` for the autoencoders, a `GradientTape` step for the others) doing
the same arithmetic: the same losses and optimizers, the generator's moving average for
the GANs, the textbook free-energy CD-1 for the RBM. It is compiled with the same
`steps_per_execution` as the zoo model, so "zoo / twin" isolates the cost of the zoo's
own code. A third column times the zoo model compiled with Keras' defaults (one step
per execution), which is what the builders' measured default replaces.

The floor is the network's forward and backward FLOPs per image (dense and convolution
layers counted exactly, 3x the forward FLOPs for a training pass; the RBM's five
products) at the float32 matmul and convolution peaks measured in the same run; "% of
floor" is floor time / measured time. Speeds are steady-state: the second of two epochs of
`--steps` steps in one `fit`. Every speed (models and peaks) is per second of the
process's CPU time, not of wall time: on a machine shared with other jobs, wall time
measures the other jobs, CPU time still measures the work. Rounds alternate the
variants; best of N.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import keras
import numpy as np
import tensorflow as tf
from _common import (
    EpochTimer,
    alternating_rounds,
    command_line,
    forward_flops,
    load_average,
    load_note,
    machine_note,
    markdown_row,
    markdown_table,
    measured_peaks,
    replace_marked_section,
)
from keras import ops

import keras_genzoo
from keras_genzoo.data import load_dataset

FAMILY_MODELS = [
    "ae_dense", "dae_dense", "ae_conv", "vae_dense", "cvae_dense", "vae_conv", "dcgan", "cgan",
    "wgan_gp", "rbm_bernoulli",
]
SMALL = {  # --small: tiny networks, for the smoke test
    "ae_dense": dict(units=(32,), latent_dim=4), "rbm_bernoulli": dict(hidden_units=16),
}
BEGIN, END = "<!-- overhead.py: begin -->", "<!-- overhead.py: end -->"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=FAMILY_MODELS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=64, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best of)")
    parser.add_argument("--small", action="store_true", help="tiny networks (smoke test)")
    parser.add_argument("--write", default=None, help="replace the table in this Markdown file")
    return parser.parse_args()


# ------------------------------------------------------------------------ twins


class TwinAutoencoder(keras.Model):
    """encoder -> bottleneck -> decoder, trained by `compile(loss=...)`; optional noise."""

    def __init__(self, zoo, **kwargs):
        super().__init__(**kwargs)
        self.parts = [keras.models.clone_model(m) for m in (zoo.encoder, zoo.bottleneck,
                                                             zoo.decoder)]
        self.noise_std = getattr(zoo, "noise_level", 0.0) if hasattr(zoo, "noise") else 0.0
        self.value_range = zoo.value_range

    def call(self, x, training=False):
        for part in self.parts:
            x = part(x, training=training)
        return x

    def train_step(self, data):
        x = data
        inputs = x
        if self.noise_std:
            low, high = self.value_range
            inputs = ops.clip(x + keras.random.normal(ops.shape(x)) * self.noise_std, low, high)
        with tf.GradientTape() as tape:
            y_pred = self(inputs, training=True)
            loss = self.compute_loss(x=inputs, y=x, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self.compute_metrics(inputs, x, y_pred)


class TwinVAE(keras.Model):
    """Bernoulli VAE: one posterior sample, analytic KL, Adam."""

    def __init__(self, zoo, **kwargs):
        super().__init__(**kwargs)
        self.encoder = keras.models.clone_model(zoo.encoder)
        self.decoder = keras.models.clone_model(zoo.decoder)
        self.num_classes = zoo.num_classes if zoo.is_conditional else 0
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def train_step(self, data):
        x, labels = data if self.num_classes else (data, None)
        hot = None if labels is None else ops.one_hot(ops.reshape(labels, (-1,)), self.num_classes)
        with tf.GradientTape() as tape:
            stats = self.encoder(x if hot is None else [x, hot], training=True)
            mean, log_var = ops.split(stats, 2, axis=-1)
            z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean))
            logits = self.decoder(z if hot is None else [z, hot], training=True)
            nll = ops.sum(ops.reshape(ops.softplus(logits) - x * logits, (ops.shape(x)[0], -1)), 1)
            kl = -0.5 * ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
            loss = ops.mean(nll + kl)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


class TwinGAN(keras.Model):
    """Discriminator step(s), then a generator step, then the generator's moving average."""

    def __init__(self, zoo, **kwargs):
        super().__init__(**kwargs)
        self.generator = keras.models.clone_model(zoo.generator)
        self.discriminator = keras.models.clone_model(zoo.discriminator)
        self.latent_dim, self.conditional = zoo.latent_dim, zoo.is_conditional
        self.d_steps, self.penalty = zoo.discriminator_steps, zoo.gradient_penalty_weight
        self.wasserstein = zoo.loss_name == "wasserstein"
        self.ema_decay = zoo.ema_decay
        self.ema = [keras.Variable(v, trainable=False) for v in self.generator.trainable_variables]
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def _d(self, x, labels):
        return ops.reshape(self.discriminator(x if labels is None else [x, labels],
                                              training=True), (-1,))

    def _g(self, n, labels):
        z = keras.random.normal((n, self.latent_dim))
        return self.generator(z if labels is None else [z, labels], training=True)

    def train_step(self, data):
        real, labels = data if self.conditional else (data, None)
        labels = None if labels is None else ops.reshape(ops.cast(labels, "int32"), (-1, 1))
        n = ops.shape(real)[0]
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        for _ in range(self.d_steps):
            fake = ops.stop_gradient(self._g(n, labels))
            with tf.GradientTape() as tape:
                real_s, fake_s = self._d(real, labels), self._d(fake, labels)
                if self.wasserstein:
                    d_loss = ops.mean(fake_s) - ops.mean(real_s)
                else:
                    d_loss = ops.mean(ops.softplus(-real_s) + ops.softplus(fake_s))
                if self.penalty:
                    mix = keras.random.uniform((n, 1, 1, 1))
                    between = mix * real + (1 - mix) * fake
                    with tf.GradientTape() as inner:
                        inner.watch(between)
                        scores = ops.sum(self._d(between, labels))
                    g = inner.gradient(scores, between)
                    norm = ops.sqrt(ops.sum(ops.square(g), axis=(1, 2, 3)) + 1e-12)
                    d_loss = d_loss + self.penalty * ops.mean(ops.square(norm - 1))
            grads = tape.gradient(d_loss, d_vars)
            self.d_optimizer.apply_gradients(zip(grads, d_vars))
        with tf.GradientTape() as tape:
            scores = self._d(self._g(n, labels), labels)
            g_loss = -ops.mean(scores) if self.wasserstein else ops.mean(ops.softplus(-scores))
        grads = tape.gradient(g_loss, g_vars)
        self.g_optimizer.apply_gradients(zip(grads, g_vars))
        if self.ema_decay:
            for average, variable in zip(self.ema, g_vars):
                average.assign(self.ema_decay * average + (1 - self.ema_decay) * variable)
        self.d_loss_tracker.update_state(d_loss)
        return {"d_loss": self.d_loss_tracker.result()}


class TwinRBM(keras.Model):
    """CD-1 the textbook way: autodiff of mean F(data) - mean F(negatives)."""

    def __init__(self, zoo, **kwargs):
        super().__init__(**kwargs)
        self.rbm = keras_genzoo.core.layers.RBM(zoo.hidden_units, seed=0)
        self.rbm.build((None, zoo.visible_units))
        self.visible_units = zoo.visible_units
        self.error_tracker = keras.metrics.Mean(name="reconstruction_error")

    def train_step(self, data):
        v = ops.reshape(data, (-1, self.visible_units))
        h = self.rbm.sample_hidden(v)
        reconstruction = self.rbm.visible_probabilities(h)
        negatives = ops.stop_gradient(self.rbm.sample_visible_from_means(
            reconstruction, self.rbm.seed_tensor()))
        with tf.GradientTape() as tape:
            loss = ops.mean(self.rbm.free_energy(v)) - ops.mean(self.rbm.free_energy(negatives))
        weights = self.rbm.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.error_tracker.update_state(ops.mean(ops.square(v - reconstruction), axis=-1))
        return {"reconstruction_error": self.error_tracker.result()}


def _fresh(optimizer):
    return optimizer.__class__.from_config(optimizer.get_config())


def compile_like(model, zoo, steps_per_execution: int) -> None:
    """Compile `model` with fresh copies of the zoo model's optimizers and loss."""
    if hasattr(zoo, "generator"):
        model.compile(d_optimizer=_fresh(zoo.d_optimizer), g_optimizer=_fresh(zoo.g_optimizer),
                      steps_per_execution=steps_per_execution)
    elif hasattr(zoo, "bottleneck"):
        model.compile(optimizer=_fresh(zoo.optimizer), loss=zoo.loss, metrics=["mse"],
                      steps_per_execution=steps_per_execution)
    else:
        model.compile(optimizer=_fresh(zoo.optimizer), steps_per_execution=steps_per_execution)


def build_twin(zoo):
    """The twin of a zoo model, compiled like it."""
    if hasattr(zoo, "generator"):
        twin = TwinGAN(zoo)
    elif hasattr(zoo, "bottleneck"):
        twin = TwinAutoencoder(zoo)
    else:
        twin = TwinVAE(zoo) if hasattr(zoo, "encoder") else TwinRBM(zoo)
    compile_like(twin, zoo, zoo.steps_per_execution)
    return twin


# ------------------------------------------------------------------------ floor


def training_flops(zoo) -> tuple[float, float]:
    """(dense, convolution) FLOPs of one training example's step."""
    if hasattr(zoo, "rbm"):
        return 5 * 2.0 * zoo.visible_units * zoo.hidden_units, 0.0
    if hasattr(zoo, "generator"):
        g, d = np.array(forward_flops(zoo.generator)), np.array(forward_flops(zoo.discriminator))
        # each discriminator step: a fake batch, D trained on real and fake (and on the
        # interpolates, twice over, with a gradient penalty); then G trained through D
        d_step = g + 3 * 2 * d + (2 * 3 * d if zoo.gradient_penalty_weight else 0)
        return tuple(zoo.discriminator_steps * d_step + 3 * g + 3 * d)
    parts = [zoo.encoder, zoo.decoder] + ([zoo.bottleneck] if hasattr(zoo, "bottleneck") else [])
    return tuple(3 * sum(np.array(forward_flops(p)) for p in parts))


# ----------------------------------------------------------------------- timing


def training_data(zoo, batch_size: int) -> tf.data.Dataset:
    scale = "symmetric" if zoo.value_range == (-1.0, 1.0) else "unit"
    data, _ = load_dataset("digits", batch_size=batch_size, scale=scale,
                           labels=zoo.is_conditional, drop_remainder=True)
    return data.cache().repeat()


def images_per_second(model, data, steps: int, batch_size: int):
    """Steady-state training speed in images per CPU second: the second of two epochs of
    `steps` steps in one `fit` (the fixed cost of a `fit` call, such as the zoo's check of
    the first batch, is left out)."""
    timer = EpochTimer()

    def run() -> float:
        model.fit(data, steps_per_epoch=steps, epochs=2, verbose=0, callbacks=[timer])
        return steps * batch_size / timer.cpu_seconds[-1]
    return run


def measure(args: argparse.Namespace, command: str) -> tuple[str, list[list[str]]]:
    matmul_peak, conv_peak = measured_peaks()
    load_before = load_average()
    rows = []
    for name in args.models:
        keras.utils.set_random_seed(0)
        options = SMALL.get(name, {}) if args.small else {}
        zoo = keras_genzoo.create_model(name, image_shape=(8, 8, 1), **options)
        data = training_data(zoo, args.batch_size)
        runs = {"zoo": images_per_second(zoo, data, args.steps, args.batch_size)}
        runs["zoo"]()  # traces, and settles the steps per execution for --steps
        twin = build_twin(zoo)
        keras_default = keras_genzoo.create_model(name, image_shape=(8, 8, 1), **options)
        compile_like(keras_default, zoo, 1)  # what compile() gives without the zoo default
        for key, model in (("twin", twin), ("keras default", keras_default)):
            runs[key] = images_per_second(model, data, args.steps, args.batch_size)
            runs[key]()  # traces
        best = {key: max(rates) for key, rates in alternating_rounds(runs, args.rounds).items()}
        dense, conv = training_flops(zoo)
        floor_rate = 1.0 / (dense / matmul_peak + conv / conv_peak)
        rows.append([
            name, str(zoo.steps_per_execution), f"{best['zoo']:,.0f}", f"{best['twin']:,.0f}",
            f"{best['zoo'] / best['twin']:.2f}", f"{best['keras default']:,.0f}",
            f"{best['zoo'] / best['keras default']:.2f}x", f"{(dense + conv) / 1e6:.2f}",
            f"{floor_rate:,.0f}", f"{100 * best['zoo'] / floor_rate:.1f}%",
        ])
        print(markdown_row(rows[-1]), flush=True)
    header = (
        f"Command: `{command}`. Machine: {machine_note()}, no GPU; "
        f"{load_note(load_before, load_average())}. Digits (8x8), builder defaults, "
        f"batch {args.batch_size}, {args.steps} steps per round, best of {args.rounds} "
        f"alternating rounds; images per CPU second. Measured peaks (same run, per CPU "
        f"second): float32 matmul {matmul_peak / 1e9:.0f} GFLOP/s, 3x3 convolution "
        f"{conv_peak / 1e9:.0f} GFLOP/s."
    )
    return header, rows


COLUMNS = [
    "model", "steps / execution", "zoo images/CPU s", "twin images/CPU s", "zoo / twin",
    "Keras-default compile images/CPU s", "zoo default speed-up", "MFLOP / image", "floor images/s",
    "% of floor",
]

if __name__ == "__main__":
    arguments = parse_args()
    print(markdown_table(COLUMNS))
    header, rows = measure(arguments, command_line(__file__, sys.argv[1:], drop=["--write"]))
    result = f"{header}\n\n{markdown_table(COLUMNS, rows)}"
    print("\n" + result)
    if arguments.write:
        replace_marked_section(arguments.write, BEGIN, END, result)
