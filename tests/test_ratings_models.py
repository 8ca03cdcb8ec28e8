"""The contract every registered recommender keeps (one row each in tests/tiny_models.py
TINY_RECOMMENDERS), and the evidence on generated (synthetic) ratings that each learns
what was planted: the default run trains tiny models briefly; the slow run trains them
to the numbers docs/BENCHMARKS.md reports."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from testing import fixed_noise, weights
from tiny_models import TINY_RECOMMENDERS, recommenders

from keras_genzoo import create_model
from keras_genzoo.data.ratings import (
    from_arrays,
    implicit,
    leave_out_split,
    split_ratings,
    synthetic_ratings,
)
from keras_genzoo.evaluation.ratings import (
    BiasBaseline,
    PopularityBaseline,
    TruncatedSVDBaseline,
    ranking_metrics,
    rating_metrics,
)
from keras_genzoo.models.ratings import RatingsModel, create_recommender

NAMES = recommenders()


@pytest.fixture(scope="module")
def split():
    """Synthetic ratings of 120 users and 80 items, 90 / 10."""
    return split_ratings(synthetic_ratings(120, 80, rank=3, density=0.15, seed=2).data, 0.1, seed=0)


def _build(name: str, train, **extra) -> RatingsModel:
    keras.utils.set_random_seed(0)
    return create_recommender(name, train, **{**TINY_RECOMMENDERS[name][0], **extra})


def test_every_recommender_has_a_row_and_only_recommenders_do():
    assert NAMES and sorted(NAMES) == sorted(TINY_RECOMMENDERS)


@pytest.mark.parametrize("name", NAMES)
def test_fit_lowers_its_loss(name, split):
    model = _build(name, split.train)
    _, metric, ratio = TINY_RECOMMENDERS[name]
    history = model.fit(split.train, epochs=12, batch_size=16, verbose=0).history[metric]
    assert np.all(np.isfinite(history))
    assert np.mean(history[-3:]) < ratio * history[0], history


@pytest.mark.parametrize("name", NAMES)
def test_predict_recommend_and_round_trip(name, split, tmp_path):
    model = _build(name, split.train)
    model.fit(split.train, epochs=2, batch_size=16, verbose=0)
    user = split.train.user_ids[3]
    items, scores = model.recommend(user, k=5)
    known = set(split.train.item_ids[split.train.items[split.train.users == 3]])
    assert len(items) == 5 and not known & set(items.tolist())
    assert np.all(np.diff(scores) <= 0)
    scores_all = model.score_users([3])[0]
    assert scores_all.shape == (split.train.num_items,)
    assert np.max(scores_all[[split.train.item_index(i) for i in items]]) == pytest.approx(scores[0])
    if model.predicts_ratings:
        predicted = model.predict_ratings(split.test.user_ids[split.test.users[:20]],
                                          split.test.item_ids[split.test.items[:20]])
        assert predicted.shape == (20,) and np.all((predicted >= 1) & (predicted <= 5))
        by_index = model.predict_pairs(split.test.users[:20], split.test.items[:20])
        np.testing.assert_allclose(predicted, by_index)

    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.score_users([0, 3, 7]), model.score_users([0, 3, 7]), atol=1e-5)
    np.testing.assert_array_equal(loaded.recommend(user, k=5)[0], items)
    loaded.fit(split.train, epochs=1, batch_size=16, verbose=0)  # trains on after loading


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs(name, split):
    model = _build(name, split.train)
    with pytest.raises(ValueError, match="has not been fitted: call fit"):
        model.recommend(split.train.user_ids[0])
    with pytest.raises(TypeError, match="trains and predicts on RatingsData"):
        model.fit(split.train.matrix())
    other = synthetic_ratings(30, 20, seed=0).data
    with pytest.raises(ValueError, match="built for 120 users and 80 items"):
        model.fit(other)
    with pytest.raises(ValueError, match="pass no targets"):
        model.fit(split.train, split.train.ratings)
    model.fit(split.train, epochs=1, batch_size=64, verbose=0)
    with pytest.raises(KeyError, match="No user with id 'nobody'"):
        model.recommend("nobody")
    with pytest.raises(ValueError, match="k must be"):
        model.recommend(split.train.user_ids[0], k=0)
    with pytest.raises(ValueError, match="num_users is required"):
        create_model(name, num_items=10)


def test_cold_users_and_items_get_the_training_mean():
    data = from_arrays([1, 1, 2, 2, 3, 4], [10, 11, 10, 11, 12, 10], [5, 4, 4, 3, 2, 1])
    train = data.subset(data.user_ids[data.users] != 3)  # user 3 and item 12 go cold
    for name in ("autorec", "rbm_cf"):
        model = _build(name, train)
        model.fit(train, epochs=1, verbose=0)
        predicted = model.predict_ratings([3, 1, 1], [10, 12, 10])
        assert predicted[:2].tolist() == pytest.approx([train.mean()] * 2)
        assert predicted[2] != pytest.approx(train.mean())
    model = _build("multvae", train)
    model.fit(train, epochs=1, verbose=0)
    items, _ = model.recommend(3, k=2)  # a user with no history gets the most popular items
    assert items.tolist() == [10, 11]


def test_autorec_shrunk_input_is_centred_and_scaled_by_its_count(split, tmp_path):
    model = _build("autorec", split.train, input_shrinkage=4.0, activation="elu")
    model.fit(split.train, epochs=1, batch_size=16, verbose=0)
    assert float(model.rating_mean) == pytest.approx(split.train.mean())
    rows = split.train.matrix().T.tocsr()[:6].toarray().astype("float32")
    rated = rows != 0
    expected = (rows - split.train.mean()) * rated * 4.0 / (rated.sum(axis=1, keepdims=True) + 4.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.encoder_input(rows)), expected,
                               rtol=1e-5, atol=1e-6)
    raw = _build("autorec", split.train)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(raw.encoder_input(rows)), rows)
    path = str(tmp_path / "shrunk.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.input_shrinkage == 4.0 and loaded.activation == "elu"
    np.testing.assert_allclose(loaded.score_users([0, 5]), model.score_users([0, 5]), atol=1e-5)
    with pytest.raises(ValueError, match="input_shrinkage must be a positive number of ratings"):
        _build("autorec", split.train, input_shrinkage=0.0)


def test_rbm_refuses_ratings_off_its_levels(split):
    model = _build("rbm_cf", split.train, levels=[1, 2, 3])
    with pytest.raises(ValueError, match=r"models the rating levels \[1.0, 2.0, 3.0\].*levels=data.levels"):
        model.fit(split.train)


def test_mult_vae_anneals_its_kl_weight(split):
    model = _build("multvae", implicit(split.train), anneal_steps=10, beta=0.4)
    assert model.kl_weight == 0.0
    model.fit(implicit(split.train), epochs=1, batch_size=24, verbose=0)  # 5 steps
    assert model.kl_weight == pytest.approx(0.2)
    with pytest.raises(ValueError, match="predicts no ratings"):
        model.predict_ratings([1], [1])


def _train_data(name: str, ratings):
    return implicit(ratings) if name == "multvae" else ratings


@pytest.mark.parametrize("name", NAMES)
def test_mirrored_parity(name, split, mirrored, monkeypatch):
    """Two replicas, each given half of every batch, end an epoch with the weights and
    logs of one device given whole batches: the loss is divided by the replicas, and
    noise drawn for an example does not depend on where it trains (`fixed_noise`)."""
    data = _train_data(name, split.train)
    sgd = {"class_name": "SGD", "config": {"learning_rate": 0.05}}
    models = []
    for strategy in (tf.distribute.get_strategy(), mirrored):
        with strategy.scope():
            model = _build(name, data)
            model.recompile_with_optimizer(sgd)
        models.append(model)
    before = weights(models[0])
    fixed_noise(monkeypatch, 16)
    logs = [model.fit(data, epochs=1, batch_size=16, shuffle=False, verbose=0).history for model in models]
    after = weights(models[0])
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(after, before, strict=True)) > 1e-4
    for variable, one, two in zip(models[0].weights, after, weights(models[1]), strict=True):
        np.testing.assert_allclose(two, one, atol=1e-5, rtol=0, err_msg=variable.path)
    for key, values in logs[0].items():
        assert logs[1][key][-1] == pytest.approx(values[-1], rel=1e-4, abs=1e-5), key


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(name, policy, split, mirrored):
    """Under a mixed policy and two replicas: float32 variables, float16 loss scaling,
    a falling loss, and finite float scores."""
    data = _train_data(name, split.train)
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        with mirrored.scope():
            model = _build(name, data)
        _, metric, ratio = TINY_RECOMMENDERS[name]
        history = model.fit(data, epochs=12, batch_size=16, verbose=0).history[metric]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert all(v.dtype == "float32" for v in model.weights if "float" in str(v.dtype))
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    assert np.all(np.isfinite(history)) and np.mean(history[-3:]) < ratio * history[0], history
    scores = model.score_users([0, 3, 7])
    assert scores.shape == (3, data.num_items) and np.all(np.isfinite(scores))


# ------------------------------------------------------------ evidence (slow)


@pytest.fixture(scope="module")
def planted():
    """The benchmark's generated ratings: 1,000 users, 1,000 items, rank 5, noise 0.5
    (benchmarks/recommenders.py, same settings)."""
    synthetic = synthetic_ratings(1000, 1000, rank=5, density=0.08, noise_std=0.5, seed=0)
    return synthetic, split_ratings(synthetic.data, 0.1, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("name, settings, epochs, batch_size, above_floor", [
    ("autorec", {"l2": 30.0}, 30, 32, 0.25),
    ("autorec", {"hidden_units": 10, "activation": "elu", "input_shrinkage": 30.0, "l2": 3.0,
                 "learning_rate": 3e-3}, 100, 32, 0.12),
    ("rbm_cf", {}, 30, 16, 0.25),
])
def test_explicit_models_beat_bias_and_svd(planted, name, settings, epochs, batch_size, above_floor):
    """The benchmark's settings: each beats the baselines; AutoRec with the shrunk input
    comes within 0.12 of the noise floor (0.526; the generator's own rank-5 factorisation
    fitted to the same ratings reaches 0.601)."""
    synthetic, split = planted
    bias = rating_metrics(BiasBaseline().fit(split.train), split.test)["rmse"]
    svd = min(rating_metrics(TruncatedSVDBaseline(r).fit(split.train), split.test)["rmse"]
              for r in (2, 5, 10, 20))
    keras.utils.set_random_seed(0)
    model = create_recommender(name, split.train, seed=0, **settings)
    model.fit(split.train, epochs=epochs, batch_size=batch_size, verbose=0)
    score = rating_metrics(model, split.test)["rmse"]
    assert score < svd < bias, (score, svd, bias)
    assert score < synthetic.noise_rmse + above_floor, (score, synthetic.noise_rmse)


@pytest.mark.slow
def test_mult_vae_beats_popularity(planted):
    clicks = implicit(planted[0].data, threshold=3.5)
    split = leave_out_split(clicks, 0.2, seed=0)
    popularity = ranking_metrics(PopularityBaseline().fit(split.train), split)
    keras.utils.set_random_seed(0)
    model = create_recommender("multvae", split.train, seed=0, latent_dim=50, units=[200],
                               anneal_steps=2000)
    model.fit(split.train, epochs=60, batch_size=64, verbose=0)
    scores = ranking_metrics(model, split)
    assert scores["recall@20"] > 1.2 * popularity["recall@20"], (scores, popularity)
    assert scores["ndcg@100"] > popularity["ndcg@100"], (scores, popularity)
