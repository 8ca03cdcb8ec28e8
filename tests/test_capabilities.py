"""The capabilities' one signature and rules, family by family: `generate` (n = 0, labels,
seeds, batch size), `encode`/`decode`/`reconstruct`/`interpolate`, `log_likelihood`
(and the RBM's per-example value against exact enumeration), the GAN's `latent_walk`,
the VAE's `encode_distribution`, the seed policy and the one denoising noise."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

import keras_genzoo
from keras_genzoo.core.capabilities import LIKELIHOOD_KINDS, DensityModel, Encoder, Generator
from keras_genzoo.core.randomness import fold_in_replica, resolve_seed
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.data.corruption import DEFAULT_NOISE_LEVEL, corrupt
from keras_genzoo.models.autoencoders import DenoisingAutoencoder
from keras_genzoo.models.rbm import RBMModel

SHAPE = (4, 4, 1)
GAN = dict(latent_dim=4, generator_filters=(8, 4), seed=0)
PIXELCNN = dict(filters=4, num_layers=1, first_kernel_size=3)
TINY = {
    "ae_dense": dict(units=(8,), latent_dim=3),
    "dae_dense": dict(units=(8,), latent_dim=3, seed=0),
    "vae_dense": dict(units=(8,), latent_dim=2, seed=0),
    "cvae_dense": dict(units=(8,), latent_dim=2, num_classes=3, seed=0),
    "dcgan": dict(discriminator_filters=(4, 8), **GAN),
    "cgan": dict(discriminator_filters=(4, 8), num_classes=3, **GAN),
    "wgan_gp": dict(critic_filters=(4, 8), **GAN),
    "pixelcnn": PIXELCNN,
    "pixelcnn_conditional": dict(num_classes=3, **PIXELCNN),
    "rbm_bernoulli": dict(hidden_units=4, seed=0),
}
CAPABILITIES = {
    "ae_dense": {Encoder},
    "dae_dense": {Encoder},
    "vae_dense": {Encoder, Generator, DensityModel},
    "cvae_dense": {Encoder, Generator, DensityModel},
    "dcgan": {Generator},
    "cgan": {Generator},
    "wgan_gp": {Generator},
    "pixelcnn": {Generator, DensityModel},
    "pixelcnn_conditional": {Generator, DensityModel},
    "rbm_bernoulli": {Generator, DensityModel},
}
KINDS = {"vae_dense": "bound", "cvae_dense": "bound", "pixelcnn": "exact",
         "pixelcnn_conditional": "exact", "rbm_bernoulli": "estimate"}
GENERATORS = [name for name, found in CAPABILITIES.items() if Generator in found]
ENCODERS = [name for name, found in CAPABILITIES.items() if Encoder in found]
DENSITIES = [name for name, found in CAPABILITIES.items() if DensityModel in found]


@pytest.fixture(scope="module")
def models():
    return {name: keras_genzoo.create_model(name, image_shape=SHAPE, **kw) for name, kw in TINY.items()}


def _images(model, n=5, seed=0):
    """n binary images in the model's value range (binary suits every likelihood)."""
    low, high = model.value_range
    bits = np.random.default_rng(seed).integers(0, 2, (n, *SHAPE))
    return (low + bits * (high - low)).astype(np.float32)


def _options(name):
    return {"gibbs_steps": 3} if name.startswith("rbm") else {}


@pytest.mark.parametrize("name", list(TINY))
def test_each_family_has_its_capabilities(models, name):
    model = models[name]
    assert {c for c in (Generator, Encoder, DensityModel) if isinstance(model, c)} == CAPABILITIES[name]
    if name in KINDS:
        assert model.likelihood_kind == KINDS[name] and model.likelihood_kind in LIKELIHOOD_KINDS


# ----------------------------------------------------------------------- generate


@pytest.mark.parametrize("name", GENERATORS)
def test_generate_count_rule(models, name):
    model = models[name]
    empty = model.generate(0, **_options(name))
    assert empty.shape == (0, *SHAPE) and empty.dtype == np.float32
    for bad in (-1, True, 2.0, "3", None):
        with pytest.raises(ValueError, match="n must be a non-negative integer"):
            model.generate(bad)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.generate(2, batch_size=0)
    with pytest.raises(TypeError):
        model.generate(2, None)  # labels (and everything after n) are keyword-only


@pytest.mark.parametrize("name", GENERATORS)
def test_generate_seed_rule(models, name):
    model, options = models[name], _options(name)
    images = model.generate(3, seed=5, **options)
    low, high = model.value_range
    assert images.shape == (3, *SHAPE) and images.dtype == np.float32
    assert images.min() >= low and images.max() <= high
    model.generate(2, seed=1, **options)  # earlier calls do not matter
    model.generate(2, **options)
    np.testing.assert_array_equal(model.generate(3, seed=5, **options), images)
    # batch_size splits the work; every image is still drawn
    assert model.generate(3, seed=5, batch_size=2, **options).shape == (3, *SHAPE)
    # seed=None: a fresh draw from Keras' global random state
    keras.utils.set_random_seed(11)
    first = model.generate(3, **options)
    keras.utils.set_random_seed(11)
    np.testing.assert_array_equal(model.generate(3, **options), first)
    assert not np.array_equal(model.generate(3, **options), first)


