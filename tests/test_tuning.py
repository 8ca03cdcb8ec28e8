"""Hyperparameter tuning: spaces and their defaults, pins, objectives, searches, errors."""

from __future__ import annotations

import importlib
import json
import os
import random
import re

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import keras_genzoo
from keras_genzoo import cli, tuning
from keras_genzoo import training as runs
from keras_genzoo.core import search_space
from keras_genzoo.core.registry import get_entry
from keras_genzoo.tuning import TuningError, ZooHyperModel
from keras_genzoo.tuning import search as tuning_search

DIGITS = (8, 8, 1)
MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "keras_genzoo", "models")
FAMILY_FOLDERS = sorted(d for d in os.listdir(MODELS_DIR)
                        if os.path.isfile(os.path.join(MODELS_DIR, d, "__init__.py")))
ALL_BUILDERS = ["ae_conv", "ae_dense", "dae_conv", "dae_dense", "vae_conv", "vae_dense",
                "cvae_conv", "cvae_dense", "dcgan", "cgan", "wgan_gp", "rbm_bernoulli",
                "rbm_gaussian", "pixelcnn", "pixelcnn_conditional", "pixelrnn", "pixelrnn_conditional"]
EXPECTED = {
    "ae_conv": {"latent_dim": 16, "filters_depth": 2, "filters_width": 32,
                "learning_rate": 1e-3, "batch_size": 64},
    "dae_dense": {"latent_dim": 16, "units_depth": 2, "units_width": 256, "noise": "gaussian",
                  "noise_level": 0.25, "learning_rate": 1e-3, "batch_size": 64},
    "vae_conv": {"latent_dim": 16, "filters_depth": 2, "filters_width": 32, "beta": 1.0,
                 "kl_warmup_steps": 0, "learning_rate": 1e-3, "batch_size": 64},
    "cvae_dense": {"latent_dim": 2, "units_depth": 2, "units_width": 512, "beta": 1.0,
                   "kl_warmup_steps": 0, "learning_rate": 1e-3, "batch_size": 64},
    "dcgan": {"latent_dim": 64, "generator_filters_depth": 2, "generator_filters_width": 128,
              "discriminator_filters_depth": 2, "discriminator_filters_width": 64,
              "loss": "non_saturating", "label_smoothing": 0.0, "instance_noise": 0.0,
              "beta_1": 0.5, "learning_rate": 2e-4, "batch_size": 64},
    "wgan_gp": {"latent_dim": 64, "generator_filters_depth": 2, "critic_filters_depth": 2,
                "critic_filters_width": 64, "critic_steps": 5, "gradient_penalty_weight": 10.0,
                "beta_1": 0.5, "learning_rate": 1e-4, "batch_size": 64},
    "stylegan": {"latent_dim": 64, "style_dim": 64, "mapping_layers": 4, "synthesis_filters_depth": 3,
                 "synthesis_filters_width": 128, "discriminator_filters_depth": 2, "r1_weight": 0.1,
                 "r1_interval": 4, "mixing_probability": 0.9, "beta_1": 0.0, "learning_rate": 1e-3,
                 "batch_size": 64},
    "pixelcnn": {"filters": 64, "num_layers": 7, "kernel_size": 3, "learning_rate": 1e-3,
                 "batch_size": 64},
    "pixelrnn": {"filters": 64, "num_layers": 4, "kernel_size": 3, "learning_rate": 1e-3,
                 "batch_size": 64},
    "rbm_bernoulli": {"hidden_units": 256, "cd_steps": 1, "persistent": False,
                      "num_chains": 100, "momentum": 0.5, "learning_rate": 0.05,
                      "batch_size": 64},
}


def _without_names(value):
    """A model config without layer names and drawn seeds, which differ between builds."""
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k not in ("name", "seed")}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hyperparameters_exist_with_the_builders_defaults(name):
    hypermodel = ZooHyperModel(name, DIGITS, 10)
    defaults = hypermodel.space.defaults()
    for key, value in EXPECTED[name].items():
        assert defaults[key] == pytest.approx(value), key
    assert hypermodel.objective.direction in ("min", "max")


@pytest.mark.parametrize("name", ["ae_conv", "dae_dense", "vae_conv", "cvae_dense", "dcgan",
                                  "rbm_gaussian", "stylegan",
                                  pytest.param("pixelcnn_conditional", marks=pytest.mark.slow)])
