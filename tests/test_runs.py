"""The run layer: config schema and validation, `train_run`, `evaluate_run`, artifacts."""

from __future__ import annotations

import copy
import dataclasses
import glob
import json
import os
import pickle

import keras
import numpy as np
import pytest

import keras_genzoo
from keras_genzoo import training as runs
from keras_genzoo.training.config import is_recommender
from keras_genzoo.training.ratings_data import build_recommender, load_ratings_data

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_CONFIGS = sorted(glob.glob(os.path.join(REPO_ROOT, "zoo_configs", "*.json")))
PRESET_METADATA = sorted(glob.glob(os.path.join(REPO_ROOT, "pretrained", "*", "*", "metadata.json")))
DATASET_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1)}
# A config's defaults, written out here as the JSON layout records them.
CONFIG_DEFAULTS = {
    "overrides": {}, "dataset": {"name": "digits"}, "epochs": 10, "batch_size": 64,
    "learning_rate": None, "seed": 0, "strategy": "auto", "optimizer": None, "metrics": {},
}


def test_zoo_configs_name_registered_models_with_valid_options():
    assert len(ZOO_CONFIGS) >= 4
    names = [os.path.basename(p) for p in ZOO_CONFIGS]
    assert "ae_conv_digits.json" in names
    for path in ZOO_CONFIGS:
        config = runs.load_run_config(path)
        assert isinstance(config, runs.RunConfig), path
        assert config.model in keras_genzoo.list_models(), path
        assert config.description, f"{path} needs a description"
        if is_recommender(config.model):  # built for the users and items of its ratings
            model, _ = build_recommender(config, load_ratings_data(config))
            assert model.optimizer is not None, path
            continue
        dataset = config.dataset.name
        model = keras_genzoo.create_model(
            config.model, image_shape=DATASET_SHAPES[dataset], **config.overrides
        )
        assert model.compiled, path
    main_job = runs.load_run_config(os.path.join(REPO_ROOT, "zoo_configs", "ae_conv_digits.json"))
    assert (main_job.model, main_job.dataset.name) == ("ae_conv", "digits")


