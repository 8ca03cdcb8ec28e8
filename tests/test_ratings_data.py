"""Ratings files, splits, metrics and baselines, on generated (synthetic) ratings written in
the MovieLens layouts: the tests never need MovieLens itself."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from keras_genzoo.data.errors import DataNotFoundError
from keras_genzoo.data.ratings import (
    RatingsFormatError,
    from_arrays,
    implicit,
    leave_out_split,
    read_ratings,
    split_ratings,
    synthetic_ratings,
    write_ratings,
)
from keras_genzoo.evaluation.ratings import (
    BiasBaseline,
    GlobalMeanBaseline,
    MatrixFactorizationBaseline,
    PopularityBaseline,
    TruncatedSVDBaseline,
    mae,
    ndcg_at_k,
    rating_metrics,
    recall_at_k,
    rmse,
)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_ratings(200, 120, rank=3, density=0.1, noise_std=0.3, seed=4)


def _same(a, b) -> None:
    assert a.matrix().shape == b.matrix().shape
    assert (a.matrix() != b.matrix()).nnz == 0
    np.testing.assert_array_equal(a.user_ids, b.user_ids)
    np.testing.assert_array_equal(a.item_ids, b.item_ids)


# ------------------------------------------------------------------ the generator


def test_synthetic_ratings_are_seeded_sparse_and_skewed(synthetic):
    data = synthetic.data
    again = synthetic_ratings(200, 120, rank=3, density=0.1, noise_std=0.3, seed=4).data
    _same(data, again)
    assert 0.07 < len(data) / (200 * 120) < 0.14
    counts = np.bincount(data.ratings.astype(int), minlength=6)[1:]
    assert counts[3] + counts[2] > counts[0] + counts[1]  # 4s and 3s outnumber 1s and 2s
    assert np.all(np.bincount(data.users, minlength=200) > 0)
    assert np.all(np.bincount(data.items, minlength=120) > 0)
    # `expected` is the mean rating given the planted score: unbiased, within the scale,
    # and the floor it sets rises with the generator's noise
    assert abs(np.mean(data.ratings - synthetic.expected)) < 0.02
    assert synthetic.expected.min() >= 1 and synthetic.expected.max() <= 5
    noisier = synthetic_ratings(200, 120, rank=3, density=0.1, noise_std=0.8, seed=4)
    assert 0.3 < synthetic.noise_rmse < 0.5 < noisier.noise_rmse < 0.9
    assert rmse(np.round(synthetic.expected), data.ratings) > synthetic.noise_rmse
    item_counts = np.sort(np.bincount(data.items))[::-1]
    assert item_counts[:12].sum() > 2 * item_counts[-12:].sum()  # popular items dominate


# ------------------------------------------------------------------------ formats


@pytest.mark.parametrize("name, layout", [("u.data", "ml100k"), ("ratings.dat", "ml1m"),
                                          ("ratings.csv", "csv"), ("ratings.parquet", "parquet")])
def test_every_layout_round_trips(synthetic, tmp_path, name, layout):
    path = write_ratings(synthetic.data, str(tmp_path / name), timestamps=synthetic.timestamps)
    text = None if layout == "parquet" else (tmp_path / name).read_text().splitlines()
    if layout == "ml100k":
        assert len(text[0].split("\t")) == 4
    elif layout == "ml1m":
        assert len(text[0].split("::")) == 4
    elif layout == "csv":
        assert text[0] == "userId,movieId,rating,timestamp"
    read = read_ratings(path)
    _same(read, synthetic.data)
    assert read.scale == ((0.5, 5.0) if layout == "csv" else (1.0, 5.0))


def test_generic_csv_with_named_string_columns(tmp_path):
    path = tmp_path / "plays.csv"
    path.write_text("who,what,stars,extra\nann,x,4,a\nbob,x,2,b\nann,y,5,c\n")
    data = read_ratings(str(path), columns=("who", "what", "stars"), scale=(1, 5, 1))
    assert list(data.user_ids) == ["ann", "bob"] and list(data.item_ids) == ["x", "y"]
    assert data.matrix().toarray().tolist() == [[4.0, 5.0], [2.0, 0.0]]
    assert data.user_index("bob") == 1
    with pytest.raises(KeyError, match="No item with id 3"):
        data.item_index(3)  # a number among text ids


def test_half_star_ratings_of_the_csv_layout(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,10,3.5,0\n2,10,0.5,0\n")
    assert sorted(read_ratings(str(path)).ratings.tolist()) == [0.5, 3.5]


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name, text, message", [
    ("u.data", "1\t2\t3\t0\n1\t3\n", "line 2: expected 4 fields"),
    ("u.data", "1\t2\t3\t0\n2\t2\tfive\t0\n", "line 2: the rating 'five' is not a number"),
    ("u.data", "1\t2\t3\t0\n\n2\t2\t6\t0\n", "line 3: rating 6 is not on the scale 1..5"),
    ("u.data", "1\t2\t3\t0\n1\t2\t4\t0\n", "line 2: user 1 rated item 2 again (first at line 1)"),
    ("ratings.dat", "1::2::3::0\n1::2::0::0\n", "line 2: rating 0 is not on the scale"),
    ("ratings.dat", "1::2::3::0\n1:2:3:0\n", "line 2: expected 4 fields"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5,0\n1,3,3.25,0\n",
     "line 3: rating 3.25 is not on the scale 0.5..5"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,0\n1,3\n", "line 3: expected 4 fields"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,0\n5,2,3,0\n1,2,4,0\n",
     "line 4: user 1 rated item 2 again (first at line 2)"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,,3,0\n", "line 2: a user or item id is empty"),
    ("ratings.csv", "user,film,score\n1,2,3\n", "has no user, item and rating columns"),
    ("ratings.csv", "", "the file is empty"),
    ("ratings.csv", "userId,movieId,rating\n", "no ratings in the file"),
])
def test_bad_rows_are_refused_with_their_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(RatingsFormatError) as err:
        read_ratings(str(path))
    assert message in str(err.value) and str(path) in str(err.value)


def test_bad_parquet_rows_name_their_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = str(tmp_path / "r.parquet")
    pq.write_table(pa.table({"user": [1, 1, 2], "item": [5, 6, 5], "rating": [4.0, -1.0, 2.0]}), path)
    with pytest.raises(RatingsFormatError, match="row 2: rating -1 is not a positive"):
        read_ratings(path)
    pq.write_table(pa.table({"user": [1, 2, 1], "item": [5, 5, 5], "rating": [4.0, 1.0, 2.0]}), path)
    with pytest.raises(RatingsFormatError, match=r"row 3: user 1 rated item 5 again \(first at row 1\)"):
        read_ratings(path)


def test_missing_file_unknown_layout_and_bad_scale(tmp_path):
    with pytest.raises(DataNotFoundError, match="licence forbids"):
        read_ratings(str(tmp_path / "u.data"))
    (tmp_path / "ratings.txt").write_text("1 2 3\n")
    with pytest.raises(ValueError, match="Cannot tell the layout"):
        read_ratings(str(tmp_path / "ratings.txt"))
    with pytest.raises(ValueError, match="format must be 'auto' or one of"):
        read_ratings(str(tmp_path / "ratings.txt"), format="tsv")
    (tmp_path / "u.data").write_text("1\t2\t3\t0\n")
    with pytest.raises(ValueError, match="ratings must be positive"):
        read_ratings(str(tmp_path / "u.data"), scale=(0, 5, 1))


# ------------------------------------------------------------------------- splits


def test_autorec_split_is_seeded_disjoint_and_ninety_ten(synthetic):
    data = synthetic.data
    split = split_ratings(data, 0.1, seed=3)
    assert len(split.test) == round(0.1 * len(data)) and len(split.train) + len(split.test) == len(data)
    assert split.train.matrix().multiply(split.test.matrix()).nnz == 0
    assert (split.train.matrix() + split.test.matrix() != data.matrix()).nnz == 0
    np.testing.assert_array_equal(split_ratings(data, 0.1, seed=3).test.ratings, split.test.ratings)
    assert not np.array_equal(split_ratings(data, 0.1, seed=4).test.users, split.test.users)
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        split_ratings(data, 1.0)


def test_users_and_items_without_training_ratings_are_listed():
    data = from_arrays([1, 1, 2, 3], ["a", "b", "a", "c"], [4, 5, 3, 2])
    split = split_ratings(data, 0.25, seed=0)
    held_user, held_item = split.test.users[0], split.test.items[0]
    assert len(split.test) == 1
    train_users, train_items = set(split.train.users), set(split.train.items)
    assert set(split.cold_users) == {u for u in range(3) if u not in train_users}
    assert set(split.cold_items) == {i for i in range(3) if i not in train_items}
    assert (held_user in split.cold_users) == (held_user not in train_users)
    assert (held_item in split.cold_items) == (held_item not in train_items)


def test_per_user_leave_out_split(synthetic):
    clicks = implicit(synthetic.data, threshold=4)
    assert set(clicks.ratings.tolist()) == {1.0} and len(clicks) == int((synthetic.data.ratings >= 4).sum())
    split = leave_out_split(clicks, 0.2, min_items=5, seed=0)
    per_user = np.bincount(clicks.users, minlength=clicks.num_users)
    held = np.bincount(split.test.users, minlength=clicks.num_users)
    eligible = per_user >= 5
    assert np.all(held[~eligible] == 0)
    assert np.all(held[eligible] == np.maximum(1, np.round(0.2 * per_user[eligible])))
    assert split.train.matrix().multiply(split.test.matrix()).nnz == 0
    with pytest.raises(ValueError, match="min_items must be at least 2"):
        leave_out_split(clicks, 0.2, min_items=1)


# ------------------------------------------------------------------ metrics, baselines


def test_rating_and_ranking_metrics_by_hand():
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(np.sqrt(4 / 3))
    assert mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]])
    held = sp.csr_matrix(np.array([[0, 1, 1, 0], [0, 0, 0, 0]]))
    assert recall_at_k(scores, held, 2) == pytest.approx(0.5)  # the second row has nothing held out
    assert recall_at_k(scores, held, 3) == pytest.approx(1.0)
    ideal = 1 + 1 / np.log2(3)
    assert ndcg_at_k(scores, held, 3) == pytest.approx((1 / np.log2(3) + 1 / np.log2(4)) / ideal)
    with pytest.raises(ValueError, match="No row has held-out items"):
        recall_at_k(scores, sp.csr_matrix((2, 4)), 2)


def test_baselines_improve_in_order_on_planted_structure():
    synthetic = synthetic_ratings(400, 200, rank=3, density=0.15, noise_std=0.3, seed=1)
    split = split_ratings(synthetic.data, 0.1, seed=0)
    scores = {name: rating_metrics(baseline.fit(split.train), split.test)["rmse"]
              for name, baseline in [("mean", GlobalMeanBaseline()), ("bias", BiasBaseline()),
                                     ("svd", TruncatedSVDBaseline(3)),
                                     ("mf", MatrixFactorizationBaseline(3))]}
    assert scores["mf"] < scores["svd"] < scores["bias"] < scores["mean"], scores
    # the generator's own model, fitted on the observed ratings, comes near its noise floor
    # (0.489 against 0.382 measured; the truncated SVD stays 0.39 above it)
    assert scores["mf"] < synthetic.noise_rmse + 0.12, (scores, synthetic.noise_rmse)
    with pytest.raises(ValueError, match="rank and epochs must be positive"):
        MatrixFactorizationBaseline(0)
    popularity = PopularityBaseline().fit(split.train).score_users([0, 5])
    assert popularity.shape == (2, 200) and np.array_equal(popularity[0], popularity[1])