def test_an_empty_hyperparameters_builds_the_builders_default_model(name):
    hypermodel = ZooHyperModel(name, DIGITS, 10)
    model = hypermodel.build(kt.HyperParameters())
    keras.utils.set_random_seed(0)
    reference = keras_genzoo.create_model(name, image_shape=DIGITS)
    assert _without_names(model.get_config()) == _without_names(reference.get_config())
    assert model.built
    sizes = [[tuple(w.shape) for w in m.weights] for m in (model, reference)]
    assert sizes[0] == sizes[1]


@pytest.mark.parametrize("name, pins, check", [
    ("ae_conv", {"latent_dim": 4, "filters_depth": 1, "filters_width": 8},
     lambda m: m.bottleneck.output.shape[-1] == 4 and m.encoder.count_params() == 80),
    ("vae_dense", {"latent_dim": 3, "beta": 2.0, "kl_warmup_steps": 500},
     lambda m: m.latent_dim == 3 and m.beta == 2.0 and m.kl_warmup_steps == 500),
    ("wgan_gp", {"critic_steps": 2, "gradient_penalty_weight": 5.0, "latent_dim": 8},
     lambda m: m.discriminator_steps == 2 and m.gradient_penalty_weight == 5.0
     and m.latent_dim == 8),
    ("cgan", {"loss": "least_squares", "label_smoothing": 0.1, "generator_filters_depth": 1},
     lambda m: m.loss_name == "least_squares" and m.label_smoothing == pytest.approx(0.1)),
    ("rbm_bernoulli", {"hidden_units": 20, "cd_steps": 3, "persistent": True, "num_chains": 10},
     lambda m: m.hidden_units == 20 and m.cd_steps == 3 and m.persistent and m.num_chains == 10),
    ("pixelcnn", {"num_layers": 2, "filters": 16},
     lambda m: m.num_links == 2 and m.count_params() < 20000),
])
def test_hp_fixed_pins_values(name, pins, check):
    hypermodel = ZooHyperModel(name, DIGITS, 10)
    hp = kt.HyperParameters()
    for key, value in pins.items():
        hp.Fixed(key, value)
    model = hypermodel.build(hp)
    assert check(model)
    assert hp.get("learning_rate") == hypermodel.space.defaults()["learning_rate"]


def test_pinned_learning_rate_and_batch_size_reach_the_optimizer_and_the_run_config():
    hypermodel = ZooHyperModel("ae_dense", DIGITS)
    hp = kt.HyperParameters()
    hp.Fixed("learning_rate", 3e-3)
    hp.Fixed("batch_size", 32)
    hp.Fixed("units_width", 64)
    model = hypermodel.build(hp)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    config = hypermodel.run_config(hp)
    assert isinstance(config, runs.RunConfig)
    assert config.learning_rate == 3e-3 and config.batch_size == 32
    assert config.overrides["units"] == [64, 32]


def test_conditional_hyperparameters_are_inactive_where_they_do_not_apply():
    hypermodel = ZooHyperModel("dcgan", DIGITS)
    hp = kt.HyperParameters()
    hp.Fixed("loss", "hinge")
    assert "label_smoothing" not in hypermodel.builder_arguments(hp)
    assert hypermodel.build(hp).label_smoothing == 0.0
    rbm = ZooHyperModel("rbm_bernoulli", DIGITS)
    assert "num_chains" not in rbm.builder_arguments(kt.HyperParameters())


def test_conv_depth_is_bounded_by_the_image_size():
    small = ZooHyperModel("ae_conv", (4, 4, 1)).space.hyperparameters["filters_depth"]
    large = ZooHyperModel("ae_conv", (32, 32, 1)).space.hyperparameters["filters_depth"]
    assert small.dimension.max_value == 2 and large.dimension.max_value == 3


def test_a_users_builder_gets_its_familys_space_and_its_own_dimensions():
    @keras_genzoo.register_model("tuning_test_ae", family="autoencoders", overwrite=True)
    def tuning_test_ae(image_shape=(28, 28, 1), latent_dim: int = 6, learning_rate: float = 1e-3,
                       dropout: float = 0.1):
        """Dense autoencoder with a dropout argument."""
        return keras_genzoo.create_model("ae_dense", image_shape=image_shape,
                                         latent_dim=latent_dim, units=(32,),
                                         learning_rate=learning_rate)

    tuning.register_space("tuning_test_ae", {"dropout": tuning.Float(0.0, 0.5)})
    space = ZooHyperModel("tuning_test_ae", DIGITS).space
    assert space.defaults() == {"latent_dim": 6, "learning_rate": 1e-3, "batch_size": 64,
                                "dropout": 0.1}
    assert tuning.objectives_for("tuning_test_ae")[0].name == "val_reconstruction_mse"


# ------------------------------------------------------------------------ objectives


