"""Autoregressive family, Row LSTM PixelRNN: causality from the network's Jacobian, its
triangular receptive field, normalisation over every image of a tiny size, sampling
from the teacher-forced distributions, its layer and its search space.

The shared model checks (round trip, generate by seed, mixed precision, bad inputs) run
on `pixelrnn` and `pixelrnn_conditional` in tests/test_model_contract.py.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp
from testing import check_teacher_forced_sampling, every_image

import keras_genzoo
from keras_genzoo.models.pixelcnn import AutoregressiveModel, PixelRNN, RowLSTM, build_row_lstm
from keras_genzoo.tuning import SearchSpace


def _row_lstm(image_shape, **overrides):
    options = dict(filters=12, num_layers=2, kernel_size=3, first_kernel_size=3)
    options.update(overrides)
    return keras_genzoo.create_model("pixelrnn", image_shape=image_shape, **options)


def _jacobian(model, count=3, seed=0):
    """J[q, p]: the largest |d logit of sub-pixel q / d input sub-pixel p| over `count`
    random images, sub-pixels in raster order (row, column, colour), all logits of q."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, model.num_levels, (count, *model.image_shape))
    images = tf.constant(levels / (model.num_levels - 1), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        size = int(np.prod(model.image_shape))
        logits = tf.reshape(model(images), (count, size, -1))  # (n, q, K)
    jac = tape.batch_jacobian(logits, images)  # (n, q, K, H, W, C)
    jac = tf.reshape(tf.abs(jac), (count, size, -1, size))
    return tf.reduce_max(jac, axis=(0, 2)).numpy()


def test_row_lstm_is_causal_and_sees_a_triangle_above_each_pixel():
    """A logit never depends on its own sub-pixel or a later one; it depends on the pixel
    to its left and on every pixel of the triangle above it (d rows up, d columns either
    side), which only the recurrence reaches beyond the first layer's 3 x 3 window; one
    layer with kernels of 3 misses the pixel three columns right in the row above."""
    keras.utils.set_random_seed(0)
    height, width = 5, 7
    model = _row_lstm((height, width, 1), num_layers=1)
    jac = _jacobian(model)
    later = np.triu(np.ones_like(jac, bool))  # later[q, p]: p is q itself or after it
    assert jac[later].max() == 0.0, jac[later].max()
    for i in range(height):
        for j in range(width):
            q = i * width + j
            if j > 0:
                assert jac[q, q - 1] > 0, (i, j)
            for r in range(i):
                for s in range(max(0, j - (i - r)), min(width, j + (i - r) + 1)):
                    assert jac[q, r * width + s] > 0, ((i, j), (r, s))
    # The Row LSTM's blind region: (i - 1, j + 3) is outside pixel (i, j)'s triangle.
    assert jac[2 * width + 1, 1 * width + 4] == 0.0
    assert jac[4 * width + 0, 3 * width + 3] == 0.0


def test_colour_row_lstm_orders_the_channels_within_a_pixel():
    """R, G, B of a pixel: G sees R, B sees R and G; nothing sees itself or a later one."""
    keras.utils.set_random_seed(1)
    model = _row_lstm((3, 3, 3), likelihood="categorical", num_levels=4)
    jac = _jacobian(model)
    later = np.triu(np.ones_like(jac, bool))
    assert jac[later].max() == 0.0
    # Pixel (1, 1) holds sub-pixels 12, 13, 14 (R, G, B); pixel (0, 1) is 3, 4, 5.
    assert jac[13, 12] > 0 and jac[14, 12] > 0 and jac[14, 13] > 0
    assert np.all(jac[12, 3:6] > 0), "every colour of the pixel above is seen"


def test_conditional_row_lstm_is_causal_and_uses_the_label():
    keras.utils.set_random_seed(2)
    model = keras_genzoo.create_model(
        "pixelrnn_conditional", image_shape=(4, 4, 1), num_classes=3, filters=8, num_layers=1
    )
    images = (np.random.default_rng(0).random((2, 4, 4, 1)) < 0.5).astype(np.float32)
    a, b = (model.predict_distributions(images, labels=[k, k]) for k in (0, 2))
    assert np.abs(a - b)[:, 0, 0].max() > 1e-3, "the label must change the first pixel's distribution"
    with tf.GradientTape() as tape:
        x = tf.constant(images)
        tape.watch(x)
        logits = tf.reshape(model((x, tf.constant([1, 1]))), (2, 16))
    jac = tape.batch_jacobian(logits, x)
    jac = tf.reduce_max(tf.abs(tf.reshape(jac, (2, 16, 16))), axis=0).numpy()
    assert jac[np.triu(np.ones((16, 16), bool))].max() == 0.0
    assert jac[5, 0] > 0 and jac[5, 4] > 0


@pytest.mark.parametrize(
    "image_shape, overrides",
    [((3, 3, 1), {}), ((2, 2, 2), {"likelihood": "categorical", "num_levels": 3})],
)
def test_probabilities_of_all_images_sum_to_one(image_shape, overrides):
    """All 2^9 binary 3x3 images, and all 3^8 two-channel 2x2 images with 3 levels."""
    keras.utils.set_random_seed(3)
    model = _row_lstm(image_shape, filters=6, **overrides)
    log_p = model.log_likelihood(every_image(image_shape, model.num_levels), batch_size=4096)
    assert abs(logsumexp(log_p)) < 1e-4, logsumexp(log_p)
    assert model.likelihood_kind == "exact"


def test_sampling_uses_the_teacher_forced_distributions():
    """The distribution each sub-pixel was drawn from equals one forward pass over the
    finished sample; the samples' log-likelihood is the sum of the drawn levels'
    log-probabilities; the same seed gives the same images, another seed others."""
    keras.utils.set_random_seed(4)
    model = keras_genzoo.create_model(
        "pixelrnn_conditional", image_shape=(3, 4, 2), num_classes=3, likelihood="categorical",
        num_levels=5, filters=8, num_layers=2,
    )
    labels = np.array([0, 1, 2, 1])
    images, used = check_teacher_forced_sampling(model, labels, seed=7)
    assert images.shape == (4, 3, 4, 2) and used.shape == (4, 3, 4, 2, 5)
    np.testing.assert_array_equal(model.generate(4, labels=labels, seed=7), images)
    assert np.any(model.generate(4, labels=labels, seed=8) != images)


def test_pixelrnn_shares_the_model_class_and_differs_in_its_network():
    model = keras_genzoo.create_model("pixelrnn", image_shape=(4, 4, 1), filters=4, num_layers=3)
    assert isinstance(model, PixelRNN) and isinstance(model, AutoregressiveModel)
    lstms = [layer for layer in model.network.layers if isinstance(layer, RowLSTM)]
    assert [layer.units for layer in lstms] == [4, 4, 4]
    assert model.network.get_layer("input_conv").kernel_size == (7, 7)
    assert model.network.get_layer("r0_input_to_state").kernel_size == (1, 3)
    assert model.network.get_layer("r0_input_to_state").mask_type == "B"
    defaults = keras_genzoo.create_model("pixelrnn", image_shape=(8, 8, 3))
    assert len([layer for layer in defaults.network.layers if isinstance(layer, RowLSTM)]) == 4
    assert defaults.network.get_layer("r0_lstm").units == 66  # 64 rounded up for RGB


def test_row_lstm_layer_matches_a_step_by_step_recurrence():
    """The scan equals an LSTM written out row by row in NumPy."""
    keras.utils.set_random_seed(5)
    layer = RowLSTM(2, 3)
    gates = np.random.default_rng(0).normal(size=(2, 3, 4, 8)).astype(np.float32)
    out = np.asarray(layer(gates))
    kernel, bias = (np.asarray(w) for w in layer.state_to_state.weights)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    hidden = np.zeros((2, 4, 2), np.float32)
    cell = np.zeros_like(hidden)
    for row in range(3):
        padded = np.pad(hidden, ((0, 0), (1, 1), (0, 0)))
        recurrent = sum(padded[:, t : t + 4] @ kernel[t] for t in range(3)) + bias
        i, f, o, g = np.split(gates[:, row] + recurrent, 4, axis=-1)
        cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(g)
        hidden = sigmoid(o) * np.tanh(cell)
        np.testing.assert_allclose(out[:, row], hidden, atol=1e-5)
    assert RowLSTM.from_config(layer.get_config()).kernel_size == 3


def test_bad_networks_and_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="4 \\* units = 8 gate channels, got 6"):
        RowLSTM(2)(np.zeros((1, 2, 2, 6), np.float32))
    for overrides, match in (
        ({"kernel_size": 4}, "kernel_size must be odd"),
        ({"first_kernel_size": 2}, "first_kernel_size must be odd"),
        ({"num_layers": 0}, "num_layers must be a positive integer"),
        ({"likelihood": "gaussian"}, "likelihood must be one of"),
    ):
        with pytest.raises(ValueError, match=match):
            keras_genzoo.create_model("pixelrnn", image_shape=(4, 4, 1), **overrides)
    network = build_row_lstm((4, 4, 1), outputs_per_channel=3, filters=4, num_layers=1)
    with pytest.raises(ValueError, match="must output logits \\(rows, 4, 1, 1\\)"):
        PixelRNN(network, image_shape=(4, 4, 1))  # 3 logits, but a Bernoulli likelihood
    with pytest.raises(ValueError, match="network takes images of shape \\(4, 4, 1\\)"):
        PixelRNN(network, image_shape=(5, 4, 1), likelihood="categorical", num_levels=3)
    with pytest.raises(ValueError, match="images and one-hot labels"):
        PixelRNN(network, image_shape=(4, 4, 1), likelihood="categorical", num_levels=3,
                 num_classes=2)


def test_search_space_tunes_width_and_depth_and_its_draws_build():
    space = SearchSpace("pixelrnn", (6, 6, 1))
    assert {"filters", "num_layers", "kernel_size", "learning_rate", "batch_size"} <= set(space.names)
    assert space.hyperparameters["num_layers"].dimension.max_value == 8
    hp = kt.HyperParameters()
    space.declare(hp)
    arguments = space.builder_arguments({h.name: h.random_sample(0) for h in hp.space})
    model = keras_genzoo.create_model("pixelrnn", image_shape=(6, 6, 1), **arguments)
    assert model.network.get_layer("r0_lstm").units == arguments["filters"]
