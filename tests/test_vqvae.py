"""VQ-VAE family: the quantiser's maths (straight-through gradients, the EMA codebook
against its closed form, dead-code restarts), the prior's causality, and compression
on real data (scikit-learn's digits): exact round trips over the whole held-out split,
the coded length against the ideal one, and clear failures on damaged bytes. The
MNIST rate-distortion comparison lives in benchmarks/vqvae_compression.py.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from testing import assert_batch_invariant

import keras_genzoo
from keras_genzoo import cli
from keras_genzoo.data import load_arrays
from keras_genzoo.models.vqvae import (
    HEADER_BYTES,
    CorruptDataError,
    VectorQuantizer,
    build_code_prior,
    read_header,
)

SMALL = dict(image_shape=(8, 8, 1), num_codes=16, code_dim=4, filters=(16,), prior_filters=16,
             prior_layers=3)


@pytest.fixture(scope="module")
def digits():
    train, train_labels, _ = load_arrays("digits", "train")
    test, test_labels, _ = load_arrays("digits", "test")
    return train, train_labels.astype(np.int32), test, test_labels.astype(np.int32)


@pytest.fixture(scope="module")
def trained(digits):
    """A small VQ-VAE (4 x 4 grid, 16 codes) trained briefly on the digits' training split."""
    train, _, _, _ = digits
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("vqvae", restart_interval=20, **SMALL)
    model.fit(train, batch_size=32, epochs=4, verbose=0)
    model.fit_prior(train, batch_size=32, epochs=1, verbose=0)
    return model


# ------------------------------------------------------------------ quantiser


def test_straight_through_gradient_and_nearest_codes():
    quantizer = VectorQuantizer(4, 2, ema=False)
    codebook = np.array([[0, 0], [1, 0], [0, 1], [3, 3]], np.float32)
    quantizer.codebook.assign(codebook)
    z = tf.constant([[[0.9, 0.2], [0.1, 0.2]], [[2.0, 2.5], [-0.3, 1.4]]], tf.float32)
    weights = tf.constant(np.random.default_rng(0).normal(size=(2, 2, 2)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        quantised, indices, codebook_loss, commitment = quantizer(z)
        objective = tf.reduce_sum(weights * quantised)
    np.testing.assert_array_equal(indices.numpy(), [[1, 0], [3, 2]])
    np.testing.assert_allclose(quantised.numpy(), codebook[indices.numpy()], atol=1e-6)
    # the forward value is the code, the gradient passes to z unchanged
    np.testing.assert_allclose(tape.gradient(objective, z).numpy(), weights.numpy(), atol=1e-6)
    expected = np.mean((z.numpy() - codebook[indices.numpy()]) ** 2)
    assert float(commitment) == pytest.approx(expected, rel=1e-5)
    assert float(codebook_loss) == pytest.approx(expected, rel=1e-5)
    # the codebook loss moves codes towards their vectors, the commitment loss does not
    grad = tf.convert_to_tensor(tape.gradient(codebook_loss, quantizer.codebook)).numpy()
    flat_z, flat_i = z.numpy().reshape(-1, 2), indices.numpy().reshape(-1)
    pulled = np.stack([(flat_z[flat_i == k] - codebook[k]).sum(axis=0) for k in range(4)])
    np.testing.assert_allclose(grad, -2.0 / flat_z.size * pulled, rtol=1e-5, atol=1e-7)
    assert tape.gradient(commitment, quantizer.codebook) is None


def test_ema_update_matches_the_closed_form():
    decay, epsilon = 0.8, 1e-3
    quantizer = VectorQuantizer(3, 2, ema=True, decay=decay, epsilon=epsilon)
    codebook = np.array([[0.0, 0.0], [2.0, 0.0], [9.0, 9.0]], np.float32)
    quantizer.codebook.assign(codebook)
    quantizer.ema_sums.assign(codebook)
    z = np.array([[0.2, -0.1], [1.8, 0.3], [2.4, -0.2], [-0.4, 0.1], [2.1, 0.0]], np.float32)
    indices = quantizer.nearest(z)
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 1, 0, 1])
    counts = quantizer.batch_counts(indices)
    quantizer.ema_update(z, indices, counts)

    n = np.array([2.0, 3.0, 0.0])
    sums = np.array([z[[0, 3]].sum(0), z[[1, 2, 4]].sum(0), [0.0, 0.0]])
    counts_avg = decay * np.ones(3) + (1 - decay) * n  # the counts start at one per code
    sums_avg = decay * codebook + (1 - decay) * sums
    total = counts_avg.sum()
    smoothed = (counts_avg + epsilon) / (total + 3 * epsilon) * total
    np.testing.assert_allclose(quantizer.ema_counts.numpy(), counts_avg, rtol=1e-6)
    np.testing.assert_allclose(quantizer.ema_sums.numpy(), sums_avg, rtol=1e-6)
    np.testing.assert_allclose(quantizer.codebook.numpy(), sums_avg / smoothed[:, None], rtol=1e-5)
    # an unused code keeps (almost) its place instead of collapsing to zero
    np.testing.assert_allclose(quantizer.codebook.numpy()[2], codebook[2], rtol=0.01)
    assert not quantizer.codebook.trainable


