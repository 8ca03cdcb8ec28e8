"""Held-out measures of recommenders, and the baselines they are compared with.

Rating prediction: RMSE and MAE on held-out ratings. Top-k recommendation: recall@k
(normalised by min(k, number held out), as in Liang et al. 2018) and NDCG@k over the
users with held-out items, the items a user trained on ranked last. Every predictor, a
zoo model or a baseline, is measured by the same functions: it answers
`predict_pairs(users, items)` (ratings of user and item indices) or `score_users(users)`
(a (len(users), num_items) array of scores, higher first).

Baselines: the global mean, user and item biases (regularised least squares, as the
bias baseline of the surprise library), biases plus a truncated SVD of the remaining
residuals (scikit-learn's `TruncatedSVD`, missing ratings as zeros), biased matrix
factorisation fitted on the observed ratings alone by alternating least squares, and item
popularity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from keras_genzoo.data.ratings import RatingsData, RatingsSplit


def rmse(predicted: Any, actual: Any) -> float:
    """Root mean squared error."""
    predicted, actual = np.asarray(predicted, np.float64), np.asarray(actual, np.float64)
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def mae(predicted: Any, actual: Any) -> float:
    """Mean absolute error."""
    predicted, actual = np.asarray(predicted, np.float64), np.asarray(actual, np.float64)
    return float(np.mean(np.abs(predicted - actual)))


def rating_metrics(predictor: Any, test: RatingsData) -> dict[str, float]:
    """{"rmse", "mae"} of `predictor.predict_pairs` on the held-out ratings, clipped to the scale."""
    predicted = np.clip(predictor.predict_pairs(test.users, test.items), *test.scale)
    return {"rmse": rmse(predicted, test.ratings), "mae": mae(predicted, test.ratings)}


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores of each row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(scores: np.ndarray, heldout: sp.csr_matrix, k: int) -> float:
    """Mean over rows of (held-out items in the top k) / min(k, number held out); rows
    without held-out items are skipped."""
    heldout = sp.csr_matrix(heldout)
    counts = np.diff(heldout.indptr)
    rows = np.nonzero(counts)[0]
    if not len(rows):
        raise ValueError("No row has held-out items to measure recall on.")
    top = _top_k(np.asarray(scores)[rows], k)
    hits = np.asarray(heldout[rows].toarray() > 0)
    found = np.take_along_axis(hits, top, axis=1).sum(axis=1)
    return float(np.mean(found / np.minimum(k, counts[rows])))


def ndcg_at_k(scores: np.ndarray, heldout: sp.csr_matrix, k: int) -> float:
    """Mean over rows of DCG@k / ideal DCG@k with binary relevance; rows without held-out
    items are skipped."""
    heldout = sp.csr_matrix(heldout)
    counts = np.diff(heldout.indptr)
    rows = np.nonzero(counts)[0]
    if not len(rows):
        raise ValueError("No row has held-out items to measure NDCG on.")
    top = _top_k(np.asarray(scores)[rows], k)
    hits = np.take_along_axis(np.asarray(heldout[rows].toarray() > 0), top, axis=1)
    discounts = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.array([discounts[: min(n, top.shape[1])].sum() for n in counts[rows]])
    return float(np.mean(dcg / ideal))


def ranking_metrics(
    predictor: Any, split: RatingsSplit, *, recall_ks: tuple[int, ...] = (20, 50),
    ndcg_k: int = 100, batch_size: int = 1024,
) -> dict[str, float]:
    """recall@k for each of `recall_ks` and NDCG@`ndcg_k` of `predictor.score_users` on the
    users with held-out items; items a user trained on are never recommended."""
    users = np.unique(split.test.users)
    if not len(users):
        raise ValueError("The split holds out no items: nothing to rank.")
    train, test = split.train.matrix(), split.test.matrix()
    parts: dict[str, list[tuple[float, int]]] = {}
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        scores = np.array(predictor.score_users(batch), np.float64)
        scores[train[batch].toarray() != 0] = -np.inf
        held = test[batch]
        for k in recall_ks:
            parts.setdefault(f"recall@{k}", []).append((recall_at_k(scores, held, k), len(batch)))
        parts.setdefault(f"ndcg@{ndcg_k}", []).append((ndcg_at_k(scores, held, ndcg_k), len(batch)))
    return {name: float(sum(v * n for v, n in values) / len(users)) for name, values in parts.items()}


# ----------------------------------------------------------------------------- baselines


class GlobalMeanBaseline:
    """Predicts the mean training rating for every pair."""

    def fit(self, train: RatingsData) -> GlobalMeanBaseline:
        self.mean = train.mean()
        return self

    def predict_pairs(self, users: Any, items: Any) -> np.ndarray:
        return np.full(len(np.asarray(users)), self.mean, np.float64)


class BiasBaseline:
    """mean + b_user + b_item, the biases fitted by alternating regularised least squares
    (`epochs` sweeps; `user_reg` and `item_reg` as the surprise library's defaults)."""

    def __init__(self, *, epochs: int = 10, user_reg: float = 15.0, item_reg: float = 10.0) -> None:
        self.epochs, self.user_reg, self.item_reg = int(epochs), float(user_reg), float(item_reg)

    def fit(self, train: RatingsData) -> BiasBaseline:
        self.mean = train.mean()
        self.user_bias = np.zeros(train.num_users)
        self.item_bias = np.zeros(train.num_items)
        users, items, ratings = train.users, train.items, train.ratings.astype(np.float64)
        user_counts = np.bincount(users, minlength=train.num_users)
        item_counts = np.bincount(items, minlength=train.num_items)
        for _ in range(self.epochs):
            residual = ratings - self.mean - self.user_bias[users]
            self.item_bias = np.bincount(items, residual, train.num_items) / (self.item_reg + item_counts)
            residual = ratings - self.mean - self.item_bias[items]
            self.user_bias = np.bincount(users, residual, train.num_users) / (self.user_reg + user_counts)
        return self

    def predict_pairs(self, users: Any, items: Any) -> np.ndarray:
        return self.mean + self.user_bias[np.asarray(users)] + self.item_bias[np.asarray(items)]


class TruncatedSVDBaseline(BiasBaseline):
    """The bias baseline plus a rank-`rank` truncated SVD of the training residuals (missing
    residuals taken as zero), the SVD baseline of rating prediction."""

    def __init__(self, rank: int = 10, *, seed: int = 0, **bias_options: Any) -> None:
        super().__init__(**bias_options)
        self.rank, self.seed = int(rank), seed

    def fit(self, train: RatingsData) -> TruncatedSVDBaseline:
        super().fit(train)
        residual = train.ratings - super().predict_pairs(train.users, train.items)
        shape = (train.num_users, train.num_items)
        matrix = sp.csr_matrix((residual, (train.users, train.items)), shape=shape)
        rank = min(self.rank, min(matrix.shape) - 1)
        svd = TruncatedSVD(rank, algorithm="randomized", n_iter=7, random_state=self.seed)
        self.user_factors = svd.fit_transform(matrix)
        self.item_factors = svd.components_.T
        return self

    def predict_pairs(self, users: Any, items: Any) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        low_rank = np.sum(self.user_factors[users] * self.item_factors[items], axis=1)
        return super().predict_pairs(users, items) + low_rank


class MatrixFactorizationBaseline:
    """mean + b_user + b_item + p_user . q_item (rank `rank`), every term fitted to the
    observed ratings alone by alternating regularised least squares: each sweep solves
    every user's factors and bias given the items', then every item's given the users'
    (`reg` on factors and biases, `epochs` sweeps, factors started at random from `seed`).

    The biased matrix factorisation of rating prediction, unlike the truncated SVD that
    reads missing ratings as zeros; with the right rank it is the model that generated
    `synthetic_ratings`, so its held-out RMSE shows how close the data allows any model to
    come to the noise floor.
    """

    def __init__(self, rank: int = 5, *, reg: float = 1.0, epochs: int = 15, seed: int = 0) -> None:
        if int(rank) < 1 or not float(reg) > 0 or int(epochs) < 1:
            raise ValueError("rank and epochs must be positive integers and reg positive, got "
                             f"rank={rank!r}, reg={reg!r}, epochs={epochs!r}.")
        self.rank, self.reg, self.epochs, self.seed = int(rank), float(reg), int(epochs), seed

    def fit(self, train: RatingsData) -> MatrixFactorizationBaseline:
        self.mean = train.mean()
        rng = np.random.default_rng(self.seed)
        shape = (train.num_users, train.num_items)
        by_user = sp.csr_matrix((train.ratings.astype(np.float64), (train.users, train.items)), shape=shape)
        by_item = by_user.T.tocsr()
        self.user_factors = rng.normal(0.0, 0.1, (shape[0], self.rank))
        self.item_factors = rng.normal(0.0, 0.1, (shape[1], self.rank))
        self.user_bias, self.item_bias = np.zeros(shape[0]), np.zeros(shape[1])
        for _ in range(self.epochs):
            self._solve(by_user, self.item_factors, self.item_bias, self.user_factors, self.user_bias)
            self._solve(by_item, self.user_factors, self.user_bias, self.item_factors, self.item_bias)
        return self

    def _solve(self, rows: sp.csr_matrix, other_factors: np.ndarray, other_bias: np.ndarray,
               factors: np.ndarray, bias: np.ndarray) -> None:
        """Least-squares factors and bias of every row given the other side's (in place);
        a row without ratings gets zeros."""
        penalty = self.reg * np.eye(self.rank + 1)
        for row in range(rows.shape[0]):
            start, end = rows.indptr[row], rows.indptr[row + 1]
            columns = rows.indices[start:end]
            design = np.hstack([other_factors[columns], np.ones((end - start, 1))])
            target = rows.data[start:end] - self.mean - other_bias[columns]
            solution = np.linalg.solve(design.T @ design + penalty, design.T @ target)
            factors[row], bias[row] = solution[:-1], solution[-1]

    def predict_pairs(self, users: Any, items: Any) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        low_rank = np.sum(self.user_factors[users] * self.item_factors[items], axis=1)
        return self.mean + self.user_bias[users] + self.item_bias[items] + low_rank


class PopularityBaseline:
    """Scores every item by how many users have it in training: the same list for everyone."""

    def fit(self, train: RatingsData) -> PopularityBaseline:
        self.counts = np.bincount(train.items, minlength=train.num_items).astype(np.float64)
        return self

    def score_users(self, users: Any) -> np.ndarray:
        return np.tile(self.counts, (len(np.asarray(users)), 1))
