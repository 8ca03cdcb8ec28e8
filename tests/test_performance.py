"""Guards for the fast path every family shares: steps per execution, no retracing, no
memory growth. Ratios and counts only, never absolute times."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import psutil
import pytest
import tensorflow as tf
import tiny_models

import keras_genzoo
from keras_genzoo.core.capabilities import DensityModel, Encoder, Generator
from keras_genzoo.core.registry import get_entry
from keras_genzoo.data import load_dataset

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAMILY_MODELS = [
    "ae_dense", "dae_dense", "vae_dense", "cvae_dense", "dcgan", "cgan", "wgan_gp",
    "rbm_bernoulli",
]
def _small_model(name: str):
    return tiny_models.build(name)


def _digits(model, batches: int = 4) -> tf.data.Dataset:
    scale = "symmetric" if model.value_range == (-1.0, 1.0) else "unit"
    data, _ = load_dataset(
        "digits", batch_size=32, scale=scale, labels=model.is_conditional, shuffle=False
    )
    return data.take(batches).cache()


def _count_traces(model, method: str) -> list[int]:
    """Wrap `model.<method>` so each trace of the compiled function that calls it counts."""
    traces = [0]
    original = getattr(model, method)

    def counted(*args, **kwargs):
        traces[0] += 1  # a Python side effect: runs when traced, not when executed
        return original(*args, **kwargs)

    setattr(model, method, counted)
    return traces


def test_builders_compile_with_steps_per_execution_and_count_steps_exactly():
    """The CPU default runs several steps per execution, yet `steps_per_epoch` (which
    Keras would overshoot to a whole execution) and `predict` still see exact counts."""
    model = _small_model("ae_dense")
    assert model.steps_per_execution == model.default_steps_per_execution() > 1
    data = _digits(model).repeat()
    model.fit(data, steps_per_epoch=5, epochs=2, verbose=0)
    assert int(model.optimizer.iterations) == 10
    model.fit(_digits(model, batches=3), epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 13
    assert model.steps_per_execution == 3  # a dataset of known length: whole executions
    unknown_length = _digits(model, batches=3).filter(lambda *_: True)
    model.fit(unknown_length, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 16
    assert model.steps_per_execution == model.cpu_steps_per_execution
    images = next(iter(_digits(model)))
    assert model.predict(images, batch_size=8, verbose=0).shape == (32, 8, 8, 1)
    rbm = _small_model("rbm_bernoulli")
    assert rbm.steps_per_execution == rbm.cpu_steps_per_execution == 100


@pytest.mark.slow
def test_xla_compiled_step_runs_with_a_stateful_optimizer():
    """The optimizer is built by `compile`, so XLA never sees its variables created."""
    model = _small_model("rbm_bernoulli")
    model.compile(optimizer=model.optimizer, jit_compile=True)
    history = model.fit(_digits(model), epochs=1, verbose=0).history
    assert np.isfinite(history["reconstruction_error"][0])


@pytest.mark.parametrize(
    "name",
    [pytest.param("vae_dense", marks=pytest.mark.slow),
     pytest.param("dcgan", marks=pytest.mark.slow), "rbm_bernoulli"],
)
def test_repeated_evaluate_and_generate_do_not_retrace(name):
    model = _small_model(name)
    data = _digits(model, batches=2)
    model.fit(data, epochs=1, verbose=0)
    traces = _count_traces(model, "test_step")
    for _ in range(20):
        model.evaluate(data, verbose=0)
    assert traces[0] == 1, f"evaluate traced {traces[0]} times in 20 calls"
    first = model.generate(4, seed=0)
    for _ in range(20):
        again = model.generate(4, seed=0)
    np.testing.assert_array_equal(first, again)
    if name == "rbm_bernoulli":
        assert model._generate_fn.experimental_get_tracing_count() == 1


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _memory_models() -> list[str]:
    """`FAMILY_MODELS`, plus the first registered model of every family they leave out
    (a new family is checked without editing this list)."""
    covered = {get_entry(name).family for name in FAMILY_MODELS}
    extra = {}
    for name in keras_genzoo.list_models():
        extra.setdefault(get_entry(name).family, name)
    return FAMILY_MODELS + [name for family, name in sorted(extra.items()) if family not in covered]


def _memory_workload(name: str):
    """(fit, calls) of `name` built small: `fit` trains on the tiny data of its row, and
    the calls are what a user repeats after training (evaluate, sampling, the likelihoods;
    an RBM's annealed estimate is too slow to repeat, its pseudo-likelihood stands in)."""
    family = get_entry(name).family
    if family == tiny_models.RATINGS_FAMILY:
        from keras_genzoo.data.ratings import split_ratings, synthetic_ratings
        from keras_genzoo.models.ratings import create_recommender

        split = split_ratings(synthetic_ratings(120, 80, rank=3, density=0.15, seed=2).data, 0.1, seed=0)
        model = create_recommender(name, split.train, **tiny_models.TINY_RECOMMENDERS[name][0])
        users = np.arange(model.num_users)
        return (lambda **kw: model.fit(split.train, batch_size=16, **kw)), [
            lambda: model.score_users(users), lambda: model.recommend(split.train.user_ids[0], k=5)]
    if family == tiny_models.TRANSLATION_FAMILY:
        model = tiny_models.build_translator(name)
        data = tiny_models.pair_batches(name).take(4).cache()
        inputs = next(iter(data))[0].numpy()
        return (lambda **kw: model.fit(data, **kw)), [
            lambda: model.evaluate(data, verbose=0), lambda: model.translate(inputs, seed=1)]
    row = tiny_models.tiny(name)
    model = _small_model(name)
    data = tiny_models.dataset(name).take(4).cache()
    images = next(iter(data))
    images = np.asarray(images[0] if isinstance(images, tuple) else images)
    labels = {"labels": np.arange(len(images)) % 10} if model.is_conditional else {}
    calls = [lambda: model.evaluate(data, verbose=0)]
    if isinstance(model, Generator):
        calls.append(lambda: model.generate(8, seed=1, **row.generate_options))
    if isinstance(model, Encoder):
        calls.append(lambda: model.reconstruct(images, **labels))
    if isinstance(model, DensityModel) and row.likelihood_kind != "estimate":
        calls.append(lambda: model.log_likelihood(images, **labels, **row.likelihood_options))
    if name == "rbm_bernoulli":
        calls.append(lambda: model.pseudo_likelihood(images, seed=0))
    return (lambda **kw: model.fit(data, **kw)), calls


@pytest.mark.slow
@pytest.mark.parametrize("name", _memory_models())
def test_memory_is_flat_over_epochs_and_repeated_calls(name):
    """Every family: resident memory after epoch 20 within 5 % of after epoch 2, and 100
    calls of evaluate, sampling and the likelihoods do not grow it."""
    import keras

    fit, calls = _memory_workload(name)
    rss = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: rss.append(_rss()))
    fit(epochs=20, verbose=0, callbacks=[record])
    print(f"\n{name}: RSS after epoch 2 {rss[1] / 2**20:.1f} MiB, after epoch 20 {rss[19] / 2**20:.1f} MiB "
          f"(ratio {rss[19] / rss[1]:.4f})")
    assert rss[19] <= 1.05 * rss[1], f"RSS after epoch 2: {rss[1]:,}, after 20: {rss[19]:,}"
    for call in calls:
        for _ in range(10):
            call()
        before = _rss()
        for _ in range(100):
            call()
        assert _rss() <= 1.05 * before, f"{name}: RSS grew from {before:,} to {_rss():,}"


@pytest.mark.slow
def test_overhead_benchmark_runs_on_a_small_problem():
    script = os.path.join(REPO_ROOT, "benchmarks", "overhead.py")
    result = subprocess.run(
        [sys.executable, script, "--models", "ae_dense", "rbm_bernoulli", "--steps", "4",
         "--rounds", "1", "--small"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| ae_dense |" in result.stdout and "| rbm_bernoulli |" in result.stdout
