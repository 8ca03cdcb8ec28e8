"""Loading real image datasets into arrays and `tf.data` pipelines.

Every source returns images as float32 NHWC arrays scaled to the requested value
range, integer labels, and a `DatasetInfo` with what the models need to know.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from typing import Sequence

import numpy as np

SCALES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}
SPLITS = ("train", "test", "all")


class DataNotFoundError(FileNotFoundError):
    """The requested data is not where it was looked for."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset."""

    name: str
    split: str
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    num_classes: int
    num_examples: int
    source: str


def list_datasets() -> list[str]:
    """Names `load_dataset` accepts besides local paths."""
    return ["digits", "mnist", "fashion_mnist", "cifar10"]


# ---------------------------------------------------------------------------- sources


def _load_digits() -> tuple[np.ndarray, np.ndarray, float, str]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32)[..., None]
    return images, bunch.target.astype(np.int64), 16.0, "scikit-learn digits (bundled)"


def _read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"Could not read IDX file {path!r}: {err}. Is it truncated?") from err
    if len(raw) < 4:
        raise ValueError(f"{path!r} is too short to be an IDX file.")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path!r} is not an unsigned-byte IDX file (bad magic number).")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(
            f"{path!r} is corrupt: header promises {int(np.prod(dims))} values, "
            f"file holds {data.size}."
        )
    return data.reshape(dims)


_IDX_PREFIXES = {"train": "train", "test": "t10k"}


def _find_idx(data_dir: str, prefix: str, kind: str) -> str | None:
    for suffix in (".gz", ""):
        for sep in ("-", "."):
            path = os.path.join(data_dir, f"{prefix}-{kind}{sep}idx{3 if kind == 'images' else 1}-ubyte{suffix}")
            if os.path.isfile(path):
                return path
    return None


def _load_idx_dir(data_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Official splits present in an MNIST-style IDX folder, keyed 'train'/'test'."""
    found = {}
    for split, prefix in _IDX_PREFIXES.items():
        images = _find_idx(data_dir, prefix, "images")
        labels = _find_idx(data_dir, prefix, "labels")
        if images and labels:
            x, y = _read_idx(images), _read_idx(labels)
            if len(x) != len(y):
                raise ValueError(
                    f"{images!r} holds {len(x)} images but {labels!r} holds {len(y)} labels."
                )
            x = x[..., None] if x.ndim == 3 else x
            found[split] = (x.astype(np.float32), y.astype(np.int64))
    return found


def _holdout(
    x: np.ndarray, y: np.ndarray, split: str, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if split == "all":
        return x, y
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * fraction))
    idx = order[:n_test] if split == "test" else order[n_test:]
    idx = np.sort(idx)
    return x[idx], y[idx]


def load_arrays(
    name: str,
    split: str = "train",
    *,
    data_dir: str | None = None,
    scale: str = "unit",
    holdout_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """Images (float32, NHWC, scaled), integer labels and info for one split.

    Sources without both official splits (digits, a folder holding only MNIST's test
    files) are split deterministically: `holdout_fraction` of a seeded permutation is
    'test', the rest 'train'.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}.")
    if name == "digits":
        x, y, max_value, source = _load_digits()
        x, y = _holdout(x, y, split, holdout_fraction, seed)
        source += f", {split} split (holdout {holdout_fraction}, seed {seed})"
    else:
        folder = data_dir or (name if os.path.isdir(name) else None)
        if folder is None:
            raise DataNotFoundError(
                f"Unknown dataset {name!r}: pass one of {list_datasets()} or a folder "
                "holding MNIST-style IDX files (via `data_dir=`)."
            )
        splits = _load_idx_dir(folder)
        if not splits:
            raise DataNotFoundError(
                f"No MNIST-style IDX files (train-images-idx3-ubyte[.gz], "
                f"t10k-images-idx3-ubyte[.gz] and their labels) found in {folder!r}."
            )
        max_value = 255.0
        if split in splits and len(splits) == 2:
            x, y = splits[split]
            source = f"IDX files in {folder} ({split} split)"
        elif split == "all":
            x = np.concatenate([splits[k][0] for k in sorted(splits)])
            y = np.concatenate([splits[k][1] for k in sorted(splits)])
            source = f"IDX files in {folder} (all splits)"
        else:
            (only, (x_all, y_all)), = splits.items()
            x, y = _holdout(x_all, y_all, split, holdout_fraction, seed)
            source = (
                f"IDX files in {folder}: {split} split carved from the {only} files "
                f"(holdout {holdout_fraction}, seed {seed})"
            )
    low, high = SCALES[scale]
    x = (x / max_value * (high - low) + low).astype(np.float32)
    info = DatasetInfo(
        name=name,
        split=split,
        image_shape=tuple(int(d) for d in x.shape[1:]),  # type: ignore[arg-type]
        value_range=(low, high),
        num_classes=int(y.max()) + 1 if len(y) else 0,
        num_examples=len(x),
        source=source,
    )
    return x, y, info


def load_dataset(
    name: str,
    split: str = "train",
    *,
    batch_size: int = 128,
    data_dir: str | None = None,
    scale: str = "unit",
    labels: bool = False,
    shuffle: bool | None = None,
    seed: int = 0,
    holdout_fraction: float = 0.2,
    drop_remainder: bool = False,
):
    """A batched, cached, prefetched `tf.data.Dataset` and its `DatasetInfo`.

    Elements are image batches, or `(images, labels)` with `labels=True`.
    """
    import tensorflow as tf

    x, y, info = load_arrays(
        name, split, data_dir=data_dir, scale=scale,
        holdout_fraction=holdout_fraction, seed=seed,
    )
    ds = tf.data.Dataset.from_tensor_slices((x, y) if labels else x).cache()
    if shuffle if shuffle is not None else split == "train":
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    return ds, info
