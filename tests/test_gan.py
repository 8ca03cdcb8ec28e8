"""GAN family: evidence on a known toy and on real digits, the train_step contract, saving.

Each model is trained once per module (fixtures); thresholds leave margin over the values
measured with these seeds (recorded in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models

import keras_genzoo
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.evaluation import (
    class_coverage,
    conditional_accuracy,
    evaluate_generator,
    fid,
    gaussian_ring,
    load_feature_classifier,
    mode_coverage,
)
from keras_genzoo.models.gan import (
    GAN,
    LOSSES,
    build_mlp_discriminator,
    build_mlp_generator,
    latent_interpolation,
)
from keras_genzoo.models.gan.losses import get_loss

SYMMETRIC = (-1.0, 1.0)
RING_STD = 0.05
RING_RADIUS = 0.25  # a sample "hits" a mode within 5 standard deviations of its centre
POINT_RANGE = (-3.0, 3.0)
SMALL = dict(generator_filters=(64, 32), discriminator_filters=(32, 64))


# ------------------------------------------------------------------ helpers


def _point_gan(discriminator_units=(128, 128), *, seed: int = 1, **kwargs) -> GAN:
    """A small GAN on 2-D points, written as (1, 1, 2) samples."""
    model = GAN(
        build_mlp_generator((1, 1, 2), 8, (128, 128)),
        build_mlp_discriminator((1, 1, 2), discriminator_units),
        value_range=POINT_RANGE,
        seed=seed,
        **kwargs,
    )
    model.compile(
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
    )
    return model


def _ring_dataset(points: np.ndarray, batch_size: int = 256) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(points).shuffle(len(points), seed=0).batch(batch_size)


def _weights(variables) -> list[np.ndarray]:
    return [np.array(v) for v in variables]


def _fit_eval_digits(name: str, epochs: int, **overrides):
    """Train a registry GAN on the digits train split; FID on the test split before/after."""
    keras.utils.set_random_seed(0)
    conditional = name == "cgan"
    data, info = load_dataset("digits", scale="symmetric", batch_size=64, labels=conditional)
    test_images, _, _ = load_arrays("digits", "test", scale="symmetric")
    model = keras_genzoo.create_model(name, image_shape=info.image_shape, seed=1, **overrides)
    labels = np.arange(1000) % 10 if conditional else None
    fid_before = fid(test_images, model.generate(1000, labels=labels, seed=0), "digits", SYMMETRIC)
    history = model.fit(data, epochs=epochs, verbose=0)
    samples = model.generate(1000, labels=labels, seed=0)
    fid_after = fid(test_images, samples, "digits", SYMMETRIC)
    return model, history.history, fid_before, fid_after, samples, labels


# ------------------------------------------------------------------ 2-D toy


@pytest.fixture(scope="module")
def ring():
    points, centers = gaussian_ring(4096, std=RING_STD, seed=0)
    return points.reshape(-1, 1, 1, 2), centers


@pytest.fixture(scope="module")
def ring_runs(ring):
    """The same GAN trained with a healthy discriminator (1,600 steps) and with a
    crippled one (800 steps; it has collapsed by then)."""
    points, centers = ring
    runs = {}
    for label, units, epochs in (("healthy", (128, 128), 100), ("crippled", (1,), 50)):
        keras.utils.set_random_seed(0)
        model = _point_gan(units)
        model.fit(_ring_dataset(points), epochs=epochs, verbose=0)
        samples = model.generate(2000, seed=0).reshape(-1, 2)
        runs[label] = (samples, mode_coverage(samples, centers, RING_RADIUS))
    return runs


@pytest.mark.slow
def test_small_gan_covers_all_eight_modes(ring_runs):
    """All 8 modes get at least 20 % of an even share, and >= 60 % of the samples lie
    within 5 std of a mode (measured: 8/8 modes, 80-86 %)."""
    _, coverage = ring_runs["healthy"]
    assert coverage.covered == 8, f"modes covered: {coverage.counts}"
    assert coverage.high_quality_fraction >= 0.6, coverage


def _direction_concentration(samples: np.ndarray) -> float:
    """Length of the mean unit vector: ~0 for samples all round the ring, 1 when they
    all lie in one direction from its centre."""
    directions = samples / np.linalg.norm(samples, axis=1, keepdims=True)
    return float(np.linalg.norm(directions.mean(axis=0)))


@pytest.mark.slow
def test_crippled_discriminator_shows_collapse(ring_runs):
    """A one-unit discriminator cannot tell the modes apart: the generator collapses to
    one direction (<= 2 modes covered, concentration > 0.8; measured: 1 mode, 0.98),
    while the healthy run spreads round the ring (concentration < 0.2; measured 0.03)."""
    samples, coverage = ring_runs["crippled"]
    assert coverage.covered <= 2, coverage
    assert _direction_concentration(samples) > 0.8
    assert _direction_concentration(ring_runs["healthy"][0]) < 0.2


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_pulls_samples_onto_the_ring(loss, ring):
    """150 generator steps of each objective cut the mean distance of samples to the ring
    (|norm - 2|, about 1.8 at initialisation) by at least 30 % (measured: 53-62 %)."""
    points, _ = ring
    keras.utils.set_random_seed(0)
    model = _point_gan(loss=loss, discriminator_steps=2 if loss == "wasserstein" else 1)

    def off_ring() -> float:
        samples = model.generate(1000, seed=0).reshape(-1, 2)
        return float(np.mean(np.abs(np.linalg.norm(samples, axis=1) - 2.0)))

    before = off_ring()
    history = model.fit(_ring_dataset(points).take(10), epochs=15, verbose=0).history
    for key, values in history.items():
        assert np.all(np.isfinite(values)), f"{key}: {values}"
    after = off_ring()
    assert after < 0.7 * before, f"{loss}: {before:.3f} -> {after:.3f}"
    critic_steps = model.discriminator_steps
    d_steps, g_steps = int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)
    assert d_steps == critic_steps * g_steps == critic_steps * 150


# ------------------------------------------------------------------ real digits


@pytest.fixture(scope="module")
def digits_dcgan():
    return _fit_eval_digits("dcgan", epochs=30, **SMALL)


@pytest.fixture(scope="module")
def digits_cgan():
    return _fit_eval_digits("cgan", epochs=30, **SMALL)


@pytest.mark.slow
def test_dcgan_improves_fid_on_digits(digits_dcgan):
    """30 epochs on the 1,438 training digits cut the test-split FID at least 3x below the
    untrained generator's (measured: 211 -> 48, 4.4x), and samples cover at least 9 of the
    10 digit classes (measured: 10)."""
    model, history, fid_before, fid_after, samples, _ = digits_dcgan
    assert fid_after * 3 < fid_before, (fid_before, fid_after)
    coverage = class_coverage(load_feature_classifier("digits").predict(samples, SYMMETRIC), 10)
    assert coverage.covered >= 9, coverage
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert np.all(np.isfinite(history[key])), key
    # Near equilibrium the discriminator's mean belief is neither certain nor fooled.
    assert 0.3 < history["d_real"][-1] < 0.8 and 0.2 < history["d_fake"][-1] < 0.7


@pytest.mark.slow
def test_cgan_samples_are_classified_as_requested(digits_cgan):
    """At least 80 % of conditional samples are classified as the requested digit by the
    shipped classifier, and at least 8 of the 10 classes reach 70 % (measured after 30
    epochs: 91 % overall, 9 classes >= 90 %, the digit 8 at 37 %)."""
    model, _, fid_before, fid_after, samples, labels = digits_cgan
    result = conditional_accuracy(samples, labels, "digits", SYMMETRIC)
    assert result.accuracy >= 0.8, result
    assert sum(a >= 0.7 for a in result.per_class) >= 8, result
    assert fid_after * 3 < fid_before, (fid_before, fid_after)


@pytest.mark.slow
def test_evaluate_generator_summarises_the_same_samples(digits_cgan):
    model, _, _, fid_after, samples, labels = digits_cgan
    test_images, _, _ = load_arrays("digits", "test", scale="symmetric")
    scores = evaluate_generator(model, test_images, "digits", num_samples=1000, seed=0)
    assert scores["fid"] == pytest.approx(fid_after, rel=1e-6)
    expected = conditional_accuracy(samples, labels, "digits", SYMMETRIC).accuracy
    assert scores["conditional_accuracy"] == pytest.approx(expected)
    assert scores["classes_covered"] == 10 and 0.9 < scores["class_entropy"] <= 1.0
    assert np.isfinite(scores["kid"])


@pytest.mark.slow
def test_ema_generator_is_a_moving_average(digits_dcgan):
    model, *_ = digits_dcgan
    ema = model.generate(64, seed=5)
    raw = model.generate(64, seed=5, use_ema=False)
    assert np.abs(ema - raw).mean() > 1e-3, "EMA weights equal the raw weights"
    np.testing.assert_array_equal(model.generate(64, seed=5), ema)


# ------------------------------------------------------------------ the train_step contract


def test_discriminator_and_generator_updates_touch_only_their_network(ring):
    """A zero learning rate for one network leaves it unchanged while the other trains;
    the generator still learns through a discriminator that never moves."""
    points, _ = ring
    data = _ring_dataset(points).take(3)
    for frozen in ("generator", "discriminator"):
        keras.utils.set_random_seed(0)
        model = _point_gan()
        rates = {"generator": 1e-3, "discriminator": 1e-3, frozen: 0.0}
        model.compile(
            d_optimizer=keras.optimizers.SGD(rates["discriminator"]),
            g_optimizer=keras.optimizers.SGD(rates["generator"]),
        )
        still = getattr(model, frozen)
        moving = model.discriminator if frozen == "generator" else model.generator
        still_before, moving_before = _weights(still.weights), _weights(moving.weights)
        model.fit(data, epochs=1, verbose=0)
        for a, b in zip(still_before, _weights(still.weights)):
            np.testing.assert_array_equal(a, b)
        assert any(not np.array_equal(a, b) for a, b in zip(moving_before, _weights(moving.weights)))


def test_ema_update_follows_the_formula(ring):
    """After one step the average is decay * old + (1 - decay) * new, with the warm-up
    decay min(ema_decay, 2 / 11) at the first generator step."""
    keras.utils.set_random_seed(0)
    model = _point_gan(ema_decay=0.9)
    start = _weights(model.generator.trainable_variables)
    for weight, average in zip(start, _weights(model._ema_weights), strict=True):
        np.testing.assert_array_equal(weight, average)
    model.fit(_ring_dataset(ring[0]).take(1), epochs=1, verbose=0)
    decay = min(0.9, 2 / 11)
    for old, new, average in zip(start, _weights(model.generator.trainable_variables),
                                 _weights(model._ema_weights)):
        np.testing.assert_allclose(average, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7)


def _user_critic(conditional: bool) -> keras.Model:
    """A critic a user might build: convolution, batch norm and dropout."""
    images = keras.Input((8, 8, 1))
    inputs = [images]
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(images)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Flatten()(x)
    if conditional:
        labels = keras.Input((1,), dtype="int32")
        inputs.append(labels)
        x = keras.layers.Concatenate()([x, keras.layers.Flatten()(keras.layers.Embedding(10, 4)(labels))])
    return keras.Model(inputs, keras.layers.Dense(1)(x), name="critic")


@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(num_classes=10, label_smoothing=0.1),
        dict(loss="wasserstein", discriminator_steps=2, instance_noise=0.1),
    ],
    ids=["dcgan", "cgan", "wgan_gp"],
)
def test_evaluate_changes_no_state(config):
    """Batch norm, dropout, the noise stream and the EMA weights are all left alone by
    `evaluate`, which gives the same scores twice."""
    from keras_genzoo.models.gan import (
        build_conditional_generator,
        build_dcgan_generator,
    )

    conditional = "num_classes" in config
    build = build_conditional_generator if conditional else build_dcgan_generator
    extra = dict(num_classes=10) if conditional else {}
    model = GAN(build((8, 8, 1), 8, filters=(16, 8), **extra), _user_critic(conditional),
                ema_decay=0.9, value_range=SYMMETRIC, seed=2, **config)
    model.compile(run_eagerly=True)  # a few tiny steps: faster than tracing them
    data = _digit_batches(conditional).take(2)
    model.fit(data.take(1), epochs=1, verbose=0)  # moving statistics away from their start
    state = _weights(model.non_trainable_variables)
    first = model.evaluate(data, verbose=0, return_dict=True)
    changed = [v.path for v, before in zip(model.non_trainable_variables, state, strict=True)
               if not np.array_equal(np.array(v), before)]
    assert changed == [], f"evaluate changed {changed}"
    assert model.evaluate(data, verbose=0, return_dict=True) == first


def _regularised_point_gan(critic_l2: float, generator_penalty: float) -> GAN:
    """A point GAN whose critic may carry an L2 kernel regulariser and whose generator an
    `add_loss` penalty on its outputs."""

    class OutputPenalty(keras.layers.Layer):
        def call(self, x):
            self.add_loss(generator_penalty * keras.ops.mean(keras.ops.square(x)))
            return x

    noise = keras.Input((8,))
    hidden = keras.layers.Dense(32, activation="relu")(noise)
    points = OutputPenalty()(keras.layers.Reshape((1, 1, 2))(keras.layers.Dense(2)(hidden)))
    generator = keras.Model(noise, points)
    samples = keras.Input((1, 1, 2))
    regulariser = keras.regularizers.L2(critic_l2) if critic_l2 else None
    x = keras.layers.Flatten()(samples)
    x = keras.layers.Dense(32, activation="relu", kernel_regularizer=regulariser)(x)
    critic = keras.Model(samples, keras.layers.Dense(1, kernel_regularizer=regulariser)(x))
    model = GAN(generator, critic, value_range=POINT_RANGE, seed=1)
    model.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05))
    return model


def test_sub_model_losses_are_trained(ring):
    """An L2-regularised critic ends with smaller kernels than the same run without the
    regulariser; a generator's own `add_loss` penalty on its outputs shrinks them."""
    data = _ring_dataset(ring[0]).take(16)
    runs = {}
    for name, settings in {"plain": (0.0, 0.0), "l2": (0.5, 0.0), "penalty": (0.0, 2.0)}.items():
        keras.utils.set_random_seed(0)
        model = _regularised_point_gan(*settings)
        model.fit(data, epochs=1, verbose=0)
        runs[name] = model
    def kernel_norm(model):
        return sum(float(np.sum(np.square(w))) for w in _weights(model.discriminator.trainable_weights)
                   if w.ndim == 2)
    assert kernel_norm(runs["l2"]) < 0.5 * kernel_norm(runs["plain"])
    def spread(model):
        return float(np.mean(np.square(model.generate(2000, seed=0))))
    assert spread(runs["penalty"]) < 0.5 * spread(runs["plain"])


