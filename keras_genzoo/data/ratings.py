"""Ratings of items by users: files in the MovieLens layouts and any CSV or Parquet table of
(user, item, rating), sparse user-item matrices, the splits recommender papers use, and a
seeded synthetic generator with planted low-rank structure.

MovieLens may not be redistributed, so nothing here ships it: `read_ratings` reads the
files a user downloads. The layouts:

* ``"ml100k"``: MovieLens 100K `u.data`, tab-separated `user item rating timestamp`;
* ``"ml1m"``: MovieLens 1M (and 10M) `ratings.dat`, `user::item::rating::timestamp`;
* ``"csv"``: MovieLens 20M / 25M / latest `ratings.csv` (header `userId,movieId,rating,timestamp`)
  and any CSV with a header naming its user, item and rating columns;
* ``"parquet"``: a Parquet table with those columns (read with pyarrow).

Users and items are numbered 0..n-1 in the order of their sorted ids; `RatingsData` keeps the
ids, so results can be given back in the file's terms.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.stats import norm

from keras_genzoo.data.errors import DataFormatError, DataNotFoundError

FORMATS = ("ml100k", "ml1m", "csv", "parquet")
#: The rating scale of each MovieLens layout: (lowest, highest, step).
MOVIELENS_SCALES = {"ml100k": (1.0, 5.0, 1.0), "ml1m": (1.0, 5.0, 1.0), "csv": (0.5, 5.0, 0.5)}
#: Column names tried, in order, for a CSV or Parquet table without explicit `columns`.
DEFAULT_COLUMNS = (("userId", "movieId", "rating"), ("user", "item", "rating"),
                   ("user_id", "item_id", "rating"))
_DELIMITERS = {"ml100k": "\t", "ml1m": "::"}


class RatingsFormatError(DataFormatError):
    """A ratings file with a malformed row, an out-of-range rating or a repeated (user, item)
    pair; the message names the file and the line (or Parquet row)."""


@dataclasses.dataclass(frozen=True)
class RatingsData:
    """Observed ratings as parallel arrays of user index, item index and rating.

    `user_ids[u]` and `item_ids[i]` are the ids of user `u` and item `i` in the source file;
    `levels` are the rating values the scale allows (sorted), e.g. 1..5 for MovieLens 1M.
    Splits of one data set share its users, items and levels, so their matrices align.
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    levels: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.users)
        if len(self.items) != n or len(self.ratings) != n:
            raise ValueError("users, items and ratings must have the same length.")

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def scale(self) -> tuple[float, float]:
        """The lowest and highest rating the scale allows."""
        return float(self.levels[0]), float(self.levels[-1])

    def __len__(self) -> int:
        return len(self.ratings)

    def matrix(self) -> sp.csr_matrix:
        """The users x items matrix of ratings, float32, missing ratings absent (not stored)."""
        return sp.csr_matrix(
            (self.ratings.astype(np.float32), (self.users, self.items)),
            shape=(self.num_users, self.num_items),
        )

    def subset(self, rows: np.ndarray) -> RatingsData:
        """The ratings at `rows` (indices or a boolean mask), on the same users, items and levels."""
        return dataclasses.replace(
            self, users=self.users[rows], items=self.items[rows], ratings=self.ratings[rows]
        )

    def user_index(self, user_id: Any) -> int:
        """The index of the user with id `user_id` (a KeyError names unknown ids)."""
        return _index_of(self.user_ids, user_id, "user")

    def item_index(self, item_id: Any) -> int:
        """The index of the item with id `item_id`."""
        return _index_of(self.item_ids, item_id, "item")

    def mean(self) -> float:
        """The mean rating (the middle of the scale for no ratings)."""
        return float(self.ratings.mean()) if len(self) else float(np.mean(self.scale))


def _index_of(ids: np.ndarray, wanted: Any, what: str) -> int:
    try:
        position = int(np.searchsorted(ids, wanted))
    except (TypeError, ValueError):  # an id of another kind (text for numeric ids)
        position = len(ids)
    if position < len(ids) and ids[position] == wanted:
        return position
    raise KeyError(f"No {what} with id {wanted!r} in these ratings ({len(ids)} {what}s).")


# ----------------------------------------------------------------------------- reading