def test_family_objectives_have_explicit_directions():
    directions = {spec.name: spec.direction for name in ALL_BUILDERS
                  for spec in tuning.objectives_for(name)}
    assert directions == {
        "val_reconstruction_mse": "min", "val_denoising_mse": "min", "val_neg_elbo": "min",
        "val_iw_nll": "min", "val_fid": "min", "val_conditional_accuracy": "max",
        "val_pseudo_likelihood": "max", "val_ais_log_likelihood": "max",
        "val_nll": "min", "val_bits_per_dim": "min",
    }
    assert "val_conditional_accuracy" not in [s.name for s in tuning.objectives_for("dcgan")]
    assert "val_denoising_mse" not in [s.name for s in tuning.objectives_for("ae_conv")]


def test_a_diverging_trial_fails_with_its_reason():
    model = keras_genzoo.create_model("ae_dense", image_shape=DIGITS, units=(8,))
    held = tuning.HeldOut(np.zeros((4, *DIGITS), "float32"), np.zeros((4, *DIGITS), "float32"),
                          None, "digits")
    callback = tuning.HeldOutObjective(tuning.resolve_objective("ae_dense", None), held)
    callback.set_model(model)
    logs = {"loss": 0.5}
    callback.on_epoch_end(0, logs)
    assert np.isfinite(logs["val_reconstruction_mse"])
    with pytest.raises(kt.errors.FailedTrialError, match="diverged.*'loss' is nan after epoch 3"):
        callback.on_epoch_end(2, {"loss": float("nan")})


def test_each_family_declares_its_space_and_objectives_in_its_own_folder():
    assert FAMILY_FOLDERS == [
        "autoencoders", "diffusion", "gan", "pixelcnn", "ratings", "rbm", "translation", "vae", "vqvae"
    ]
    # searches train on images; the recommenders (ratings) declare no search
    image_families = [folder for folder in FAMILY_FOLDERS if folder != "ratings"]
    assert set(image_families) <= set(search_space.declared_families())
    assert "ratings" not in search_space.declared_families()
    for folder in image_families:
        declared = importlib.import_module(f"keras_genzoo.models.{folder}.space")
        table = search_space.family_search(folder)
        assert table.dimensions == declared.SPACE and table.objectives == declared.OBJECTIVES
    for name in ALL_BUILDERS:
        entry = get_entry(name)
        folder = entry.builder.__module__.split(".")[2]
        assert entry.family == folder, name
        assert tuning.objectives_for(name), name


def test_translation_models_tune_on_psnr_or_the_cycle_with_explicit_directions():
    for name in ("super_resolution", "srgan", "pix2pix", "unet_translator"):
        assert tuning.resolve_objective(name, None).objective == kt.Objective("val_psnr", "max"), name
    assert [spec.name for spec in tuning.objectives_for("pix2pix")] == ["val_psnr", "val_l1", "val_ssim"]
    assert tuning.resolve_objective("pix2pix", "val_l1").direction == "min"
    assert tuning.resolve_objective("cyclegan", None).objective == kt.Objective("val_cycle_l1", "min")
    with pytest.raises(TuningError, match=r"'cyclegan' does not produce the objective 'val_psnr'"):
        tuning.resolve_objective("cyclegan", "val_psnr")
    with pytest.raises(TuningError, match=r"'val_psnr' is to be maximized, not minimized"):
        tuning.resolve_objective("pix2pix", kt.Objective("val_psnr", "min"))
    # A search of a translation zoo config builds its model for the config's pairs.
    config = runs.load_run_config(os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                               "zoo_configs", "pix2pix_digits.json"))
    hypermodel = ZooHyperModel.from_run_config(config)
    assert hypermodel.objective == kt.Objective("val_psnr", "max")
    model = hypermodel.build(kt.HyperParameters())
    assert model.translation_shapes("a_to_b") == ((8, 8, 1), (8, 8, 1))