def test_ema_samples_use_batch_norm_statistics_of_the_averaged_weights():
    """With averaged weights far from the live ones, generating with the average must
    normalise as the averaged generator does on a large batch, and leave the model's
    own statistics alone."""
    from keras_genzoo.models.gan import build_dcgan_generator

    model = GAN(build_dcgan_generator((8, 8, 1), 8, (16, 8)), _user_critic(False),
                ema_decay=0.99, value_range=SYMMETRIC, seed=2)
    for average, weight in zip(model._ema_weights, model.generator.trainable_variables):
        if len(weight.shape) > 1:  # kernels: an average 3x the live weights
            average.assign(3.0 * np.array(weight))
    live_state = _weights(model.generator.non_trainable_variables)
    latent = model.sample_latent(4096, seed=1)
    own_batch, _ = model.generator.stateless_call(
        [w.value for w in model._ema_weights],
        [v.value for v in model.generator.non_trainable_variables],
        latent, training=True,
    )
    expected = np.clip(np.asarray(own_batch), -1.0, 1.0)
    samples = model.generate_from_latent(latent)
    # Measured 0.03-0.04 (0.55 with the live statistics).
    assert np.abs(samples - expected).mean() < 0.1
    for variable, before in zip(model.generator.non_trainable_variables, live_state):
        np.testing.assert_array_equal(np.array(variable), before)
    np.testing.assert_array_equal(model.generate_from_latent(latent[:64]), samples[:64])
    model._ema_weights[0].assign(np.array(model.generator.trainable_variables[0]))
    assert not np.array_equal(model.generate_from_latent(latent[:64]), samples[:64]), (
        "statistics must be re-estimated when the averaged weights change"
    )


