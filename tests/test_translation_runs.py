"""The run layer serving the translators: translation data in a run config (checked where
it comes in), training, the `translations.png` preview, the held-out `translation`
scores, evaluation, exact resumption, folder pairs and the unpaired CycleGAN data."""

from __future__ import annotations

import json
import os

import keras_tuner as kt
import numpy as np
import pytest
from image_folders import grey_digits, write_images
from PIL import Image
from testing import CtrlCAfterEpoch
from tiny_models import TINY_TRANSLATORS

import keras_genzoo
from keras_genzoo import training as runs
from keras_genzoo import tuning
from keras_genzoo.data import load_arrays
from keras_genzoo.data.pairs import downsampled, make_pairs
from keras_genzoo.evaluation.heldout import HeldOut, measure
from keras_genzoo.training.artifacts import (
    PANEL_GAP,
    PREVIEW_IMAGES,
    shown_at,
    side_by_side,
    translation_grid,
)
from keras_genzoo.training.interrupt import TrainingInterrupted
from keras_genzoo.tuning.hypermodel import ZooHyperModel

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYMMETRIC = (-1.0, 1.0)
TINY_UNET = {"generator_filters": [8, 16], "seed": 1}


def _config(model: str, dataset: dict, **changes) -> dict:
    overrides = {k: list(v) if isinstance(v, tuple) else v
                 for k, v in TINY_TRANSLATORS[model].overrides.items()}
    return {"model": model, "overrides": overrides, "dataset": dataset, "epochs": 1,
            "batch_size": 128, "seed": 2, **changes}


# -------------------------------------------------------------------- the config


@pytest.mark.parametrize("model, dataset, message", [
    ("pix2pix", {"pairs": "blur"},
     r"Unknown dataset pairs 'blur'.*Allowed: edges, downsample, mask, grey, folder"),
    ("pix2pix", {"pairs": "edges", "factor": 2},
     r"factor is the downsample factor; it needs pairs=\"downsample\""),
    ("super_resolution", {"pairs": "downsample", "factor": 5}, r"factor must be one of \[2, 3, 4\], got 5"),
    ("super_resolution", {"pairs": "downsample", "factor": 3}, r"factor 3 differs from the model's scale 2"),
    ("unet_translator", {"pairs": "mask", "mask_fraction": 1.5},
     r"mask_fraction must be a number in \(0, 1\)"),
    ("unet_translator", {"pairs": "grey", "mask_fraction": 0.3}, r"mask_fraction needs pairs=\"mask\""),
    ("ae_conv", {"pairs": "edges"}, r"dataset pairs describe translation data, but model 'ae_conv' is not"),
    ("pix2pix", {}, r"'pix2pix' trains on \(input, target\) pairs: set dataset \"pairs\""),
    ("pix2pix", {"unpaired": "digits"}, r"learns from \(input, target\) pairs, not unpaired domains"),
    ("cyclegan", {"pairs": "edges"}, r"'cyclegan' learns from two unpaired domains"),
    ("cyclegan", {}, r"'cyclegan' needs a second domain: set dataset \"unpaired\""),
    ("cyclegan", {"unpaired": {"name": "digits", "binarise": True}},
     r"Unknown option of dataset unpaired: 'binarise'"),
    ("super_resolution", {"pairs": "edges"}, r"enlarges small images: its pairs must be \"downsample\""),
    ("pix2pix", {"pairs": "downsample"}, r"makes inputs smaller than their targets.*Use super_resolution"),
    ("pix2pix", {"pairs": "edges", "input_side": "left"}, r"input_side applies to side-by-side images"),
    ("pix2pix", {"side_by_side": True, "pairs": "edges"}, r"cannot be combined with pairs='edges'"),
    ("pix2pix", {"pairs": "edges", "flip": "yes"}, r"flip must be true or false, got 'yes'"),
    ("cyclegan", {"unpaired": "digits", "flip": True}, r"flip applies to pairs"),
    ("pix2pix", {"pairs": "edges", "recolour": True}, r"recolour .* cannot apply to pairs='edges'"),
    ("cyclegan", {"unpaired": "digits", "recolour": True}, r"recolour .* cannot apply to pairs=None"),
    ("super_resolution", {"pairs": "downsample", "recolour": 1}, r"recolour must be true or false"),
    ("pix2pix", {"pairs": "edges", "noise": "gaussian"}, r"noise cannot be combined with translation data"),
])
def test_translation_data_mistakes_are_refused_where_the_config_comes_in(model, dataset, message):
    with pytest.raises(runs.RunError, match=message):
        runs.RunConfig.from_dict({"model": model, "dataset": {"name": "digits", **dataset}})


def test_translation_data_keys_round_trip_beside_the_dataset_options():
    raw = {"name": "mnist", "holdout_fraction": 0.2, "unpaired": {"name": "digits", "split_seed": 1}}
    config = runs.RunConfig.from_dict({"model": "cyclegan", "dataset": raw})
    assert dict(config.dataset.options) == {"holdout_fraction": 0.2}
    assert config.dataset.pairing == {"unpaired": {"name": "digits", "split_seed": 1}}
    assert config.to_dict()["dataset"] == raw
    assert runs.RunConfig.from_dict(config.to_dict()) == config
    with open(os.path.join(REPO_ROOT, "zoo_configs", "pix2pix_digits.json")) as f:
        zoo = runs.RunConfig.from_dict(json.load(f))
    assert (zoo.dataset.name, dict(zoo.dataset.pairing)) == ("digits", {"pairs": "edges"})


