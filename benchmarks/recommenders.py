"""Recommenders against their baselines, on a MovieLens file or on generated ratings.

Rating prediction (AutoRec, the RBM with softmax visible units) on a seeded 90 / 10
split of the ratings: held-out RMSE and MAE beside the global mean, user and item
biases, and the biases plus a truncated SVD of rank 2 to 50 (every rank reported; the
best on the test split is the baseline to beat, a choice that favours the SVD), and a
biased matrix factorisation fitted by alternating least squares at ranks 2 to 20 (on
generated data, rank 5 is the generator's own model: how close the data allows a model
to come to the noise floor).
Top-k recommendation (Mult-VAE) on implicit feedback, the pairs rated at least
`--implicit-threshold`, with 20% of each user's items held out (users with at least 5):
recall@20, recall@50 and NDCG@100 beside item popularity.
The explicit models' settings and epochs are chosen on an inner split of the training
ratings (10 %, seed + 1), never on the test split: the script prints that table too.

Without `--ratings`, the data is generated (synthetic): 1,000 users, 1,000 items, rank-5
planted structure, about 8% of the pairs rated, rating noise 0.5, seed `--seed`; the RMSE
of the ratings around the planted scores is printed as the floor. With `--ratings PATH`
(MovieLens 100K `u.data`, 1M `ratings.dat`, 20M / 25M / latest `ratings.csv`, or any CSV or
Parquet of user, item, rating), the same protocol runs on that file; MovieLens cannot be
bundled, download it from https://grouplens.org/datasets/movielens/.

    python benchmarks/recommenders.py [--ratings PATH] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
from _common import load_average, machine_note, markdown_table

from keras_genzoo.data.ratings import (
    implicit,
    leave_out_split,
    read_ratings,
    split_ratings,
    synthetic_ratings,
)
from keras_genzoo.evaluation.ratings import (
    BiasBaseline,
    GlobalMeanBaseline,
    MatrixFactorizationBaseline,
    PopularityBaseline,
    TruncatedSVDBaseline,
    ranking_metrics,
    rating_metrics,
)
from keras_genzoo.models.ratings import create_recommender

#: AutoRec with the encoder reading shrunk deviations from the mean (chosen on the inner split)
AUTOREC_SHRUNK = {"hidden_units": 10, "activation": "elu", "input_shrinkage": 30.0, "l2": 3.0,
                  "learning_rate": 3e-3}
#: name, builder settings, epochs, batch size (rows: items for AutoRec, users otherwise)
EXPLICIT = [
    ("autorec", {"l2": 30.0}, 30, 32),
    ("autorec", AUTOREC_SHRUNK, 100, 32),
    ("rbm_cf", {}, 30, 16),
]
#: epochs at which the inner-validation table reports the held-out RMSE
INNER_EPOCHS = (10, 20, 30, 50, 70, 100)
IMPLICIT = ("multvae", {"latent_dim": 50, "units": [200], "anneal_steps": 2000}, 60, 64)
SVD_RANKS = (2, 5, 10, 20, 50)
MF_RANKS = (2, 5, 10, 20)


def _timed_fit(name: str, settings: dict, train, epochs: int, batch_size: int, seed: int, **fit_options):
    keras.utils.set_random_seed(seed)
    model = create_recommender(name, train, seed=seed, **settings)
    start = time.perf_counter()
    history = model.fit(train, epochs=epochs, batch_size=batch_size, verbose=0, **fit_options)
    return model, time.perf_counter() - start, history.history


def _label(name: str, settings: dict) -> str:
    return f"`{name}` {settings or ''}".strip()


def _inner_validation(train, seed: int) -> None:
    """Held-out RMSE by epoch on a split of the training ratings alone (10 %, seed + 1): where
    the settings and epochs of the explicit models were chosen, so the test split is not."""
    inner = split_ratings(train, 0.1, seed=seed + 1)
    print(f"inner validation: {len(inner.train)} / {len(inner.test)} of the training ratings\n")
    rows = []
    for name, settings, epochs, batch_size in EXPLICIT:
        longest = max(epochs, INNER_EPOCHS[-1])
        _, _, history = _timed_fit(name, settings, inner.train, longest, batch_size, seed,
                                   validation_data=inner.test)
        curve = history["val_rmse"]
        rows.append([_label(name, settings), epochs, f"{curve[epochs - 1]:.4f}",
                     *(f"{curve[e - 1]:.4f}" for e in INNER_EPOCHS)])
    print(markdown_table(["model", "epochs used", "RMSE there", *(f"epoch {e}" for e in INNER_EPOCHS)], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", help="a MovieLens ratings file (or CSV / Parquet of user, item, rating)")
    parser.add_argument("--format", default="auto", help="ml100k, ml1m, csv, parquet or auto (from the name)")
    parser.add_argument("--implicit-threshold", type=float, default=3.5,
                        help="ratings at least this count as clicks for Mult-VAE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-inner-validation", action="store_true",
                        help="leave out the held-out RMSE by epoch on a split of the training ratings")
    args = parser.parse_args()

    load_before = load_average()
    if args.ratings:
        data = read_ratings(args.ratings, args.format)
        print(f"data: {args.ratings}")
    else:
        synthetic = synthetic_ratings(1000, 1000, rank=5, density=0.08, noise_std=0.5, seed=args.seed)
        data = synthetic.data
        print(f"data: synthetic ratings (seed {args.seed}), planted-score RMSE of the ratings "
              f"(noise floor) {synthetic.noise_rmse:.4f}")
    print(f"{data.num_users} users, {data.num_items} items, {len(data)} ratings, "
          f"levels {[float(v) for v in data.levels]}; {machine_note()}")

    split = split_ratings(data, 0.1, seed=args.seed)
    print(f"\nexplicit: {len(split.train)} train / {len(split.test)} held-out ratings; "
          f"{len(split.cold_users)} users and {len(split.cold_items)} items without training ratings "
          "(predicted as the training mean)\n")
    rows = []
    for label, baseline in [("global mean", GlobalMeanBaseline()), ("user + item biases", BiasBaseline())] + [
        (f"biases + truncated SVD rank {r}", TruncatedSVDBaseline(r, seed=args.seed)) for r in SVD_RANKS
    ] + [
        (f"matrix factorisation (ALS) rank {r}", MatrixFactorizationBaseline(r, seed=args.seed))
        for r in MF_RANKS
    ]:
        start = time.perf_counter()
        baseline.fit(split.train)
        scores = rating_metrics(baseline, split.test)
        seconds = time.perf_counter() - start
        rows.append([label, "", f"{seconds:.1f}", f"{scores['rmse']:.4f}", f"{scores['mae']:.4f}"])
    for name, settings, epochs, batch_size in EXPLICIT:
        model, seconds, _ = _timed_fit(name, settings, split.train, epochs, batch_size, args.seed)
        scores = rating_metrics(model, split.test)
        rows.append([_label(name, settings), epochs, f"{seconds:.1f}", f"{scores['rmse']:.4f}",
                     f"{scores['mae']:.4f}"])
    print(markdown_table(["model", "epochs", "train s", "held-out RMSE", "held-out MAE"], rows))
    if not args.skip_inner_validation:
        print()
        _inner_validation(split.train, args.seed)

    clicks = implicit(data, args.implicit_threshold)
    held = leave_out_split(clicks, 0.2, seed=args.seed)
    print(f"\nimplicit (ratings >= {args.implicit_threshold:g}): {len(clicks)} clicks, "
          f"{len(held.test)} held out from {len(set(held.test.users.tolist()))} users\n")
    name, settings, epochs, batch_size = IMPLICIT
    rows = []
    start = time.perf_counter()
    popularity = PopularityBaseline().fit(held.train)
    results = [("item popularity", "", time.perf_counter() - start, ranking_metrics(popularity, held))]
    model, seconds, _ = _timed_fit(name, settings, held.train, epochs, batch_size, args.seed)
    results.append((f"`{name}` {settings}", epochs, seconds, ranking_metrics(model, held)))
    for label, count, seconds, scores in results:
        rows.append([label, count, f"{seconds:.1f}", f"{scores['recall@20']:.4f}",
                     f"{scores['recall@50']:.4f}", f"{scores['ndcg@100']:.4f}"])
    print(markdown_table(["model", "epochs", "train s", "recall@20", "recall@50", "NDCG@100"], rows))
    print(f"\nload average {load_before:.2f} before, {load_average():.2f} after")


if __name__ == "__main__":
    main()
