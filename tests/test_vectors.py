"""Vectors (tabular data) in the dense families: `image_shape=(d,)` for the dense AE, VAE
and the RBMs, and the VAE as an anomaly detector on real data shipped with scikit-learn."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import keras_genzoo

#: Standardised log-features reach about 14 on malignant cases; the Gaussian VAE's range
#: only bounds what it accepts and generates.
WIDE = (-50.0, 50.0)


@pytest.fixture(scope="module")
def cancer():
    """Breast cancer (Wisconsin): 250 benign cases to train on; the other 107 benign and all
    212 malignant to score. Features log(1 + x), standardised on the training cases."""
    x, y = load_breast_cancer(return_X_y=True)  # y = 1 benign, 0 malignant
    benign = np.random.default_rng(0).permutation(np.nonzero(y == 1)[0])
    malignant = np.nonzero(y == 0)[0]
    scaler = StandardScaler().fit(np.log1p(x[benign[:250]]))

    def scaled(rows):
        return scaler.transform(np.log1p(x[rows])).astype(np.float32)

    test = np.concatenate([scaled(benign[250:]), scaled(malignant)])
    labels = np.r_[np.zeros(len(benign) - 250), np.ones(len(malignant))]
    return scaled(benign[:250]), test, labels


def test_vae_scores_malignant_cases_as_anomalies(cancer):
    """ROC AUC of the negative ELBO, malignant against held-out benign: measured 0.9488 (an
    isolation forest: 0.9536); asserted >= 0.9."""
    train, test, malignant = cancer
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("vae_dense", image_shape=(30,), value_range=WIDE,
                                      likelihood="gaussian", latent_dim=4, units=(64,), seed=0)
    model.fit(train, epochs=60, batch_size=32, verbose=0)
    assert model.observation_std.shape == (30,)  # a learned scale per feature
    vae_auc = roc_auc_score(malignant, model.anomaly_score(test, seed=0))
    forest = IsolationForest(random_state=0).fit(train)
    forest_auc = roc_auc_score(malignant, -forest.score_samples(test))
    assert forest_auc > 0.9  # the baseline, for comparison
    assert vae_auc >= 0.9, (vae_auc, forest_auc)


def test_dense_builders_take_vectors(cancer):
    train = cancer[0]
    unit = MinMaxScaler().fit_transform(train).astype(np.float32)
    binary = (train > 0).astype(np.float32)
    keras.utils.set_random_seed(0)
    cases = [
        ("ae_dense", {"latent_dim": 4, "units": (16,)}, unit),
        ("vae_dense", {"latent_dim": 3, "units": (16,), "likelihood": "bernoulli", "seed": 0}, binary),
        ("rbm_bernoulli", {"hidden_units": 8, "seed": 0}, binary),
        ("rbm_gaussian", {"hidden_units": 8, "value_range": WIDE, "seed": 0}, train),
    ]
    for name, settings, data in cases:
        model = keras_genzoo.create_model(name, image_shape=(30,), **settings)
        history = model.fit(data, epochs=3, batch_size=50, verbose=0).history
        assert all(np.isfinite(v).all() for v in history.values()), name
        if name == "rbm_gaussian":  # standardises each feature with its training statistics
            mean = keras.ops.convert_to_numpy(model.data_mean).reshape(-1)
            np.testing.assert_allclose(mean, data.mean(axis=0), atol=1e-4)
        if isinstance(model, keras_genzoo.core.capabilities.Encoder):
            assert model.reconstruct(data[:5]).shape == (5, 30), name
        if isinstance(model, keras_genzoo.core.capabilities.Generator):
            kwargs = {"gibbs_steps": 5} if name.startswith("rbm") else {}
            assert model.generate(4, seed=1, **kwargs).shape == (4, 30), name
        with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 30\), got \(5, 29\)"):
            model.fit(data[:5, :29], verbose=0)


def test_conv_builders_refuse_vectors():
    with pytest.raises(ValueError, match=r"image_shape must be \(height, width, channels\)"):
        keras_genzoo.create_model("vae_conv", image_shape=(30,))
    with pytest.raises(ValueError, match=r"\(features,\) for vectors"):
        keras_genzoo.create_model("vae_dense", image_shape=(30, 2))