def test_a_runs_recorded_metrics_are_what_a_search_optimises(tmp_path):
    """One held-out table: the run layer records, and tuning scores, the same measurement
    (the RBM's AIS from the training images' base rates, in both)."""
    config = {"model": "rbm_bernoulli", "overrides": {"hidden_units": 16}, "epochs": 1,
              "batch_size": 32, "seed": 2, "dataset": {"name": "digits", "binarize": True},
              "metrics": {"pseudo_likelihood": {}, "ais": {"num_chains": 16, "num_betas": 100}}}
    run = runs.train_run(config, str(tmp_path / "rbm"), verbose=0)
    model = keras_genzoo.load(str(tmp_path / "rbm"))
    ais = ZooHyperModel.from_run_config(config, objective="val_ais_log_likelihood",
                                        objective_options=config["metrics"]["ais"])
    assert ais.score(model) == pytest.approx(run["scores"]["ais_log_likelihood"], rel=1e-9)
    pseudo = ZooHyperModel.from_run_config(config, objective="val_pseudo_likelihood")
    assert pseudo.score(model) == pytest.approx(run["scores"]["pseudo_likelihood"], rel=1e-9)
    # The one stated difference: a search's AIS is cheaper by default.
    assert ais.spec.options()["num_betas"] == 1000
    assert runs.metric_options()["ais"]["num_betas"] == 10000

    config = {"model": "dae_dense", "overrides": {"units": [16], "latent_dim": 4}, "epochs": 1,
              "batch_size": 128, "seed": 3}
    run = runs.train_run(config, str(tmp_path / "dae"), verbose=0)
    model = keras_genzoo.load(str(tmp_path / "dae"))
    for objective, recorded in [
        ("val_reconstruction_mse", run["reconstruction"]["mse"]),
        ("val_denoising_mse", run["reconstruction"]["denoising"]["denoised_mse"]),
    ]:
        hypermodel = ZooHyperModel.from_run_config(config, objective=objective)
        assert hypermodel.score(model) == pytest.approx(recorded, rel=1e-9), objective


# -------------------------------------------------------------------------- searches


def _default_score(config: dict | runs.RunConfig, objective: str | None = None, **options) -> float:
    """The objective of the default model trained outside the tuner (run layer only), on
    the search's data: the training split less its validation fifth, scored on that fifth."""
    config = runs.as_run_config(config)
    config = config.replace(dataset={**config.dataset.to_dict(), "validation_fraction": 0.2})
    spec = tuning.resolve_objective(config.model, objective)
    keras.utils.set_random_seed(config.seed)
    model, _ = runs.build_model(config)
    data = runs.load_run_data(config, model, held_out="validation")
    model.fit(data.train, epochs=config.epochs, verbose=0)
    held = tuning.HeldOut(data.test_inputs, data.test_targets, data.test_labels, "digits",
                          config.seed)
    return spec.score(model, held, options)


def _no_worse(result: tuning.TuningResult, default: float) -> None:
    tolerance = 0.02 * abs(default) + 1e-6
    if result.objective.direction == "min":
        assert result.best_score <= default + tolerance
    else:
        assert result.best_score >= default - tolerance


@pytest.mark.slow
def test_autoencoder_search_writes_a_trainable_best_config(tmp_path, capsys):
    pins = {"latent_dim": 8, "filters_width": 8}
    result = keras_genzoo.tune("ae_conv", "digits", max_trials=3, epochs=1, overrides=pins,
                               directory=str(tmp_path / "tuning"))
    assert [row.status for row in result.table] == ["COMPLETED"] * 3
    assert len({str(row.hyperparameters) for row in result.table}) == 3
    assert result.table[0].hyperparameters["learning_rate"] == 1e-3  # the defaults first
    default = _default_score({"model": "ae_conv", "epochs": 1,
                              "overrides": {"latent_dim": 8, "filters": [8, 16]}})
    assert result.table[0].objective == pytest.approx(default, rel=0.02)
    _no_worse(result, default)
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-5)

    config = runs.load_run_config(result.best_config_path)
    assert config.overrides["latent_dim"] == 8
    assert config.overrides["filters"][0] == 8
    assert result.best_config == config
    code = cli.main(["train", "--config", result.best_config_path, "--epochs", "1",
                     "--out", str(tmp_path / "run")])
    assert code == 0
    assert os.path.isfile(tmp_path / "run" / "model.keras")


@pytest.mark.slow
def test_vae_search_on_importance_weighted_nll_returns_the_trained_best_model(tmp_path):
    pins = {"units_width": 64, "units_depth": 1, "batch_size": 64}
    options = {"num_samples": 20}
    result = keras_genzoo.tune("vae_dense", "digits", max_trials=2, epochs=2, overrides=pins,
                               objective="val_iw_nll", objective_options=options,
                               directory=str(tmp_path))
    assert result.objective.name == "val_iw_nll" and result.objective.direction == "min"
    default = _default_score({"model": "vae_dense", "epochs": 2,
                              "overrides": {"units": [64]}}, "val_iw_nll", **options)
    _no_worse(result, default)
    # get_best_models: built, with the best epoch's trained weights.
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-5)
    assert 0 < result.best_score < 200