def test_a_factor_that_does_not_divide_the_images_fails_before_anything_is_written(tmp_path):
    config = _config("super_resolution", {"name": "digits", "pairs": "downsample", "factor": 3})
    config["overrides"]["scale"] = 3
    with pytest.raises(runs.RunError, match=r"scale 3 does not divide the image size 8x8"):
        runs.train_run(config, str(tmp_path / "run"), verbose=0)
    assert not os.path.exists(tmp_path / "run")


# ---------------------------------------------------------------- a whole run


def test_a_translator_run_trains_previews_evaluates_and_resumes_exactly(tmp_path):
    """unet_translator on masked digits (new masks and flips every pass, seeded dropout):
    stopped after one of two epochs and resumed, it ends where an uninterrupted run ends;
    the run records the held-out translation scores that `evaluate_run` and a search's
    `val_psnr` recompute, and `translations.png` shows inputs, outputs and targets."""
    config = _config("unet_translator", {"name": "digits", "holdout_fraction": 0.6,
                                         "pairs": "mask", "mask_fraction": 0.3, "flip": True},
                     epochs=2)
    stopped, reference = str(tmp_path / "stopped"), str(tmp_path / "reference")
    with pytest.raises(TrainingInterrupted, match="after 1 of 2 epochs"):
        runs.train_run(config, stopped, callbacks=[CtrlCAfterEpoch(0)], verbose=0)
    resumed = runs.train_run(config, stopped, resume=True, verbose=0)
    uninterrupted = runs.train_run(config, reference, verbose=0)
    for a, b in zip(keras_genzoo.load(stopped).weights, keras_genzoo.load(reference).weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    np.testing.assert_allclose(resumed["history"]["loss"], uninterrupted["history"]["loss"], rtol=1e-5)

    scores = uninterrupted["translation"]
    assert set(scores) == {"num_images", "l1", "psnr", "ssim"}
    assert scores["num_images"] == 1000  # the first 1,000 of the 1,078 held-out digits
    assert 0 < scores["l1"] < 2 and scores["psnr"] > 0 and -1 <= scores["ssim"] <= 1
    assert runs.evaluate_run(reference)["translation"] == pytest.approx(scores, rel=1e-6)

    model = keras_genzoo.load(reference)
    run_config = runs.RunConfig.from_dict(config)
    data = runs.load_run_data(run_config, model)
    inputs, targets = data.test_inputs[:PREVIEW_IMAGES], data.test_targets[:PREVIEW_IMAGES]
    assert np.all(inputs[inputs != targets] == -1.0)  # the mask sets its box to the low end
    held = HeldOut(data.test_inputs, data.test_targets, None, "digits", run_config.seed)
    assert measure("translation", model, held) == pytest.approx(scores, rel=1e-6)
    search = ZooHyperModel.from_run_config(config, objective="val_psnr")
    assert search.score(model) == pytest.approx(scores["psnr"], rel=1e-6)

    with Image.open(os.path.join(reference, "translations.png")) as png:
        written = np.asarray(png)
    expected = translation_grid(model, inputs, targets, seed=run_config.seed)
    assert written.shape[:2] == expected.shape[:2]
    np.testing.assert_array_equal(written.reshape(expected.shape), expected)
    panel = (written.shape[1] - 2 * PANEL_GAP) // 3
    for gap in (panel, 2 * panel + PANEL_GAP):  # three panels, white gaps between them
        assert np.all(written[:, gap : gap + PANEL_GAP] == 255)


def test_the_preview_shows_small_or_grey_inputs_at_the_size_of_the_outputs():
    images = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)
    enlarged = shown_at(images, (8, 8, 3))
    assert enlarged.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(enlarged[..., 0], np.kron(images[..., 0], np.ones((1, 2, 2))))
    np.testing.assert_array_equal(enlarged[..., 0], enlarged[..., 2])
    digits = load_arrays("digits", "test", scale="symmetric")[0][:8]
    low, _ = make_pairs(digits, "downsample", factor=2, value_range=SYMMETRIC)
    model = keras_genzoo.create_model("super_resolution", image_shape=(8, 8, 1), filters=4,
                                      residual_blocks=0, seed=0)
    grid = translation_grid(model, low, digits)
    panel = side_by_side([digits], ["target"], SYMMETRIC)  # one panel at the outputs' size
    assert grid.shape == (panel.shape[0], 3 * panel.shape[1] + 2 * PANEL_GAP, panel.shape[2])
    shown = side_by_side([shown_at(low, (8, 8, 1))], ["input"], SYMMETRIC)
    np.testing.assert_array_equal(grid[:, : panel.shape[1]], shown)
    np.testing.assert_array_equal(grid[:, -panel.shape[1] :], panel)