def test_gradient_penalty_matches_closed_forms():
    """Linear critic w.x: penalty (|w| - 1)^2 everywhere. Critic |x|^2 / 2 with real ==
    fake: per-sample gradient norms |x_i|, penalty mean((|x_i| - 1)^2)."""
    inputs = keras.Input((1, 1, 2))
    linear = keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(inputs)))
    linear.layers[-1].kernel.assign([[3.0], [4.0]])
    model = GAN(build_mlp_generator((1, 1, 2), 4), linear, loss="wasserstein", value_range=POINT_RANGE)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(64, 1, 1, 2)).astype(np.float32)
    fake = rng.normal(size=(64, 1, 1, 2)).astype(np.float32)
    assert float(model._gradient_penalty(real, fake, None, training=True)) == pytest.approx(16.0, rel=1e-5)

    squared = keras.Model(inputs, 0.5 * keras.ops.sum(keras.ops.square(inputs), axis=(1, 2, 3)))
    model = GAN(build_mlp_generator((1, 1, 2), 4), squared, loss="wasserstein", value_range=POINT_RANGE)
    norms = np.linalg.norm(real.reshape(-1, 2), axis=1)
    expected = np.mean((norms - 1.0) ** 2)
    penalty = float(model._gradient_penalty(real, real, None, training=True))
    assert penalty == pytest.approx(expected, rel=1e-5)


