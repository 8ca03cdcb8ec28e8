"""The diffusion family's mathematics: schedules, the forward process, the training loss,
the variational bound, DDIM determinism and inversion, guidance. The shared contract
(round trip, generate, density, mirrored parity, mixed precision) runs in
tests/test_model_contract.py."""

from __future__ import annotations

import math
import os
import runpy
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import norm

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import conditional_accuracy
from keras_genzoo.models.diffusion import Diffusion, NoiseSchedule

SYMMETRIC = (-1.0, 1.0)


def _digits(count: int | None = None, split: str = "train"):
    images, labels, _ = load_arrays("digits", split)
    images = (images[:count] * 2 - 1).astype(np.float32)
    return images, labels[:count].astype(np.int32)


def _closed_form_network(schedule: NoiseSchedule, predict) -> keras.Model:
    """A network of (1, 1, 1) "images" whose prediction is `predict(noisy, alpha_bar)`."""
    noisy, times = keras.Input((1, 1, 1)), keras.Input((1,))

    def apply(inputs):
        x, u = inputs
        return predict(x, tf.reshape(schedule.alpha_bar(u[:, 0]), (-1, 1, 1, 1)))

    return keras.Model([noisy, times], keras.layers.Lambda(apply)([noisy, times]))


def _closed_form_model(schedule: NoiseSchedule, predict, **options) -> Diffusion:
    model = Diffusion(
        _closed_form_network(schedule, predict), schedule=schedule.kind,
        timesteps=schedule.timesteps, ema_decay=None, image_shape=(1, 1, 1), seed=0, **options,
    )
    model.compile(optimizer="adam")
    return model


# ------------------------------------------------------------------ schedules