def test_dead_codes_restart_on_the_worst_fitted_vectors():
    quantizer = VectorQuantizer(4, 2, ema=True, dead_code_threshold=0.5)
    codebook = np.array([[0, 0], [1, 1], [50, 50], [60, 60]], np.float32)
    quantizer.codebook.assign(codebook)
    quantizer.usage.assign([0.5, 0.5, 0.0, 0.0])  # codes 2 and 3 receive nothing
    z = np.array([[0.1, 0.0], [4.0, 4.0], [1.0, 1.2], [-3.0, 0.0]], np.float32)
    errors = np.min(quantizer.distances(z).numpy(), axis=1)

    assert int(quantizer.restart_dead_codes(z, errors, tf.constant(False))) == 0
    np.testing.assert_array_equal(quantizer.codebook.numpy(), codebook)

    assert int(quantizer.restart_dead_codes(z, errors, tf.constant(True))) == 2
    after = quantizer.codebook.numpy()
    np.testing.assert_array_equal(after[:2], codebook[:2])  # live codes stay
    np.testing.assert_array_equal(after[2], z[1])  # the worst-fitted vector first
    np.testing.assert_array_equal(after[3], z[3])  # then the next worst
    np.testing.assert_allclose(quantizer.usage.numpy()[2:], [0.25, 0.25])  # not dead again at once


@pytest.mark.slow
def test_training_restarts_dead_codes_on_real_digits(digits):
    """From a collapsed codebook (one code takes every vector, the others are out of use),
    restarts bring codes into use; without restarts (threshold 0) it stays collapsed."""
    train = digits[0][:256]
    used = {}
    for threshold in (0.0, 0.5):
        keras.utils.set_random_seed(1)
        model = keras_genzoo.create_model("vqvae", restart_interval=4, dead_code_threshold=threshold,
                                          **SMALL)
        collapsed = np.full((16, 4), 100.0, np.float32)
        collapsed[0] = 0.0
        model.quantizer.codebook.assign(collapsed)
        model.quantizer.ema_sums.assign(collapsed)
        model.quantizer.usage.assign(np.eye(16, dtype=np.float32)[0])
        model.fit(train, batch_size=32, epochs=1, verbose=0)
        used[threshold] = len(np.unique(model.code_indices(digits[2])))
    assert used[0.0] <= 2 and used[0.5] >= 8, used


# ---------------------------------------------------------------------- prior


