"""The zoo's one seed policy, its one replica fold-in and its one denoising noise, shared
by the input pipeline and the models."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models

from keras_genzoo.core.randomness import fold_in_replica, resolve_seed
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.data.corruption import DEFAULT_NOISE_LEVEL, corrupt
from keras_genzoo.models.autoencoders import DenoisingAutoencoder


def test_seed_policy():
    assert resolve_seed(7) == 7 and resolve_seed(np.int64(7)) == 7
    keras.utils.set_random_seed(3)
    drawn = [resolve_seed(None) for _ in range(3)]
    keras.utils.set_random_seed(3)
    assert [resolve_seed(None) for _ in range(3)] == drawn and len(set(drawn)) == 3
    for bad in (1.5, "1", True):
        with pytest.raises(ValueError, match="seed must be an integer or None"):
            resolve_seed(bad)
    seed = tf.constant([3, 4], tf.int32)
    np.testing.assert_array_equal(  # one device draws as replica 0
        fold_in_replica(seed), tf.random.experimental.stateless_fold_in(seed, 0)
    )


def test_one_denoising_noise_for_pipelines_and_models():
    dae = tiny_models.build("dae_dense")
    assert isinstance(dae, DenoisingAutoencoder) and dae.noise_level == DEFAULT_NOISE_LEVEL
    x, _ = tiny_models.digits("dae_dense", count=5)
    seed = tf.constant([4, 0], tf.int32)
    np.testing.assert_array_equal(
        dae.corrupt(x, seed=4), corrupt(x, seed, "gaussian", DEFAULT_NOISE_LEVEL, (0.0, 1.0))
    )
    ds, _ = load_dataset("digits", batch_size=2000, noise="masking", shuffle=False)
    noisy, clean = (np.asarray(t) for t in next(iter(ds)))
    inked = clean > 0  # the default level of the pipeline is the models' default
    assert abs(np.mean(noisy[inked] == 0) - DEFAULT_NOISE_LEVEL) < 0.02
    symmetric, _, _ = load_arrays("digits", "test", scale="symmetric")
    masked = np.asarray(corrupt(symmetric, seed, "masking", 0.5, (-1.0, 1.0)))
    assert np.all((masked == symmetric) | (masked == -1.0))  # masked to the low end
    assert abs(np.mean(masked[symmetric > -1] == -1.0) - 0.5) < 0.05
