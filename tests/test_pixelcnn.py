"""Autoregressive family: masked convolutions, Gated PixelCNN maths, sampling, training.

Causality is checked numerically: every sub-pixel of an input is changed in turn and
the change of every output distribution is measured (a dependence matrix over the
raster order). Normalisation sums the model's probabilities over every image of a tiny
size. Evidence on real data uses scikit-learn's digits (17 grey levels, so a
17-way categorical likelihood models them exactly); the MNIST likelihood comparison
lives in benchmarks/likelihood_mnist.py.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf
import tiny_models
from scipy.special import logsumexp
from testing import check_teacher_forced_sampling, every_image

import keras_genzoo
from keras_genzoo.core.layers import MaskedConv2D, causal_mask
from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import conditional_accuracy
from keras_genzoo.tuning import SearchSpace

ZERO = 1e-6  # largest change that counts as "no dependence" (float rounding)
SOME = 3e-6  # smallest change that counts as a dependence (measured 9e-6 and up)


@pytest.fixture(scope="module")
def digits():
    x, y, info = load_arrays("digits", "train")
    return x, y, info


def _full_view(name="pixelcnn", image_shape=(5, 5, 1), **overrides):
    """A model deep enough that every sub-pixel sees every earlier one of a 5x5 image,
    which the dependence checks below need (not a size for the shared checks)."""
    options = dict(filters=24, num_layers=4, kernel_size=3, first_kernel_size=5)
    options.update(overrides)
    return keras_genzoo.create_model(name, image_shape=image_shape, **options)


def _perturbed(image: np.ndarray, num_levels: int) -> np.ndarray:
    """One copy of `image` per sub-pixel (raster order), that sub-pixel moved one level."""
    flat = image.reshape(-1)
    copies = np.repeat(flat[None], flat.size, axis=0)
    levels = np.round(copies[np.arange(flat.size), np.arange(flat.size)] * (num_levels - 1))
    copies[np.arange(flat.size), np.arange(flat.size)] = ((levels + 1) % num_levels) / (num_levels - 1)
    return copies.reshape(flat.size, *image.shape).astype(np.float32)


def _dependence(outputs_of, images: np.ndarray, num_levels: int) -> np.ndarray:
    """D[p, q]: largest change of output q (raster order) when input sub-pixel p changes.

    `outputs_of(images)` returns (n, positions, values) for a batch of images. The
    largest change over several base `images` is taken, so a dependence that one
    image hides (a ReLU that happens to be off there) still shows.
    """
    changes = []
    for image in images:
        base = outputs_of(image[None])
        changed = outputs_of(_perturbed(image, num_levels))
        changes.append(np.abs(changed - base).max(axis=-1))
    return np.max(changes, axis=0)


def _model_outputs(model, labels=None):
    def outputs_of(images):
        lab = None if labels is None else np.full(len(images), labels)
        dist = model.predict_distributions(images, labels=lab)
        return dist.reshape(len(images), -1, dist.shape[-1])
    return outputs_of


def _random_images(model, count=3, seed=0):
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, model.num_levels, (count, *model.image_shape))
    return (levels / (model.num_levels - 1)).astype(np.float32)


# ------------------------------------------------------------------ masked conv


def test_masked_conv_masks_in_the_forward_pass_and_orders_colours():
    mask_a = causal_mask((3, 3), 3, 6, "A", color_groups=3)
    mask_b = causal_mask((3, 3), 3, 6, "B", color_groups=3)
    # Rows above and the left of the centre row are open, everything after is closed.
    assert np.all(mask_a[0] == 1) and np.all(mask_a[1, 0] == 1)
    assert np.all(mask_a[1, 2] == 0) and np.all(mask_a[2] == 0)
    # Centre tap: input colour g -> output map k (colour k % 3) iff g < k % 3 (A), <= (B).
    colours = np.arange(6) % 3
    np.testing.assert_array_equal(mask_a[1, 1], (np.arange(3)[:, None] < colours).astype(float))
    np.testing.assert_array_equal(mask_b[1, 1], (np.arange(3)[:, None] <= colours).astype(float))

    layer = MaskedConv2D(6, 3, "A", color_groups=3)
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype(np.float32)
    layer(x)
    kernel = np.random.default_rng(1).normal(size=layer.kernel.shape).astype(np.float32)
    layer.kernel.assign(kernel)  # new weights, e.g. loaded: the mask still holds
    expected = tf.nn.conv2d(x, kernel * mask_a, 1, "SAME") + layer.bias
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)  # the mask never edits weights
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x))
    grad = tape.gradient(out, layer.kernel).numpy()
    assert np.all(grad[mask_a == 0] == 0) and np.all(grad[mask_a == 1] != 0)

    clone = MaskedConv2D.from_config(layer.get_config())
    assert clone.mask_type == "A" and clone.color_groups == 3
    for bad, match in (
        (dict(filters=4, kernel_size=2), "odd kernel"),
        (dict(filters=4, kernel_size=3, mask_type="C"), "mask_type"),
        (dict(filters=4, kernel_size=3, color_groups=3), "multiple of color_groups"),
        (dict(filters=3, kernel_size=3, padding="valid"), "padding='same'"),
    ):
        with pytest.raises(ValueError, match=match):
            MaskedConv2D(**bad)(x)


# ------------------------------------------------------------------- causality


def test_gated_pixelcnn_is_causal_and_has_no_blind_spot():
    """Changing sub-pixel p never moves an output at or before p; every earlier pixel
    moves it (gated stacks); a plain masked stack of the same depth misses some."""
    keras.utils.set_random_seed(0)
    model = _full_view()
    images = _random_images(model)
    dependence = _dependence(_model_outputs(model), images, 2)
    later = np.triu(np.ones_like(dependence, bool), k=1)  # later[p, q]: q comes after p
    assert dependence[~later].max() <= ZERO, dependence[~later].max()
    assert dependence[later].min() >= SOME, dependence[later].min()

    # The vertical stack alone: its output at (i, j) depends on rows above i only.
    height, width, _ = model.image_shape
    def vertical_outputs(images):
        links = model.vertical(images)
        return np.concatenate(
            [np.asarray(link).reshape(len(images), height * width, -1) for link in links], -1
        )
    v_dependence = _dependence(vertical_outputs, images, 2)
    rows = np.arange(height * width) // width
    above = rows[:, None] < rows[None, :]  # above[p, q]: p lies in a row above q
    assert v_dependence[~above].max() <= ZERO
    assert v_dependence[above].min() >= SOME

    # keras-io's plain stack (mask A, then B layers) of the same depth has a blind spot.
    plain = keras.Sequential(
        [keras.Input((5, 5, 1)), MaskedConv2D(24, 5, "A"), MaskedConv2D(24, 3, "B"),
         MaskedConv2D(24, 3, "B"), MaskedConv2D(1, 3, "B")]
    )
    plain_dependence = _dependence(lambda x: np.asarray(plain(x)).reshape(len(x), -1, 1), images, 2)
    assert plain_dependence[~later].max() <= ZERO
    blind = later & (plain_dependence <= ZERO)
    assert blind.sum() >= 3, "the plain stack should miss pixels above and to the right"


def test_colour_model_orders_channels_within_a_pixel():
    """R, G, B of a pixel: G sees R, B sees R and G, nothing sees itself or later colours."""
    keras.utils.set_random_seed(1)
    model = _full_view(image_shape=(3, 3, 3), likelihood="categorical", num_levels=4)
    dependence = _dependence(_model_outputs(model), _random_images(model), 4)
    later = np.triu(np.ones_like(dependence, bool), k=1)
    assert dependence[~later].max() <= ZERO
    assert dependence[later].min() >= SOME
    # Within pixel (1, 1): sub-pixels 12, 13, 14 are its R, G, B.
    assert dependence[12, 13] >= SOME and dependence[12, 14] >= SOME and dependence[13, 14] >= SOME
    assert dependence[13, 12] <= ZERO and dependence[14, 13] <= ZERO


def test_conditional_model_is_causal_and_uses_the_label():
    keras.utils.set_random_seed(2)
    model = _full_view("pixelcnn_conditional", num_classes=3)
    images = _random_images(model)
    later = np.triu(np.ones((25, 25), bool), k=1)
    for label in (0, 2):
        dependence = _dependence(_model_outputs(model, label), images, 2)
        assert dependence[~later].max() <= ZERO
        assert dependence[later].min() >= SOME
    a, b = (model.predict_distributions(images[:1], labels=[k]) for k in (0, 2))
    assert np.abs(a - b).max() > 1e-3, "the label must change every distribution, the first too"
    assert np.abs(a - b)[0, 0, 0].max() > 1e-3


# --------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "image_shape, overrides",
    [((3, 4, 1), {}), ((2, 2, 2), {"likelihood": "categorical", "num_levels": 3})],
)
def test_probabilities_of_all_images_sum_to_one(image_shape, overrides):
    """All 2^12 binary 3x4 images, and all 3^8 two-channel 2x2 images with 3 levels."""
    keras.utils.set_random_seed(3)
    model = _full_view(image_shape=image_shape, filters=6, **overrides)
    log_p = model.log_likelihood(every_image(image_shape, model.num_levels), batch_size=4096)
    assert abs(logsumexp(log_p)) < 1e-4, logsumexp(log_p)


# ----------------------------------------------------------------- sampling


def test_sampling_uses_the_teacher_forced_distributions():
    """The distribution each sub-pixel was drawn from equals one forward pass over the
    finished sample; the cached and the uncached loops draw the same images."""
    keras.utils.set_random_seed(4)
    model = _full_view("pixelcnn_conditional", image_shape=(4, 3, 3), num_classes=4,
                  likelihood="categorical", num_levels=5, num_layers=2)
    labels = np.array([0, 1, 2, 3, 1, 2])
    images, used = check_teacher_forced_sampling(model, labels, seed=7)
    assert images.shape == (6, 4, 3, 3) and used.shape == (6, 4, 3, 3, 5)
    uncached, uncached_used = model.sample_with_distributions(
        6, labels=labels, seed=7, cached=False
    )
    np.testing.assert_array_equal(images, uncached)
    np.testing.assert_allclose(uncached_used, used, atol=1e-5)
    np.testing.assert_array_equal(model.generate(6, labels=labels, seed=7), images)
    assert np.any(model.generate(6, labels=labels, seed=8) != images)


def test_bernoulli_samples_are_binary_and_cached_is_a_family_option():
    model = tiny_models.build("pixelcnn")
    images = model.generate(5, seed=0)
    assert set(np.unique(images)) <= {0.0, 1.0}
    np.testing.assert_array_equal(model.generate(5, seed=0, cached=False), images)


# ------------------------------------------------------------ evidence on digits


@pytest.fixture(scope="module")
def digits_conditional(digits):
    """Conditional PixelCNN, 17-level categorical, trained 25 epochs on the digits."""
    x, y, info = digits
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "pixelcnn_conditional", image_shape=info.image_shape, likelihood="categorical",
        num_levels=17, filters=48, num_layers=5, learning_rate=2e-3,
    )
    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(64)
    history = model.fit(train, epochs=25, verbose=0).history
    return model, history


@pytest.mark.slow
def test_conditional_digits_are_classified_as_requested(digits_conditional, digits):
    """>= 90 % of 500 samples (50 per class) are classified as the requested digit by the
    shipped digits classifier; held-out NLL falls far below the uniform model's.

    Slow: about 9 minutes on a loaded 2-core CPU. examples/pixelcnn_digits.py, with the
    same settings and another shuffle, measured 94.0 % and a held-out NLL of 75.7 nats.
    """
    model, history = digits_conditional
    x_test, y_test, _ = load_arrays("digits", "test")
    uniform = 64 * np.log(17)  # 181.3 nats
    held_out = -model.log_likelihood(x_test, labels=y_test).mean()
    assert history["loss"][-1] < history["loss"][0] and held_out < 0.6 * uniform, held_out
    bits = model.bits_per_dim(x_test, labels=y_test).mean()
    np.testing.assert_allclose(bits, held_out / (64 * np.log(2)), rtol=1e-6)
    labels = np.arange(500) % 10
    samples = model.generate(500, labels=labels, seed=0)
    result = conditional_accuracy(samples, labels, "digits")
    assert result.accuracy >= 0.9, result


def test_colour_32x32_fit_and_generate_smoke(digits):
    """8-bit colour images (digits tinted per channel, 32x32x3): one epoch, then samples."""
    x, _, _ = digits
    big = tf.image.resize(x[:32], (32, 32), method="nearest").numpy()
    colour = np.concatenate([big, 1.0 - big, 0.5 * big], axis=-1)
    colour = np.round(colour * 255) / 255
    model = keras_genzoo.create_model(
        "pixelcnn", image_shape=(32, 32, 3), likelihood="categorical", filters=6,
        num_layers=2, first_kernel_size=3,
    )
    history = model.fit(colour.astype(np.float32), batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    # About 3072 * ln 256 = 17,035 nats for a uniform model; one epoch starts from there.
    assert 5000 < history["loss"][0] < 20000
    samples = model.generate(2, seed=0)
    assert samples.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(np.round(samples * 255), samples * 255, atol=1e-3)  # 8-bit levels


# ------------------------------------------------------------ training mechanics


def test_bad_input_gets_clear_errors(digits):
    x, _, _ = digits
    model = tiny_models.build("pixelcnn")
    with pytest.raises(ValueError, match="binarise them"):
        model.fit(x[:32], verbose=0)  # grey levels under a Bernoulli likelihood
    categorical = tiny_models.build("pixelcnn", likelihood="categorical")
    with pytest.raises(ValueError, match="quantise them"):
        categorical.log_likelihood(x[:4])  # 17 grey levels are not on the 256-level grid
    for overrides, match in (
        ({"likelihood": "gaussian"}, "likelihood must be one of"),
        ({"kernel_size": 4}, "must be odd"),
        ({"num_layers": 0}, "num_layers must be a positive integer"),
        ({"likelihood": "categorical", "num_levels": 1}, "num_levels must be an integer >= 2"),
    ):
        with pytest.raises(ValueError, match=match):
            keras_genzoo.create_model("pixelcnn", **overrides)


# ------------------------------------------------------------- widths on colour


def _widths(model):
    """(stack width, head width) of a built PixelCNN."""
    return (model.vertical.get_layer("v0_conv").filters // 2,
            model.horizontal.get_layer("head_conv").filters)


@pytest.mark.parametrize("image_shape", [(8, 8, 3), pytest.param((32, 32, 3), marks=pytest.mark.slow)])
def test_default_builder_builds_and_trains_one_step_on_colour(image_shape):
    """The default width, 64, is rounded up to 66 on RGB; one training step is finite."""
    keras.utils.set_random_seed(5)
    model = keras_genzoo.create_model("pixelcnn", image_shape=image_shape)
    assert _widths(model) == (66, 66)
    x = (np.random.default_rng(0).random((4, *image_shape)) < 0.5).astype(np.float32)
    history = model.fit(x, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert int(model.optimizer.iterations) == 1


def test_builder_rounds_widths_up_to_a_multiple_of_the_channels():
    cases = [((8, 8, 1), 8, None, (8, 8)), ((8, 8, 3), 8, None, (9, 9)),
             ((8, 8, 3), 9, 10, (9, 12)), ((8, 8, 4), 17, 4, (20, 4))]
    for image_shape, filters, head_filters, expected in cases:
        model = keras_genzoo.create_model("pixelcnn", image_shape=image_shape, filters=filters,
                                          head_filters=head_filters, num_layers=1)
        assert _widths(model) == expected, (image_shape, filters, head_filters)


@pytest.mark.slow  # 100 builds; the rounding itself is checked in the default run
def test_every_width_the_search_space_proposes_builds_on_grey_and_colour():
    """50 seeded draws of the PixelCNN space build on 1 and 3 channels, each at the drawn
    width rounded up to a multiple of the channels (about 45 s: 100 builds)."""
    space = SearchSpace("pixelcnn", (8, 8, 3))
    hp = kt.HyperParameters()
    space.declare(hp)
    draws = [space.builder_arguments({h.name: h.random_sample(seed) for h in hp.space})
             for seed in range(50)]
    assert sum(arguments["filters"] % 3 != 0 for arguments in draws) > 20, (
        "the draws must include widths that RGB images used to refuse"
    )
    for arguments in draws:
        for channels in (1, 3):
            model = keras_genzoo.create_model("pixelcnn", image_shape=(8, 8, channels), **arguments)
            width = _widths(model)[0]
            assert width % channels == 0 and 0 <= width - arguments["filters"] < channels, arguments