# --------------------------------------------------------------- other data


def test_folder_pairs_and_side_by_side_images_split_by_the_holdout_fraction(tmp_path):
    digits, _ = grey_digits(20)
    write_images(tmp_path / "pairs" / "A", 255 - digits)
    write_images(tmp_path / "pairs" / "B", digits)
    write_images(tmp_path / "ab", np.concatenate([digits, 255 - digits], axis=2))
    model = keras_genzoo.create_model("unet_translator", image_shape=(8, 8, 1), **TINY_UNET)
    cases = [({"name": str(tmp_path / "pairs"), "pairs": "folder"}),
             ({"name": str(tmp_path / "ab"), "side_by_side": True, "input_side": "right"})]
    for dataset in cases:
        config = runs.RunConfig.from_dict({"model": "unet_translator", "overrides": TINY_UNET,
                                          "dataset": {**dataset, "holdout_fraction": 0.25}})
        assert runs.probe_dataset(config).image_shape == (8, 8, 1)
        data = runs.load_run_data(config, model)
        assert (data.train_info.num_examples, len(data.test_inputs)) == (15, 5)
        np.testing.assert_allclose(data.test_inputs, -data.test_targets, atol=1e-6)  # inverted
        batch_in, batch_out = next(iter(data.train))
        assert batch_in.shape == batch_out.shape == (15, 8, 8, 1)
    split_wrong = runs.RunConfig.from_dict({"model": "unet_translator", "overrides": TINY_UNET,
                                            "dataset": {**cases[0], "holdout_fraction": 1.5}})
    with pytest.raises(runs.RunError, match=r"holdout_fraction must be a number in \(0, 1\), got 1\.5"):
        runs.load_run_data(split_wrong, model)
    wrong = runs.RunConfig.from_dict({"model": "super_resolution", "overrides": {"seed": 0},
                                      "dataset": cases[0]})
    sr = keras_genzoo.create_model("super_resolution", image_shape=(8, 8, 1))
    with pytest.raises(runs.RunError, match=r"pairs \(8, 8, 1\) inputs with \(8, 8, 1\) targets.*"
                                            r"translates \(4, 4, 1\) into \(8, 8, 1\)"):
        runs.load_run_data(wrong, sr)


@pytest.mark.slow
def test_a_cyclegan_run_trains_on_two_unpaired_domains_and_records_its_cycle(tmp_path):
    config = _config("cyclegan", {"name": "digits", "holdout_fraction": 0.7,
                                  "unpaired": {"name": "digits", "holdout_fraction": 0.5, "split_seed": 3}})
    run = runs.train_run(config, str(tmp_path / "cycle"), verbose=0)
    assert set(run["translation"]) == {"num_images", "cycle_l1"}
    assert run["translation"]["num_images"] == 1000 and 0 < run["translation"]["cycle_l1"] < 2
    assert {"cycle", "identity", "d_loss", "g_loss"} <= set(run["evaluation"])
    assert run["dataset"]["train"]["num_examples"] == 899  # the larger domain: B's half
    assert os.path.isfile(tmp_path / "cycle" / "translations.png")
    assert tuning.resolve_objective("cyclegan", None).objective == kt.Objective("val_cycle_l1", "min")
    assert tuning.resolve_objective("pix2pix", None).objective == kt.Objective("val_psnr", "max")


def test_the_mnist_and_digits_zoo_config_brings_the_digits_to_mnist_size(mnist_dir):
    config = runs.load_run_config(os.path.join(REPO_ROOT, "zoo_configs", "cyclegan_mnist_t10k_digits.json"))
    config = config.replace(dataset={**config.dataset.to_dict(), "data_dir": mnist_dir},
                            overrides={"generator_filters": [8], "discriminator_filters": 8,
                                       "receptive_field": 7, "seed": 0})
    assert runs.probe_dataset(config).image_shape == (28, 28, 1)
    model, _ = runs.build_model(config)
    data = runs.load_run_data(config, model)
    assert data.test_inputs.shape == (2000, 28, 28, 1)  # MNIST's held-out fifth of t10k
    a, b = next(iter(data.train))
    assert a.shape == b.shape == (32, 28, 28, 1)
    assert -1.0 <= float(np.min(b)) and float(np.max(b)) <= 1.0
    assert data.train_info.num_examples == 8000


@pytest.mark.parametrize("recolour", [False, True])
def test_recolour_in_a_run_config_inverts_some_training_pairs_alike(recolour):
    dataset = {"name": "digits", "pairs": "downsample", "recolour": recolour}
    run_config = runs.RunConfig.from_dict(_config("super_resolution", dataset))
    assert runs.RunConfig.from_dict(run_config.to_dict()) == run_config
    model = keras_genzoo.create_model("super_resolution", image_shape=(8, 8, 1))
    inputs, targets = (np.asarray(v) for v in next(iter(runs.load_run_data(run_config, model).train)))
    inverted = np.median(targets.reshape(len(targets), -1), axis=1) > 0  # light background
    assert inverted.any() == recolour and not inverted.all()
    np.testing.assert_allclose(inputs, downsampled(targets, 2), atol=1e-5)
