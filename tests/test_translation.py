"""The translation family's own behaviour: its networks' shapes and receptive fields,
CycleGAN's two directions and history buffer, pix2pix's seeded dropout, and training on
real digit pairs (super-resolution beats upsampling, the losses fall, the cycle closes).
The shared checks (round trip, translate, bad inputs, mirrored parity) are in
tests/test_model_contract.py."""

from __future__ import annotations

import os
import runpy
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from image_folders import grey_digits, write_images
from PIL import Image
from tiny_models import build_translator, digit_pairs

import keras_genzoo
from keras_genzoo import cli
from keras_genzoo.data import load_arrays
from keras_genzoo.data.pairs import downsampled, make_pairs, pair_dataset
from keras_genzoo.evaluation.heldout import HeldOut, measure
from keras_genzoo.models.translation import (
    RECEPTIVE_FIELDS,
    PixelShuffle,
    build_patch_discriminator,
    build_subpixel_generator,
    build_unet_generator,
)
from keras_genzoo.models.translation.losses import (
    discriminator_loss,
    generator_loss,
    reconstruction_loss,
)
from keras_genzoo.models.translation.measurements import image_scores


def test_pixel_shuffle_moves_channels_into_blocks():
    x = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)  # two pixels of 4 channels
    out = np.asarray(PixelShuffle(2)(x))
    assert out.shape == (1, 2, 4, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 1, 4, 5], [2, 3, 6, 7]])


