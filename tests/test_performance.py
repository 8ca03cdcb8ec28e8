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

from keras_genzoo.core.capabilities import Encoder, Generator
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


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILY_MODELS)
def test_memory_is_flat_over_epochs_and_repeated_calls(name):
    """Resident memory after epoch 20 within 5 % of after epoch 2, and 100 calls of
    generate / evaluate (and the likelihoods) do not grow it."""
    import keras

    model = _small_model(name)
    data = _digits(model)
    rss = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: rss.append(_rss()))
    model.fit(data, epochs=20, verbose=0, callbacks=[record])
    assert rss[19] <= 1.05 * rss[1], f"RSS after epoch 2: {rss[1]:,}, after 20: {rss[19]:,}"

    images = next(iter(data))
    images = images[0] if isinstance(images, tuple) else images
    calls = [lambda: model.evaluate(data, verbose=0)]
    if isinstance(model, Generator):
        calls.append(lambda: model.generate(8, seed=1))
    if isinstance(model, Encoder):
        labels = {"labels": np.arange(len(images)) % 10} if model.is_conditional else {}
        calls.append(lambda: model.reconstruct(np.asarray(images), **labels))
    if name == "vae_dense":
        calls.append(lambda: model.log_likelihood(np.asarray(images), num_samples=20, seed=0))
    if name == "rbm_bernoulli":
        calls.append(lambda: model.pseudo_likelihood(np.asarray(images), seed=0))
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