def test_schedules_match_their_definitions():
    linear = NoiseSchedule("linear", 1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    np.testing.assert_allclose(linear.alpha_bar_grid[1:], np.cumprod(1 - betas), rtol=1e-10)
    continuous = NoiseSchedule("linear", 1000, continuous=True)
    # The continuous form is the limit of the discrete one: close on the same grid.
    np.testing.assert_allclose(np.log(continuous.alpha_bar_grid), np.log(linear.alpha_bar_grid), atol=0.12)
    cosine = NoiseSchedule("cosine", 1000, continuous=True)
    f = lambda u: np.cos((u + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
    np.testing.assert_allclose(cosine.alpha_bar_grid[250], f(0.25) / f(0.0), rtol=1e-10)
    steps = tf.constant([0.0, 0.25, 1.0])
    for schedule in (linear, cosine, NoiseSchedule("cosine", 50)):
        ab = schedule.alpha_bar_grid
        assert ab[0] == 1.0 and np.all(np.diff(ab) < 0) and ab[-1] < 1e-3
        np.testing.assert_allclose(
            schedule.alpha_bar(steps).numpy(), ab[[0, schedule.timesteps // 4, -1]], rtol=1e-5
        )
    np.testing.assert_array_equal(linear.grid(4), [1000, 750, 500, 250, 0])
    with pytest.raises(ValueError, match="at most the schedule's 1000"):
        linear.grid(2000)
    with pytest.raises(ValueError, match="schedule must be one of"):
        NoiseSchedule("sigmoid")


def test_forward_noising_matches_its_closed_form():
    """x_u given x_0 has mean sqrt(alpha_bar) x_0 and variance 1 - alpha_bar (20,000 draws)."""
    model = keras_genzoo.create_model("ddpm", image_shape=(8, 8, 1), widths=(8,), attention_size=0)
    x0 = _digits(1)[0]
    draws = 20000
    for u in (0.05, 0.5, 0.95):
        noise = tf.random.stateless_normal((draws, 8, 8, 1), seed=[int(u * 100), 1])
        noisy = model.add_noise(np.repeat(x0, draws, 0), tf.fill((draws,), u), noise).numpy()
        ab = float(model.schedule.alpha_bar(tf.constant([u]))[0])
        mean_error = np.abs(noisy.mean(0) - np.sqrt(ab) * x0[0]).max()
        assert mean_error < 5 * np.sqrt((1 - ab) / draws), (u, mean_error)
        np.testing.assert_allclose(noisy.var(0), 1 - ab, rtol=0.05)


# ------------------------------------------------------------------ the loss


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
@pytest.mark.parametrize("min_snr_gamma", [None, 5.0])
def test_the_exact_noise_has_zero_loss(prediction, min_snr_gamma):
    """For data that is one constant value c, the exact noise (or v) is known from x_u:
    predicting it gives a loss of 0; predicting 0 gives the target's mean square."""
    c = -0.3
    schedule = NoiseSchedule("linear", 100)

    def exact(x, ab):
        eps = (x - tf.sqrt(ab) * c) / tf.sqrt(1 - ab)
        return eps if prediction == "epsilon" else tf.sqrt(ab) * eps - tf.sqrt(1 - ab) * c

    data = np.full((256, 1, 1, 1), c, np.float32)
    model = _closed_form_model(schedule, exact, prediction=prediction, min_snr_gamma=min_snr_gamma)
    assert model.evaluate(data, batch_size=64, verbose=0) < 1e-9
    zero = _closed_form_model(schedule, lambda x, ab: 0.0 * x, prediction=prediction)
    loss = zero.evaluate(data, batch_size=256, verbose=0)
    expected = 1.0 if prediction == "epsilon" else None  # v's mean square depends on the levels
    if expected is not None:
        assert loss == pytest.approx(expected, rel=0.2)
    assert loss > 0.05


# ------------------------------------------------------------------ the bound


def _expected_bound(schedule: NoiseSchedule, mu: float, s: float) -> float:
    """The bound's expectation over Gaussian data N(mu, s^2) with the optimal predictor,
    in closed form (every term is Gaussian)."""
    ab, steps = schedule.alpha_bar_grid, schedule.timesteps
    posterior_var = lambda t: s**2 * (1 - ab[t]) / (ab[t] * s**2 + 1 - ab[t])  # noqa: E731
    total = 0.5 * (ab[steps] * (mu**2 + s**2) + (1 - ab[steps]) - 1 - np.log(1 - ab[steps]))
    for t in range(2, steps + 1):
        beta = 1 - ab[t] / ab[t - 1]
        ratio = (1 - ab[t - 1]) / (1 - ab[t])
        coefficient = np.sqrt(ab[t - 1]) * beta / (1 - ab[t])
        total += 0.5 * (ratio - 1 - np.log(ratio) + coefficient**2 * posterior_var(t) / beta)
    beta_1 = 1 - ab[1]
    return total + 0.5 * np.log(2 * np.pi * beta_1) + posterior_var(1) / (2 * beta_1)


def test_the_bound_of_the_optimal_predictor_on_gaussian_data():
    """One-dimensional data N(0.1, 0.2^2): the optimal noise predictor is
    E[eps | x_u] = sqrt(1 - a) (x_u - sqrt(a) mu) / (a s^2 + 1 - a). Plugged in, the
    Monte Carlo bound (4,000 draws) matches its closed-form expectation within 4 standard
    errors, and lies within 0.1 nats of the true negative log-density (closed-form gap:
    0.008 nats for the linear schedule, T = 1000)."""
    mu, s = 0.1, 0.2
    schedule = NoiseSchedule("linear", 1000)

    def optimal(x, ab):
        return tf.sqrt(1 - ab) * (x - tf.sqrt(ab) * mu) / (ab * s**2 + 1 - ab)

    model = _closed_form_model(schedule, optimal)
    x = np.random.default_rng(0).normal(mu, s, 4000).clip(-1, 1)
    bound = -model.log_likelihood(x.reshape(-1, 1, 1, 1).astype(np.float32), decoder="gaussian",
                                  seed=0, batch_size=4000)
    true = -norm.logpdf(x, mu, s)
    standard_error = bound.std() / math.sqrt(len(bound))
    expected = _expected_bound(schedule, mu, s)
    assert abs(bound.mean() - expected) < 4 * standard_error, (bound.mean(), expected, standard_error)
    entropy = 0.5 * math.log(2 * math.pi * math.e * s**2)
    assert 0 <= expected - entropy < 0.01
    assert abs(bound.mean() - true.mean()) < 0.1
    # A predictor that ignores its input gives a much looser bound.
    blind = _closed_form_model(schedule, lambda x, ab: 0.0 * x)
    looser = -blind.log_likelihood(x[:500].reshape(-1, 1, 1, 1).astype(np.float32),
                                   decoder="gaussian", seed=0, batch_size=500)
    assert looser.mean() > bound.mean() + 1.0


def test_the_bound_on_grey_levels_is_a_probability_and_refuses_other_values():
    model = keras_genzoo.create_model("ddpm", image_shape=(8, 8, 1), widths=(8,), attention_size=0,
                                      timesteps=20, num_levels=17, seed=0)
    images = _digits(8)[0]
    log_p = model.log_likelihood(images, seed=0)
    assert log_p.shape == (8,) and np.all(log_p < 0)
    np.testing.assert_allclose(model.log_likelihood(images, seed=0), log_p)
    bits = model.bits_per_dim(images, seed=0)
    np.testing.assert_allclose(bits, -log_p / (64 * math.log(2)))
    with pytest.raises(ValueError, match="off that grid.*num_levels"):
        model.log_likelihood(images * 0.99, seed=0)


# ------------------------------------------------------------------ sampling


@pytest.fixture(scope="module")
def trained():
    """`ddpm` on 1,024 training digits for 96 steps (T = 200, linear schedule)."""
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "ddpm", image_shape=(8, 8, 1), widths=(16, 32), attention_size=0, timesteps=200,
        num_levels=17, learning_rate=2e-3, seed=1,
    )
    model.fit(_digits(1024)[0], batch_size=64, epochs=6, verbose=0)
    return model


@pytest.mark.slow
def test_ddim_with_eta_zero_is_deterministic_and_inverts(trained):
    """The same seed gives the same samples, another seed others; DDIM inversion of
    held-out digits and of samples, sampled back with 50 steps, reconstructs them (mean
    absolute error below 0.06 on [-1, 1] pixels)."""
    a = trained.generate(8, seed=3, steps=20)
    np.testing.assert_array_equal(a, trained.generate(8, seed=3, steps=20))
    assert np.abs(a - trained.generate(8, seed=4, steps=20)).mean() > 0.1
    noise = np.random.default_rng(1).standard_normal((8, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(trained.denoise(noise, steps=20, seed=0),
                               trained.denoise(noise, steps=20, seed=99), atol=1e-6)
    held_out = _digits(16, "test")[0]
    for images in (held_out, trained.denoise(noise, steps=50, clip=False)):
        back = trained.denoise(trained.invert(images, steps=50), steps=50, clip=False)
        assert np.abs(back - images).mean() < 0.06, np.abs(back - images).mean()
    # Sampling uses the weight average unless told otherwise.
    live = trained.generate(4, seed=0, steps=10, use_ema=False)
    assert np.abs(trained.generate(4, seed=0, steps=10) - live).max() > 1e-4
    # Stochastic samplers draw from the seed too.
    ancestral = trained.generate(4, seed=0, sampler="ddpm")
    np.testing.assert_array_equal(ancestral, trained.generate(4, seed=0, sampler="ddpm"))
    stochastic = trained.generate(4, seed=0, steps=20, eta=1.0)
    assert np.abs(stochastic - trained.generate(4, seed=0, steps=20)).max() > 0.1


def test_sampling_refuses_bad_options():
    model = keras_genzoo.create_model("ddpm", image_shape=(8, 8, 1), widths=(8,), attention_size=0,
                                      timesteps=200, num_levels=17, seed=0)
    cases = [
        (dict(guidance=3.0), "class-conditional"),
        (dict(eta=2.0), "eta must be in"),
        (dict(steps=500), "at most the schedule's 200"),
        (dict(sampler="ddpm", steps=10), "runs all 200 steps"),
        (dict(sampler="euler"), "sampler must be one of"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            model.generate(2, seed=0, **options)
    with pytest.raises(ValueError, match=r"noise must have shape \(n, 8, 8, 1\)"):
        model.denoise(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="eta must be in"):
        model.denoise(np.zeros((2, 8, 8, 1), np.float32), eta=-0.5)
    with pytest.raises(ValueError, match="decoder must be one of"):
        model.log_likelihood(_digits(2)[0], decoder="logistic")
    unaveraged = keras_genzoo.create_model("ddpm", image_shape=(8, 8, 1), widths=(8,), attention_size=0,
                                           ema_decay=None)
    with pytest.raises(ValueError, match="keeps no weight average"):
        unaveraged.generate(2, seed=0, use_ema=True)


@pytest.mark.slow
def test_conditional_samples_are_classified_as_requested():
    """`ddpm_conditional` trained 40 epochs on the 1,438 training digits: with guidance 3,
    at least 85 % of 500 samples are read as the requested digit by the shipped digits
    classifier, and guidance raises the rate above plain conditional sampling."""
    keras.utils.set_random_seed(0)
    images, labels = _digits()
    model = keras_genzoo.create_model(
        "ddpm_conditional", image_shape=(8, 8, 1), widths=(32, 64), attention_size=0,
        timesteps=200, num_levels=17, learning_rate=1e-3, seed=1,
    )
    model.fit(images, labels, batch_size=64, epochs=40, verbose=0)
    requested = np.arange(500) % 10
    rates = {}
    for guidance in (1.0, 3.0):
        samples = model.generate(500, labels=requested, seed=0, steps=50, guidance=guidance)
        rates[guidance] = conditional_accuracy(samples, requested, "digits", SYMMETRIC).accuracy
    assert rates[3.0] >= 0.85, rates
    assert rates[3.0] > rates[1.0], rates


@pytest.mark.slow
def test_example_trains_samples_scores_and_reloads(tmp_path, monkeypatch, capsys):
    """examples/diffusion_digits.py for two epochs: its own reload check holds, the grid is
    written, and it prints a score per guidance scale and the bound."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    example = os.path.join(repo, "examples", "diffusion_digits.py")
    monkeypatch.setattr(sys, "argv", [example, "--epochs", "2", "--steps", "5", "--out", str(tmp_path)])
    runpy.run_path(example, run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("classified as requested") == 3 and "bits per sub-pixel (at most)" in out
    assert (tmp_path / "samples.png").is_file() and (tmp_path / "ddpm_conditional.keras").is_file()