def test_loss_values_match_their_definitions():
    real, fake = np.array([2.0, -1.0]), np.array([0.5, -3.0])
    sp = lambda v: np.log1p(np.exp(v))  # noqa: E731
    cases = {
        "non_saturating": (sp(-real) + sp(fake), sp(-fake)),
        "minimax": (sp(-real) + sp(fake), -sp(fake)),
        "least_squares": (0.5 * ((real - 1) ** 2 + fake**2), 0.5 * (fake - 1) ** 2),
        "hinge": (np.maximum(0, 1 - real) + np.maximum(0, 1 + fake), -fake),
        "wasserstein": (fake - real, -fake),
    }
    for name, (d_expected, g_expected) in cases.items():
        objective = get_loss(name)
        np.testing.assert_allclose(objective.discriminator(real, fake, 1.0), d_expected, rtol=1e-6)
        np.testing.assert_allclose(objective.generator(fake), g_expected, rtol=1e-6)
    smoothed = get_loss("non_saturating").discriminator(real, fake, 0.9)
    np.testing.assert_allclose(smoothed, 0.9 * sp(-real) + 0.1 * sp(real) + sp(fake), rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown GAN loss"):
        get_loss("vanilla")


def test_instance_noise_has_the_requested_scale():
    model = _point_gan(instance_noise=0.3)
    zeros = np.zeros((20000, 1, 1, 2), np.float32)
    first, second = np.asarray(model._noisy(zeros)), np.asarray(model._noisy(zeros))
    assert first.std() == pytest.approx(0.3, rel=0.03) and abs(first.mean()) < 0.01
    assert not np.array_equal(first, second), "each call must draw fresh noise"
    assert _point_gan()._noisy(zeros) is zeros, "no instance noise by default"


# ------------------------------------------------------------------ saving and resuming


def _digit_batches(conditional: bool) -> tf.data.Dataset:
    images, labels, _ = load_arrays("digits", "train", scale="symmetric")
    images, labels = images[:192], labels[:192]
    elements = (images, labels) if conditional else images
    return tf.data.Dataset.from_tensor_slices(elements).batch(64)


def test_fresh_optimizers_would_not_resume_identically(ring, tmp_path):
    """The resume check can fail: a reloaded model whose optimizers are replaced by fresh
    ones drifts away from the original within one more epoch."""
    keras.utils.set_random_seed(0)
    model = _point_gan()
    data = tf.data.Dataset.from_tensor_slices(ring[0][:1024]).batch(256)
    model.fit(data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    reset = keras_genzoo.load(str(tmp_path / "m.keras"))
    reset.compile(
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
    )
    model.fit(data, epochs=1, verbose=0)
    reset.fit(data, epochs=1, verbose=0)
    pairs = zip(_weights(model.generator.weights), _weights(reset.generator.weights))
    gaps = [np.abs(a - b).max() for a, b in pairs]
    assert max(gaps) > 1e-4


# ------------------------------------------------------------------ generation API


@pytest.fixture(scope="module")
def untrained():
    keras.utils.set_random_seed(0)
    return tiny_models.build("dcgan"), tiny_models.build("cgan")


def test_sampling_with_the_average_needs_one():
    with pytest.raises(ValueError, match="no moving average"):
        tiny_models.build("dcgan", ema_decay=None).generate(1, use_ema=True)


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (10, 13, 3)])
def test_builders_fit_any_image_shape(image_shape):
    for name in ("dcgan", "cgan", "wgan_gp"):
        model = tiny_models.build(name, image_shape=image_shape, seed=0)
        images = model.generate(3, seed=0)
        assert images.shape == (3, *image_shape) and model.value_range == SYMMETRIC
        inputs = (images, np.zeros((3, 1), np.int32)) if model.is_conditional else images
        assert model(inputs).shape == (3, 1)


