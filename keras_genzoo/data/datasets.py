"""Loading real image datasets into arrays and `tf.data` pipelines.

A dataset is a name (`list_datasets()`) or the path of a local `.npz` archive or folder:
a folder of image files (PNG, JPEG, BMP, GIF; class subfolders give labels), of
MNIST-style IDX files, or a prepared TFDS dataset.
Named TFDS datasets ("mnist", "fashion_mnist", "cifar10") are looked for in `data_dir`
in this order: MNIST-style IDX files (MNIST and Fashion-MNIST), an npz archive
`<name>.npz`, a prepared TFDS dataset `<data_dir>/<name>/<version>/`; without a
`data_dir`, in TFDS's own data folder. When nothing is found they are downloaded with
TFDS if `download=True` and the download hosts answer. `DatasetInfo.source` records
what was read.

Sources that hold only one pool of images (digits, an npz with `x`/`y`, a folder of
image files, a folder with only MNIST's test files) are split deterministically: a seeded permutation puts
`holdout_fraction` of the images in "test" and the rest in "train". A folder of image
files with class subfolders is split class by class (`held_out_per_class`), so that every
class keeps a training and a held-out image.

With `validation_fraction` > 0, a "validation" split is carved out of the training split
(of every source, those with their own train and test files included): that fraction of
the training images, chosen by `split_seed` (class by class where the test split is), and
"train" keeps the rest. Train, validation and test never share an image. The default, 0,
leaves "train" as it was and has no validation split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_genzoo.core.checks import check_choice, check_positive_int
from keras_genzoo.data.corruption import DEFAULT_NOISE_LEVEL, NOISE_KINDS, check_noise
from keras_genzoo.data.errors import DataFormatError, DataNotFoundError
from keras_genzoo.data.folders import check_image_options
from keras_genzoo.data.pipeline import build_pipeline, scale_images
from keras_genzoo.data.sources import NAMED_DATASETS, RawData, RawSplit, resolve

if TYPE_CHECKING:
    import tensorflow as tf

SCALES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}
SPLITS = ("train", "validation", "test", "all")
VALIDATION_STREAM = 1  # validation draws from (split_seed, 1), independent of the test draw

__all__ = [
    "DataFormatError",
    "DataNotFoundError",
    "DatasetInfo",
    "list_datasets",
    "load_arrays",
    "load_dataset",
]


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset split, and where it came from.

    `num_classes` is 0 for unlabelled data. A folder of image files names its classes
    (its subfolders, label i is `class_names[i]`) and the files it skipped.
    `num_levels` is how many evenly spaced grey levels the pixels take (17 for the
    digits, 256 for 8-bit images, 2 when binarised; None when the stored values are not
    whole numbers): what a discrete likelihood must model.
    """

    name: str
    split: str
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    num_classes: int
    num_examples: int
    source: str
    class_names: tuple[str, ...] = ()
    skipped_files: tuple[str, ...] = ()
    num_levels: int | None = None


def _pixel_levels(split: RawSplit) -> int | None:
    """max_value + 1 when the stored pixels are whole numbers 0..max_value, else None."""
    images = split.images
    whole = np.issubdtype(images.dtype, np.integer) or bool(np.all(images == np.round(images)))
    if not whole or float(split.max_value) != round(split.max_value) or split.max_value < 1:
        return None
    return int(round(split.max_value)) + 1


def list_datasets() -> list[str]:
    """Names `load_dataset` accepts besides local paths."""
    return sorted(NAMED_DATASETS)


def holdout_indices(count: int, split: str, fraction: float, split_seed: int | list[int]) -> np.ndarray:
    """The sorted indices of `split` ("test": the held-out `fraction`, else the rest) of
    `count` images in one pool, chosen by a permutation seeded with `split_seed`."""
    order = np.random.default_rng(split_seed).permutation(count)
    n_test = int(round(count * fraction))
    chosen = order[:n_test] if split == "test" else order[n_test:]
    return np.sort(chosen)


