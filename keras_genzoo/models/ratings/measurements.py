"""The recommenders' held-out measurements, registered in the table every run uses.

Both read the `ratings` of a `HeldOut` split (a `RatingsSplit`) and score the model and
its baselines with the same functions of `keras_genzoo.evaluation.ratings`, fitted on the
same training ratings:

- `rating_prediction` (models that predict ratings: `autorec`, `rbm_cf`): held-out RMSE
  and MAE, beside the global mean, user and item biases, and biases plus a truncated SVD
  of rank `svd_rank` (seeded by the split's seed);
- `ranking` (`multvae`): recall@20, recall@50 and NDCG@100 over the users with held-out
  items, beside item popularity.
"""

from __future__ import annotations

from typing import Any, Mapping

from keras_genzoo.evaluation.heldout import HeldOut, Measurement, register_measurement
from keras_genzoo.evaluation.ratings import (
    BiasBaseline,
    GlobalMeanBaseline,
    PopularityBaseline,
    TruncatedSVDBaseline,
    ranking_metrics,
    rating_metrics,
)
from keras_genzoo.models.ratings.model import MultVAE, RatingsModel


def _split_of(held: HeldOut) -> Any:
    if held.ratings is None:
        raise ValueError("This measurement needs held-out ratings; the split holds images.")
    return held.ratings


def _rating_prediction(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, Any]:
    split = _split_of(held)
    baselines = {
        "global_mean": GlobalMeanBaseline(),
        "biases": BiasBaseline(),
        f"biases_svd_rank{options['svd_rank']}": TruncatedSVDBaseline(options["svd_rank"], seed=held.seed),
    }
    report: dict[str, Any] = {"num_ratings": int(len(split.test)), **rating_metrics(model, split.test)}
    report["baselines"] = {
        name: rating_metrics(baseline.fit(split.train), split.test) for name, baseline in baselines.items()
    }
    return report


def _ranking(model: Any, held: HeldOut, options: Mapping[str, Any]) -> dict[str, Any]:
    split = _split_of(held)
    report: dict[str, Any] = {"num_users": int(len(set(split.test.users.tolist()))),
                              **ranking_metrics(model, split)}
    report["baselines"] = {"popularity": ranking_metrics(PopularityBaseline().fit(split.train), split)}
    return report


register_measurement(Measurement(
    "rating_prediction", _rating_prediction, {"svd_rank": 10}, {"rmse": "min", "mae": "min"},
    RatingsModel, "held-out RMSE and MAE of ratings, with bias and truncated-SVD baselines",
    section="ratings",
))
register_measurement(Measurement(
    "ranking", _ranking, {}, {"recall@20": "max", "recall@50": "max", "ndcg@100": "max"}, MultVAE,
    "recall@20, recall@50 and NDCG@100 of held-out items, with the popularity baseline",
    section="ratings",
))
