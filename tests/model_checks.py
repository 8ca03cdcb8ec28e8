"""Round-trip checks every zoo model must pass (shared by each family's tests)."""

from __future__ import annotations

import os
from typing import Callable

import keras
import numpy as np

import keras_genzoo


def _weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.weights]


def run_model_checks(
    model: keras.Model,
    train_data,
    tmp_path,
    *,
    outputs: Callable[[keras.Model], np.ndarray],
    compile_model: Callable[[keras.Model], None] | None = None,
    check_resume: bool = True,
    atol: float = 1e-6,
) -> keras.Model:
    """Fit, save to `.keras`, reload and compare; returns the reloaded model.

    `train_data` is whatever `model.fit` takes (a small `tf.data.Dataset` in a fixed
    order); `outputs(model)` gives a deterministic array that must survive the trip.
    With `check_resume`, one more epoch on the original and on the reloaded copy must
    give the same weights, which proves the optimizer state was saved.
    """
    if compile_model is not None:
        compile_model(model)
    history = model.fit(train_data, epochs=1, verbose=0)
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), f"metric {name} is not finite: {values}"
    before = outputs(model)
    assert np.all(np.isfinite(before))

    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    restored = keras_genzoo.load(path)
    assert type(restored) is type(model)
    for a, b in zip(_weights(model), _weights(restored), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(outputs(restored), before, atol=atol)
    assert restored.get_config() == model.get_config()

    if check_resume:
        model.fit(train_data, epochs=1, verbose=0)
        restored.fit(train_data, epochs=1, verbose=0)
        for a, b in zip(_weights(model), _weights(restored), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    return restored
