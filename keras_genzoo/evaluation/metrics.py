"""Sample-quality metrics on feature vectors: Fréchet distance (FID), KID, coverage.

All functions take NumPy arrays of features (n, d) or labels and return plain floats or
small dataclasses, so they work with any feature extractor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _features(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or len(arr) < 2:
        raise ValueError(f"{name} must be a (n, d) array of features with n >= 2, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of `features` (n, d)."""
    arr = _features(features, "features")
    return arr.mean(axis=0), np.cov(arr, rowvar=False).reshape(arr.shape[1], arr.shape[1])


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(
    mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray
) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mean1, cov1) and N(mean2, cov2).

    ||m1 - m2||^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2); the last trace equals
    tr((C1 C2)^1/2) but is computed from a symmetric matrix, which stays accurate for
    singular covariances.
    """
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mean1.shape[-1]
    if mean1.shape != (d,) or mean2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(
            f"Expected means of shape (d,) and covariances (d, d); got {mean1.shape}, "
            f"{cov1.shape}, {mean2.shape}, {cov2.shape}."
        )
    root1 = _psd_sqrt(cov1)
    cross = _psd_sqrt(root1 @ cov2 @ root1)
    distance = float(np.sum((mean1 - mean2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(cross))
    return max(distance, 0.0)


def fid_from_features(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets."""
    return frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features))


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """k(x, y) = (x.y / d + coef0) ** degree, the kernel KID uses."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased estimate of the squared MMD between the distributions of `x` and `y`.

    Diagonal terms k(x_i, x_i) are left out of the within-set averages, so the estimate
    has expectation exactly MMD^2 (and can be negative when the distributions match).
    """
    x, y = _features(x, "x"), _features(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y need the same feature size, got {x.shape[1]} and {y.shape[1]}.")
    m, n = len(x), len(y)
    kxx = polynomial_kernel(x, x, degree, coef0)
    kyy = polynomial_kernel(y, y, degree, coef0)
    kxy = polynomial_kernel(x, y, degree, coef0)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * kxy.mean())


@dataclass(frozen=True)
class KIDResult:
    """KID as the mean of unbiased MMD^2 estimates over random subsets, with their spread."""

    mean: float
    std: float
    num_subsets: int
    subset_size: int


def kid_from_features(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    *,
    num_subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
) -> KIDResult:
    """Kernel Inception Distance: unbiased cubic-kernel MMD^2 averaged over subsets.

    Subsets of `subset_size` (capped at the smaller set) are drawn without replacement.
    """
    real, fake = _features(real_features, "real_features"), _features(fake_features, "fake_features")
    size = min(int(subset_size), len(real), len(fake))
    rng = np.random.default_rng(seed)
    estimates = [
        mmd2_unbiased(
            real[rng.choice(len(real), size, replace=False)],
            fake[rng.choice(len(fake), size, replace=False)],
        )
        for _ in range(int(num_subsets))
    ]
    return KIDResult(float(np.mean(estimates)), float(np.std(estimates)), int(num_subsets), size)


@dataclass(frozen=True)
class ModeCoverage:
    """How many known modes receive samples, and how many samples sit near any mode."""

    covered: int
    num_modes: int
    counts: tuple[int, ...]
    mode_covered: tuple[bool, ...]
    high_quality_fraction: float


def mode_coverage(
    samples: np.ndarray,
    centers: np.ndarray,
    radius: float,
    *,
    min_fraction: float = 0.2,
) -> ModeCoverage:
    """Count the modes near which samples land.

    A sample belongs to its nearest center if it lies within `radius` of it; a mode is
    covered when it gets at least `min_fraction` of the share it would get if samples
    were spread evenly over the modes. `high_quality_fraction` is the share of samples
    within `radius` of some mode.
    """
    centers = np.asarray(centers, np.float64)
    points = np.asarray(samples, np.float64).reshape(len(samples), -1)
    if centers.ndim != 2 or points.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples of dimension {points.shape[1]} cannot be matched to centers of shape "
            f"{centers.shape}; pass centers as (num_modes, dimension)."
        )
    if len(points) == 0:
        raise ValueError("mode_coverage needs at least one sample.")
    distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    near = distances[np.arange(len(points)), nearest] <= radius
    counts = np.bincount(nearest[near], minlength=len(centers))
    is_covered = counts >= max(min_fraction * len(points) / len(centers), 1)
    return ModeCoverage(
        covered=int(is_covered.sum()),
        num_modes=len(centers),
        counts=tuple(int(c) for c in counts),
        mode_covered=tuple(bool(c) for c in is_covered),
        high_quality_fraction=float(near.mean()),
    )


@dataclass(frozen=True)
class ClassCoverage:
    """Classes a generator produces, judged by a classifier's predictions."""

    covered: int
    num_classes: int
    shares: tuple[float, ...]
    normalized_entropy: float


def class_coverage(predicted: np.ndarray, num_classes: int, *, min_fraction: float = 0.2) -> ClassCoverage:
    """Mode coverage for image data: classes predicted for at least `min_fraction` of an even share.

    `normalized_entropy` is the entropy of the predicted class histogram divided by
    log(num_classes): 1 for perfectly balanced samples, 0 when every sample is one class.
    """
    predicted = np.asarray(predicted).astype(np.int64).ravel()
    if len(predicted) == 0:
        raise ValueError("class_coverage needs at least one prediction.")
    shares = np.bincount(predicted, minlength=num_classes)[:num_classes] / len(predicted)
    nonzero = shares[shares > 0]
    entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(num_classes))
    return ClassCoverage(
        covered=int(np.sum(shares >= min_fraction / num_classes)),
        num_classes=int(num_classes),
        shares=tuple(float(s) for s in shares),
        normalized_entropy=entropy,
    )


def gaussian_ring(
    n: int, *, num_modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The classic GAN toy: `n` 2-D points from `num_modes` Gaussians evenly spaced on a circle.

    Returns (points (n, 2) float32, centers (num_modes, 2)); modes are equally likely.
    """
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    which = rng.integers(0, num_modes, size=int(n))
    points = centers[which] + std * rng.standard_normal((int(n), 2))
    return points.astype(np.float32), centers