@pytest.mark.parametrize("name", GENERATORS)
def test_generate_label_rule(models, name):
    model, options = models[name], _options(name)
    if not model.is_conditional:
        with pytest.raises(ValueError, match="is unconditional and takes no labels"):
            model.generate(2, labels=[0, 1], **options)
        return
    cycled = model.generate(7, seed=2, **options)
    np.testing.assert_array_equal(cycled, model.generate(7, labels=np.arange(7) % 3, seed=2))
    np.testing.assert_array_equal(
        model.generate(2, labels=1, seed=2), model.generate(2, labels=[1, 1], seed=2)
    )
    with pytest.raises(ValueError, match="one label per image"):
        model.generate(3, labels=[0, 1])
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\]"):
        model.generate(2, labels=[0, 3])
    with pytest.raises(ValueError, match="not one-hot"):
        model.generate(2, labels=np.eye(3)[:2])


def test_family_options_stay_keyword_only(models):
    pixelcnn, gan = models["pixelcnn"], models["dcgan"]
    rbm = keras_genzoo.create_model("rbm_bernoulli", image_shape=SHAPE, hidden_units=4)
    rbm.rbm.kernel.assign(np.random.default_rng(0).normal(0, 2.0, (16, 4)).astype(np.float32))
    assert not np.array_equal(
        rbm.generate(2, seed=0, gibbs_steps=1), rbm.generate(2, seed=0, gibbs_steps=50)
    )
    with pytest.raises(ValueError, match="gibbs_steps must be a positive integer"):
        rbm.generate(2, gibbs_steps=0)
    np.testing.assert_array_equal(
        pixelcnn.generate(2, seed=0, cached=False), pixelcnn.generate(2, seed=0)
    )
    assert gan.generate(2, seed=0, use_ema=False).shape == (2, *SHAPE)


# ------------------------------------------------------------------------ encoders


@pytest.mark.parametrize("name", ENCODERS)
def test_encoder_contract(models, name):
    model = models[name]
    x = _images(model)
    labels = np.array([0, 1, 2, 0, 1]) if model.is_conditional else None
    codes = model.encode(x, labels=labels)
    assert codes.shape == (5, *model.code_shape) and codes.dtype == np.float32
    decoded = model.decode(codes, labels=labels)
    assert decoded.shape == x.shape
    np.testing.assert_allclose(model.reconstruct(x, labels=labels), decoded, atol=1e-6)
    np.testing.assert_array_equal(model.encode(x, labels=labels, batch_size=2), codes)
    assert model.decode(codes[:0], labels=None if labels is None else labels[:0]).shape == (0, *SHAPE)
    with pytest.raises(ValueError, match="decode expects latent codes of shape"):
        model.decode(np.zeros((2, 7), np.float32))
    ends = (labels[0], labels[1]) if model.is_conditional else None
    path = model.interpolate(x[0], x[1], steps=4, labels=ends)
    assert path.shape == (4, *SHAPE)
    np.testing.assert_allclose(path[[0, -1]], decoded[:2], atol=1e-5)
    batch_ends = (labels[:2], labels[2:4]) if model.is_conditional else None
    assert model.interpolate(x[:2], x[2:4], steps=3, labels=batch_ends).shape == (2, 3, *SHAPE)
    if model.is_conditional:
        with pytest.raises(ValueError, match="class-conditional: pass labels"):
            model.encode(x)
        with pytest.raises(ValueError, match="labels_a, labels_b"):
            model.interpolate(x[0], x[1])
    else:
        with pytest.raises(ValueError, match="takes no labels"):
            model.encode(x, labels=[0] * 5)


def test_vae_encode_gives_posterior_means_and_encode_distribution_the_pair(models):
    for name in ("vae_dense", "cvae_dense"):
        model = models[name]
        x = _images(model)
        labels = np.array([2, 1, 0, 2, 1]) if model.is_conditional else None
        mean, log_var = model.encode_distribution(x, labels=labels)
        assert mean.shape == log_var.shape == (5, model.latent_dim)
        np.testing.assert_array_equal(model.encode(x, labels=labels), mean)
        stats = keras.ops.convert_to_numpy(
            model.encoder(x if labels is None else [x, np.eye(3, dtype=np.float32)[labels]])
        )
        np.testing.assert_allclose(np.concatenate([mean, log_var], axis=1), stats, atol=1e-6)
        np.testing.assert_allclose(model.reconstruct(x, labels=labels),
                                   model.decode(mean, labels=labels), atol=1e-6)