def test_prior_sees_only_earlier_positions():
    keras.utils.set_random_seed(0)
    prior = build_code_prior((4, 3), 5, filters=8, num_layers=3)
    for layer in prior.layers:  # non-zero biases and weights everywhere
        for weight in layer.weights:
            weight.assign(np.random.default_rng(1).normal(0, 0.5, weight.shape))
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 5, (1, 4, 3))
    base = prior(np.eye(5, dtype=np.float32)[codes]).numpy().reshape(12, 5)
    for position in range(12):
        changed = codes.copy().reshape(-1)
        changed[position] = (changed[position] + 1) % 5
        out = prior(np.eye(5, dtype=np.float32)[changed.reshape(1, 4, 3)]).numpy().reshape(12, 5)
        moved = np.abs(out - base).max(axis=1)
        assert np.all(moved[: position + 1] == 0), (position, moved)
        if position < 11:
            assert moved[position + 1] > 1e-6  # the next position sees it (no blind spot)


# ---------------------------------------------------------------- compression


def test_round_trip_is_exact_on_every_held_out_digit(trained, digits):
    _, _, test, _ = digits
    data = trained.compress(test)
    assert len(data) == len(test) and all(isinstance(d, bytes) for d in data)
    decoded = trained.decompress(data)
    expected = trained.decode(trained.quantise(trained.encode_continuous(test)))
    np.testing.assert_array_equal(decoded, expected)
    np.testing.assert_array_equal(trained.decode_indices(trained.code_indices(test)), expected)
    assert read_header(data[0]) == (4, 4, 16, None)
    # it learned something: better than the mean image, several codes in use
    mean_mse = np.mean((test - test.mean(axis=0)) ** 2)
    assert np.mean((decoded - test) ** 2) < 0.6 * mean_mse
    assert len(np.unique(trained.code_indices(test))) >= 6


def test_coded_length_is_within_one_percent_of_the_ideal(trained, digits):
    _, _, test, _ = digits
    data = trained.compress(test)
    ideal = -trained.code_log_likelihood(trained.code_indices(test)) / np.log(2.0)
    payload = np.array([8 * (len(d) - HEADER_BYTES) for d in data], np.float64)
    # the range coder writes whole 32-bit words and flushes its state: at most two words
    # over the ideal length, per image
    assert np.all(payload <= 1.01 * ideal + 64), np.max(payload - 1.01 * ideal)
    assert payload.sum() <= 1.01 * ideal.sum() + 64 * len(payload)
    assert np.all(payload >= ideal - 1e-6 * ideal - 1)


def test_damaged_bytes_fail_clearly_never_silently(trained, digits):
    _, _, test, _ = digits
    images = test[:3]
    data = trained.compress(images)
    good = trained.decompress(data)
    raised = 0
    for index, item in enumerate(data):
        for position in range(len(item)):
            damaged = bytearray(item)
            damaged[position] ^= 0x5A
            try:
                out = trained.decompress(bytes(damaged))
            except CorruptDataError:
                raised += 1
                continue
            assert_batch_invariant(out[0], good[index])  # never a wrong image
    assert raised >= 0.9 * sum(len(d) for d in data)
    for cut in (1, 4, len(data[0]) - HEADER_BYTES, len(data[0]) - 3):
        with pytest.raises(CorruptDataError, match="truncated|too short|checksum"):
            trained.decompress(data[0][:-cut])
    with pytest.raises(CorruptDataError, match="not a compressed image|Not a compressed"):
        trained.decompress(b"PK" + data[0][2:])
    other = keras_genzoo.create_model("vqvae", **dict(SMALL, num_codes=8))
    with pytest.raises(CorruptDataError, match="16 codes; this model codes 4 x 4 grids of 8"):
        other.decompress(data[0])
    with pytest.raises(TypeError, match="bytes"):
        trained.decompress(["not bytes"])


