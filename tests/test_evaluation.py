"""Sample-quality metrics: Fréchet distance against closed forms, unbiased KID, coverage,
checksum-verified classifier weights and their recorded accuracy."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import (
    available_classifiers,
    class_coverage,
    conditional_accuracy,
    coverage_figure,
    feature_statistics,
    fid,
    fid_from_features,
    frechet_distance,
    gaussian_ring,
    kid,
    kid_from_features,
    load_feature_classifier,
    mmd2_unbiased,
    mode_coverage,
    polynomial_kernel,
)
from keras_genzoo.evaluation.classifiers import METADATA_FILE, WEIGHTS_DIR
from keras_genzoo.io.checksums import (
    ChecksumError,
    load_verified,
    sha256_file,
    verify_file,
)


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


# ------------------------------------------------------------------ Fréchet distance


def test_frechet_distance_matches_closed_forms():
    rng = np.random.default_rng(0)
    # Diagonal covariances: |m1 - m2|^2 + sum (s1 - s2)^2 over standard deviations.
    m1, m2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    expected = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(m1, np.diag(s1**2), m2, np.diag(s2**2)) == pytest.approx(expected, rel=1e-9)

    # General 2x2 covariances that do not commute: tr sqrt(A) = sqrt(tr A + 2 sqrt(det A))
    # for a 2x2 matrix A = C1 C2 with positive eigenvalues.
    c1 = _rotation(0.3) @ np.diag([3.0, 0.5]) @ _rotation(0.3).T
    c2 = _rotation(1.1) @ np.diag([0.2, 2.0]) @ _rotation(1.1).T
    product = c1 @ c2
    trace_root = np.sqrt(np.trace(product) + 2 * np.sqrt(np.linalg.det(product)))
    mean_gap = np.array([1.0, -2.0])
    expected = mean_gap @ mean_gap + np.trace(c1) + np.trace(c2) - 2 * trace_root
    assert frechet_distance(np.zeros(2), c1, mean_gap, c2) == pytest.approx(expected, rel=1e-9)

    # Symmetric, zero for identical Gaussians, invariant to a common rotation.
    assert frechet_distance(mean_gap, c2, np.zeros(2), c1) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mean_gap, c1, mean_gap, c1) == pytest.approx(0.0, abs=1e-9)
    r = _rotation(0.7)
    rotated = frechet_distance(np.zeros(2), r @ c1 @ r.T, r @ mean_gap, r @ c2 @ r.T)
    assert rotated == pytest.approx(expected, rel=1e-9)
    # Singular covariance (a point mass) against N(0, I): d + 0 - 0 = trace of I.
    assert frechet_distance(np.zeros(3), np.zeros((3, 3)), np.zeros(3), np.eye(3)) == pytest.approx(3.0)


def test_fid_from_samples_converges_to_the_closed_form():
    rng = np.random.default_rng(1)
    c1 = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
    c2 = np.diag([1.0, 2.0, 0.3])
    m2 = np.array([0.5, 0.0, -1.0])
    x = rng.multivariate_normal(np.zeros(3), c1, size=200_000)
    y = rng.multivariate_normal(m2, c2, size=200_000)
    expected = frechet_distance(np.zeros(3), c1, m2, c2)
    assert fid_from_features(x, y) == pytest.approx(expected, rel=0.02)
    mean, cov = feature_statistics(x)
    np.testing.assert_allclose(cov, c1, atol=0.03)
    with pytest.raises(ValueError, match=r"\(n, d\) array"):
        fid_from_features(x[:, 0], y)


# ------------------------------------------------------------------ KID


def _mmd2_by_definition(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic kernel written as explicit sums over pairs i != j."""
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_agrees_with_the_pairwise_definition():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 4)), rng.normal(0.3, 1.2, size=(25, 4))
    assert mmd2_unbiased(x, y) == pytest.approx(_mmd2_by_definition(x, y), rel=1e-10)
    np.testing.assert_allclose(polynomial_kernel(x[:2], y[:3]), (x[:2] @ y[:3].T / 4 + 1) ** 3)


def test_kid_is_unbiased_for_samples_of_one_distribution():
    """Over 400 pairs of samples from the same Gaussian the mean estimate is within three
    standard errors of 0, while the biased (V-statistic) version is clearly positive."""
    rng = np.random.default_rng(3)
    unbiased, biased = [], []
    for _ in range(400):
        x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
        unbiased.append(mmd2_unbiased(x, y))
        kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    assert np.mean(biased) > 10 * standard_error
    assert min(unbiased) < 0, "an unbiased estimate of zero must sometimes be negative"


def test_kid_separates_distributions_and_uses_subsets():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(600, 6))
    same = rng.normal(size=(500, 6))
    shifted = rng.normal(0.5, 1.0, size=(500, 6))
    close = kid_from_features(real, same, num_subsets=5, subset_size=200, seed=0)
    far = kid_from_features(real, shifted, num_subsets=5, subset_size=200, seed=0)
    assert far.mean > 10 * max(abs(close.mean), close.std)
    assert (close.num_subsets, close.subset_size) == (5, 200)
    assert kid_from_features(real, same, subset_size=10_000).subset_size == 500
    assert kid_from_features(real, same, seed=1) == kid_from_features(real, same, seed=1)


# ------------------------------------------------------------------ coverage