def test_call_scores_data_with_the_discriminator(untrained):
    dcgan, cgan = untrained
    images = dcgan.generate(4, seed=0)
    np.testing.assert_allclose(dcgan(images), dcgan.discriminator(images), rtol=1e-6)
    labels = np.array([[1], [2], [3], [4]], np.int32)
    assert cgan((images, labels)).shape == (4, 1)
    with pytest.raises(ValueError, match=r"call it on \(samples, labels\)"):
        cgan(images)


def test_latent_interpolation(untrained):
    dcgan, cgan = untrained
    start, end = dcgan.sample_latent(2, seed=4)
    path = latent_interpolation(start, end, 9)
    np.testing.assert_allclose(path[0], start, atol=1e-6)
    np.testing.assert_allclose(path[-1], end, atol=1e-6)
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() > 0.9 * min(norms[0], norms[-1]), "slerp keeps latent norms typical"
    linear = latent_interpolation(start, end, 9, method="linear")
    np.testing.assert_allclose(linear[4], (start + end) / 2, atol=1e-6)
    frames = dcgan.latent_walk(9, seed=4)
    assert frames.shape == (9, 8, 8, 1)
    np.testing.assert_allclose(frames[[0, -1]], dcgan.generate(2, seed=4), atol=1e-5)
    np.testing.assert_allclose(
        frames[[0, -1]], dcgan.generate_from_latent(dcgan.sample_latent(2, seed=4)), atol=1e-5
    )
    np.testing.assert_array_equal(dcgan.latent_walk(9, seed=4), frames)
    straight = dcgan.latent_walk(9, seed=4, method="linear")
    np.testing.assert_allclose(straight[[0, -1]], frames[[0, -1]], atol=1e-5)
    assert cgan.latent_walk(5, seed=1, labels=7).shape == (5, 8, 8, 1)
    np.testing.assert_array_equal(cgan.latent_walk(4, seed=1, labels=2),
                                  cgan.latent_walk(4, seed=1, labels=[2, 2, 2, 2]))
    with pytest.raises(ValueError, match="pass the class"):
        cgan.latent_walk(5)
    with pytest.raises(ValueError, match="takes no labels"):
        dcgan.latent_walk(4, labels=1)
    with pytest.raises(ValueError, match="method must be one of"):
        dcgan.latent_walk(4, method="cubic")
    with pytest.raises(ValueError, match="at least 2"):
        latent_interpolation(start, end, 1)
    assert dcgan.generate(2, seed=0, use_ema=False).shape == (2, 8, 8, 1)  # a family option