@pytest.mark.parametrize("scale, size", [(2, 8), (3, 12), (4, 28)])
def test_super_resolution_makes_images_scale_times_larger(scale, size):
    model = keras_genzoo.create_model(
        "super_resolution", image_shape=(size, size, 3), scale=scale, filters=4, residual_blocks=0
    )
    assert model.translation_shapes("a_to_b") == ((size // scale, size // scale, 3), (size, size, 3))
    small = np.zeros((2, size // scale, size // scale, 3), np.float32)
    out = model.translate(small, seed=0)
    assert out.shape == (2, size, size, 3)
    np.testing.assert_allclose(model.predict(small, verbose=0), out, atol=1e-6)
    with pytest.raises(ValueError, match=rf"expects inputs of shape \(batch, {size // scale}, "):
        model.predict(np.zeros((2, size, size, 3), np.float32))


def test_pix2pix_colourises_grey_inputs():
    model = keras_genzoo.create_model(
        "pix2pix", image_shape=(8, 8, 3), input_channels=1, generator_filters=(4,),
        discriminator_filters=4,
    )
    assert model.translation_shapes("a_to_b") == ((8, 8, 1), (8, 8, 3))
    assert model.discriminator.inputs[0].shape[1:] == (8, 8, 1)
    assert model.translate(np.zeros((3, 8, 8, 1), np.float32)).shape == (3, 8, 8, 3)


def test_builders_refuse_sizes_scales_and_fields_that_do_not_fit():
    with pytest.raises(ValueError, match=r"scale 3 does not divide the image size 28x28"):
        keras_genzoo.create_model("super_resolution", image_shape=(28, 28, 1), scale=3)
    with pytest.raises(ValueError, match=r"scale must be one of \[2, 3, 4\]"):
        keras_genzoo.create_model("srgan", image_shape=(30, 30, 1), scale=5)
    with pytest.raises(ValueError, match=r"28x28 images has at most 2 levels.*filters=\[8, 16, 32\]"):
        keras_genzoo.create_model("pix2pix", image_shape=(28, 28, 1), generator_filters=(8, 16, 32))
    with pytest.raises(ValueError, match=r"receptive_field must be one of \[7, 16, 34, 70"):
        keras_genzoo.create_model("cyclegan", image_shape=(8, 8, 1), receptive_field=10)


def test_unet_depth_follows_the_image_size_and_keeps_it():
    for shape, filters in (((8, 8, 1), (4, 8, 16)), ((28, 28, 1), (4, 8)), ((12, 20, 3), (4, 8))):
        unet = build_unet_generator(shape, 2, filters)
        assert tuple(unet.outputs[0].shape[1:]) == (*shape[:2], 2)


@pytest.mark.parametrize("field", RECEPTIVE_FIELDS[:3])
def test_patch_scores_see_patches_of_the_receptive_field(field):
    """The gradient of one score in the middle of the map reaches exactly `field` pixels
    of each side of a large image (random weights: every path carries some gradient)."""
    keras.utils.set_random_seed(0)
    size = 64
    discriminator = build_patch_discriminator((size, size, 1), receptive_field=field, filters=4)
    image = tf.random.normal((1, size, size, 1))
    with tf.GradientTape() as tape:
        tape.watch(image)
        scores = discriminator(image)
        middle = scores[0, scores.shape[1] // 2, scores.shape[2] // 2, 0]
    reached = np.argwhere(np.abs(tape.gradient(middle, image).numpy()[0, ..., 0]) > 0)
    extent = reached.max(axis=0) - reached.min(axis=0) + 1
    assert extent.tolist() == [field, field]


def test_cyclegan_translates_both_ways_with_its_own_generator():
    model = build_translator("cyclegan")
    a, b = digit_pairs("cyclegan", count=6)
    np.testing.assert_allclose(model.translate(a, direction="a_to_b"), model.generator_ab(a), atol=1e-6)
    np.testing.assert_allclose(model.translate(b, direction="b_to_a"), model.generator_ba(b), atol=1e-6)
    assert not np.allclose(model.translate(a, direction="a_to_b"), model.translate(a, direction="b_to_a"))


def test_history_buffer_fills_then_swaps_half_the_images_for_earlier_ones():
    model = build_translator("cyclegan", pool_size=8)
    pool, stored = model._pools["a"]
    first = tf.random.uniform((6, 8, 8, 1), -1, 1, seed=1)
    np.testing.assert_array_equal(model._history("a", first), first)  # filling: shown as they are
    assert int(stored) == 6
    np.testing.assert_array_equal(np.asarray(pool)[:6], first)
    swapped = 0
    for step in range(10):
        batch = tf.fill((6, 8, 8, 1), float(step) / 10)
        before = np.asarray(pool).copy()
        seen = np.asarray(model._history("a", batch))
        for row in seen:
            is_new = np.allclose(row, float(step) / 10)
            assert is_new or any(np.array_equal(row, old) for old in before), "shown images are new or stored"
            swapped += not is_new
        assert int(stored) == 8
        stored_now = np.asarray(pool)
        assert all(np.allclose(img, float(step) / 10) or any(np.array_equal(img, old) for old in before)
                   for img in stored_now)
    # after the first two fill the buffer, each of 58 images is swapped with probability 1/2
    assert 15 <= swapped <= 43


def test_pix2pix_dropout_is_its_noise_and_can_be_turned_off():
    inputs, _ = digit_pairs("pix2pix", count=4)
    noisy = build_translator("pix2pix")
    assert len(noisy.generator.inputs) == 2
    assert not np.allclose(noisy.translate(inputs, seed=0), noisy.translate(inputs, seed=1))
    quiet = build_translator("pix2pix", dropout=0.0)
    assert len(quiet.generator.inputs) == 1
    np.testing.assert_array_equal(quiet.translate(inputs, seed=0), quiet.translate(inputs, seed=1))


def _psnr(outputs: np.ndarray, targets: np.ndarray) -> float:
    return image_scores(outputs, targets, (-1.0, 1.0))["psnr"]


def test_super_resolution_beats_upsampling_on_held_out_digits():
    """x2 on real 8x8 digits (train and test splits apart): the trained network's PSNR
    is above bilinear upsampling's and its L1 loss fell."""
    keras.utils.set_random_seed(0)
    train, _, _ = load_arrays("digits", "train", scale="symmetric")
    test, _, _ = load_arrays("digits", "test", scale="symmetric")
    x, y = make_pairs(train, "downsample", factor=2)
    model = keras_genzoo.create_model(
        "super_resolution", image_shape=(8, 8, 1), filters=16, residual_blocks=1, seed=1
    )
    history = model.fit(pair_dataset(x, y, batch_size=64), epochs=15, verbose=0).history["loss"]
    assert history[-1] < 0.6 * history[0], history
    x_test, y_test = make_pairs(test, "downsample", factor=2)
    bilinear = tf.image.resize(x_test, (8, 8), method="bilinear").numpy()
    ours = model.translate(x_test)
    held = measure("translation", model, HeldOut(x_test, y_test, None, "digits"))
    assert held["psnr"] == pytest.approx(_psnr(ours, y_test), abs=1e-4)
    assert held["psnr"] > _psnr(bilinear, y_test) + 1.0, (held, _psnr(bilinear, y_test))


def _bicubic(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.clip(tf.image.resize(images, size, method="bicubic").numpy(), -1.0, 1.0)


@pytest.mark.parametrize("scale, size, channels", [(2, 8, 1), (3, 12, 3)])
def test_a_new_super_resolution_network_with_the_skip_is_bicubic(scale, size, channels):
    """Its sub-pixel convolution starts at zero, so it translates exactly as bicubic
    resizing does (clipped to the range); without the skip it does not."""
    rng = np.random.default_rng(0)
    small = rng.uniform(-1.0, 1.0, (4, size // scale, size // scale, channels)).astype(np.float32)
    expected = _bicubic(small, (size, size))
    assert expected.min() == -1.0 and expected.max() == 1.0  # the clipping is exercised
    skip = keras_genzoo.create_model(
        "super_resolution", image_shape=(size, size, channels), scale=scale, filters=4, seed=0
    )
    np.testing.assert_allclose(skip.translate(small), expected, atol=1e-5)
    plain = keras_genzoo.create_model(
        "srgan", image_shape=(size, size, channels), scale=scale, filters=4, seed=0, upsample_skip=False
    )
    assert np.abs(plain.translate(small) - expected).max() > 0.1
    assert "generator_bicubic" not in [layer.name for layer in plain.generator.layers]


def test_the_upsample_skip_needs_as_many_output_channels_as_input_channels():
    with pytest.raises(ValueError, match=r"same channels; got 1 input and 3 output.*upsample_skip=False"):
        build_subpixel_generator((4, 4, 1), 2, output_channels=3)
    plain = build_subpixel_generator((4, 4, 1), 2, output_channels=3, upsample_skip=False)
    assert plain.output_shape == (None, 8, 8, 3)


def test_super_resolution_with_the_skip_passes_bicubic_in_a_few_steps():
    """Three epochs (69 steps) on real digit pairs: the held-out PSNR is clearly above
    bicubic's, and above what the same network without the skip reaches in as many steps."""
    train, _, _ = load_arrays("digits", "train", scale="symmetric")
    test, _, _ = load_arrays("digits", "test", scale="symmetric")
    x, y = make_pairs(train, "downsample", factor=2)
    x_test, y_test = make_pairs(test, "downsample", factor=2)
    baseline = _psnr(_bicubic(x_test, (8, 8)), y_test)
    scores = {}
    for skip in (True, False):
        keras.utils.set_random_seed(0)
        model = keras_genzoo.create_model(
            "super_resolution", image_shape=(8, 8, 1), filters=16, residual_blocks=1, seed=1,
            upsample_skip=skip,
        )
        model.fit(pair_dataset(x, y, batch_size=64, seed=0), epochs=3, verbose=0)
        scores[skip] = _psnr(model.translate(x_test), y_test)
    assert scores[True] > baseline + 0.5, (scores, baseline)
    assert scores[True] > scores[False], (scores, baseline)


def test_pix2pix_losses_fall_on_digit_outlines():
    """Sketch to image on real digits: the L1 to the true digit falls and the
    discriminator learns to tell translations from digits."""
    keras.utils.set_random_seed(0)
    model = build_translator("pix2pix", learning_rate=2e-3)
    inputs, targets = digit_pairs("pix2pix", count=256)
    history = model.fit(pair_dataset(inputs, targets, batch_size=32), epochs=6, verbose=0).history
    assert history["reconstruction"][-1] < 0.7 * history["reconstruction"][0], history
    assert history["d_loss"][-1] < history["d_loss"][0], history


def test_cyclegan_cycle_closes_on_two_digit_domains():
    """Digits and inverted digits: the cycle loss falls, and the held-out round trip
    measured by `cycle` is what translating there and back gives."""
    keras.utils.set_random_seed(0)
    model = build_translator("cyclegan", learning_rate=2e-3)
    a, b = digit_pairs("cyclegan", count=128)
    test = load_arrays("digits", "test", scale="symmetric")[0][:50]
    untrained = measure("cycle", model, HeldOut(test, test, None, "digits"))["cycle_l1"]
    history = model.fit(a, b, batch_size=32, epochs=6, verbose=0).history
    assert history["cycle"][-1] < 0.7 * history["cycle"][0], history
    back = model.translate(model.translate(test), direction="b_to_a")
    held = measure("cycle", model, HeldOut(test, test, None, "digits"))
    assert held["cycle_l1"] == pytest.approx(float(np.mean(np.abs(back - test))), rel=1e-5)
    assert held["cycle_l1"] < 0.7 * untrained, (held, untrained)
    scores = model.evaluate(a, b, batch_size=64, verbose=0, return_dict=True)
    assert sorted(scores) == ["cycle", "d_loss", "g_loss", "identity"]
    assert scores["cycle"] < history["cycle"][0] and np.all(np.isfinite(list(scores.values())))


def test_cli_translates_a_folder_into_files_of_the_same_names(tmp_path, capsys):
    """`keras-genzoo translate` on a saved super-resolution model: every image below the
    input folder, at any depth and in its own format, comes out under the same name,
    as `translate` makes it; a model that does not translate is refused."""
    model = build_translator("super_resolution")
    path = str(tmp_path / "sr.keras")
    model.save(path)
    digits, _ = grey_digits(5)
    small = np.round(downsampled(digits.astype(np.float32), 2)).astype(np.uint8)
    write_images(tmp_path / "in", small[:3])
    write_images(tmp_path / "in" / "more", small[3:], ext="bmp")
    out = tmp_path / "out"
    assert cli.main(["translate", path, "--input", str(tmp_path / "in"), "--out", str(out)]) == 0
    assert "Translated 5 images" in capsys.readouterr().out
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*.*"))
    assert names == ["00000.png", "00001.png", "00002.png", "more/00000.bmp", "more/00001.bmp"]
    expected = model.translate(small.astype(np.float32) / 255.0 * 2 - 1)
    written = np.stack([np.asarray(Image.open(out / name)) for name in names])[..., None]
    np.testing.assert_allclose(written / 255.0 * 2 - 1, expected, atol=1 / 255 + 1e-6)
    assert cli.main(["translate", path, "--input", str(tmp_path / "in"), "--out", str(out)]) == 2
    assert "exist already" in capsys.readouterr().err
    assert cli.main(["translate", "pix2pix", "--input", str(tmp_path / "in"), "--out", str(out)]) == 2
    assert "not trained weights" in capsys.readouterr().err
    other = keras_genzoo.create_model("ae_dense", image_shape=(4, 4, 1), latent_dim=2, units=(4,))
    other.save(str(tmp_path / "ae.keras"))
    assert cli.main(["translate", str(tmp_path / "ae.keras"), "--input", str(tmp_path / "in"),
                     "--out", str(tmp_path / "x")]) == 2
    assert "does not translate images" in capsys.readouterr().err


def test_adversarial_losses_reach_zero_where_each_side_wins():
    real, fake = np.full((4, 2, 2, 1), 1.0), np.zeros((4, 2, 2, 1))
    assert float(discriminator_loss("least_squares", real, fake)) == 0.0
    assert float(generator_loss("least_squares", real)) == 0.0
    assert float(generator_loss("least_squares", fake)) == 0.5
    big = np.full((4, 2, 2, 1), 30.0)
    assert float(discriminator_loss("non_saturating", big, -big)) == pytest.approx(0.0, abs=1e-9)
    assert float(generator_loss("non_saturating", np.zeros(3))) == pytest.approx(np.log(2.0))
    assert float(reconstruction_loss("l2", np.ones(4), np.zeros(4))) == 1.0
    assert float(reconstruction_loss("l1", -np.ones(4), np.ones(4))) == 2.0
    with pytest.raises(ValueError, match=r"adversarial_loss must be one of \['least_squares'"):
        keras_genzoo.create_model("srgan", image_shape=(8, 8, 1), adversarial_loss="hinge")
    with pytest.raises(ValueError, match=r"reconstruction must be one of \['l1', 'l2'\]"):
        keras_genzoo.create_model("super_resolution", image_shape=(8, 8, 1), reconstruction="l3")


def test_evaluate_draws_its_own_noise_and_changes_nothing():
    """pix2pix's held-out losses: the same numbers twice, from noise of their own (its
    training noise stream is untouched, so validation does not change training)."""
    inputs, targets = digit_pairs("pix2pix", count=64)
    model = build_translator("pix2pix")
    state = np.asarray(model._noise_state).copy()
    first = model.evaluate(inputs, targets, batch_size=32, verbose=0, return_dict=True)
    assert sorted(first) == ["adversarial", "d_loss", "g_loss", "reconstruction"]
    assert first == model.evaluate(inputs, targets, batch_size=32, verbose=0, return_dict=True)
    np.testing.assert_array_equal(np.asarray(model._noise_state), state)


@pytest.mark.slow
def test_example_script_runs_end_to_end(tmp_path, monkeypatch, capsys):
    """examples/translation_digits.py (1 epoch): its own reload assert holds, files appear."""
    example = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "translation_digits.py")
    monkeypatch.setattr(sys, "argv", [example, "--out", str(tmp_path), "--epochs", "1"])
    runpy.run_path(example, run_name="__main__")
    out = capsys.readouterr().out
    assert "x2 super_resolution: PSNR" in out and "pix2pix: L1" in out and "cyclegan:" in out
    for name in ("pix2pix.keras", "pix2pix.png", "enlarged/0.png"):
        assert (tmp_path / name).is_file(), name