def held_out_per_class(counts: np.ndarray, fraction: float) -> np.ndarray:
    """How many images of each class to hold out: `fraction` of all images, shared out in
    proportion to the class sizes (largest remainders first), then at least one and at
    most all but one of each class of 2 or more (a single image stays in training)."""
    quotas = counts * fraction
    held = np.floor(quotas).astype(np.int64)
    extra = int(round(counts.sum() * fraction)) - int(held.sum())
    held[np.argsort(held - quotas, kind="stable")[:extra]] += 1
    return np.clip(held, np.minimum(counts - 1, 1), np.maximum(counts - 1, 0))


def _stratified_indices(
    labels: np.ndarray, split: str, fraction: float, split_seed: int | list[int]
) -> np.ndarray:
    """The `split` part of each class: a seeded permutation of its images, the first
    `held_out_per_class` of them held out."""
    rng = np.random.default_rng(split_seed)
    classes, counts = np.unique(labels, return_counts=True)
    chosen = []
    for label, n_test in zip(classes, held_out_per_class(counts, fraction)):
        order = rng.permutation(np.flatnonzero(labels == label))
        chosen.append(order[:n_test] if split == "test" else order[n_test:])
    return np.sort(np.concatenate(chosen))


def _merge(parts: list[RawSplit]) -> RawSplit:
    if len({p.max_value for p in parts}) == 1:
        images = np.concatenate([p.images for p in parts])
        max_value = parts[0].max_value
    else:
        images = np.concatenate([scale_images(p.images, p.max_value, (0.0, 1.0)) for p in parts])
        max_value = 1.0
    labels = None if parts[0].labels is None else np.concatenate([p.labels for p in parts])
    return RawSplit(images, labels, max_value)


def _carve(pool: RawSplit, part: str, fraction: float, seed: int | list[int],
           stratified: bool) -> RawSplit:
    """The held-out ("test") part of `pool`, or the rest ("train")."""
    if stratified:
        index = _stratified_indices(pool.labels, part, fraction, seed)
    else:
        index = holdout_indices(len(pool.images), part, fraction, seed)
    labels = None if pool.labels is None else pool.labels[index]
    return RawSplit(pool.images[index], labels, pool.max_value)


def _select(
    raw: RawData, split: str, holdout_fraction: float, split_seed: int, validation_fraction: float
) -> tuple[RawSplit, str]:
    """The requested split of a source, and how it was obtained."""
    two_files = "train" in raw.splits and "test" in raw.splits
    if split == "all":
        if two_files:
            return _merge([raw.splits["train"], raw.splits["test"]]), f"{raw.source} (train + test)"
        return next(iter(raw.splits.values())), raw.source
    how = ", stratified by class" if raw.stratified else ""
    if two_files:
        wanted = "train" if split == "validation" else split
        chosen, source = raw.splits[wanted], f"{raw.source} ({wanted} split)"
    else:
        (held, pool), = raw.splits.items()
        wanted = "train" if split == "validation" else split
        chosen = _carve(pool, wanted, holdout_fraction, split_seed, raw.stratified)
        origin = "" if held == "all" else f" carved from its {held} split"
        source = (f"{raw.source}: {wanted} split{origin} (holdout_fraction={holdout_fraction}, "
                  f"split_seed={split_seed}{how})")
    if split == "test" or not validation_fraction:
        return chosen, source
    part = "test" if split == "validation" else "train"
    carved = _carve(chosen, part, validation_fraction, [split_seed, VALIDATION_STREAM],
                    raw.stratified)
    taken = "carved from" if split == "validation" else "without the validation images of"
    return carved, (f"{split} split {taken} {source} (validation_fraction="
                    f"{validation_fraction}, split_seed={split_seed}{how})")


