"""Autoencoders on the real digits: reconstruction, denoising, builders, target checks.

The shared checks (round trip, encoder contract, bad inputs, replicas, mixed precision)
run on every autoencoder in tests/test_model_contract.py."""

from __future__ import annotations

import os
import runpy
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_genzoo
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.models.autoencoders import (
    Autoencoder,
    DenoisingAutoencoder,
    default_loss,
)

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "autoencoder_digits.py")
EPOCHS = 30
NOISE_LEVEL = 0.4
# Measured with EPOCHS=30 on the digits (train 1,438 / held out 359), training seeds 0-3:
# the reconstruction MSE is 0.108-0.116x the mean-image MSE (0.113 for seed 0, the one
# used here). On held-out digits with Gaussian noise (std 0.4, clipped) the MSE to the
# clean digits is 0.0841 for the noisy input, 0.043-0.049 after the plain autoencoder
# and 0.027-0.028 after the denoising one (ratio 0.57-0.63); a plain autoencoder fitted
# on the data layer's (noisy, clean) pairs for 15 epochs leaves 0.37-0.39x the noise.
MAX_RATIO_TO_MEAN_IMAGE = 0.25
MAX_DENOISING_TO_PLAIN = 0.8
MAX_DENOISED_TO_NOISY = 0.5
MAX_PAIR_TRAINED_TO_NOISY = 0.55


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


@pytest.fixture(scope="module")
def digits():
    x_train, _, info = load_arrays("digits", "train")
    x_test, _, _ = load_arrays("digits", "test")
    return x_train, x_test, info


@pytest.fixture(scope="module")
def noisy_test_pairs():
    """Held-out digits with Gaussian noise from the data layer: (noisy, clean) arrays."""
    ds, _ = load_dataset(
        "digits", "test", batch_size=1024, noise="gaussian", noise_level=NOISE_LEVEL, seed=11
    )
    noisy, clean = next(iter(ds))
    return noisy.numpy(), clean.numpy()


@pytest.fixture(scope="module")
def trained(digits):
    """A plain and a denoising dense autoencoder trained alike on the digits."""
    x_train, _, info = digits
    models = {}
    for name, extra in (("ae_dense", {}), ("dae_dense", {"noise_level": NOISE_LEVEL, "seed": 0})):
        keras.utils.set_random_seed(0)
        model = keras_genzoo.create_model(name, image_shape=info.image_shape, **extra)
        model.fit(x_train, batch_size=64, epochs=EPOCHS, verbose=0)
        models[name] = model
    return models


# ------------------------------------------------------------------ evidence on digits


def test_reconstruction_error_far_below_mean_image(digits, trained):
    """Held-out MSE of a trained autoencoder is < 0.25x the MSE of predicting the mean image."""
    x_train, x_test, _ = digits
    model = trained["ae_dense"]
    reconstruction = mse(model.reconstruct(x_test), x_test)
    baseline = mse(x_train.mean(axis=0, keepdims=True), x_test)
    ratio = reconstruction / baseline
    assert ratio < MAX_RATIO_TO_MEAN_IMAGE, (
        f"reconstruction MSE {reconstruction:.4f} is {ratio:.3f}x the mean-image MSE "
        f"{baseline:.4f}; expected < {MAX_RATIO_TO_MEAN_IMAGE} (measured 0.108-0.116)"
    )
    # evaluate() reports the same error through the compiled `mse` metric
    assert model.evaluate(x_test, verbose=0, return_dict=True)["mse"] == pytest.approx(
        reconstruction, rel=1e-4
    )


