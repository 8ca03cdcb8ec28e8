"""The checks every zoo model shares, in the spirit of keras-hub's `TestCase.run_*_test`.

tests/test_model_contract.py runs each check on every registered model (built from
tests/tiny_models.py); a family's own tests call them for the family's variants. Which
checks apply follows the capability classes: `Generator`, `Encoder`, `DensityModel`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_genzoo
from keras_genzoo.core.capabilities import DensityModel, Encoder, Generator, Translator

LIKELIHOOD_KINDS = ("exact", "bound", "estimate")
#: How far one image's float32 numbers may move with the batch it is computed in. oneDNN
#: picks kernels by batch size, and on CPUs without AVX-512 their summation orders differ,
#: so an image computed alone and in a batch can differ by a few units in the last place
#: (1.2e-7 absolute seen for encoders, 1.1e-6 after the StyleGAN's modulated layers).
BATCH_RTOL, BATCH_ATOL = 1e-5, 1e-5


def assert_batch_invariant(actual: Any, desired: Any) -> None:
    """`actual` equals `desired` up to the float32 rounding of another batch size."""
    np.testing.assert_allclose(actual, desired, rtol=BATCH_RTOL, atol=BATCH_ATOL)


def weights(model: keras.Model) -> list[np.ndarray]:
    """Copies of every variable of `model` (trainable or not)."""
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.weights]


def weights_of(optimizer: keras.optimizers.Optimizer) -> list[np.ndarray]:
    """Copies of an optimizer's variables (step count, moments, loss scale)."""
    return [np.array(keras.ops.convert_to_numpy(v)) for v in optimizer.variables]


def optimizers(model: keras.Model) -> list[keras.optimizers.Optimizer]:
    """Every optimizer the model holds as an attribute (one, or one per network)."""
    found = vars(model).values()
    return [value for value in found if isinstance(value, keras.optimizers.Optimizer)]


def steps_taken(model: keras.Model) -> list[int]:
    """The step count of each of the model's optimizers."""
    return [int(optimizer.iterations.numpy()) for optimizer in optimizers(model)]


def with_labels(labels: Any, rows: Any = slice(None)) -> dict[str, Any]:
    """`labels=labels[rows]` for a conditional model's call; nothing for an unconditional
    one (`labels` None)."""
    return {} if labels is None else {"labels": labels[rows]}


def fixed_noise(monkeypatch: pytest.MonkeyPatch, batch_size: int) -> None:
    """Make every random draw a fixed function of the example's place in the global batch.

    All the zoo's training noise comes from `tf.random.stateless_normal/uniform` (Keras'
    random ops call them too). Patched, a draw of shape (rows, ...) on replica r is rows
    r * rows ... (r + 1) * rows - 1 of one fixed (batch_size, ...) sample, whatever the
    seed: replica r's example i gets the noise of example r * rows + i on one device with
    the whole global batch, so the two runs must agree to rounding.
    """
    for name in ("stateless_normal", "stateless_uniform"):
        original = getattr(tf.random, name)

        def by_position(shape, seed=None, *args, _draw=original, **kwargs):
            shape = tf.convert_to_tensor(shape, tf.int32)
            rows, rest = shape[0], shape[1:]
            context = tf.distribute.get_replica_context()
            replica = 0 if context is None else context.replica_id_in_sync_group
            start = tf.cast(replica, tf.int32) * rows
            pattern = _draw(tf.concat([[batch_size], rest], 0), [12, 34], *args, **kwargs)
            return tf.cond(
                start + rows <= batch_size,
                lambda: pattern[start : start + rows],
                lambda: _draw(shape, [12, 34], *args, **kwargs),
            )

        monkeypatch.setattr(tf.random, name, by_position)