def _check_fractions(split: str, holdout_fraction: Any, validation_fraction: Any) -> None:
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(
            f"holdout_fraction must lie strictly between 0 and 1, got {holdout_fraction!r}."
        )
    if (isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float))
            or not 0.0 <= validation_fraction < 1.0):
        raise ValueError(
            "validation_fraction must be a number in [0, 1) (the share of the training "
            f"split held out for validation; 0: none), got {validation_fraction!r}."
        )
    if split == "validation" and not validation_fraction:
        raise ValueError(
            "split='validation' needs a validation split: pass validation_fraction > 0 "
            "(e.g. 0.2, a fifth of the training split)."
        )


def _load_split(
    name, split: str, data_dir, scale: str, holdout_fraction: float, split_seed: int,
    download: bool, image_shape, resize_mode: str, skip_bad_images: bool,
    validation_fraction: float = 0.0,
) -> tuple[RawSplit, DatasetInfo]:
    check_choice(split, SPLITS, "split")
    check_choice(scale, list(SCALES), "scale")
    _check_fractions(split, holdout_fraction, validation_fraction)
    options = check_image_options(image_shape, resize_mode, skip_bad_images)
    raw = resolve(name, data_dir, download, options)
    chosen, source = _select(raw, split, holdout_fraction, split_seed, validation_fraction)
    shape = tuple(int(d) for d in chosen.images.shape[1:])
    if options.image_shape is not None and shape != options.image_shape:
        raise ValueError(
            f"image_shape={options.image_shape} was asked for, but {raw.source} holds "
            f"{shape} images; only folders of image files are resized or converted. Drop "
            f"image_shape, or build the model with image_shape={shape}."
        )
    info = DatasetInfo(
        name=os.fspath(name),
        split=split,
        image_shape=shape,  # type: ignore[arg-type]
        value_range=SCALES[scale],
        num_classes=raw.num_classes,
        num_examples=len(chosen.images),
        source=source,
        class_names=raw.class_names,
        skipped_files=raw.skipped_files,
        num_levels=_pixel_levels(chosen),
    )
    return chosen, info


def load_arrays(
    name: str | os.PathLike,
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    scale: str = "unit",
    holdout_fraction: float = 0.2,
    split_seed: int = 0,
    download: bool = True,
    image_shape: tuple[int, int, int] | None = None,
    resize_mode: str = "resize",
    skip_bad_images: bool = False,
    validation_fraction: float = 0.0,
    **unexpected: Any,
) -> tuple[np.ndarray, np.ndarray | None, DatasetInfo]:
    """Images (float32, NHWC, in the `scale` range), int64 labels and info for one split.

    `split` is "train", "validation", "test" or "all". `split_seed`, `holdout_fraction`
    and `validation_fraction` choose the held-out images exactly as in `load_dataset`, so
    arrays and pipelines with the same options hold the same split. Labels are None for
    unlabelled data (an npz without `y`, an image folder without class subfolders).
    With `download=False` a named TFDS dataset must already be on disk. `image_shape`,
    `resize_mode` and `skip_bad_images` apply to folders of image files, as in
    `load_dataset`.
    """
    if "seed" in unexpected:
        raise TypeError(
            "load_arrays() takes no `seed`: arrays are not shuffled, and the held-out "
            "images are chosen by `split_seed`, as in load_dataset (whose `seed` only "
            "shuffles and draws noise). Pass split_seed= with the value given to "
            "load_dataset (0 by default) to get the matching split."
        )
    if unexpected:
        raise TypeError(
            f"load_arrays() got unexpected keyword argument(s) {sorted(unexpected)}."
        )
    chosen, info = _load_split(
        name, split, data_dir, scale, holdout_fraction, split_seed, download,
        image_shape, resize_mode, skip_bad_images, validation_fraction,
    )
    images = scale_images(chosen.images, chosen.max_value, info.value_range)
    return images, chosen.labels, info