def test_denoising_model_removes_more_noise_than_plain(trained, noisy_test_pairs):
    """On noisy held-out digits the denoiser's error is < 0.8x the plain one's, < 0.5x the noise's."""
    noisy, clean = noisy_test_pairs
    noisy_error = mse(noisy, clean)
    plain = mse(trained["ae_dense"].reconstruct(noisy), clean)
    denoised = mse(trained["dae_dense"].reconstruct(noisy), clean)
    assert denoised < noisy_error * MAX_DENOISED_TO_NOISY, (denoised, noisy_error)
    assert denoised < plain * MAX_DENOISING_TO_PLAIN, (
        f"denoising MSE {denoised:.4f} vs plain {plain:.4f} (noisy input {noisy_error:.4f}); "
        f"expected ratio < {MAX_DENOISING_TO_PLAIN} (measured 0.57-0.63)"
    )
    # evaluating on explicit (noisy, clean) pairs measures the same thing
    result = trained["dae_dense"].evaluate(noisy, clean, verbose=0, return_dict=True)
    assert result["mse"] == pytest.approx(denoised, rel=1e-4)


def test_trains_on_explicit_noisy_clean_pairs_from_the_data_layer(digits, noisy_test_pairs):
    """A plain autoencoder fitted on (noisy, clean) pairs learns to denoise (< 0.55x the noise)."""
    _, _, info = digits
    pairs, _ = load_dataset(
        "digits", "train", batch_size=64, noise="gaussian", noise_level=NOISE_LEVEL, seed=3
    )
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("ae_dense", image_shape=info.image_shape)
    model.fit(pairs, epochs=15, verbose=0)
    noisy, clean = noisy_test_pairs
    ratio = mse(model.reconstruct(noisy), clean) / mse(noisy, clean)
    assert ratio < MAX_PAIR_TRAINED_TO_NOISY, f"{ratio:.3f} of the noise left (measured 0.37-0.39)"


# ------------------------------------------------------------------------ the noise


def test_denoiser_corrupts_plain_batches_and_keeps_explicit_pairs(digits):
    x_train, _, info = digits
    images = tf.constant(x_train[:256])
    model = keras_genzoo.create_model(
        "dae_dense", image_shape=info.image_shape, noise="masking", noise_level=0.3, seed=5
    )
    inputs, targets = model.training_pair(images, None)
    assert targets is images
    ink = x_train[:256] > 0
    hidden = (inputs.numpy() == 0) & ink
    assert hidden.sum() / ink.sum() == pytest.approx(0.3, abs=0.02)
    again, _ = model.training_pair(images, None)
    assert not np.array_equal(again.numpy(), inputs.numpy()), "each batch needs fresh noise"
    clean = x_train[:8]
    noisy = model.corrupt(clean, seed=1)
    given_in, given_target = model.training_pair(noisy, clean)
    assert given_in is noisy and given_target is clean


def test_gaussian_noise_is_seeded_clipped_and_sized(digits):
    x_train, _, info = digits
    model = keras_genzoo.create_model("dae_conv", image_shape=info.image_shape, noise_level=0.1)
    flat = np.full((64, *info.image_shape), 0.5, np.float32)
    noisy = model.corrupt(flat, seed=3)
    assert np.std(noisy - flat) == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(noisy, model.corrupt(flat, seed=3))
    assert not np.array_equal(noisy, model.corrupt(flat, seed=4))
    edges = model.corrupt(x_train[:64], seed=3)
    assert edges.min() >= 0.0 and edges.max() <= 1.0


# ------------------------------------------------------------- API and serialisation


@pytest.mark.parametrize("name", ("ae_conv", "ae_dense"))
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (7, 9, 2)])
def test_any_image_shape(name, shape):
    model = keras_genzoo.create_model(name, image_shape=shape, latent_dim=6)
    images = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    codes = model.encode(images)
    assert codes.shape == (3, 6) and model.latent_dim == 6
    decoded = model.decode(codes)
    assert decoded.shape == (3, *shape)
    assert decoded.min() >= 0.0 and decoded.max() <= 1.0
    np.testing.assert_allclose(model.reconstruct(images), decoded, atol=1e-6)
    np.testing.assert_allclose(model.predict(images, verbose=0), decoded, atol=1e-6)


