"""The run layer: config schema and validation, `train_run`, `evaluate_run`, artifacts."""

from __future__ import annotations

import glob
import json
import os

import keras
import numpy as np
import pytest

import keras_genzoo
from keras_genzoo import training as runs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_CONFIGS = sorted(glob.glob(os.path.join(REPO_ROOT, "zoo_configs", "*.json")))
DATASET_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1)}


def test_zoo_configs_name_registered_models_with_valid_options():
    assert len(ZOO_CONFIGS) >= 4
    names = [os.path.basename(p) for p in ZOO_CONFIGS]
    assert "ae_conv_digits.json" in names
    for path in ZOO_CONFIGS:
        config = runs.load_run_config(path)
        assert config["model"] in keras_genzoo.list_models(), path
        assert config.get("description"), f"{path} needs a description"
        dataset = config["dataset"]["name"]
        model = keras_genzoo.create_model(
            config["model"], image_shape=DATASET_SHAPES[dataset], **config["overrides"]
        )
        assert model.compiled, path
    main_job = runs.load_run_config(os.path.join(REPO_ROOT, "zoo_configs", "ae_conv_digits.json"))
    assert (main_job["model"], main_job["dataset"]["name"]) == ("ae_conv", "digits")


def test_run_configs_reject_bad_values():
    good = {"model": "ae_dense"}
    assert runs.normalize_run_config(good)["epochs"] == runs.RUN_DEFAULTS["epochs"]
    for bad, message in [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": "64"}, "batch_size must be a positive integer"),
        ({"learning_rate": -1}, "learning_rate must be a positive number"),
        ({"dataset": {"name": "digits", "colour": True}}, "Unknown dataset option 'colour'"),
        ({"overrides": [1, 2]}, "overrides must be a JSON object"),
        ({"strategy": "mirorred"}, "did you mean 'mirrored'"),
        ({"model": "ae_dnese"}, "Did you mean: ae_dense"),
    ]:
        with pytest.raises(runs.RunError, match=message):
            runs.normalize_run_config({**good, **bad})


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_train_run_then_evaluate_run_recomputes_the_recorded_metrics(tmp_path):
    """The library entry points: extra callbacks run; evaluate_run reproduces metrics.json."""
    counter = EpochCounter()
    config = {
        "model": "ae_dense", "overrides": {"latent_dim": 4, "units": [32]}, "epochs": 2,
        "batch_size": 256, "learning_rate": 0.01, "seed": 5,
    }
    metrics = runs.train_run(config, str(tmp_path), callbacks=[counter], verbose=0)
    assert counter.epochs == [0, 1]
    assert metrics["builder_arguments"] == {
        "latent_dim": 4, "units": [32], "image_shape": [8, 8, 1], "learning_rate": 0.01
    }
    with open(tmp_path / runs.METRICS_FILE) as f:
        assert json.load(f) == metrics
    recomputed = runs.evaluate_run(str(tmp_path))
    assert recomputed["evaluation"]["mse"] == pytest.approx(metrics["evaluation"]["mse"], rel=1e-5)
    assert recomputed["reconstruction"] == pytest.approx(metrics["reconstruction"], rel=1e-5)


def test_build_model_and_load_run_data_follow_the_config():
    config = runs.normalize_run_config(
        {"model": "cvae_dense", "overrides": {"latent_dim": 2}, "batch_size": 100, "seed": 1}
    )
    model, arguments = runs.build_model(config)
    assert (arguments["image_shape"], arguments["num_classes"]) == ((8, 8, 1), 10)
    data = runs.load_run_data(config, model)
    assert (data.train_info.num_examples, data.test_info.num_examples) == (1438, 359)
    assert data.test_inputs.shape == (359, 8, 8, 1) and data.test_labels.shape == (359,)
    np.testing.assert_array_equal(data.test_inputs, data.test_targets)
    images, labels = next(iter(data.train))
    assert images.shape == (100, 8, 8, 1) and labels.shape == (100,)


def test_train_run_errors_write_nothing(tmp_path):
    out = tmp_path / "run"
    for config, message in [
        ({"model": "ae_conv", "overrides": {"image_shape": [28, 28, 1]}},
         r"image_shape=\(28, 28, 1\) was asked for"),
        ({"model": "ae_conv", "dataset": "no_such_set"}, "Unknown dataset 'no_such_set'"),
        ({"model": "ae_conv", "overrides": {"latent_dim": -1}}, "latent_dim must be a positive"),
    ]:
        with pytest.raises(runs.RunError, match=message):
            runs.train_run(config, str(out), verbose=0)
        assert not out.exists()


def test_evaluate_run_needs_a_run_directory(tmp_path):
    with pytest.raises(runs.RunError, match="holds neither 'config.json' .* nor 'metadata.json'"):
        runs.evaluate_run(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(runs.RunError, match="Could not read"):
        runs.evaluate_run(str(tmp_path))