def every_image(image_shape: tuple[int, ...], levels: int) -> np.ndarray:
    """All `levels ** prod(image_shape)` images whose values are the grey levels
    k / (levels - 1), as float32 (n, *image_shape): a density over them sums to one."""
    size = int(np.prod(image_shape))
    codes = np.arange(levels**size)
    digits_of = (codes[:, None] // levels ** np.arange(size)[::-1]) % levels
    return (digits_of / (levels - 1)).reshape(-1, *image_shape).astype(np.float32)


def check_teacher_forced_sampling(
    model: Any, labels: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Checks an autoregressive model's `sample_with_distributions(len(labels), labels=...,
    seed=seed)`: the distributions each sub-pixel was drawn from equal one teacher-forced
    pass over the finished samples, and the drawn levels' log-probabilities sum to the
    samples' log-likelihood. Returns (images, distributions)."""
    n, levels = len(labels), model.num_levels
    images, used = model.sample_with_distributions(n, labels=labels, seed=seed)
    assert images.shape == (n, *model.image_shape) and used.shape == (n, *model.image_shape, levels)
    np.testing.assert_allclose(used, model.predict_distributions(images, labels=labels), atol=1e-5)
    drawn_levels = np.round(images * (levels - 1)).astype(int)
    drawn = np.take_along_axis(used, drawn_levels[..., None], -1)[..., 0].reshape(n, -1).sum(1)
    np.testing.assert_allclose(drawn, model.log_likelihood(images, labels=labels), rtol=1e-5)
    return images, used


class CtrlCAfterEpoch(keras.callbacks.Callback):
    """Sends this process SIGINT at the end of epoch `epoch` (0-based), as Ctrl-C would."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def _out_of_range(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """`images` stretched 255-fold from the low end of the range (8-bit values as floats)."""
    low, _ = value_range
    return ((images - low) * 255 + low).astype(np.float32)


def _range_message(model: keras.Model, what: str) -> str:
    low, high = model.value_range
    return rf"expects {what} in \[{low:g}, {high:g}\]"


class ModelTestCase:
    """The shared checks. Each `run_*_test` takes a model (or a way to build one) and the
    data it trains on, and asserts the behaviour every zoo model promises."""

    # ------------------------------------------------------------------ round trip

    def run_model_round_trip_test(
        self,
        model: keras.Model,
        train_data: Any,
        tmp_path: Any,
        *,
        outputs: Callable[[keras.Model], np.ndarray],
        check_resume: bool = True,
        atol: float = 1e-6,
    ) -> keras.Model:
        """Fit, save to `.keras`, reload and compare; returns the reloaded model.

        `train_data` is whatever `model.fit` takes (a small `tf.data.Dataset` in a fixed
        order); `outputs(model)` gives a deterministic array that must survive the trip.
        Every optimizer comes back with its step count, state and compile settings. With
        `check_resume`, one more epoch on the original and on the reloaded copy must give
        the same weights, which proves the optimizers' and noise streams' state was saved.
        """
        history = model.fit(train_data, epochs=1, verbose=0)
        for name, values in history.history.items():
            assert np.all(np.isfinite(values)), f"metric {name} is not finite: {values}"
        before = outputs(model)
        assert np.all(np.isfinite(before))

        path = os.path.join(str(tmp_path), "model.keras")
        model.save(path)
        restored = keras_genzoo.load(path)
        assert type(restored) is type(model)
        for a, b in zip(weights(model), weights(restored), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(outputs(restored), before, atol=atol)
        assert restored.get_config() == model.get_config()
        assert restored.get_compile_config() == model.get_compile_config()
        for original, loaded in zip(optimizers(model), optimizers(restored), strict=True):
            assert type(loaded) is type(original)
            assert int(loaded.iterations) == int(original.iterations) > 0
            for a, b in zip(weights_of(original), weights_of(loaded), strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

        if check_resume:
            model.fit(train_data, epochs=1, verbose=0)
            restored.fit(train_data, epochs=1, verbose=0)
            for a, b in zip(weights(model), weights(restored), strict=True):
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
        return restored

    def capability_outputs(
        self,
        model: keras.Model,
        images: np.ndarray,
        labels: np.ndarray | None,
        *,
        generate_options: dict[str, Any] | None = None,
        likelihood_options: dict[str, Any] | None = None,
    ) -> np.ndarray:
        """What the model computes, as one flat array: seeded samples (a `Generator`),
        codes and reconstructions (an `Encoder`), and log-likelihoods that do not
        estimate a partition function first (a `DensityModel`)."""
        parts = []
        if isinstance(model, Generator):
            parts.append(model.generate(4, seed=0, **(generate_options or {})))
        if isinstance(model, Encoder):
            parts.append(model.encode(images, **with_labels(labels)))
            parts.append(model.reconstruct(images, **with_labels(labels)))
        if isinstance(model, DensityModel) and model.likelihood_kind != "estimate":
            parts.append(
                model.log_likelihood(images, **with_labels(labels), **(likelihood_options or {}))
            )
        assert parts, f"{model.name} has none of the capabilities Generator, Encoder, DensityModel"
        return np.concatenate([np.asarray(p, np.float64).ravel() for p in parts])

    # ------------------------------------------------------------------ generation

    def run_generate_test(
        self,
        model: keras.Model,
        *,
        options: dict[str, Any] | None = None,
        batch_invariant: bool = True,
    ) -> None:
        """`generate(n, *, labels=None, seed=None, batch_size=None, **options)`: shape,
        dtype and range, seeds, `n = 0`, bad `n`, `batch_size`, and (unconditional
        models) refused labels. `batch_invariant`: the family promises the same images
        for a seed whatever the batch size."""
        assert isinstance(model, Generator)
        options = dict(options or {})
        low, high = model.value_range
        images = model.generate(5, seed=7, **options)
        assert images.shape == (5, *model.image_shape) and images.dtype == np.float32
        assert np.all(np.isfinite(images))
        assert images.min() >= low and images.max() <= high, (images.min(), images.max())
        assert not np.array_equal(images, model.generate(5, seed=8, **options))

        # seed=None: a fresh draw from Keras' global random state on every call
        keras.utils.set_random_seed(11)
        unseeded = model.generate(3, **options)
        keras.utils.set_random_seed(11)
        np.testing.assert_array_equal(model.generate(3, **options), unseeded)
        assert not np.array_equal(model.generate(3, **options), unseeded)
        # an integer seed is stateless: earlier calls do not change its images
        np.testing.assert_array_equal(model.generate(5, seed=7, **options), images)

        empty = model.generate(0, seed=7, **options)
        assert empty.shape == (0, *model.image_shape) and empty.dtype == np.float32
        for bad in (-1, True, 2.0, 2.5, "3", None):
            with pytest.raises(ValueError, match="n must be a non-negative integer"):
                model.generate(bad, **options)
        with pytest.raises(TypeError):
            model.generate(2, None)  # labels (and everything after n) are keyword-only

        batched = model.generate(5, seed=7, batch_size=2, **options)
        assert batched.shape == images.shape
        if batch_invariant:
            assert_batch_invariant(batched, images)
        else:
            np.testing.assert_array_equal(
                model.generate(5, seed=7, batch_size=2, **options), batched
            )
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            model.generate(2, seed=7, batch_size=0, **options)

        if not model.is_conditional:
            with pytest.raises(ValueError, match="is unconditional and takes no labels"):
                model.generate(3, labels=[0, 1, 2], **options)

    # --------------------------------------------------------------- conditioning

    def run_conditional_test(
        self,
        model: keras.Model,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        options: dict[str, Any] | None = None,
    ) -> None:
        """A class-conditional model: labels cycle through the classes when none are
        given, are checked (range, one per sample, class ids not one-hot, integers), and
        training needs them."""
        assert model.is_conditional
        options = dict(options or {})
        classes = model.num_classes
        last = classes - 1
        if isinstance(model, Generator):
            cycled = model.generate(12, seed=1, **options)
            np.testing.assert_array_equal(
                cycled, model.generate(12, labels=np.arange(12) % classes, seed=1, **options)
            )
            np.testing.assert_array_equal(
                model.generate(4, labels=3, seed=1, **options),
                model.generate(4, labels=[3, 3, 3, 3], seed=1, **options),
            )
            for bad, message in (
                ([0, 1, classes], rf"must lie in \[0, {last}\]"),
                ([-1, 0, 1], rf"must lie in \[0, {last}\]"),
                ([0, 1], "one label per image"),  # two labels for three images
                (np.eye(classes)[:3], "not one-hot"),
                ([0.5, 1.0, 2.0], "integer class ids"),
            ):
                with pytest.raises(ValueError, match=message):
                    model.generate(3, labels=bad, seed=1, **options)

        before = steps_taken(model)
        with pytest.raises(ValueError, match=r"\(images, labels\)"):
            model.fit(images, epochs=1, verbose=0)
        with pytest.raises(ValueError, match=rf"\[0, {last}\]"):
            model.fit(images, labels + classes, epochs=1, verbose=0)
        assert steps_taken(model) == before, "a refused fit must not train"

    # ------------------------------------------------------------------ encoders

    def run_encoder_test(
        self, model: keras.Model, images: np.ndarray, labels: np.ndarray | None = None
    ) -> None:
        """`encode`, `decode`, `reconstruct` and `interpolate` (image to image, along the
        straight line between the two codes), in batches or not, and their refusals."""
        assert isinstance(model, Encoder)
        low, high = model.value_range
        given = with_labels(labels)
        codes = model.encode(images, **given)
        assert codes.shape == (len(images), *model.code_shape) and codes.dtype == np.float32
        assert np.all(np.isfinite(codes))
        assert_batch_invariant(model.encode(images, **given, batch_size=2), codes)
        decoded = model.decode(codes, **given)
        assert decoded.shape == images.shape and decoded.dtype == np.float32
        assert decoded.min() >= low and decoded.max() <= high
        np.testing.assert_allclose(model.reconstruct(images, **given), decoded, atol=1e-6)
        empty = model.decode(codes[:0], **with_labels(labels, slice(0)))
        assert empty.shape == (0, *model.image_shape)

        a, b = images[0], images[1]
        ends = None if labels is None else (labels[0], labels[1])
        path = model.interpolate(a, b, steps=5, labels=ends)
        assert path.shape == (5, *model.image_shape)
        np.testing.assert_allclose(path[[0, -1]], decoded[:2], atol=1e-5)
        # frames change gradually: each step is closer to its neighbour than the ends are
        steps = [np.abs(path[i + 1] - path[i]).sum() for i in range(4)]
        assert max(steps) < np.abs(path[-1] - path[0]).sum()
        # the middle frame decodes the mean code (with one class at both ends)
        same = None if labels is None else (labels[0], labels[0])
        middle = model.interpolate(a, b, steps=3, labels=same)[1]
        pair = with_labels(labels, [0, 0])
        mean_code = model.encode(np.stack([a, b]), **pair).mean(axis=0, keepdims=True)
        single = with_labels(labels, slice(1))
        np.testing.assert_allclose(middle, model.decode(mean_code, **single)[0], atol=1e-5)
        batch_ends = None if labels is None else (labels[:3], labels[3:6])
        batch = model.interpolate(images[:3], images[3:6], steps=4, labels=batch_ends)
        assert batch.shape == (3, 4, *model.image_shape)

        with pytest.raises(ValueError, match="steps must be at least 2"):
            model.interpolate(a, b, steps=1, labels=ends)
        with pytest.raises(ValueError, match="decode expects latent codes of shape"):
            wrong = np.zeros((2, codes.shape[1] + 1), np.float32)
            model.decode(wrong, **with_labels(labels, slice(2)))
        with pytest.raises(ValueError, match="expects images of shape"):
            model.encode(np.full((2, 28, 28, 1), low, np.float32), **with_labels(labels, slice(2)))
        if labels is None:
            with pytest.raises(ValueError, match="takes no labels"):
                model.encode(images, labels=np.zeros(len(images), np.int32))
        else:
            with pytest.raises(ValueError, match="class-conditional: pass labels"):
                model.encode(images)
            with pytest.raises(ValueError, match="labels_a, labels_b"):
                model.interpolate(a, b, steps=3)

    # ------------------------------------------------------------ density models

    def run_density_test(
        self,
        model: keras.Model,
        images: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        options: dict[str, Any] | None = None,
        probability_mass: bool = False,
    ) -> None:
        """`log_likelihood(x)`: log p(x) in nats, one finite float64 per example, what it
        is named by `likelihood_kind`; an exact one is per example whatever the batch.
        `probability_mass`: on binary images it is a probability mass, below 1."""
        assert isinstance(model, DensityModel)
        assert model.likelihood_kind in LIKELIHOOD_KINDS, model.likelihood_kind
        options = dict(options or {})
        given = with_labels(labels)
        log_p = model.log_likelihood(images, **given, **options)
        assert isinstance(log_p, np.ndarray) and log_p.shape == (len(images),)
        assert log_p.dtype == np.float64 and np.all(np.isfinite(log_p)), log_p
        if model.likelihood_kind == "exact":
            part = model.log_likelihood(images[:3], **with_labels(labels, slice(3)), **options)
            np.testing.assert_allclose(part, log_p[:3], rtol=1e-5)
        if probability_mass:
            low, high = model.value_range
            bits = np.random.default_rng(0).integers(0, 2, images.shape)
            binary = (low + bits * (high - low)).astype(np.float32)
            assert np.all(model.log_likelihood(binary, **given, **options) < 0)
        with pytest.raises(ValueError, match=_range_message(model, "(images|inputs)")):
            stretched = _out_of_range(images, model.value_range)
            model.log_likelihood(stretched, **given, **options)
        if labels is None:
            with pytest.raises(ValueError, match="takes no labels"):
                model.log_likelihood(images, labels=np.zeros(len(images), np.int32), **options)
        else:
            with pytest.raises(ValueError, match="class-conditional: pass labels"):
                model.log_likelihood(images, **options)

    # ---------------------------------------------------------------- bad inputs

    def run_bad_input_test(
        self, model: keras.Model, images: np.ndarray, labels: np.ndarray | None = None
    ) -> None:
        """Images of the wrong shape, range or dtype, with NaN, or none at all are refused
        with a message saying how to fix them, from arrays and from `tf.data`, before a
        single step is trained."""
        low, _ = model.value_range
        nan = images.copy()
        nan[3, 3, 4, 0] = np.nan
        cases = [
            (images[..., 0], "Add a channel axis"),
            (images.reshape(len(images), -1), "Reshape flat rows"),
            (np.full((len(images), 28, 28, 1), low, np.float32),
             r"expects inputs of shape \(batch, 8, 8, 1\)"),
            (_out_of_range(images, model.value_range), _range_message(model, "inputs")),
            ((images * 16).astype(np.int64), "floating-point inputs, got dtype int64"),
            (nan, "expects finite inputs"),
            (images[:0], "empty"),
        ]
        before = steps_taken(model)
        for bad, message in cases:
            bad_labels = None if labels is None else labels[: len(bad)]
            with pytest.raises(ValueError, match=message):
                model.fit(bad, bad_labels, epochs=1, verbose=0)
            elements = bad if bad_labels is None else (bad, bad_labels)
            batches = tf.data.Dataset.from_tensor_slices(elements).batch(32)
            with pytest.raises(ValueError, match=message):
                model.fit(batches, epochs=1, verbose=0)
        assert steps_taken(model) == before, "refused data must not train the model"

    # ------------------------------------------------------------ translation

    def run_translate_test(self, model: Translator, images: np.ndarray, *, seeded: bool) -> None:
        """`translate` in every direction: float32 images of the output shape in the
        value range; the same seed gives the same images and, for a model whose
        translation draws noise (`seeded`), another seed others and seed=None a fresh
        draw that `keras.utils.set_random_seed` replays; a deterministic model gives the
        same images whatever the seed or batch size; no images give an empty array; bad
        arguments are refused."""
        low, high = model.value_range
        for direction in model.directions:
            source, target = model.translation_shapes(direction)
            x = images[:6]
            out = model.translate(x, seed=0, direction=direction)
            assert out.shape == (6, *target) and out.dtype == np.float32
            assert np.all(np.isfinite(out)) and out.min() >= low and out.max() <= high
            np.testing.assert_array_equal(model.translate(x, seed=0, direction=direction), out)
            other = model.translate(x, seed=1, direction=direction)
            if seeded:
                assert not np.allclose(other, out), "another seed must draw other noise"
                keras.utils.set_random_seed(5)
                fresh = model.translate(x, direction=direction)
                assert not np.allclose(model.translate(x, direction=direction), fresh)
                keras.utils.set_random_seed(5)
                np.testing.assert_array_equal(model.translate(x, direction=direction), fresh)
            else:
                np.testing.assert_array_equal(other, out)
                in_pairs = model.translate(x, seed=0, direction=direction, batch_size=2)
                np.testing.assert_allclose(in_pairs, out, atol=1e-5)
            empty = model.translate(np.zeros((0, *source), np.float32), direction=direction)
            assert empty.shape == (0, *target) and empty.dtype == np.float32
        source, _ = model.translation_shapes(model.directions[0])
        x = images[:4]
        nan = x.copy()
        nan[0, 0, 0, 0] = np.nan
        cases = [
            (dict(images=np.zeros((4, 28, 28, 1), np.float32) + low), r"of shape \(batch,"),
            (dict(images=x[..., 0]), "Add a channel axis"),
            (dict(images=(x * 16).astype(np.int64)), "floating-point"),
            (dict(images=x * 3 + 3 * (high - low)), "expects images to translate in"),
            (dict(images=nan), "finite"),
            (dict(images=x, direction="sideways"), "direction must be one of"),
            (dict(images=x, seed="one"), "seed must be an integer or None"),
            (dict(images=x, batch_size=0), "batch_size must be a positive integer"),
        ]
        if model.directions == ("a_to_b",):
            cases.append((dict(images=x, direction="b_to_a"), "direction must be one of"))
        for arguments, message in cases:
            arguments = dict(arguments)
            with pytest.raises(ValueError, match=message):
                model.translate(arguments.pop("images"), **arguments)

    def run_translator_bad_input_test(
        self, model: Translator, inputs: np.ndarray, targets: np.ndarray
    ) -> None:
        """Training data that is not pairs, or pairs of the wrong shape, range or dtype,
        with NaN, unequal in number or empty, is refused with a message saying how to
        fix it, from arrays and from `tf.data`, before a single step is trained."""
        low, high = model.value_range
        nan = targets.copy()
        nan[3, 3, 4, 0] = np.nan
        cases = [
            ((inputs, None), r"trains on \("),
            ((np.full((len(inputs), 28, 28, inputs.shape[-1]), low, np.float32), targets),
             r"of shape \(batch, "),
            ((inputs, targets * 3 + 3 * (high - low)), r"in \[-1, 1\]"),
            ((inputs, (targets * 16).astype(np.int64)), "floating-point"),
            ((inputs, nan), "expects finite"),
            ((inputs[:0], targets[:0]), "empty"),
        ]
        if model.directions == ("a_to_b",):
            cases.append(((inputs, targets[:-1]), "needs one target per input"))
        before = steps_taken(model)
        for (x, y), message in cases:
            with pytest.raises(ValueError, match=message):
                model.fit(x, y, epochs=1, verbose=0)
            if y is None or len(x) != len(y):
                continue
            batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
            with pytest.raises(ValueError, match=message):
                model.fit(batches, epochs=1, verbose=0)
        assert steps_taken(model) == before, "refused data must not train the model"

    # ------------------------------------------------------------ distribution

    def _built_with_sgd(self, build: Callable[[], keras.Model], strategy, learning_rate: float):
        keras.utils.set_random_seed(3)  # the same initial weights for every copy
        with strategy.scope():
            model = build()
            model.recompile_with_optimizer(
                {"class_name": "SGD", "config": {"learning_rate": learning_rate}}
            )
        return model

    def run_mirrored_parity_test(
        self,
        build: Callable[[], keras.Model],
        images: np.ndarray,
        labels: np.ndarray | None,
        strategy: tf.distribute.Strategy,
        monkeypatch: pytest.MonkeyPatch,
        *,
        batch_size: int = 32,
        learning_rate: float = 0.05,
    ) -> None:
        """Two replicas, each given half of every global batch, end one epoch with the
        same weights (atol 1e-5) and metrics as one device given whole batches.

        Noise follows a fixed schedule (see `fixed_noise`). The models train with SGD:
        Adam is invariant to the scale of the gradient, so it would hide a loss that is
        not divided by the number of replicas, and it turns the rounding noise of
        parameters with no true gradient (a dense bias feeding batch norm) into whole
        +-lr steps.
        """
        single = self._built_with_sgd(build, tf.distribute.get_strategy(), learning_rate)
        replicated = self._built_with_sgd(build, strategy, learning_rate)
        before = weights(single)
        fixed_noise(monkeypatch, batch_size)
        logs = {}
        for label, model in (("single", single), ("mirrored", replicated)):
            history = model.fit(
                images, labels, batch_size=batch_size, epochs=1, shuffle=False, verbose=0
            ).history
            logs[label] = {k: v[-1] for k, v in history.items()}
        trainable = [i for i, v in enumerate(single.weights) if v.trainable]
        after = weights(single)
        moved = max(float(np.max(np.abs(after[i] - before[i]))) for i in trainable)
        assert moved > 1e-3, f"one epoch barely changed the weights ({moved:.2g})"
        for variable, a, b in zip(single.weights, after, weights(replicated), strict=True):
            np.testing.assert_allclose(b, a, atol=1e-5, rtol=0, err_msg=variable.path)
        for key, value in logs["single"].items():
            assert logs["mirrored"][key] == pytest.approx(value, rel=1e-4, abs=1e-5), key

    def run_replica_noise_test(
        self,
        model: keras.Model,
        images: np.ndarray,
        labels: np.ndarray | None,
        strategy: tf.distribute.Strategy,
        *,
        metric: str,
        draws_noise: bool,
        min_relative_gap: float = 1e-4,
    ) -> None:
        """Given the same examples, the replicas' `metric` differs (by more than
        `min_relative_gap`, relative) exactly when the model draws training noise: each
        replica draws its own."""
        half = 16
        batch = images[:half] if labels is None else (images[:half], labels[:half])
        with strategy.scope():
            for optimizer in optimizers(model):
                if not optimizer.built:
                    optimizer.build(model.trainable_variables)
        distributed = strategy.experimental_distribute_values_from_function(lambda _: batch)
        step = tf.function(lambda b: strategy.run(model.train_step, args=(b,)))
        for _ in range(2):  # a model at its initial weights may not depend on its input yet
            logs = step(distributed)
        first, second = (float(v) for v in strategy.experimental_local_results(logs[metric]))
        assert np.isfinite([first, second]).all()
        if draws_noise:
            assert abs(first - second) > min_relative_gap * abs(first), (
                f"{model.name}: both replicas drew the same noise ({metric} {first} on each)"
            )
        else:
            assert first == second, "without noise, replicas given the same data must agree"

    # ----------------------------------------------------------- mixed precision

    def run_mixed_precision_test(
        self,
        build: Callable[[], keras.Model],
        images: np.ndarray,
        labels: np.ndarray | None,
        policy: str,
        strategy: tf.distribute.Strategy,
        *,
        metric: str | None,
        batch_size: int = 32,
        generate_options: dict[str, Any] | None = None,
        likelihood_options: dict[str, Any] | None = None,
    ) -> None:
        """Under a mixed policy (and `strategy`): low-precision compute, float32
        variables, loss scaling for float16 on every optimizer, every network updated,
        finite metrics, `metric` (when given) falling by at least 1% in three epochs,
        and float32 samples, translations and float64 log-likelihoods that are finite.
        A translator takes its (inputs, targets) or (a, b) as `images` and `labels`."""
        keras.mixed_precision.set_dtype_policy(policy)
        try:
            keras.utils.set_random_seed(3)
            with strategy.scope():
                model = build()
            before = weights(model)
            history = model.fit(
                images, labels, batch_size=batch_size, epochs=3, shuffle=False, verbose=0
            ).history
        finally:
            keras.mixed_precision.set_dtype_policy("float32")
        compute = policy.split("_")[1]
        layers = [layer for layer in model._flatten_layers() if layer.weights]
        assert any(layer.compute_dtype == compute for layer in layers), "policy not applied"
        floats = [v for v in model.weights if "float" in str(v.dtype)]
        assert floats and all(v.dtype == "float32" for v in floats), "variables must stay float32"
        scaled = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers(model)]
        assert scaled == [policy == "mixed_float16"] * len(scaled) and scaled
        networks = [getattr(model, name) for name in model.submodels] or [model]
        positions = {id(v): i for i, v in enumerate(model.weights)}
        for network in networks:
            changed = [
                not np.allclose(before[positions[id(v)]], np.asarray(v))
                for v in network.trainable_weights
            ]
            assert any(changed), f"{network.name} was never updated"
        for key, values in history.items():
            assert np.all(np.isfinite(values)), f"{key} not finite: {values}"
        if metric is not None:
            falling = history[metric]
            assert falling[-1] < 0.99 * falling[0], f"{metric} did not fall: {falling}"
        if isinstance(model, Generator):
            samples = model.generate(4, seed=0, **(generate_options or {}))
            assert samples.dtype == np.float32 and np.all(np.isfinite(samples))
        if isinstance(model, Translator):
            for direction in model.directions:
                source = images if direction == "a_to_b" else labels
                translated = model.translate(source[:4], seed=0, direction=direction)
                assert translated.dtype == np.float32 and np.all(np.isfinite(translated))
        if isinstance(model, DensityModel) and model.likelihood_kind != "estimate":
            log_p = model.log_likelihood(
                images[:8], **with_labels(labels, slice(8)),
                **(likelihood_options or {}),
            )
            assert log_p.dtype == np.float64 and np.all(np.isfinite(log_p))