@pytest.mark.slow
def test_gan_search_on_fid(tmp_path):
    pins = {"generator_filters_width": 16, "discriminator_filters_width": 8, "latent_dim": 16}
    result = keras_genzoo.tune("dcgan", "digits", max_trials=2, epochs=1, overrides=pins,
                               directory=str(tmp_path))
    assert result.objective.name == "val_fid"
    default = _default_score({"model": "dcgan", "epochs": 1, "overrides": {
        "generator_filters": [16, 8], "discriminator_filters": [8, 16], "latent_dim": 16}})
    _no_worse(result, default)
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-4)


@pytest.mark.slow
def test_rbm_search_on_pseudo_likelihood(tmp_path):
    result = keras_genzoo.tune("rbm_bernoulli", "digits", max_trials=2, epochs=1,
                               overrides={"hidden_units": 32}, directory=str(tmp_path))
    assert result.objective.direction == "max"
    default = _default_score({"model": "rbm_bernoulli", "epochs": 1,
                              "overrides": {"hidden_units": 32}})
    _no_worse(result, default)
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-5)


@pytest.mark.slow
def test_pixelcnn_search_from_its_zoo_config(tmp_path):
    config = os.path.join(os.path.dirname(os.path.dirname(__file__)), "zoo_configs",
                          "pixelcnn_digits.json")
    pins = {"filters": 16, "num_layers": 2}
    result = keras_genzoo.tune(config=config, max_trials=2, epochs=1, overrides=pins,
                               directory=str(tmp_path))
    assert result.objective.name == "val_nll"
    assert result.table[0].hyperparameters["learning_rate"] == 0.002  # the config's value
    base = runs.load_run_config(config)
    default = _default_score(base.replace(epochs=1, overrides={**base.overrides, **pins}))
    _no_worse(result, default)
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-5)


def test_conditional_gan_objectives(tmp_path):
    hypermodel = ZooHyperModel.from_run_config(
        {"model": "cgan"}, objective="val_conditional_accuracy")
    hp = kt.HyperParameters()
    hp.Fixed("generator_filters_width", 8)
    hp.Fixed("discriminator_filters_width", 8)
    model = hypermodel.build(hp)
    accuracy = hypermodel.score(model)
    assert 0.0 <= accuracy <= 0.5  # untrained: about chance
    assert hypermodel.objective.direction == "max"


@pytest.mark.slow
def test_search_under_a_distribution_strategy(tmp_path):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = keras_genzoo.tune("ae_dense", "digits", max_trials=1, epochs=1,
                               overrides={"units_width": 16, "units_depth": 1},
                               distribution_strategy=strategy, directory=str(tmp_path))
    assert result.model.distribute_strategy is strategy
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["hyperband", "bayesian"])
def test_hyperband_and_bayesian_searches(tmp_path, tuner):
    result = keras_genzoo.tune("ae_dense", "digits", tuner=tuner, max_trials=2, epochs=2,
                               overrides={"units_width": 16, "units_depth": 1},
                               directory=str(tmp_path))
    assert all(row.status == "COMPLETED" for row in result.table)
    # Two epochs a trial is under half the default recipe's ten: the best config trains
    # the recipe's length, and the result says so.
    assert result.best_config.epochs == 10
    assert any("epochs=10" in warning for warning in result.warnings)
    assert result.hypermodel.score(result.model) == pytest.approx(result.best_score, rel=1e-5)


@pytest.mark.slow
def test_a_search_whose_every_trial_diverges_says_why(tmp_path):
    def nan_loss(y_true, y_pred):
        return keras.ops.mean(y_pred) * float("nan")

    with pytest.raises(TuningError, match="No trial .* finished .*diverged"):
        keras_genzoo.tune("ae_dense", "digits", max_trials=2, epochs=1,
                          overrides={"units_width": 8, "units_depth": 1, "loss": nan_loss},
                          directory=str(tmp_path))


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, message", [
    ({"tuner": "randm"}, "Unknown tuner 'randm'. Did you mean 'random'"),
    ({"objective": "val_fid"}, "does not produce the objective 'val_fid'.*val_neg_elbo"),
    ({"objective": "val_neg_elb"}, "Did you mean 'val_neg_elbo'"),
    ({"objective": kt.Objective("val_iw_nll", "max")}, "is to be minimized"),
    ({"overrides": {"latent_dims": 4}}, "Unknown override 'latent_dims'.*'latent_dim'"),
    ({"overrides": {"latent_dim": 1000}}, "outside the search space.*\\[2, 128\\]"),
    ({"overrides": {"units_width": 48}}, "outside the search space.*one of"),
    ({"overrides": {"units": [8]}}, "'units' is tuned as units_depth, units_width"),
    ({"max_trials": 0}, "max_trials must be a positive integer"),
    ({"objective_options": {"iw_samples": 5}},
     "'val_neg_elbo'.*Unknown option.*'iw_samples' of measurement 'neg_elbo'.*num_samples"),
    ({"distribution_strategy": "multiworker"}, "multiworker"),
])
def test_bad_searches_fail_before_any_trial(tmp_path, kwargs, message):
    with pytest.raises(TuningError, match=message):
        keras_genzoo.tune("vae_dense", "digits", max_trials=kwargs.pop("max_trials", 2),
                          directory=str(tmp_path), **kwargs)
    assert not os.path.exists(tmp_path / "vae_dense_digits")