def _normalised(raw: dict) -> dict:
    """What a config's JSON becomes once checked: every key, with its defaults filled in."""
    expected = {**CONFIG_DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    if isinstance(expected["dataset"], str):
        expected["dataset"] = {"name": expected["dataset"]}
    optimizer = expected["optimizer"]
    if optimizer is not None:
        optimizer = {"class_name": optimizer} if isinstance(optimizer, str) else optimizer
        expected["optimizer"] = {"class_name": optimizer["class_name"],
                                 "config": optimizer.get("config") or {}}
    metrics = expected["metrics"]
    metrics = {name: {} for name in metrics} if isinstance(metrics, list) else metrics
    expected["metrics"] = {name: {**runs.metric_options()[name], **(options or {})}
                           for name, options in metrics.items()}
    return expected


def test_every_zoo_config_and_recorded_preset_config_round_trips():
    """`to_dict` is the normalised JSON layout; configs written by earlier versions (the
    shipped presets' metadata) load and come back unchanged."""
    assert len(PRESET_METADATA) >= 9
    recorded = []
    for path in PRESET_METADATA:
        with open(path) as f:
            recorded.append(json.load(f)["training"]["config"])
    for config in recorded:
        assert runs.RunConfig.from_dict(config).to_dict() == config, config["model"]
    for path in ZOO_CONFIGS:
        with open(path) as f:
            raw = json.load(f)
        data = runs.RunConfig.from_dict(raw).to_dict()
        assert data == _normalised(raw), path
        # the key order of config.json; `steps` only when a config gives it
        assert list(data) == [k for k in runs.CONFIG_KEYS if k != "steps"], path
        assert runs.load_run_config(path).to_dict() == data, path
        assert runs.RunConfig.from_dict(data).to_dict() == data, path
    shorthand = {"model": "vae_dense", "dataset": "mnist", "optimizer": "Adam",
                 "metrics": ["iw_nll"], "learning_rate": None, "description": None}
    data = runs.RunConfig.from_dict(shorthand).to_dict()
    assert data == {
        "model": "vae_dense", **CONFIG_DEFAULTS, "dataset": {"name": "mnist"},
        "optimizer": {"class_name": "Adam", "config": {}},
        "metrics": {"iw_nll": {"num_samples": 100, "num_images": None}},
    }
    assert data == _normalised(shorthand) and "description" not in data


def test_a_run_config_is_typed_frozen_and_replaced_with_a_checked_copy():
    config = runs.RunConfig.from_dict(
        {"model": "ae_dense", "dataset": {"name": "digits", "holdout_fraction": 0.1},
         "overrides": {"units": [32]}, "optimizer": "Adam", "description": "x"}
    )
    assert config == runs.RunConfig(
        "ae_dense", {"units": [32]}, runs.DatasetConfig("digits", {"holdout_fraction": 0.1}),
        optimizer={"class_name": "Adam"}, description="x",
    )
    assert (config.dataset.name, dict(config.dataset.options)) == ("digits", {"holdout_fraction": 0.1})
    assert (config.epochs, config.batch_size, config.seed, config.strategy) == (10, 64, 0, "auto")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    for change in (lambda: config.overrides.update(units=[8]),
                   lambda: config.dataset.options.pop("holdout_fraction"),
                   lambda: config.optimizer["config"].setdefault("beta_1", 0.5)):
        with pytest.raises(TypeError, match=r"frozen; make a changed copy with config\.replace"):
            change()
    exported = config.to_dict()
    exported["overrides"]["units"].append(8)  # to_dict gives copies
    assert config.overrides["units"] == [32]

    shorter = config.replace(epochs=3, dataset="mnist", description=None)
    assert (shorter.epochs, shorter.dataset, shorter.description) == (3, runs.DatasetConfig("mnist"), None)
    assert (config.epochs, config.dataset.name) == (10, "digits")  # unchanged
    assert shorter.replace(epochs=10, dataset=config.dataset, description="x") == config
    for changes, message in [
        ({"epochs": 0}, r"^epochs must be a positive integer, got 0\.$"),
        ({"epoch": 3}, r"^Unknown run config key 'epoch' \(did you mean 'epochs'\?\)"),
        ({"overrides": {"latent": 2}}, r"^Unknown argument of model 'ae_dense': 'latent' "
                                      r"\(did you mean 'latent_dim'\?\)"),
    ]:
        with pytest.raises(runs.RunError, match=message):
            config.replace(**changes)
    with pytest.raises(runs.RunError, match=r"^batch_size must be a positive integer, got 0\.$"):
        dataclasses.replace(config, batch_size=0)  # every way of making one checks it
    with pytest.raises(runs.RunError, match=r"^Unknown dataset option 'colour'"):
        runs.DatasetConfig("digits", {"colour": 1})
    assert copy.deepcopy(config) == config == pickle.loads(pickle.dumps(config))
    assert runs.as_run_config(config) is config
    assert runs.as_run_config(config.to_dict()) == config


def test_run_configs_reject_bad_values():
    good = {"model": "ae_dense"}
    assert runs.RunConfig.from_dict(good).epochs == 10
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
            runs.RunConfig.from_dict({**good, **bad})
    # Today's messages, word for word (the docs quote them).
    for config, message in [
        ([1], "A run config is a JSON object, got list."),
        ({"model": "ae_dense", "epoch": 3},
         "Unknown run config key 'epoch' (did you mean 'epochs'?). Allowed: model, overrides, "
         "dataset, epochs, steps, batch_size, learning_rate, seed, strategy, optimizer, metrics, "
         "description."),
        ({"epochs": 3}, "No model given: name one (e.g. `keras-genzoo train ae_conv`) or set "
                        "\"model\" in the --config file. See `keras-genzoo list`."),
        ({"model": "ae_dense", "dataset": {"path": "x"}},
         "dataset must be a name or an object with a \"name\", got {'path': 'x'}."),
        ({"model": "ae_dense", "seed": 1.5}, "seed must be an integer, got 1.5."),
        ({"model": "ae_dense", "learning_rate": True}, "learning_rate must be a positive number, got True."),
        ({"model": "ae_dense", "optimizer": 3},
         "optimizer must be a Keras optimizer name or {\"class_name\": ..., \"config\": {...}}, got 3."),
        ({"model": "ae_dense", "optimizer": {"class_name": "Adam", "cfg": {}}},
         "Unknown optimizer key 'cfg' (did you mean 'config'?). Allowed: class_name, config."),
        ({"model": "ae_dense", "metrics": 3},
         "metrics must be an object of metric names and options, got 3."),
        ({"model": "vae_dense", "metrics": {"iw_nll": 3}},
         "The options of metric 'iw_nll' must be an object, got 3."),
        ({"model": "vae_dense", "metrics": {"iw_nll": {"samples": 3}}},
         "Unknown option of metric 'iw_nll': 'samples' (did you mean 'num_samples'?). Allowed: "
         "num_samples, num_images."),
    ]:
        with pytest.raises(runs.RunError) as caught:
            runs.RunConfig.from_dict(config)
        assert str(caught.value) == message


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def _count_checks(monkeypatch) -> list[str]:
    """Record every `RunConfig` checked from now on (by its model name)."""
    checked = []
    original = runs.RunConfig.__post_init__

    def counting(self):
        checked.append(self.model)
        original(self)

    monkeypatch.setattr(runs.RunConfig, "__post_init__", counting)
    return checked


def test_train_run_then_evaluate_run_recomputes_the_recorded_metrics(tmp_path, monkeypatch):
    """The library entry points: extra callbacks run; evaluate_run reproduces metrics.json."""
    counter = EpochCounter()
    config = {
        "model": "ae_dense", "overrides": {"latent_dim": 4, "units": [32]}, "epochs": 2,
        "batch_size": 256, "learning_rate": 0.01, "seed": 5,
    }
    checks = _count_checks(monkeypatch)
    metrics = runs.train_run(config, str(tmp_path), callbacks=[counter], verbose=0)
    assert checks == [config["model"]]  # the dict is checked once, nothing inside again
    assert counter.epochs == [0, 1]
    assert metrics["builder_arguments"] == {
        "latent_dim": 4, "units": [32], "image_shape": [8, 8, 1], "learning_rate": 0.01
    }
    with open(tmp_path / runs.METRICS_FILE) as f:
        assert json.load(f) == metrics
    recomputed = runs.evaluate_run(str(tmp_path))
    assert recomputed["evaluation"]["mse"] == pytest.approx(metrics["evaluation"]["mse"], rel=1e-5)
    assert recomputed["reconstruction"] == pytest.approx(metrics["reconstruction"], rel=1e-5)


def test_build_model_and_load_run_data_follow_the_config(monkeypatch):
    config = runs.RunConfig.from_dict(
        {"model": "cvae_dense", "overrides": {"latent_dim": 2}, "batch_size": 100, "seed": 1}
    )
    checks = _count_checks(monkeypatch)
    model, arguments = runs.build_model(config)
    assert (arguments["image_shape"], arguments["num_classes"]) == ((8, 8, 1), 10)
    data = runs.load_run_data(config, model)
    assert (data.train_info.num_examples, data.test_info.num_examples) == (1438, 359)
    assert data.test_inputs.shape == (359, 8, 8, 1) and data.test_labels.shape == (359,)
    np.testing.assert_array_equal(data.test_inputs, data.test_targets)
    images, labels = next(iter(data.train))
    assert images.shape == (100, 8, 8, 1) and labels.shape == (100,)
    assert checks == []  # the steps take the config as it is


@pytest.mark.parametrize(
    "dataset, expected",
    [({"name": "digits"}, ("discretized_logistic", 17)),
     ({"name": "digits", "binarize": True}, ("bernoulli", 2))],
)
def test_a_run_gives_the_vae_the_likelihood_of_its_data(dataset, expected):
    """The digits' 17 grey levels get a discretised likelihood over exactly those levels,
    binarised digits a Bernoulli one: every NLL the run reports is a probability."""
    config = runs.RunConfig.from_dict({"model": "vae_dense", "dataset": dataset})
    model, arguments = runs.build_model(config)
    assert arguments["num_levels"] == expected[1]
    assert (model.likelihood, model.num_levels) == expected
    pinned = config.replace(overrides={"num_levels": 33, "likelihood": "discretized_logistic"})
    assert runs.build_model(pinned)[0].num_levels == 33  # the config's own value wins


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
