"""StyleGAN: the mathematics of its layers (demodulation, normalised latents, truncation,
style mixing, lazy R1) and a short training run on the digits.

The shared contract (round trip, generate, parity, mixed precision, bad inputs) runs on
its rows of tests/tiny_models.py. Thresholds leave margin over the values measured with
these seeds.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import fid, load_feature_classifier
from keras_genzoo.models.gan import StyleGAN, build_style_generator
from keras_genzoo.models.gan.style_layers import ModulatedConv2D, NoiseInjection
from keras_genzoo.models.gan.style_networks import synthesis_plan

SYMMETRIC = (-1.0, 1.0)
#: Resampling only the per-layer noise of the same latents changes the digits
#: classifier's label of at most this share of the images (measured: 22 %, on 8x8
#: digits where a pixel is a stroke); a new latent changes 86 %.
NOISE_FLIP_BOUND = 0.3


def _demodulated_output(demodulate: bool) -> np.ndarray:
    """A modulated convolution on unit-variance noise, with styles spread over [0.2, 5]."""
    rng = np.random.default_rng(0)
    layer = ModulatedConv2D(48, style_index=1, demodulate=demodulate)
    x = rng.standard_normal((6, 34, 34, 32)).astype(np.float32)
    ws = rng.standard_normal((6, 3, 16)).astype(np.float32)
    layer.build([x.shape, ws.shape])
    kernel, bias = layer.affine.get_weights()
    layer.affine.set_weights([kernel, rng.uniform(0.2, 5.0, bias.shape).astype(np.float32)])
    return np.asarray(layer([x, ws]))[:, 1:-1, 1:-1]  # no zero padding in the statistics


def test_demodulated_convolution_keeps_unit_variance():
    """Unit-variance input gives unit-variance output in every sample and channel
    (measured: 0.93-1.08 per channel over 32x32 pixels); without demodulation the styles
    set the scale (far from 1)."""
    variances = _demodulated_output(True).var(axis=(1, 2))
    assert variances.shape == (6, 48)
    assert abs(float(variances.mean()) - 1.0) < 0.03, variances.mean()
    assert 0.8 < variances.min() and variances.max() < 1.2, (variances.min(), variances.max())
    assert _demodulated_output(False).var(axis=(1, 2)).mean() > 2.0


@pytest.mark.parametrize("shape, start, styles", [
    ((8, 8, 1), (4, 4), 4), ((28, 28, 1), (7, 7), 6), ((32, 32, 3), (4, 4), 8), ((30, 20, 1), (4, 3), 8),
])
def test_synthesis_covers_every_image_shape(shape, start, styles):
    plan = synthesis_plan(shape)
    assert plan.start == start and plan.num_styles == styles
    generator = build_style_generator(shape, 4, 4, mapping_layers=1, filters=(4,))
    noises = [np.zeros((2, *size, 1), np.float32) for size in plan.noise_sizes()]
    out = generator([np.ones((2, 4), np.float32), *noises])
    assert tuple(out.shape) == (2, *shape)


@pytest.fixture(scope="module")
def untrained():
    """A tiny StyleGAN sampling with its own weights, noise strengths set to 0.3 (they
    start at 0)."""
    model = tiny_models.build("stylegan", ema_decay=None)
    for layer in model.synthesis.layers:
        if isinstance(layer, NoiseInjection):
            layer.strength.assign(np.full(layer.strength.shape, 0.3, np.float32))
    return model


def test_mapping_normalises_z_and_conditions_on_the_class(untrained):
    z = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    w = untrained.map_latent(z)
    assert w.shape == (5, 8) and np.all(np.isfinite(w))
    assert np.abs(w[0] - w[1]).max() > 1e-3  # different latents, different styles
    np.testing.assert_allclose(untrained.map_latent(3.0 * z), w, rtol=1e-4, atol=1e-5)
    conditional = tiny_models.build("stylegan_conditional")
    by_class = [conditional.map_latent(z[:1], labels=k) for k in (0, 1)]
    assert np.abs(by_class[0] - by_class[1]).max() > 1e-3


def test_truncation_identity(untrained):
    z = untrained.sample_latent(6, seed=2)
    w = untrained.map_latent(z)
    mean = np.asarray(untrained.w_mean)
    np.testing.assert_array_equal(untrained.map_latent(z, truncation=1.0), w)
    np.testing.assert_allclose(untrained.map_latent(z, truncation=0.0), np.tile(mean, (6, 1)), atol=1e-6)
    np.testing.assert_allclose(untrained.map_latent(z, truncation=0.5), (w + mean) / 2, atol=1e-5)
    # the tracked mean starts at the mapping network's mean output
    assert np.abs(mean - untrained.map_latent(untrained.sample_latent(4096, seed=5)).mean(0)).max() < 0.25
    same = untrained.generate(3, seed=4, truncation=0.0, noise="fixed")
    np.testing.assert_allclose(same, np.repeat(same[:1], 3, axis=0), atol=1e-5)


def test_determinism_by_seed_and_noise_modes(untrained):
    images = untrained.generate(4, seed=3)
    np.testing.assert_array_equal(untrained.generate(4, seed=3), images)
    assert not np.array_equal(untrained.generate(4, seed=3, noise="fixed"), images)
    np.testing.assert_array_equal(
        untrained.generate(4, seed=3, noise="fixed"), untrained.generate(4, seed=3, noise="fixed")
    )
    walk = untrained.style_walk(5, seed=1)
    assert walk.shape == (5, 8, 8, 1)
    np.testing.assert_array_equal(untrained.style_walk(5, seed=1), walk)
    ends = untrained.generate_from_latent(untrained.sample_latent(2, seed=1))
    np.testing.assert_allclose(walk[[0, -1]], ends, atol=1e-5)


def test_style_mixing_takes_coarse_styles_from_a_and_fine_from_b(untrained):
    grid = untrained.mix_styles([1, 2], [3, 4, 5], crossover=2)
    assert grid.shape == (2, 3, 8, 8, 1)
    np.testing.assert_array_equal(untrained.mix_styles([1, 2], [3, 4, 5], crossover=2), grid)
    alone = untrained.generate_from_latent(np.concatenate([untrained.sample_latent(1, s) for s in (1, 3)]))
    everything_from_a = untrained.mix_styles(1, 3, crossover=untrained.num_styles)[0, 0]
    everything_from_b = untrained.mix_styles(1, 3, crossover=0)[0, 0]
    np.testing.assert_allclose(everything_from_a, alone[0], atol=1e-5)
    np.testing.assert_allclose(everything_from_b, alone[1], atol=1e-5)
    assert np.abs(grid[0, 0] - alone[0]).max() > 1e-3 and np.abs(grid[0, 0] - alone[1]).max() > 1e-3


def test_training_mixes_styles_at_one_crossover_per_image():
    model = tiny_models.build("stylegan", mixing_probability=1.0)
    ws, w = model._training_styles(64, None, training=True)
    ws, w = np.asarray(ws), np.asarray(w)
    from_first = np.all(np.isclose(ws, w[:, None]), axis=-1)  # (64, num_styles)
    crossovers = from_first.sum(axis=1)
    assert np.all(from_first[:, 0]) and 1 <= crossovers.min() and crossovers.max() <= model.num_styles - 1
    # the first crossover layers, then the second latent: a prefix
    assert np.all(from_first == (np.arange(model.num_styles)[None] < crossovers[:, None]))
    assert len(set(crossovers.tolist())) == model.num_styles - 1
    plain, _ = model._training_styles(4, None, training=False)
    assert np.all(np.asarray(plain) == np.asarray(plain)[:, :1])


def test_lazy_r1_is_the_squared_gradient_norm_every_k_steps():
    """For a linear discriminator D(x) = <a, x> + b, R1 is ||a||^2, applied on the
    discriminator steps divisible by r1_interval only."""
    generator = build_style_generator((8, 8, 1), 4, 4, mapping_layers=1, filters=(4,))
    images = keras.Input((8, 8, 1))
    discriminator = keras.Model(images, keras.layers.Dense(1)(keras.layers.Flatten()(images)))
    model = StyleGAN(generator, discriminator, r1_weight=1.0, r1_interval=3, seed=1)
    model.compile()
    a = discriminator.get_weights()[0]
    real = tf.constant(np.zeros((4, 8, 8, 1), np.float32))
    for step, due in ((0, 1.0), (1, 0.0), (2, 0.0), (3, 1.0)):
        model.d_optimizer.iterations.assign(step)
        penalty, applied = model._lazy_r1(real, None)
        assert float(applied) == due
        assert float(penalty) == pytest.approx(due * float(np.sum(a**2)), rel=1e-5)


def test_bad_arguments_get_clear_errors(untrained):
    with pytest.raises(ValueError, match="truncation must be a finite number"):
        untrained.generate(2, seed=0, truncation="0.7")
    with pytest.raises(ValueError, match="noise must be one of"):
        untrained.generate(2, seed=0, noise="frozen")
    with pytest.raises(ValueError, match=r"crossover must be an integer in \[0, 4\]"):
        untrained.mix_styles(1, 2, crossover=5)
    with pytest.raises(ValueError, match="seed_a must be an integer seed"):
        untrained.mix_styles([], 2, crossover=1)
    with pytest.raises(ValueError, match=r"styles must have shape \(n, 8\) or \(n, 4, 8\)"):
        untrained.synthesize(np.zeros((2, 3, 8), np.float32))
    with pytest.raises(ValueError, match="mixing_probability must be a number in"):
        keras_genzoo.create_model("stylegan", image_shape=(8, 8, 1), mixing_probability=1.5)
    with pytest.raises(ValueError, match="mapping_layers must be at least 1"):
        keras_genzoo.create_model("stylegan", image_shape=(8, 8, 1), mapping_layers=0)
    with pytest.raises(ValueError, match="'mapping' and 'synthesis'"):
        images = keras.Input((8, 8, 1))
        flat = keras.layers.Flatten()(images)
        noise = keras.Input((4,))
        plain = keras.Model(noise, keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64)(noise)))
        StyleGAN(plain, keras.Model(images, keras.layers.Dense(1)(flat)))


# ------------------------------------------------------------------ training on digits


@pytest.fixture(scope="module")
def trained():
    """A small StyleGAN trained on the digits' train split (15 epochs of 1,257 images)."""
    keras.utils.set_random_seed(0)
    images, _, _ = load_arrays("digits", "train", scale="symmetric")
    model = keras_genzoo.create_model(
        "stylegan", image_shape=(8, 8, 1), latent_dim=16, style_dim=32, mapping_layers=2,
        synthesis_filters=(64, 32), discriminator_filters=(32, 64), seed=1,
    )
    test_images, _, _ = load_arrays("digits", "test", scale="symmetric")
    fid_before = fid(test_images, model.generate(1000, seed=0), "digits", SYMMETRIC)
    w_mean_before = np.array(model.w_mean)
    history = model.fit(images, batch_size=64, epochs=15, verbose=0).history
    fid_after = fid(test_images, model.generate(1000, seed=0), "digits", SYMMETRIC)
    return model, history, fid_before, fid_after, w_mean_before