@pytest.mark.slow
def test_cli_tune_prints_the_table_and_rejects_bad_names(tmp_path, capsys):
    args = ["tune", "ae_dense", "--max-trials", "1", "--epochs", "1", "--directory",
            str(tmp_path), "--set", "units_width=8", "--set", "units_depth=1"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "val_reconstruction_mse" in out and "COMPLETED" in out and "best_config.json" in out
    with open(os.path.join(tmp_path, "ae_dense_digits", tuning.RESULTS_FILE)) as f:
        assert len(json.load(f)["trials"]) == 1
    assert cli.main([*args, "--set", "latent_dimm=4"]) == 2
    assert "did you mean 'latent_dim'" in capsys.readouterr().err
    # The same project with another search is refused rather than mixed with it.
    assert cli.main([*args, "--set", "latent_dim=4"]) == 2
    assert "holds a different search (it differs in overrides)" in capsys.readouterr().err


# ------------------------------------------------------------ seeds and the best epoch


@pytest.mark.slow
def test_a_search_with_the_default_seed_draws_the_same_trials_in_every_process(tmp_path):
    """keras-tuner reads seed 0 as "unseeded": the oracle gets `oracle_seed(0)` = 1, so
    two searches with the default seed draw the same hyperparameters whatever the global
    random state of their process (set differently here, as two processes would)."""
    tables = []
    for process_state in (1, 2):
        random.seed(process_state)
        result = keras_genzoo.tune("ae_dense", "digits", max_trials=3, epochs=1,
                                   overrides={"units_width": 8, "units_depth": 1},
                                   directory=str(tmp_path / str(process_state)))
        assert result.tuner.oracle.seed == tuning_search.oracle_seed(0) == 1
        tables.append([row.hyperparameters for row in result.table])
    assert tables[0] == tables[1]
    assert tables[0][1] != tables[0][2]  # drawn, not repeated
    assert [tuning_search.oracle_seed(s) for s in (5, -1, 2**32 - 1)] == [6, 2**32 - 1, 1]


@pytest.mark.parametrize("name, pins", [
    pytest.param("ae_dense", {"units_width": 16, "units_depth": 1},  # compiled before it is built
                 marks=pytest.mark.slow),
    pytest.param("vae_dense", {"units_width": 16, "units_depth": 1, "kl_warmup_steps": 250},
                 marks=pytest.mark.slow),
])
def test_best_config_and_model_are_those_of_the_best_epoch(tmp_path, monkeypatch, name, pins):
    """An objective that is best after epoch 2 of 3 (read from the optimizer's step
    count): a search as long as its recipe (the config, 3 epochs) gives a best_config.json
    of 2 epochs, and the returned model is the one scored, optimizer state included (the
    KL warm-up reads it). Trials train on the training split less its validation fifth."""
    batch = 64
    info = runs.probe_dataset(runs.RunConfig.from_dict(
        {"model": name, "dataset": {"name": "digits", "validation_fraction": 0.2}}))
    steps = -(-info.num_examples // batch)
    assert info.num_examples == 1150

    def best_after_two_epochs(self, model, held, options=None):
        return abs(int(model.optimizer.iterations) / steps - 2.0)

    monkeypatch.setattr(tuning.ObjectiveSpec, "score", best_after_two_epochs)
    result = keras_genzoo.tune(config={"model": name, "epochs": 3}, max_trials=2,
                               directory=str(tmp_path), overrides={**pins, "batch_size": batch})
    trial = result.tuner.oracle.trials[result.best_trial]
    assert (trial.best_step, result.best_score) == (1, 0.0)
    assert result.best_config.epochs == 2 and not result.warnings
    assert runs.load_run_config(result.best_config_path) == result.best_config
    assert "after epoch 2;" in result.best_config.description
    assert int(result.model.optimizer.iterations) == 2 * steps
    assert result.hypermodel.score(result.model) == result.best_score


def test_a_hyperband_trial_counts_the_epochs_of_the_checkpoint_it_continued():
    def trial(trial_id, best_step, **values):
        hp = kt.HyperParameters()
        for name, value in values.items():
            hp.Fixed(name, value)
        made = kt.engine.trial.Trial(hp, trial_id=trial_id, status="COMPLETED")
        made.best_step = best_step
        return made

    trials = {
        "a": trial("a", 0, **{"tuner/epochs": 1, "tuner/initial_epoch": 0}),
        "b": trial("b", 1, **{"tuner/epochs": 3, "tuner/initial_epoch": 1, "tuner/trial_id": "a"}),
        "c": trial("c", 4, **{"tuner/epochs": 9, "tuner/initial_epoch": 3, "tuner/trial_id": "b"}),
        "random": trial("random", 1, units_width=8),
    }
    assert {k: tuning_search.scored_epochs(t, trials) for k, t in trials.items()} == {
        "a": 1, "b": 2, "c": 4, "random": 2}


# ------------------------------------------- validation and test, budget, progress, recipe

TINY_AE = {"units_width": 8, "units_depth": 1}


def _rows(images: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.asarray(images, np.float32)}


@pytest.mark.slow
def test_trials_are_chosen_on_validation_images_and_the_best_is_reported_on_test(tmp_path, capsys):
    """The objective and the best epoch come from a validation split carved out of the
    training split; the trials never train on it, and the test split is scored once, for
    the report. best_config.json trains on the base config's data, the whole training
    split, for the recipe's length (the 10 default epochs: the 1-epoch search is warned
    of)."""
    result = keras_genzoo.tune("ae_dense", "digits", max_trials=1, epochs=1, overrides=TINY_AE,
                               directory=str(tmp_path))
    with open(result.results_path) as f:
        results = json.load(f)
    selection, report = results["selection"], results["report"]
    assert (selection["split"], report["split"]) == ("validation", "test")
    assert (selection["images"], report["images"]) == (288, 359)
    assert selection["sha256"] != report["sha256"]
    assert results["best"] == {"trial": result.best_trial, "validation": result.best_score,
                               "test": result.test_score, "best_config_epochs": 10}
    # The images behind each number: validation overlaps neither the test split nor the
    # images the trials trained on.
    data, _ = result.hypermodel.held_out(result.model)
    assert runs.held_out_fingerprint(data) == selection["sha256"]
    test_data, held_test = result.hypermodel.held_out(result.model, split="test")
    assert runs.held_out_fingerprint(test_data) == report["sha256"]
    validation, trained, test = (_rows(data.test_targets), _rows(data.train_images),
                                 _rows(test_data.test_targets))
    assert not validation & test and not validation & trained and not trained & test
    assert len(data.train_images) == 1150
    assert result.test_score == result.hypermodel.spec.score(result.model, held_test)
    assert result.test_score != result.best_score
    # The printed summary and the best config name both numbers and their roles.
    assert "on the validation split (used to choose it)" in result.summary()
    assert "on the test split (the number to report)" in result.summary()
    config = result.best_config
    assert config.dataset.to_dict() == {"name": "digits"} and config.epochs == 10
    assert f"{result.best_score:.6g} on the validation split" in config.description
    assert f"{result.test_score:.6g} on the test split" in config.description
    assert "under half of the recipe's 10" in config.description
    assert result.warnings and "under half" in capsys.readouterr().err
    # A recipe of its own (the config given): trained at least as long, no warning.
    again = keras_genzoo.tune(config={"model": "ae_dense", "epochs": 1}, max_trials=1,
                              overrides=TINY_AE, directory=str(tmp_path / "recipe"), verbose=0)
    assert again.best_config.epochs == 1 and not again.warnings
    assert capsys.readouterr() == ("", "")  # verbose=0 prints nothing


@pytest.mark.slow
def test_a_search_longer_than_half_its_recipe_trains_the_recipe_without_a_warning(tmp_path):
    result = keras_genzoo.tune(config={"model": "ae_dense", "epochs": 3}, epochs=2, max_trials=1,
                               overrides=TINY_AE, directory=str(tmp_path), verbose=0)
    assert result.best_config.epochs == 3 and not result.warnings
    assert "Warning" not in result.best_config.description


@pytest.mark.parametrize("bad", [0, 0.0, 1.0, -0.2, "0.2", True])
def test_a_search_needs_a_validation_fraction_between_0_and_1(tmp_path, bad):
    with pytest.raises(TuningError, match="validation_fraction must lie strictly between 0 and 1"):
        keras_genzoo.tune("ae_dense", "digits", validation_fraction=bad, directory=str(tmp_path))


def test_widths_and_depths_are_bounded_by_the_image():
    """No first width over four per image value (256 on 8x8 digits, the README's search
    drew 1024 and 4096-wide layers before), no more conv levels than halvings."""
    digits = ZooHyperModel("vae_conv", DIGITS).space.hyperparameters
    assert max(digits["filters_width"].dimension.values) == 256
    assert digits["filters_depth"].dimension.max_value == 3
    mnist = ZooHyperModel("vae_conv", (28, 28, 1)).space.hyperparameters
    assert max(mnist["filters_width"].dimension.values) == 1024
    tiny = ZooHyperModel("ae_dense", (4, 4, 1)).space.hyperparameters["units_width"]
    assert max(tiny.dimension.values) == 256  # the default's width stays drawable
    assert [tuning.max_width(s) for s in [(4, 4, 1), (8, 8, 1), (28, 28, 1)]] == [64, 256, 1024]
    with pytest.raises(TuningError, match="max_params must be a positive integer or None"):
        ZooHyperModel("vae_conv", DIGITS, max_params=0)


def test_a_trial_over_the_parameter_budget_is_skipped_with_its_reason_not_failed(tmp_path, capsys):
    """The default trial (a 256-wide layer, 4.2e4 parameters) is over a 2e4 budget: it is
    not trained, the table says why, and with max_consecutive_failed_trials=1 the search
    goes on (a skip is no failure). Progress lines come by default."""
    result = keras_genzoo.tune("ae_dense", "digits", max_trials=3, epochs=1,
                               overrides={"units_depth": 1}, max_params=20_000,
                               max_consecutive_failed_trials=1, directory=str(tmp_path))
    statuses = [row.status for row in result.table]
    assert statuses[0] == "SKIPPED" and "COMPLETED" in statuses and "FAILED" not in statuses
    assert result.table[0].reason == "4.2e4 parameters > max_params 2e4"
    assert result.table[0].objective is None
    out = capsys.readouterr().out
    assert "Trial 1/3 (id 0): units_depth=1" in out
    assert "skipped: 4.2e4 parameters > max_params 2e4" in out and "Traceback" not in out
    completed = next(r for r in result.table if r.status == "COMPLETED")
    assert re.search(r"Trial \d/3 \(id \d\): .*; [\d,]+ parameters\n  epoch 1/1  "
                     r"val_reconstruction_mse=[\d.]+  [\d.]+ s  \(about \d+ s left in this "
                     r"trial, \d+ s in the search\)", out)
    assert f"[{result.table[0].reason}]" in result.format_table()
    assert completed.trial in result.format_table()


@pytest.mark.slow
def test_cli_tune_takes_a_parameter_budget_and_a_validation_fraction(tmp_path, capsys):
    args = ["tune", "ae_dense", "--max-trials", "1", "--epochs", "1", "--directory",
            str(tmp_path), "--set", "units_depth=1", "--max-params", "2e4"]
    assert cli.main(args) == 2
    assert "No trial" in capsys.readouterr().err  # the only trial, the default, is skipped
    assert cli.main([*args[:-2], "--validation-fraction", "0.5", "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "Trial 1/1" in out and "on the test split (the number to report)" in out
    with open(os.path.join(tmp_path, "ae_dense_digits", tuning.RESULTS_FILE)) as f:
        assert json.load(f)["selection"]["images"] == 719


@pytest.mark.slow
def test_a_search_that_dies_while_saving_its_state_keeps_readable_files(tmp_path, monkeypatch):
    """keras-tuner writes its state files in place; a search killed during a write left a
    truncated `oracle.json` that no resume could read (seen with SIGKILL). Here every
    state write keras-tuner would do in place dies half-way: the search's files stay
    whole, and the search runs and resumes."""
    from keras_tuner.src import utils as kt_utils

    keep_in_place = kt_utils.save_json

    def dies_half_way(path, obj):
        if os.path.basename(path) not in ("oracle.json", "tuner0.json", "trial.json"):
            return keep_in_place(path, obj)  # a trial's build config: not state
        text = json.dumps(obj)
        with open(path, "w") as f:
            f.write(text[: len(text) // 2])
        raise SystemExit("killed while writing")

    monkeypatch.setattr(kt_utils, "save_json", dies_half_way)
    kwargs = dict(max_trials=2, epochs=1, overrides={"units_width": 8, "units_depth": 1},
                  directory=str(tmp_path))
    first = keras_genzoo.tune("ae_dense", "digits", **kwargs)
    project = tmp_path / "ae_dense_digits"
    for name in ("oracle.json", "tuner0.json", "trial_0/trial.json", "trial_1/trial.json"):
        json.loads((project / name).read_text())  # whole JSON
    again = keras_genzoo.tune("ae_dense", "digits", **kwargs)
    assert [row.trial for row in again.table] == [row.trial for row in first.table]