def test_conditional_model_stores_the_label(digits):
    _, _, test, test_labels = digits
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("vqvae_conditional", **SMALL)  # untrained codes code as well
    data = model.compress(test[:40], labels=test_labels[:40])
    codes, labels = model.decompress_codes(data)
    np.testing.assert_array_equal(labels, test_labels[:40])
    np.testing.assert_array_equal(codes, model.code_indices(test[:40], labels=test_labels[:40]))
    assert read_header(data[0])[3] == test_labels[0]
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        model.compress(test[:2])


def test_fit_prior_trains_only_the_prior(trained, digits):
    before = {v.path: v.numpy().copy() for v in trained.weights}
    trained.fit_prior(digits[0][:64], batch_size=32, epochs=1, verbose=0)
    moved = {v.path for v in trained.weights if not np.array_equal(before[v.path], v.numpy())}
    assert moved and moved <= {v.path for v in trained.prior.weights}, moved
    for path, value in before.items():  # restore for the other tests
        next(v for v in trained.weights if v.path == path).assign(value)


# ------------------------------------------------------------------------- CLI


def test_cli_compresses_and_decompresses_a_folder(trained, digits, tmp_path, capsys):
    _, _, test, _ = digits
    source = tmp_path / "images"
    source.mkdir()
    pixels = np.round(test[:5, ..., 0] * 255).astype(np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image, "L").save(source / f"digit{i}.png")
    run = tmp_path / "model.keras"
    trained.save(run)
    assert cli.main(["compress", str(run), str(source), str(tmp_path / "packed")]) == 0
    packed = sorted(os.listdir(tmp_path / "packed"))
    assert packed == [f"digit{i}.vqz" for i in range(5)]
    assert "bits per image" in capsys.readouterr().out
    assert cli.main(["decompress", str(run), str(tmp_path / "packed"), str(tmp_path / "out")]) == 0
    images = np.stack([np.asarray(Image.open(tmp_path / "out" / f"digit{i}.png")) for i in range(5)])
    expected = trained.reconstruct(pixels[..., None].astype(np.float32) / 255.0)
    np.testing.assert_array_equal(images, np.clip(np.round(expected[..., 0] * 255), 0, 255).astype(np.uint8))
    # existing outputs are kept without --overwrite; a damaged file stops everything
    assert cli.main(["compress", str(run), str(source), str(tmp_path / "packed")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    damaged = (tmp_path / "packed" / "digit3.vqz").read_bytes()
    (tmp_path / "packed" / "digit3.vqz").write_bytes(damaged[:-4])
    assert cli.main(["decompress", str(run), str(tmp_path / "packed"), str(tmp_path / "again")]) == 2
    assert not (tmp_path / "again").exists() or not os.listdir(tmp_path / "again")
    assert cli.main(["compress", "vqvae", str(source), str(tmp_path / "x")]) == 2


def test_sampled_codes_follow_the_prior_exactly():
    """On a 1 x 3 grid of 3 codes, the frequencies of 30,000 sampled grids match the
    prior's joint probabilities p(c0) p(c1 | c0) p(c2 | c0, c1), all 27 of them."""
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("vqvae", image_shape=(2, 6, 1), num_codes=3, code_dim=2,
                                      filters=(4,), prior_filters=8, prior_layers=2)
    assert model.grid_shape == (1, 3)
    for weight in model.prior.weights:  # a prior far from uniform
        weight.assign(np.random.default_rng(3).normal(0, 0.8, weight.shape))
    grids = np.array(np.meshgrid(*[np.arange(3)] * 3, indexing="ij")).reshape(3, -1).T.reshape(27, 1, 3)
    exact = np.exp(model.code_log_likelihood(grids))
    assert exact.sum() == pytest.approx(1.0, abs=1e-5) and exact.max() > 3 * exact.min()
    samples = model.sample_codes(30000, seed=5, batch_size=30000).reshape(-1, 3)
    counts = np.bincount(samples @ np.array([9, 3, 1]), minlength=27)
    expected = 30000 * exact
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected) + 5), (counts, expected.round())