def detect_format(path: str) -> str:
    """The layout of a ratings file from its name: `u.data` or `*.data` (100K), `*.dat` (1M),
    `*.csv`, `*.parquet`."""
    name = os.path.basename(path).lower()
    for suffix, layout in ((".data", "ml100k"), (".dat", "ml1m"), (".csv", "csv"),
                           (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(suffix):
            return layout
    raise ValueError(
        f"Cannot tell the layout of {path!r} from its name; pass format= one of {FORMATS} "
        "(u.data is 'ml100k', ratings.dat 'ml1m', ratings.csv 'csv')."
    )


def levels_of(low: float, high: float, step: float) -> np.ndarray:
    """The ratings low, low + step, ..., high."""
    count = int(round((high - low) / step)) + 1
    return np.round(low + step * np.arange(count), 6).astype(np.float32)


def _level_error(value: float, levels: np.ndarray) -> str | None:
    if np.isnan(value) or not np.isclose(levels, value, atol=1e-6).any():
        return (f"rating {value:g} is not on the scale {levels[0]:g}..{levels[-1]:g} "
                f"(allowed: {', '.join(f'{v:g}' for v in levels)})")
    return None


def _delimited_rows(path: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line.split(delimiter)


def _csv_rows(path: str, columns: Sequence[str] | None) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise RatingsFormatError(f"{path}: the file is empty; a CSV of ratings needs a header line.")
        positions = _column_positions([h.strip() for h in header], columns, f"{path}, line 1")
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise RatingsFormatError(
                        f"{path}, line {reader.line_num}: expected {len(header)} fields as in the "
                        f"header, got {len(row)}: {','.join(row)!r}."
                    )
                yield reader.line_num, [row[p] for p in positions]


def _column_positions(header: list[str], columns: Sequence[str] | None, where: str) -> list[int]:
    candidates = [tuple(columns)] if columns is not None else list(DEFAULT_COLUMNS)
    for names in candidates:
        if all(name in header for name in names):
            return [header.index(name) for name in names]
    wanted = " or ".join(repr(list(names)) for names in candidates)
    raise RatingsFormatError(
        f"{where}: the header {header} has no user, item and rating columns {wanted}. "
        "Name them with columns=(user_column, item_column, rating_column)."
    )


def _parquet_rows(path: str, columns: Sequence[str] | None) -> Iterator[tuple[int, list[Any]]]:
    try:
        import pyarrow.parquet as pq  # optional: only Parquet files need it
    except ImportError:  # pragma: no cover - pyarrow is installed where the tests run
        raise ImportError(
            "Reading Parquet ratings needs pyarrow: pip install pyarrow (or convert the file to CSV)."
        ) from None
    table = pq.read_table(path)
    positions = _column_positions(list(table.column_names), columns, path)
    arrays = [table.column(p).to_pylist() for p in positions]
    for row, values in enumerate(zip(*arrays), start=1):
        yield row, list(values)


def read_ratings(
    path: str,
    format: str = "auto",
    *,
    columns: Sequence[str] | None = None,
    scale: Sequence[float] | None = None,
) -> RatingsData:
    """Read a ratings file into `RatingsData`.

    `format` is one of `FORMATS` or "auto" (from the file name, `detect_format`). `columns`
    names the user, item and rating columns of a CSV or Parquet table. `scale` is
    (lowest, highest, step); by default the MovieLens scale of the layout (1..5 for
    100K and 1M, 0.5..5 in halves for the CSVs), and for Parquet the distinct ratings found.
    Every row is checked: a malformed row, a rating off the scale or a (user, item)
    pair rated twice raises `RatingsFormatError` with its line number (row number for
    Parquet).
    """
    if not os.path.isfile(path):
        raise DataNotFoundError(
            f"No ratings file at {path!r}. MovieLens cannot be bundled (its licence forbids "
            "redistribution): download it from https://grouplens.org/datasets/movielens/ and "
            "pass the path of u.data, ratings.dat or ratings.csv."
        )
    layout = detect_format(path) if format == "auto" else format
    if layout not in FORMATS:
        raise ValueError(f"format must be 'auto' or one of {FORMATS}, got {format!r}.")
    if layout == "parquet":
        rows: Iterable[tuple[int, list[Any]]] = _parquet_rows(path, columns)
        where = "row"
    elif layout == "csv":
        rows, where = _csv_rows(path, columns), "line"
    else:
        rows, where = _delimited_rows(path, _DELIMITERS[layout]), "line"
    levels = None if scale is None else levels_of(*_check_scale(scale))
    if levels is None and layout in MOVIELENS_SCALES:
        levels = levels_of(*MOVIELENS_SCALES[layout])
    return _collect(path, rows, where, levels, fields_per_row=4 if layout in _DELIMITERS else 3)


def _check_scale(scale: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(v) for v in scale)
    if len(values) != 3 or not values[0] < values[1] or not values[2] > 0:
        raise ValueError(
            f"scale must be (lowest, highest, step) with lowest < highest, step > 0; got {scale!r}."
        )
    if values[0] <= 0:
        raise ValueError(
            f"scale starts at {values[0]:g}; ratings must be positive (0 means 'not rated' in a "
            "sparse matrix). Shift the ratings so that the lowest is positive."
        )
    return values  # type: ignore[return-value]


def _id_array(tokens: list[Any]) -> np.ndarray:
    """Ids as integers where every one is an integer, else as stripped text."""
    array = np.asarray(tokens)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.all(np.mod(array, 1) == 0):
        return array.astype(np.int64)
    text = np.char.strip(array.astype(str))
    try:
        return text.astype(np.int64)
    except (TypeError, ValueError):
        return text


def _collect(path: str, rows: Iterable[tuple[int, list[Any]]], where: str,
             levels: np.ndarray | None, fields_per_row: int) -> RatingsData:
    """Check the rows (the first offending row of each check is reported) and index them."""
    numbers: list[int] = []
    users: list[Any] = []
    items: list[Any] = []
    ratings: list[Any] = []
    for number, fields in rows:
        if len(fields) != fields_per_row:
            raise RatingsFormatError(
                f"{path}, {where} {number}: expected {fields_per_row} fields (user, item, rating"
                f"{', timestamp' if fields_per_row == 4 else ''}), got {len(fields)}: {fields!r}."
            )
        numbers.append(number)
        users.append(fields[0])
        items.append(fields[1])
        ratings.append(fields[2])
    if not numbers:
        raise RatingsFormatError(f"{path}: no ratings in the file.")

    def error(row: int, message: str) -> RatingsFormatError:
        return RatingsFormatError(f"{path}, {where} {numbers[row]}: {message}")

    user_tokens, item_tokens = _id_array(users), _id_array(items)
    for tokens in (user_tokens, item_tokens):
        if tokens.dtype.kind == "U" and (tokens == "").any():
            row = int(np.argmax(tokens == ""))
            raise error(row, f"a user or item id is empty: {[users[row], items[row], ratings[row]]!r}.")
    try:
        values = np.asarray(ratings).astype(np.float64)
    except (TypeError, ValueError):
        for row, token in enumerate(ratings):
            try:
                float(token)
            except (TypeError, ValueError):
                raise error(row, f"the rating {token!r} is not a number.") from None
        raise
    if levels is not None:
        levels = np.asarray(levels, np.float32)
        upper = np.clip(np.searchsorted(levels, values), 1, len(levels) - 1)
        lower_is_nearer = np.abs(values - levels[upper - 1]) <= np.abs(values - levels[upper])
        nearest = np.where(lower_is_nearer, upper - 1, upper)
        bad = ~(np.abs(values - levels[nearest]) <= 1e-6)
        if bad.any():
            row = int(np.argmax(bad))
            raise error(row, f"{_level_error(values[row], levels)}. Pass scale=(lowest, highest, step) "
                             "if the file uses another scale.")
        values = levels[nearest]
    else:
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            row = int(np.argmax(bad))
            raise error(row, f"rating {values[row]:g} is not a positive finite number.")
        values = values.astype(np.float32)
        levels = np.unique(values)
    user_ids, user_index = np.unique(user_tokens, return_inverse=True)
    item_ids, item_index = np.unique(item_tokens, return_inverse=True)
    keys = user_index.astype(np.int64) * len(item_ids) + item_index
    order = np.argsort(keys, kind="stable")
    repeated = np.nonzero(keys[order][1:] == keys[order][:-1])[0]
    if len(repeated):
        row = int(order[repeated + 1].min())
        first = int(order[np.searchsorted(keys[order], keys[row])])
        raise error(row, f"user {user_ids[user_index[row]].item()!r} rated item "
                         f"{item_ids[item_index[row]].item()!r} again (first at {where} {numbers[first]}). "
                         "Keep one rating per pair, e.g. the latest.")
    return RatingsData(user_index.astype(np.int32), item_index.astype(np.int32), values.astype(np.float32),
                       user_ids, item_ids, np.asarray(levels, np.float32))


def _ids(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    kinds = {type(v) for v in values}
    if len(kinds) > 1:  # numeric ids mixed with text: compare them all as text
        values = [str(v) for v in values]
    ids, index = np.unique(np.asarray(values), return_inverse=True)
    return ids, index.astype(np.int32)


def from_arrays(users: Sequence[Any], items: Sequence[Any], ratings: Sequence[float], *,
                levels: Sequence[float] | None = None) -> RatingsData:
    """`RatingsData` from parallel sequences of user ids, item ids and ratings (ids of any
    sortable kind; `levels` default to the distinct ratings)."""
    user_ids, user_index = _ids(list(users))
    item_ids, item_index = _ids(list(items))
    values = np.asarray(ratings, np.float32)
    levels = np.unique(values) if levels is None else np.sort(np.asarray(levels, np.float32))
    return RatingsData(user_index, item_index, values, user_ids, item_ids, levels)


# ----------------------------------------------------------------------------- writing


def write_ratings(data: RatingsData, path: str, format: str = "auto", *,
                  timestamps: np.ndarray | None = None) -> str:
    """Write `data` in one of the `FORMATS` (by default from the file name) and return the path.

    Timestamps are written where the layout has them (zeros unless given)."""
    layout = detect_format(path) if format == "auto" else format
    if layout not in FORMATS:
        raise ValueError(f"format must be 'auto' or one of {FORMATS}, got {format!r}.")
    stamps = np.zeros(len(data), np.int64) if timestamps is None else np.asarray(timestamps, np.int64)
    users, items = data.user_ids[data.users], data.item_ids[data.items]
    if layout == "parquet":
        import pyarrow as pa  # optional: only Parquet files need it
        import pyarrow.parquet as pq

        table = pa.table({"userId": users, "movieId": items, "rating": data.ratings, "timestamp": stamps})
        pq.write_table(table, path)
        return path
    with open(path, "w", encoding="utf-8", newline="") as handle:
        if layout == "csv":
            handle.write("userId,movieId,rating,timestamp\n")
        separator = {"csv": ","}.get(layout) or _DELIMITERS[layout]
        integral = layout != "csv"
        for user, item, rating, stamp in zip(users, items, data.ratings, stamps):
            value = f"{int(rating)}" if integral else f"{rating:g}"
            handle.write(f"{user}{separator}{item}{separator}{value}{separator}{stamp}\n")
    return path


# ------------------------------------------------------------------------------ splits


@dataclasses.dataclass(frozen=True)
class RatingsSplit:
    """Training and held-out ratings of one data set, with the users and items that have no
    training ratings (`cold_users`, `cold_items`): models predict the training mean for them."""

    train: RatingsData
    test: RatingsData
    cold_users: np.ndarray
    cold_items: np.ndarray


def _cold(train: RatingsData) -> tuple[np.ndarray, np.ndarray]:
    users = np.setdiff1d(np.arange(train.num_users), train.users)
    items = np.setdiff1d(np.arange(train.num_items), train.items)
    return users.astype(np.int32), items.astype(np.int32)


def split_ratings(data: RatingsData, test_fraction: float = 0.1, *, seed: int = 0) -> RatingsSplit:
    """A random split of the ratings, `test_fraction` held out (AutoRec's 90 / 10), seeded."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}.")
    order = np.random.default_rng(seed).permutation(len(data))
    num_test = int(round(test_fraction * len(data)))
    if num_test == 0 or num_test == len(data):
        raise ValueError(f"{len(data)} ratings are too few to hold out {test_fraction:g} of them.")
    train, test = data.subset(np.sort(order[num_test:])), data.subset(np.sort(order[:num_test]))
    return RatingsSplit(train, test, *_cold(train))


def implicit(data: RatingsData, threshold: float | None = None) -> RatingsData:
    """Implicit feedback: the pairs rated at least `threshold` (every pair when None), value 1."""
    keep = np.ones(len(data), bool) if threshold is None else data.ratings >= threshold
    kept = data.subset(keep)
    return dataclasses.replace(kept, ratings=np.ones(len(kept), np.float32),
                               levels=np.ones(1, np.float32))


def leave_out_split(data: RatingsData, fraction: float = 0.2, *, min_items: int = 5,
                    seed: int = 0) -> RatingsSplit:
    """Per-user leave-out: of each user with at least `min_items` items, a `fraction` (at least
    one) is held out, seeded; users with fewer keep all their items in training and have
    none held out (they are not evaluated)."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}.")
    if int(min_items) < 2:
        raise ValueError(
            f"min_items must be at least 2 (one to train on, one to hold out), got {min_items!r}."
        )
    rng = np.random.default_rng(seed)
    held = np.zeros(len(data), bool)
    order = np.argsort(data.users, kind="stable")
    starts = np.searchsorted(data.users[order], np.arange(data.num_users + 1))
    for user in range(data.num_users):
        rows = order[starts[user]:starts[user + 1]]
        if len(rows) >= min_items:
            count = max(1, int(round(fraction * len(rows))))
            held[rng.choice(rows, count, replace=False)] = True
    train, test = data.subset(~held), data.subset(held)
    return RatingsSplit(train, test, *_cold(train))


# ------------------------------------------------------------------- synthetic ratings


@dataclasses.dataclass(frozen=True)
class SyntheticRatings:
    """Generated ratings and what was planted in them: `expected` is the expected rating of
    each observed pair given its planted score (the best prediction there is), and
    `noise_rmse` the RMSE of the observed ratings around it: the floor that a model which
    recovered the planted structure reaches."""

    data: RatingsData
    expected: np.ndarray
    noise_std: float
    noise_rmse: float
    timestamps: np.ndarray


def synthetic_ratings(
    num_users: int = 600,
    num_items: int = 400,
    *,
    rank: int = 5,
    density: float = 0.06,
    noise_std: float = 0.5,
    selection: float = 0.7,
    base: float = 3.3,
    seed: int = 0,
) -> SyntheticRatings:
    """Synthetic 1..5 star ratings with planted low-rank structure, seeded.

    Scores are `base` + user bias + item bias + a rank-`rank` product of user and item
    factors; with the taste-driven choice of pairs below, the ratings spread as
    MovieLens' do (most ratings 3 to 5, few 1s and 2s).
    Which pairs are rated follows popular items, active users (log-normal activity and
    Zipf-like popularity) and taste: a pair's odds grow by exp(`selection` x its factor
    product), so users rate more of what they like (missing not at random, as in real
    data, and the signal implicit feedback carries). About `density` of all pairs are
    rated; each observed rating is its score plus Gaussian noise of `noise_std`, rounded
    and clipped to 1..5. Every user and every item has at least one rating.
    """
    rng = np.random.default_rng(seed)
    user_bias = rng.normal(0.0, 0.35, num_users)
    item_bias = rng.normal(0.0, 0.45, num_items)
    user_factors = rng.normal(0.0, 1.0, (num_users, rank)) / np.sqrt(rank)
    item_factors = rng.normal(0.0, 0.9, (num_items, rank))
    activity = rng.lognormal(0.0, 0.8, num_users)
    popularity = 1.0 / (1.0 + rng.permutation(num_items)) ** 0.7
    affinity = user_factors @ item_factors.T
    weights = np.outer(activity, popularity) * np.exp(selection * affinity)
    weights *= density * num_users * num_items / weights.sum()
    observed = rng.random((num_users, num_items)) < np.minimum(weights, 0.9)
    observed[np.arange(num_users), rng.integers(0, num_items, num_users)] = True
    observed[rng.integers(0, num_users, num_items), np.arange(num_items)] = True
    users, items = np.nonzero(observed)
    scores = base + user_bias[users] + item_bias[items] + affinity[users, items]
    levels = levels_of(1.0, 5.0, 1.0)
    ratings = np.clip(np.round(scores + rng.normal(0.0, noise_std, len(users))), 1, 5)
    data = RatingsData(users.astype(np.int32), items.astype(np.int32), ratings.astype(np.float32),
                       np.arange(1, num_users + 1), np.arange(1, num_items + 1), levels)
    # P(rating = k | score): the noisy score rounds to k (1 and 5 take the tails)
    edges = norm.cdf((levels[None, 1:] - 0.5 - scores[:, None]) / noise_std)
    probabilities = np.diff(edges, prepend=0.0, append=1.0, axis=1)
    expected = probabilities @ levels
    stamps = 874_724_710 + rng.integers(0, 10_000_000, len(users))
    noise_rmse = float(np.sqrt(np.mean((ratings - expected) ** 2)))
    return SyntheticRatings(data, expected.astype(np.float32), float(noise_std), noise_rmse, stamps)
