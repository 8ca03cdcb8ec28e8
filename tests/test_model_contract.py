"""The contract every registered model keeps: one test per shared check (tests/testing.py),
run on every name `keras_genzoo.list_models()` gives, each built from its row of
tests/tiny_models.py. A model registered here, a user's own networks in the zoo's VAE
class, goes through the same checks. Translators (the `translation` family) train on
pairs and answer `translate`: `TestTranslatorContract` runs the equivalent checks on
them, each built from its row of `TINY_TRANSLATORS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
import pytest
from testing import ModelTestCase
from tiny_models import (
    TINY_MODELS,
    TINY_TRANSLATORS,
    build,
    build_translator,
    dataset,
    digit_pairs,
    digits,
    image_models,
    pair_batches,
    tiny,
    tiny_translator,
    translators,
)

import keras_genzoo
from keras_genzoo.core.capabilities import DensityModel, Encoder, Generator, Translator
from keras_genzoo.models.vae import VAE


@keras_genzoo.register_model("contract_user_vae", family="test")
def contract_user_vae(
    *, image_shape: Sequence[int] = (28, 28, 1), latent_dim: int = 3, seed: int | None = None
) -> VAE:
    """A user's own small networks in the zoo's VAE class: Gaussian pixels in [-1, 1]."""
    images = keras.Input(tuple(image_shape), name="user_images")
    hidden = keras.layers.Dense(16, activation="tanh", name="user_encoder_hidden")(
        keras.layers.Flatten(name="user_flatten")(images)
    )
    encoder = keras.Model(
        images, keras.layers.Dense(2 * latent_dim, name="user_posterior")(hidden), name="encoder"
    )
    codes = keras.Input((latent_dim,), name="user_codes")
    hidden = keras.layers.Dense(16, activation="tanh", name="user_decoder_hidden")(codes)
    pixels = keras.layers.Dense(math.prod(image_shape), name="user_pixels")(hidden)
    decoder = keras.Model(
        codes, keras.layers.Reshape(tuple(image_shape), name="user_image")(pixels), name="decoder"
    )
    model = VAE(
        encoder, decoder, likelihood="gaussian", image_shape=image_shape,
        value_range=(-1.0, 1.0), seed=seed, name="contract_user_vae",
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


# Recommenders model ratings, not images: tests/test_ratings_models.py runs their contract.
# Translators train on pairs and translate: `TestTranslatorContract` runs their checks.
NAMES = image_models()
TRANSLATORS = translators()
# Translators whose distributed checks (mirrored parity, replica noise) run with -m slow:
# cyclegan (two U-Nets and two PatchGANs trace slowly), srgan (pix2pix runs the same
# adversarial step, with seeded dropout, by default) and unet_translator (the step of
# super_resolution, with pix2pix's seeded dropout).
SLOW_PARITY = ("cyclegan", "srgan", "unet_translator")
# Translators checked under mixed_float16 in the default run (the others, and bfloat16,
# with -m slow): one step with one optimizer, one adversarial step with seeded dropout.
MIXED_TRANSLATORS = ("super_resolution", "pix2pix")
# Round trips that run with -m slow: conditional twins of a row whose round trip runs by
# default (the labels' part of the round trip is checked on cgan, cvae and pixelcnn),
# wgan_gp (the GAN class, saved and reloaded by dcgan's round trip) and cyclegan (four
# networks to save and reload; pix2pix checks the adversarial translator).
SLOW_ROUND_TRIPS = ("ddpm_conditional", "stylegan_conditional", "vqvae_conditional", "pixelrnn_conditional",
                    "wgan_gp", "cyclegan")


def _round_trip_cases(names: list[str]) -> list:
    return [pytest.param(n, marks=pytest.mark.slow if n in SLOW_ROUND_TRIPS else ()) for n in names]


def _distributed_case(name: str, *values: str, default: bool | None = None):
    """A case of a distributed check: in the default run for a row that stands for its
    training step (`representative`, unless `default` says otherwise), else slow."""
    row = TINY_MODELS.get(name)  # a missing row fails in the test itself
    if default is None:
        default = row is None or row.representative
    return pytest.param(
        name, *values, id="-".join((name, *values)), marks=() if default else pytest.mark.slow
    )


DISTRIBUTED = [_distributed_case(name) for name in NAMES]
# bfloat16 needs no loss scaling, the zoo's own float16 machinery: the default run checks
# it on the autoencoders, the VAEs and the RBMs, the slow run on every model.
BFLOAT16_BY_DEFAULT = ("dae_dense", "vae_conv", "rbm_bernoulli")
MIXED_CASES = [_distributed_case(name, "mixed_float16") for name in NAMES] + [
    _distributed_case(name, "mixed_bfloat16", default=name in BFLOAT16_BY_DEFAULT)
    for name in NAMES
]


@pytest.fixture(scope="module")
def fresh():
    """Untrained tiny models, built once per name for the checks that do not train them."""
    built = {}

    def get(name: str) -> keras.Model:
        if name not in built:
            keras.utils.set_random_seed(0)
            built[name] = build(name)
        return built[name]

    yield get
    built.clear()


def _requires(model: keras.Model, capability: type) -> None:
    if not isinstance(model, capability):
        pytest.skip(f"{model.name} is not a {capability.__name__}")


class TestModelContract(ModelTestCase):
    """Each shared check, on every registered model."""

    @pytest.mark.parametrize("name", NAMES)
    def test_registered_model_has_a_tiny_configuration(self, name, fresh):
        """Every registered model has a row, and is what its row says."""
        row = tiny(name)
        model = fresh(name)
        assert tuple(model.value_range) == row.value_range
        assert model.is_conditional == row.conditional
        assert model.image_shape == (8, 8, 1)
        found = {c for c in (Generator, Encoder, DensityModel) if isinstance(model, c)}
        assert found and found == set(row.capabilities), (found, row.capabilities)
        assert getattr(model, "likelihood_kind", None) == row.likelihood_kind

    def test_every_row_names_a_registered_model(self):
        assert sorted(set(TINY_MODELS) - set(NAMES)) == []

    @pytest.mark.parametrize("name", _round_trip_cases(NAMES))
    def test_round_trip(self, name, tmp_path):
        row = tiny(name)
        keras.utils.set_random_seed(0)
        model = build(name)
        images, labels = digits(name, count=8)

        def outputs(m: keras.Model):
            return self.capability_outputs(
                m, images, labels, generate_options=dict(row.generate_options),
                likelihood_options=dict(row.likelihood_options),
            )

        self.run_model_round_trip_test(model, dataset(name), tmp_path, outputs=outputs, atol=1e-4)

    @pytest.mark.parametrize("name", NAMES)
    def test_generate(self, name, fresh):
        model = fresh(name)
        _requires(model, Generator)
        row = tiny(name)
        self.run_generate_test(
            model, options=dict(row.generate_options), batch_invariant=row.batch_invariant
        )

    @pytest.mark.parametrize("name", NAMES)
    def test_conditional(self, name, fresh):
        model = fresh(name)
        if not model.is_conditional:
            pytest.skip(f"{name} is unconditional")
        images, labels = digits(name, count=64)
        self.run_conditional_test(
            model, images, labels, options=dict(tiny(name).generate_options)
        )

    @pytest.mark.parametrize("name", NAMES)
    def test_encoder(self, name, fresh):
        model = fresh(name)
        _requires(model, Encoder)
        self.run_encoder_test(model, *digits(name, count=8))

    @pytest.mark.parametrize("name", NAMES)
    def test_density(self, name, fresh):
        model = fresh(name)
        _requires(model, DensityModel)
        row = tiny(name)
        self.run_density_test(
            model, *digits(name, count=8), options=dict(row.likelihood_options),
            probability_mass=row.probability_mass,
        )

    @pytest.mark.parametrize("name", NAMES)
    def test_bad_inputs(self, name, fresh):
        self.run_bad_input_test(fresh(name), *digits(name, count=64))

    @pytest.mark.parametrize("name", DISTRIBUTED)
    def test_mirrored_parity(self, name, mirrored, monkeypatch):
        self.run_mirrored_parity_test(
            lambda: build(name), *digits(name, count=128), mirrored, monkeypatch
        )

    @pytest.mark.parametrize("name", DISTRIBUTED)
    def test_replicas_draw_their_own_noise(self, name, mirrored):
        row = tiny(name)
        keras.utils.set_random_seed(3)
        with mirrored.scope():
            model = build(name)
        self.run_replica_noise_test(
            model, *digits(name, count=16), mirrored, metric=row.metric,
            draws_noise=row.training_noise, min_relative_gap=row.noise_gap,
        )

    @pytest.mark.parametrize("name, policy", MIXED_CASES)
    def test_mixed_precision(self, name, policy, mirrored):
        row = tiny(name)
        self.run_mixed_precision_test(
            lambda: build(name), *digits(name), policy, mirrored,
            metric=None if row.adversarial else row.metric,
            generate_options=dict(row.generate_options),
            likelihood_options=dict(row.likelihood_options),
        )


class TestTranslatorContract(ModelTestCase):
    """The checks every translator keeps, on every registered model of the family."""

    @pytest.mark.parametrize("name", TRANSLATORS)
    def test_registered_translator_has_a_tiny_configuration(self, name):
        tiny_translator(name)
        model = build_translator(name)
        assert isinstance(model, Translator)
        assert not isinstance(model, (Generator, Encoder, DensityModel))
        assert model.image_shape == (8, 8, 1) and tuple(model.value_range) == (-1.0, 1.0)
        inputs, targets = digit_pairs(name, count=4)
        for direction in model.directions:
            source, target = model.translation_shapes(direction)
            if direction == "b_to_a":
                inputs, targets = targets, inputs
            assert (source, target) == (inputs.shape[1:], targets.shape[1:])

    def test_every_translator_row_names_a_registered_model(self):
        assert sorted(set(TINY_TRANSLATORS) - set(TRANSLATORS)) == []

    @pytest.mark.parametrize("name", _round_trip_cases(TRANSLATORS))
    def test_round_trip(self, name, tmp_path):
        keras.utils.set_random_seed(0)
        model = build_translator(name)
        inputs, _ = digit_pairs(name, count=8)

        def outputs(m: keras.Model):
            return np.concatenate([
                m.translate(inputs, seed=0, direction=d).ravel() for d in m.directions
            ])

        self.run_model_round_trip_test(model, pair_batches(name), tmp_path, outputs=outputs, atol=1e-4)

    @pytest.mark.parametrize("name", TRANSLATORS)
    def test_translate(self, name):
        keras.utils.set_random_seed(0)
        self.run_translate_test(
            build_translator(name), digit_pairs(name, count=8)[0],
            seeded=tiny_translator(name).seeded,
        )

    @pytest.mark.parametrize("name", TRANSLATORS)
    def test_bad_inputs(self, name):
        keras.utils.set_random_seed(0)
        self.run_translator_bad_input_test(build_translator(name), *digit_pairs(name, count=64))

    @pytest.mark.parametrize("name", [
        pytest.param(n, marks=pytest.mark.slow if n in SLOW_PARITY else ()) for n in TRANSLATORS
    ])
    def test_replicas_draw_their_own_noise(self, name, mirrored):
        row = tiny_translator(name)
        keras.utils.set_random_seed(3)
        with mirrored.scope():
            model = build_translator(name)
        self.run_replica_noise_test(
            model, *digit_pairs(name, count=16), mirrored, metric=row.metric, draws_noise=row.seeded
        )

    @pytest.mark.parametrize("name", [
        pytest.param(n, marks=pytest.mark.slow if n in SLOW_PARITY else ()) for n in TRANSLATORS
    ])
    def test_mirrored_parity(self, name, mirrored, monkeypatch):
        row = tiny_translator(name)
        self.run_mirrored_parity_test(
            lambda: build_translator(name, **row.parity_overrides), *digit_pairs(name),
            mirrored, monkeypatch,
        )

    @pytest.mark.parametrize("name, policy", [
        pytest.param(n, p, id=f"{n}-{p}", marks=() if p == "mixed_float16" and n in MIXED_TRANSLATORS
                     else pytest.mark.slow)
        for n in TRANSLATORS for p in ("mixed_float16", "mixed_bfloat16")
    ])
    def test_mixed_precision(self, name, policy, mirrored):
        self.run_mixed_precision_test(
            lambda: build_translator(name, **tiny_translator(name).parity_overrides),
            *digit_pairs(name), policy, mirrored,
            metric="loss" if name == "super_resolution" else None,
        )