def load_dataset(
    name: str | os.PathLike,
    split: str = "train",
    *,
    batch_size: int = 128,
    data_dir: str | os.PathLike | None = None,
    scale: str = "unit",
    labels: bool = False,
    shuffle: bool | None = None,
    seed: int = 0,
    holdout_fraction: float = 0.2,
    drop_remainder: bool = False,
    split_seed: int = 0,
    binarize: bool = False,
    noise: str | None = None,
    noise_level: float | None = None,
    cache: bool | str = True,
    download: bool = True,
    image_shape: tuple[int, int, int] | None = None,
    resize_mode: str = "resize",
    skip_bad_images: bool = False,
    validation_fraction: float = 0.0,
) -> tuple[tf.data.Dataset, DatasetInfo]:
    """A batched, cached, prefetched `tf.data.Dataset` for `model.fit`, and its `DatasetInfo`.

    Elements are image batches; `(images, labels)` with `labels=True`; `(noisy, clean)`
    with `noise="gaussian"` or `"masking"` (`keras_genzoo.data.corruption`: Gaussian
    noise of standard deviation `noise_level` times the value range, clipped, or a
    `noise_level` fraction of pixels set to the low end of the range; default 0.25).
    `binarize=True` replaces each pixel by a Bernoulli sample with its [0, 1] intensity
    as probability (then mapped to the ends of the range). `seed` seeds shuffling (on by
    default for "train"), binarisation and noise, and alone: TensorFlow's global seed
    changes nothing. The "train" and "all" splits reshuffle and draw binarisation and
    noise afresh every epoch, the same sequence of epochs for a given `seed`; the "test"
    split draws once per `seed`, so every pass over it sees the same images.
    `split_seed` and `holdout_fraction` choose the held-out images of single-pool
    sources, independently of `seed`, so train and test never overlap whatever `seed`
    is. `validation_fraction` > 0 carves a "validation" split (drawn once, like "test")
    out of the training split, which then leaves those images out. `cache` keeps scaled
    images in memory (True), in files with the given path prefix (a string), or not at
    all (False).

    A folder of image files is decoded once, in memory, at `image_shape` (height, width,
    channels): 1 channel converts every image to grey, 3 to colour. `resize_mode`
    "resize" scales each image to that size, "crop_resize" centre-crops the largest box
    of its aspect ratio and then scales, "crop" cuts the central box unscaled (smaller
    images are an error). Without `image_shape` all images must share one size and be
    all grey or all colour (alpha is dropped). Class subfolders give the labels. An
    unreadable or unusable file is an error naming it, or, with `skip_bad_images=True`,
    left out with a warning (and listed in `DatasetInfo.skipped_files`).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if noise is not None:
        check_choice(noise, [None, *NOISE_KINDS], "noise")
        if labels:
            raise ValueError(
                "noise and labels=True cannot be combined: denoising elements are (noisy, "
                "clean) pairs, which leave no place for labels. Use one or the other."
            )
        noise_level = check_noise(
            noise, DEFAULT_NOISE_LEVEL if noise_level is None else noise_level
        )
    elif noise_level is not None:
        raise ValueError("noise_level was given without noise; pass noise='gaussian' or 'masking'.")
    chosen, info = _load_split(
        name, split, data_dir, scale, holdout_fraction, split_seed, download,
        image_shape, resize_mode, skip_bad_images, validation_fraction,
    )
    if labels and chosen.labels is None:
        raise ValueError(
            f"labels=True, but the images from {info.source} come without labels; drop "
            "labels=True or store labels with the images (y, y_train, y_test in an npz; "
            "for a folder of image files, one subfolder per class and no images directly "
            "in the folder)."
        )
    ds = build_pipeline(
        chosen.images,
        chosen.labels if labels else None,
        chosen.max_value,
        info.value_range,
        batch_size=batch_size,
        shuffle=split == "train" if shuffle is None else bool(shuffle),
        seed=seed,
        fresh_each_pass=split not in ("test", "validation"),
        binarize=binarize,
        noise=noise,
        noise_level=0.0 if noise_level is None else noise_level,
        cache=cache,
        drop_remainder=drop_remainder,
    )
    return ds, replace(info, num_levels=2) if binarize else info