def test_mode_coverage_counts_modes_with_samples_near_them(tmp_path):
    points, centers = gaussian_ring(4000, std=0.05, seed=0)
    full = mode_coverage(points, centers, radius=0.25)
    assert full.covered == 8 and full.high_quality_fraction > 0.99
    assert sum(full.counts) == pytest.approx(4000, abs=40)
    two_modes = points[np.linalg.norm(points - centers[0], axis=1) < 0.3]
    two_modes = np.concatenate([two_modes, two_modes + (centers[3] - centers[0])])
    partial = mode_coverage(two_modes, centers, radius=0.25)
    assert partial.covered == 2 and partial.mode_covered[0] and partial.mode_covered[3]
    far = mode_coverage(np.full((100, 2), 10.0), centers, radius=0.25)
    assert far.covered == 0 and far.high_quality_fraction == 0.0
    path = coverage_figure(two_modes, centers, 0.25, str(tmp_path / "coverage.png"))
    from PIL import Image

    image = np.asarray(Image.open(path))
    assert image.shape == (320, 320, 3)
    assert np.any(np.all(image == (220, 0, 0), axis=-1)), "missed modes are drawn in red"
    with pytest.raises(ValueError, match="centers"):
        mode_coverage(np.zeros((5, 3)), centers, radius=0.25)


def test_class_coverage():
    balanced = class_coverage(np.arange(1000) % 10, 10)
    assert balanced.covered == 10 and balanced.normalized_entropy == pytest.approx(1.0)
    collapsed = class_coverage(np.full(1000, 3), 10)
    assert collapsed.covered == 1 and collapsed.normalized_entropy == pytest.approx(0.0)
    assert collapsed.shares[3] == 1.0


# ------------------------------------------------------------------ checksums


def test_checksum_verification(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"keras genzoo")
    wrong = "0" * 64
    actual = sha256_file(str(path))
    assert actual == hashlib.sha256(b"keras genzoo").hexdigest()
    assert verify_file(str(path), actual.upper()) == str(path)
    with pytest.raises(ChecksumError) as error:
        verify_file(str(path), wrong)
    message = str(error.value)
    assert wrong in message and actual in message and "Reinstall" in message
    calls = []
    with pytest.raises(ChecksumError):
        load_verified(str(path), wrong, calls.append)
    assert calls == [], "the loader must not see an unverified file"
    assert load_verified(str(path), actual, lambda p: open(p, "rb").read()) == b"keras genzoo"
    with pytest.raises(ValueError, match="64 hexadecimal"):
        verify_file(str(path), "abc")
    with pytest.raises(FileNotFoundError):
        verify_file(str(tmp_path / "missing.bin"), actual)


def test_tampered_classifier_weights_are_refused(tmp_path):
    weights_dir = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, weights_dir)
    record = json.loads((weights_dir / METADATA_FILE).read_text())["digits"]
    weights = weights_dir / record["weights_file"]
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=record["sha256"]):
        load_feature_classifier("digits", weights_dir=str(weights_dir))


# ------------------------------------------------------------------ shipped classifiers


def test_shipped_metadata_records_accuracy_and_checksums():
    assert available_classifiers() == ["digits", "mnist"]
    metadata = json.loads(open(os.path.join(WEIGHTS_DIR, METADATA_FILE)).read())
    for dataset, record in metadata.items():
        assert record["test_accuracy"] >= 0.95, dataset
        assert sha256_file(os.path.join(WEIGHTS_DIR, record["weights_file"])) == record["sha256"]


def test_digits_classifier_reproduces_its_recorded_accuracy():
    """The recorded held-out accuracy (97.5 %) is reproduced to within 3 of 359 images
    (other CPUs may round a borderline logit the other way)."""
    classifier = load_feature_classifier("digits")
    images, labels, _ = load_arrays("digits", "test")
    assert classifier.accuracy(images, labels) == pytest.approx(classifier.test_accuracy, abs=0.009)
    # The same images in [-1, 1] give the same answers when the range is stated.
    symmetric, _, _ = load_arrays("digits", "test", scale="symmetric")
    np.testing.assert_array_equal(classifier.predict(symmetric, (-1, 1)), classifier.predict(images))
    result = conditional_accuracy(images, labels, classifier)
    assert result.accuracy == pytest.approx(classifier.accuracy(images, labels))
    assert classifier.features(images[:7]).shape == (7, 128)
    with pytest.raises(ValueError, match=r"shape \(n, 8, 8, 1\)"):
        classifier.features(np.zeros((2, 28, 28, 1), np.float32))


def test_fid_and_kid_rank_real_digits_above_noise():
    """Held-out digits are far closer to the training digits than noise or blurred digits."""
    train, _, _ = load_arrays("digits", "train")
    test, _, _ = load_arrays("digits", "test")
    noise = np.random.default_rng(0).uniform(size=test.shape).astype(np.float32)
    blurred = (test + np.roll(test, 1, axis=1) + np.roll(test, 1, axis=2)) / 3
    real_fid, blurred_fid, noise_fid = (fid(train, x, "digits") for x in (test, blurred, noise))
    assert real_fid < 10 and real_fid * 3 < blurred_fid < noise_fid, (real_fid, blurred_fid, noise_fid)
    assert kid(train, test, "digits").mean * 10 < kid(train, noise, "digits").mean


def test_mnist_classifier_reproduces_its_recorded_accuracy(mnist_dir):
    classifier = load_feature_classifier("mnist")
    images, labels, _ = load_arrays("mnist", "test", data_dir=mnist_dir)
    assert len(images) == 2000
    assert classifier.accuracy(images, labels) == pytest.approx(classifier.test_accuracy, abs=0.005)
    train, _, _ = load_arrays("mnist", "train", data_dir=mnist_dir)
    assert fid(train[:2000], images, classifier) < 0.1 * fid(train[:2000], images[:, ::-1], classifier)