def test_symmetric_value_range_uses_tanh_and_mse(digits):
    _, _, info = digits
    model = keras_genzoo.create_model("ae_conv", image_shape=info.image_shape, value_range=(-1, 1))
    assert model.value_range == (-1.0, 1.0)
    assert isinstance(model.loss, keras.losses.MeanSquaredError)
    out = model.decode(np.full((4, model.latent_dim), 50.0, np.float32))
    assert out.min() >= -1.0 and out.max() <= 1.0 and out.min() < 0.0


def test_compile_defaults_and_builder_compiles(digits):
    x_train, _, info = digits
    built = keras_genzoo.create_model("ae_dense", image_shape=info.image_shape, learning_rate=3e-3)
    assert built.compiled
    assert float(built.optimizer.learning_rate.numpy()) == pytest.approx(3e-3)
    assert isinstance(built.loss, keras.losses.BinaryCrossentropy)
    model = Autoencoder(built.encoder, built.bottleneck, built.decoder, image_shape=info.image_shape)
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)
    history = model.fit(x_train[:128], batch_size=64, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mse"}
    assert isinstance(default_loss((-1, 1)), keras.losses.MeanSquaredError)


def test_parts_must_fit_together(digits):
    _, _, info = digits
    dense = keras_genzoo.create_model("ae_dense", image_shape=info.image_shape)
    wide = keras_genzoo.create_model("ae_dense", image_shape=info.image_shape, latent_dim=4)
    with pytest.raises(ValueError, match="bottleneck outputs codes of shape"):
        Autoencoder(dense.encoder, wide.bottleneck, dense.decoder, image_shape=info.image_shape)
    with pytest.raises(ValueError, match="encoder takes inputs of shape"):
        Autoencoder(dense.encoder, dense.bottleneck, dense.decoder, image_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="decode expects latent codes of shape"):
        dense.decode(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"latent_dim": 0}, "latent_dim must be a positive integer"),
        ({"filters": []}, "filters must be a non-empty list"),
        ({"noise": "salt"}, "noise must be one of"),
        ({"noise": "masking", "noise_level": 1.5}, "must lie between 0 and 1"),
        ({"noise_level": -0.1}, "must be positive"),
        ({"value_range": (0, 255)}, "support value_range \\(0, 1\\) or \\(-1, 1\\)"),
        ({"learning_rate": 0}, "learning_rate must be > 0"),
    ],
)
def test_bad_builder_arguments_explain_themselves(overrides, message):
    with pytest.raises(ValueError, match=message):
        keras_genzoo.create_model("dae_conv", image_shape=(8, 8, 1), **overrides)


# -------------------------------------------------------------------- input checks


@pytest.fixture(scope="module")
def fresh_ae(digits):
    return keras_genzoo.create_model("ae_dense", image_shape=digits[2].image_shape)


def test_bad_targets_are_caught_before_training(fresh_ae, digits):
    x = digits[0][:64]
    with pytest.raises(ValueError, match="expects targets in"):
        fresh_ae.fit(x, x * 255, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="expects targets of shape"):
        fresh_ae.fit(x, x[:, :4], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Got 64 inputs but 32 targets"):
        fresh_ae.check_training_data(x, x[:32])
    with pytest.raises(ValueError, match="expects images of shape"):
        fresh_ae.reconstruct(np.zeros((2, 28, 28, 1), np.float32))
    assert int(fresh_ae.optimizer.iterations.numpy()) == 0
    assert isinstance(fresh_ae, Autoencoder) and not isinstance(fresh_ae, DenoisingAutoencoder)


def test_example_script_runs_end_to_end(tmp_path, monkeypatch, capsys):
    """examples/autoencoder_digits.py (1 epoch): its own save/reload asserts hold, files appear."""
    monkeypatch.setattr(sys, "argv", [EXAMPLE, "--out", str(tmp_path), "--epochs", "1"])
    runpy.run_path(EXAMPLE, run_name="__main__")
    out = capsys.readouterr().out
    assert "held-out MSE" in out and "after the denoiser" in out
    for name in ("autoencoder.keras", "denoiser.keras", "reconstructions.png", "denoising.png"):
        assert (tmp_path / name).is_file(), name
