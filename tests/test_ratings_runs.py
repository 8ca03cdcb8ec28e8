"""The run layer serving the recommenders: ratings data in a run config (checked where it
comes in), training a tiny AutoRec on synthetic ratings into a run directory, its held-out
ratings measures beside the baselines, evaluation, exact resumption and a ratings file."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from testing import CtrlCAfterEpoch

import keras_genzoo
from keras_genzoo import training as runs
from keras_genzoo.data.ratings import synthetic_ratings, write_ratings
from keras_genzoo.evaluation.ratings import BiasBaseline, rating_metrics
from keras_genzoo.presets import flat_metrics
from keras_genzoo.training.evaluate import recorded_metrics, reproduction_verdict
from keras_genzoo.training.interrupt import TrainingInterrupted
from keras_genzoo.training.ratings_data import load_ratings_data

#: Small generated ratings: 40 users, 30 items, about a third of the pairs rated.
TINY_SYNTHETIC = {"num_users": 40, "num_items": 30, "density": 0.3, "seed": 3}


def _config(model: str = "autorec", ratings: dict | None = None, **changes) -> dict:
    ratings = {"synthetic": TINY_SYNTHETIC} if ratings is None else ratings
    return {"model": model, "dataset": {"name": "synthetic_ratings", "ratings": ratings},
            "overrides": {"latent_dim": 4, "units": [8]} if model == "multvae" else {"hidden_units": 8},
            "epochs": 2, "batch_size": 8, "seed": 1, **changes}


# -------------------------------------------------------------------- the config


@pytest.mark.parametrize("config, message", [
    ({"model": "ae_conv", "dataset": {"name": "x", "ratings": {"synthetic": {}}}},
     r"dataset ratings describe ratings data, but model 'ae_conv' trains on images"),
    ({"model": "autorec", "dataset": "digits"},
     r"'autorec' is a recommender and trains on ratings, not on the image dataset 'digits'"),
    (_config(ratings={"synthetic": {}, "holdout": 0.1}),
     r"Unknown dataset ratings key 'holdout'"),
    (_config(ratings={"synthetic": {"users": 5}}),
     r"Unknown argument of dataset ratings synthetic: 'users'"),
    (_config(ratings={"path": "no/such/ratings.csv"}), r"No ratings file at 'no/such/ratings.csv'"),
    (_config(ratings={}), r"needs exactly one source"),
    (_config(ratings={"synthetic": {}, "split": "leave_out"}),
     r"'autorec' is measured on a 'ratings' split .* not 'leave_out'"),
    (_config("multvae", {"synthetic": {}, "test_fraction": 0.2}),
     r"test_fraction belong to another split than 'leave_out'"),
    (_config(ratings={"synthetic": {}, "test_fraction": 1.5}), r"test_fraction must be a number in \(0, 1\)"),
    (_config(ratings={"synthetic": {}, "format": "csv"}), r"format describe a ratings file"),
    ({**_config(), "dataset": {"name": "r", "binarize": True, "ratings": {"synthetic": {}}}},
     r"dataset binarize are options of image datasets"),
])
def test_bad_ratings_configs_are_refused_where_they_come_in(config, message):
    with pytest.raises(runs.RunError, match=message):
        runs.RunConfig.from_dict(config)


def test_the_image_data_path_refuses_a_recommender_clearly():
    config = runs.RunConfig.from_dict(_config())
    with pytest.raises(runs.RunError, match="'autorec' is a recommender: its ratings are read by"):
        runs.probe_dataset(config)


def test_ratings_config_round_trips_and_splits_by_the_models_kind():
    config = runs.RunConfig.from_dict(_config())
    assert runs.RunConfig.from_dict(config.to_dict()) == config
    data = load_ratings_data(config)
    assert data.kind == "ratings"
    total = len(synthetic_ratings(**TINY_SYNTHETIC).data)
    assert len(data.split.test) == round(0.1 * total)
    clicks = load_ratings_data(runs.RunConfig.from_dict(_config("multvae", {"synthetic": TINY_SYNTHETIC})))
    assert clicks.kind == "leave_out" and set(clicks.split.train.ratings.tolist()) == {1.0}


# -------------------------------------------------------------- train, evaluate


def test_autorec_run_records_ratings_measures_that_evaluate_reproduces(tmp_path):
    out = str(tmp_path / "run")
    metrics = runs.train_run(_config(), out, verbose=0)
    for name in ("model.keras", "metrics.json", "config.json"):
        assert os.path.isfile(os.path.join(out, name)), name
    assert not os.path.exists(os.path.join(out, "backup"))
    assert len(metrics["history"]["loss"]) == 2
    scores = metrics["ratings"]
    assert set(scores) == {"num_ratings", "rmse", "mae", "baselines"}
    assert set(scores["baselines"]) == {"global_mean", "biases", "biases_svd_rank10"}
    assert 0 < scores["mae"] <= scores["rmse"] < 4
    # the baselines are computed by the same code on the same split
    data = load_ratings_data(runs.RunConfig.from_dict(_config()))
    bias = rating_metrics(BiasBaseline().fit(data.split.train), data.split.test)
    assert scores["baselines"]["biases"] == pytest.approx(bias, rel=1e-9)
    assert metrics["dataset"]["test"]["num_examples"] == scores["num_ratings"] == len(data.split.test)

    recomputed = runs.evaluate_run(out)
    assert flat_metrics(recomputed) == pytest.approx(flat_metrics({"ratings": scores}), rel=1e-6)
    reproduced, _ = reproduction_verdict(flat_metrics(recorded_metrics(out)), flat_metrics(recomputed))
    assert reproduced
    with open(os.path.join(out, "metrics.json")) as f:
        assert json.load(f)["ratings"]["rmse"] == pytest.approx(scores["rmse"], rel=1e-9)
    model = keras_genzoo.load(out)
    items, _ = model.recommend(int(data.split.train.user_ids[0]), k=3)
    assert len(items) == 3

    # a preset keeps the ratings the model predicts from, and its metrics reproduce
    preset = str(tmp_path / "preset")
    metadata = keras_genzoo.save_preset(model, preset, run=metrics)
    assert metadata["headline"] == "ratings.rmse" and "known_ratings" in metadata
    assert metadata["dataset"]["test"]["num_examples"] == len(data.split.test)
    user = int(data.split.train.user_ids[0])
    np.testing.assert_array_equal(keras_genzoo.load(preset).recommend(user, k=3)[0], items)
    assert runs.evaluate_run(preset)["ratings"]["rmse"] == pytest.approx(scores["rmse"], rel=1e-6)


def test_interrupted_ratings_run_resumes_exactly(tmp_path):
    config = _config(epochs=3)
    stopped, reference = str(tmp_path / "stopped"), str(tmp_path / "reference")
    with pytest.raises(TrainingInterrupted, match="after 1 of 3 epochs"):
        runs.train_run(config, stopped, callbacks=[CtrlCAfterEpoch(0)], verbose=0)
    resumed = runs.train_run(config, stopped, resume=True, verbose=0)
    uninterrupted = runs.train_run(config, reference, verbose=0)
    for a, b in zip(keras_genzoo.load(stopped).weights, keras_genzoo.load(reference).weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    np.testing.assert_allclose(resumed["history"]["loss"], uninterrupted["history"]["loss"], rtol=1e-5)
    assert resumed["ratings"]["rmse"] == pytest.approx(uninterrupted["ratings"]["rmse"], rel=1e-5)


def test_a_ratings_csv_file_trains_through_the_config(tmp_path):
    path = str(tmp_path / "ratings.csv")
    write_ratings(synthetic_ratings(**TINY_SYNTHETIC).data, path)
    config = _config(ratings={"path": path, "test_fraction": 0.2, "seed": 4}, epochs=1)
    metrics = runs.train_run(config, str(tmp_path / "run"), verbose=0)
    assert metrics["dataset"]["train"]["name"] == path
    held_out = load_ratings_data(runs.RunConfig.from_dict(config)).split.test
    assert metrics["ratings"]["num_ratings"] == len(held_out)
    assert runs.evaluate_run(str(tmp_path / "run"))["ratings"]["rmse"] == pytest.approx(
        metrics["ratings"]["rmse"], rel=1e-6)