# ------------------------------------------------------------------ bad input


def test_bad_data_and_configuration_get_clear_errors(untrained):
    dcgan, _ = untrained
    with pytest.raises(ValueError, match="two separate optimizer instances"):
        shared = keras.optimizers.Adam()
        dcgan.compile(d_optimizer=shared, g_optimizer=shared)
    noise = keras.Input((4,))
    flat_generator = keras.Model(noise, keras.layers.Dense(2)(noise))
    with pytest.raises(ValueError, match=r"\(1, 1, D\)"):
        GAN(flat_generator, build_mlp_discriminator((1, 1, 2)))
    with pytest.raises(ValueError, match="label_smoothing applies"):
        _point_gan(loss="hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match="conditional GAN needs"):
        GAN(build_mlp_generator((1, 1, 2), 4), build_mlp_discriminator((1, 1, 2)), num_classes=3)


def test_mixed_float16_compile_config_keeps_the_inner_optimizers():
    """Both optimizers are wrapped for loss scaling (checked for every model by
    tests/test_model_contract.py); the saved compile config names what the user passed."""
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        model = _point_gan()
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    config = model.get_compile_config()
    assert config["d_optimizer"]["class_name"] == "Adam", "the saved config keeps the inner optimizer"


# ------------------------------------------------------------------ the example


def test_example_logs_losses_to_tensorboard_and_writes_grids(tmp_path, monkeypatch):
    """examples/gan_digits.py (two epochs): TensorBoard gets d_loss, g_loss, d_real and
    d_fake for each epoch, and the sample grid, interpolation and model file are written."""
    import runpy
    import sys

    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    example = os.path.join(repo, "examples", "gan_digits.py")
    monkeypatch.setattr(sys, "argv", [example, "--epochs", "2", "--out", str(tmp_path)])
    runpy.run_path(example, run_name="__main__")
    (event_file,) = (tmp_path / "logs" / "train").iterdir()
    events = EventAccumulator(str(event_file), size_guidance={"tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert {"epoch_d_loss", "epoch_g_loss", "epoch_d_real", "epoch_d_fake"} <= tags
    assert [event.step for event in events.Tensors("epoch_g_loss")] == [0, 1]
    assert Image.open(tmp_path / "samples.png").size == (662, 662)  # 10 x 10 digits of 64 px, 2 px gaps
    assert (tmp_path / "latent_walk.png").is_file() and (tmp_path / "dcgan.keras").is_file()