def test_training_on_digits(trained):
    """Losses stay finite, FID falls by more than half (measured: 215 -> 72), the
    average generator differs from the live one, and the tracked mean w moves."""
    model, history, fid_before, fid_after, w_mean_before = trained
    for name, values in history.items():
        assert np.all(np.isfinite(values)), name
    assert history["r1_penalty"][-1] > 0
    assert fid_after < 0.5 * fid_before, (fid_before, fid_after)
    live = model.generate(8, seed=0, use_ema=False)
    assert np.abs(live - model.generate(8, seed=0)).max() > 1e-3
    assert np.abs(np.array(model.w_mean) - w_mean_before).max() > 0.05


def test_per_layer_noise_changes_only_fine_detail(trained):
    """Resampling the noise (same latents) changes the classifier's label of fewer than
    NOISE_FLIP_BOUND of the images, and of far fewer than a new latent does; the noise
    does change pixels."""
    model = trained[0]
    classifier = load_feature_classifier("digits")
    latent = model.sample_latent(500, seed=1)
    base = model.generate_from_latent(latent, noise="random", seed=1)
    renoised = model.generate_from_latent(latent, noise="random", seed=2)
    relatent = model.generate_from_latent(model.sample_latent(500, seed=2), noise="random", seed=1)
    assert np.abs(base - renoised).max() > 1e-3
    labels = classifier.predict(base, SYMMETRIC)
    noise_flips = float(np.mean(classifier.predict(renoised, SYMMETRIC) != labels))
    latent_flips = float(np.mean(classifier.predict(relatent, SYMMETRIC) != labels))
    assert noise_flips < NOISE_FLIP_BOUND, noise_flips
    assert noise_flips < 0.35 * latent_flips, (noise_flips, latent_flips)


@pytest.mark.slow
def test_example_writes_its_figures_and_reloads(tmp_path, monkeypatch):
    """examples/stylegan_digits.py (two epochs): samples at two truncations, the mixing
    sheet (6 x 6 digits with the sources), the walk in W and the reloaded model."""
    import os
    import runpy
    import sys

    from PIL import Image

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    example = os.path.join(repo, "examples", "stylegan_digits.py")
    monkeypatch.setattr(sys, "argv", [example, "--epochs", "2", "--out", str(tmp_path)])
    runpy.run_path(example, run_name="__main__")
    for name in ("samples_psi1.0.png", "samples_psi0.7.png", "style_walk.png", "stylegan.keras"):
        assert (tmp_path / name).is_file(), name
    sheet = Image.open(tmp_path / "style_mixing.png")
    assert sheet.size[0] == sheet.size[1]  # 6 x 6 tiles