def test_gan_latent_walk(models):
    dcgan, cgan = models["dcgan"], models["cgan"]
    frames = dcgan.latent_walk(5, seed=3)
    assert frames.shape == (5, *SHAPE)
    np.testing.assert_allclose(
        frames[[0, -1]], dcgan.generate_from_latent(dcgan.sample_latent(2, seed=3)), atol=1e-5
    )
    np.testing.assert_array_equal(dcgan.latent_walk(5, seed=3), frames)
    straight = dcgan.latent_walk(5, seed=3, method="linear")
    np.testing.assert_allclose(straight[[0, -1]], frames[[0, -1]], atol=1e-5)
    np.testing.assert_array_equal(cgan.latent_walk(4, seed=1, labels=2),
                                  cgan.latent_walk(4, seed=1, labels=[2, 2, 2, 2]))
    with pytest.raises(ValueError, match="pass the class"):
        cgan.latent_walk(4)
    with pytest.raises(ValueError, match="takes no labels"):
        dcgan.latent_walk(4, labels=1)
    with pytest.raises(ValueError, match="method must be one of"):
        dcgan.latent_walk(4, method="cubic")


# ------------------------------------------------------------------- likelihoods


@pytest.mark.parametrize("name", DENSITIES)
def test_log_likelihood_is_per_image_nats(models, name):
    model = models[name]
    x = _images(model, n=6)
    labels = np.arange(6) % 3 if model.is_conditional else None
    log_px = model.log_likelihood(x, labels=labels)
    assert log_px.shape == (6,) and log_px.dtype == np.float64 and np.all(np.isfinite(log_px))
    assert np.all(log_px < 0)  # binary 4x4 images: a probability mass below 1
    if model.is_conditional:
        with pytest.raises(ValueError, match="class-conditional: pass labels"):
            model.log_likelihood(x)
    else:
        with pytest.raises(ValueError, match="takes no labels"):
            model.log_likelihood(x, labels=[0] * 6)


def _brute_force_log_p(model: RBMModel, visible: np.ndarray) -> np.ndarray:
    """log p(v) of a Bernoulli RBM by summing exp(-E(v, h)) over every v and h."""
    w = np.asarray(model.rbm.kernel, np.float64)
    b = np.asarray(model.rbm.visible_bias, np.float64)
    c = np.asarray(model.rbm.hidden_bias, np.float64)
    hidden = np.array(list(itertools.product([0, 1], repeat=w.shape[1])), np.float64)

    def log_unnormalised(v):
        return logsumexp((v @ b)[:, None] + (hidden @ c)[None] + v @ w @ hidden.T, axis=-1)

    everything = np.array(list(itertools.product([0, 1], repeat=w.shape[0])), np.float64)
    return log_unnormalised(visible) - logsumexp(log_unnormalised(everything))


def test_rbm_log_likelihood_is_exact_with_an_exact_log_z_and_follows_the_weights():
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("rbm_bernoulli", image_shape=(2, 3, 1), hidden_units=4)
    rng = np.random.default_rng(1)
    model.rbm.kernel.assign(rng.normal(0, 1.0, (6, 4)).astype(np.float32))
    model.rbm.visible_bias.assign(rng.normal(0, 0.5, 6).astype(np.float32))
    model.rbm.hidden_bias.assign(rng.normal(0, 0.5, 4).astype(np.float32))
    every_image = np.array(list(itertools.product([0.0, 1.0], repeat=6)), np.float32)
    images = every_image.reshape(-1, 2, 3, 1)
    expected = _brute_force_log_p(model, every_image.astype(np.float64))

    log_z = model.estimate_log_partition("exact")
    assert model.log_partition() == log_z
    log_p = model.log_likelihood(images)
    assert log_p.shape == (64,)
    np.testing.assert_allclose(log_p, expected, atol=1e-6)
    assert abs(logsumexp(log_p)) < 1e-6  # a distribution over the 64 images
    np.testing.assert_allclose(model.log_likelihood(images[:5], log_z=log_z + 1.0),
                               expected[:5] - 1.0, atol=1e-6)

    # New weights: the cached log Z is stale, so the next call estimates it by AIS.
    model.rbm.hidden_bias.assign(rng.normal(0, 0.5, 4).astype(np.float32))
    fresh = _brute_force_log_p(model, every_image.astype(np.float64))
    assert model.log_partition() != log_z
    np.testing.assert_allclose(model.log_likelihood(images), fresh, atol=0.05)
    exact = model.estimate_log_partition("exact")
    np.testing.assert_allclose(model.log_likelihood(images), fresh, atol=1e-6)
    assert model.log_partition() == exact


def test_fresh_rbm_estimates_log_z_on_first_use(models):
    model = keras_genzoo.create_model("rbm_bernoulli", image_shape=SHAPE, hidden_units=4, seed=3)
    assert model._log_partition is None
    log_p = model.log_likelihood(_images(model))
    cached = model.log_partition()
    np.testing.assert_allclose(cached, model.estimate_log_partition("exact"), atol=0.05)
    assert log_p.shape == (5,)


# ------------------------------------------------------------ seeds and noise


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


def test_one_denoising_noise_for_pipelines_and_models(models):
    dae = models["dae_dense"]
    assert isinstance(dae, DenoisingAutoencoder) and dae.noise_level == DEFAULT_NOISE_LEVEL
    x = _images(dae)
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
