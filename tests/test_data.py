"""The data layer on real data: scikit-learn's digits and the MNIST test split (IDX files)."""

import gzip
import hashlib
import os
import re
import shutil
import time

import numpy as np
import pytest
import tensorflow as tf

from keras_genzoo.data import (
    DataFormatError,
    DataNotFoundError,
    list_datasets,
    load_arrays,
    load_dataset,
)
from keras_genzoo.data.sources import read_idx
from keras_genzoo.presets import preset_metadata

IMAGES_GZ = "t10k-images-idx3-ubyte.gz"
LABELS_GZ = "t10k-labels-idx1-ubyte.gz"


def _epoch(ds):
    """One full pass over a dataset as numpy arrays (one array per element component)."""
    batches = [b if isinstance(b, tuple) else (b,) for b in ds.as_numpy_iterator()]
    return [np.concatenate(parts) for parts in zip(*batches)]


def _to_bytes(images):
    """Unit-range float images back to the 8-bit values they were stored as."""
    return np.round(np.asarray(images) * 255).astype(np.uint8)


def _row_set(images):
    return {row.tobytes() for row in images}


@pytest.fixture(scope="module")
def mnist_raw(mnist_dir):
    """The 10,000 real MNIST test images (uint8, N x 28 x 28) and labels, read straight from IDX."""
    images = read_idx(os.path.join(mnist_dir, IMAGES_GZ))
    return images, read_idx(os.path.join(mnist_dir, LABELS_GZ))


@pytest.fixture(scope="module")
def mnist_train(mnist_dir):
    return load_arrays("mnist", "train", data_dir=mnist_dir)


# --------------------------------------------------------------------------- digits


@pytest.mark.parametrize("scale, low, high", [("unit", 0.0, 1.0), ("symmetric", -1.0, 1.0)])
def test_digits_shapes_dtypes_and_range_per_scale(scale, low, high):
    x, y, info = load_arrays("digits", "train", scale=scale)
    x_test, y_test, test_info = load_arrays("digits", "test", scale=scale)
    assert x.shape == (1438, 8, 8, 1) and x_test.shape == (359, 8, 8, 1)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert (x.min(), x.max()) == (low, high)
    assert set(np.unique(np.concatenate([y, y_test]))) == set(range(10))
    assert info.image_shape == (8, 8, 1) and info.value_range == (low, high)
    assert (info.num_classes, info.num_examples, test_info.num_examples) == (10, 1438, 359)
    assert "digits" in info.source and "seed=0" in info.source
    assert list_datasets() == ["cifar10", "digits", "fashion_mnist", "mnist"]


# ------------------------------------------------------------------- MNIST IDX folder


def test_mnist_folder_split_sizes_disjoint_and_seeded(mnist_dir, mnist_raw, mnist_train):
    x_train, y_train, info = mnist_train
    x_test, y_test, test_info = load_arrays("mnist", "test", data_dir=mnist_dir)
    assert (len(x_train), len(x_test)) == (8000, 2000)
    assert (info.num_examples, test_info.num_examples) == (8000, 2000)
    assert info.image_shape == (28, 28, 1) and info.num_classes == 10
    assert "IDX files" in info.source and "carved from its test split" in info.source
    # The 10,000 real images are all distinct, so byte sets show the split exactly.
    train_rows = _row_set(_to_bytes(x_train[..., 0]))
    test_rows = _row_set(_to_bytes(x_test[..., 0]))
    assert not train_rows & test_rows
    assert train_rows | test_rows == _row_set(mnist_raw[0])
    # Deterministic across calls, by path as well as by name + data_dir.
    again, _, _ = load_arrays(mnist_dir, "test")
    np.testing.assert_array_equal(again, x_test)
    # Another seed holds out other images: two random 20% samples share about 20% of them.
    other, _, _ = load_arrays("mnist", "test", data_dir=mnist_dir, split_seed=1)
    assert len(_row_set(_to_bytes(other[..., 0])) & test_rows) < 600
    # Pixel values are the stored bytes / 255, labels the stored labels.
    np.testing.assert_allclose(x_train * 255, _to_bytes(x_train), atol=1e-4)
    counts = np.bincount(np.concatenate([y_train, y_test]))
    np.testing.assert_array_equal(counts, np.bincount(mnist_raw[1]))


# ---------------------------------------------------------------------- tf.data pipeline


def test_pipeline_batches_and_labels_match_the_arrays():
    x, y, _ = load_arrays("digits", "test", scale="symmetric")
    ds, info = load_dataset("digits", "test", batch_size=100, labels=True, scale="symmetric")
    assert [tuple(s.shape) for s in ds.element_spec] == [(None, 8, 8, 1), (None,)]
    assert [s.dtype.name for s in ds.element_spec] == ["float32", "int64"]
    assert [len(b[0]) for b in ds] == [100, 100, 100, 59]
    images, labels = _epoch(ds)  # test split: not shuffled by default
    np.testing.assert_allclose(images, x, atol=1e-6)
    np.testing.assert_array_equal(labels, y)
    assert info.num_examples == 359


def test_shuffling_is_seeded_reshuffles_each_epoch_and_keeps_the_split():
    def orders(seed, **kw):
        ds, _ = load_dataset("digits", "train", batch_size=512, labels=True, seed=seed, **kw)
        return [_epoch(ds)[1] for _ in range(2)]

    first, second = orders(seed=0)
    assert not np.array_equal(first, second), "a new epoch must reshuffle"
    assert np.array_equal(np.sort(first), np.sort(second))
    replay = orders(seed=0)
    assert np.array_equal(replay[0], first) and np.array_equal(replay[1], second)
    assert not np.array_equal(orders(seed=1)[0], first)
    # `seed` changes the order only: the held-out images depend on split_seed alone.
    fixed = [_epoch(load_dataset("digits", "test", seed=s)[0])[0] for s in (0, 7)]
    np.testing.assert_array_equal(fixed[0], fixed[1])
    moved = _epoch(load_dataset("digits", "test", split_seed=3)[0])[0]
    assert not np.array_equal(moved, fixed[0])


@pytest.mark.parametrize("seed, split_seed", [(0, 0), (5, 0), (0, 3), (5, 3)])
def test_no_held_out_image_is_in_the_training_split(seed, split_seed):
    """Arrays and pipelines agree on the split; `seed` (shuffling, noise) never moves it."""
    train = _epoch(load_dataset("digits", "train", seed=seed, split_seed=split_seed)[0])[0]
    held_out = {
        "load_arrays": load_arrays("digits", "test", split_seed=split_seed)[0],
        "load_dataset": _epoch(load_dataset("digits", "test", seed=seed, split_seed=split_seed)[0])[0],
    }
    train_rows = _row_set(train)
    for via, images in held_out.items():
        assert len(images) == 359
        leaked = sum(row in train_rows for row in _row_set(images))
        assert leaked == 0, f"{leaked} held-out images from {via} are training images"
    arrays_train = load_arrays("digits", "train", split_seed=split_seed)[0]
    assert _row_set(arrays_train) == train_rows


def _sorted_rows(images):
    return sorted(row.tobytes() for row in images)


def test_a_validation_split_is_carved_from_train_and_overlaps_nothing():
    """validation_fraction > 0 takes a seeded share of the training split, which then
    leaves those images out; the test split does not move, and 0 changes nothing."""
    train, y_train, _ = load_arrays("digits", "train")
    test, _, _ = load_arrays("digits", "test")
    unchanged, _, _ = load_arrays("digits", "train", validation_fraction=0)
    np.testing.assert_array_equal(unchanged, train)
    for split_seed in (0, 4):
        base_train = load_arrays("digits", "train", split_seed=split_seed)[0]
        fit, y_fit, info = load_arrays("digits", "train", validation_fraction=0.25,
                                       split_seed=split_seed)
        val, y_val, val_info = load_arrays("digits", "validation", validation_fraction=0.25,
                                           split_seed=split_seed)
        kept_test = load_arrays("digits", "test", validation_fraction=0.25,
                                split_seed=split_seed)[0]
        np.testing.assert_array_equal(kept_test, load_arrays("digits", "test",
                                                             split_seed=split_seed)[0])
        assert len(val) == round(0.25 * len(base_train)) and len(fit) + len(val) == len(base_train)
        # Together they are the training split, image for image: no image is in both.
        assert _sorted_rows(np.concatenate([fit, val])) == _sorted_rows(base_train)
        assert not _row_set(val) & _row_set(kept_test) and not _row_set(fit) & _row_set(kept_test)
        assert "validation split carved from" in val_info.source
        assert "without the validation images" in info.source
        assert val_info.num_examples == len(val) and y_val is not None and y_fit is not None
    again = load_arrays("digits", "validation", validation_fraction=0.25, split_seed=4)[0]
    np.testing.assert_array_equal(again, val)
    first = load_arrays("digits", "validation", validation_fraction=0.25)[0]
    assert not np.array_equal(first, val)
    # The pipeline holds the same images, in order and the same on every pass.
    ds, _ = load_dataset("digits", "validation", validation_fraction=0.25, split_seed=4)
    np.testing.assert_array_equal(_epoch(ds)[0], val)
    np.testing.assert_array_equal(_epoch(ds)[0], val)
    assert len(y_train) == len(train)


def test_a_source_with_its_own_test_file_carves_validation_from_train(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (150, 6, 6), dtype=np.uint8)
    y = np.arange(150) % 3
    np.savez(tmp_path / "own.npz", x_train=x[:100], y_train=y[:100], x_test=x[100:], y_test=y[100:])
    name = tmp_path / "own.npz"
    fit, _, _ = load_arrays(name, "train", validation_fraction=0.2)
    val, _, info = load_arrays(name, "validation", validation_fraction=0.2)
    test, _, _ = load_arrays(name, "test", validation_fraction=0.2)
    assert (len(fit), len(val), len(test)) == (80, 20, 50)
    assert _sorted_rows(_to_bytes(np.concatenate([fit, val]))) == _sorted_rows(x[:100, ..., None])
    assert _row_set(_to_bytes(test)) == _row_set(x[100:, ..., None])
    assert "carved from npz archive" in info.source and "(train split)" in info.source


def test_load_arrays_refuses_the_old_seed_keyword():
    with pytest.raises(TypeError, match="split_seed"):
        load_arrays("digits", "test", seed=5)
    with pytest.raises(TypeError, match="unexpected keyword"):
        load_arrays("digits", "test", shufle=True)


def _mnist_pipeline(mnist_dir, **options):
    """The 8,000-image MNIST train split, in order, in batches of 2,000."""
    return load_dataset("mnist", data_dir=mnist_dir, shuffle=False, batch_size=2000, **options)[0]


def test_dynamic_binarisation_is_fresh_each_epoch_with_pixel_means(mnist_dir, mnist_train):
    x, _, _ = mnist_train
    ds = _mnist_pipeline(mnist_dir, binarize=True)
    first, second = _epoch(ds)[0], _epoch(ds)[0]
    assert set(np.unique(first)) == {0.0, 1.0}
    changed = float(np.mean(first != second))
    assert changed > 0.02, f"only {changed:.4f} of the pixels changed between epochs"
    # Bernoulli samples have the intensities as means: overall, and for mid-grey pixels.
    assert abs(first.mean() - x.mean()) < 2e-3
    grey = (x > 0.25) & (x < 0.75)
    assert abs(first[grey].mean() - x[grey].mean()) < 1e-2
    assert np.all(first[x == 0] == 0) and np.all(first[x == 1] == 1)
    # Same seed, new dataset: the same sequence of samples.
    np.testing.assert_array_equal(_epoch(_mnist_pipeline(mnist_dir, binarize=True))[0], first)
    symmetric, _ = load_dataset("digits", binarize=True, scale="symmetric", labels=True)
    images, labels = _epoch(symmetric)
    assert set(np.unique(images)) == {-1.0, 1.0} and labels.dtype == np.int64


def test_gaussian_noise_pairs_have_the_stated_spread(mnist_dir, mnist_train):
    x, _, _ = mnist_train
    ds = _mnist_pipeline(mnist_dir, noise="gaussian", noise_level=0.1)
    noisy, clean = _epoch(ds)
    np.testing.assert_allclose(clean, x, atol=1e-6)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    # Far (3.5 sd) from the clipping bounds the difference is N(0, 0.1^2).
    interior = (x > 0.35) & (x < 0.65)
    diff = (noisy - clean)[interior]
    assert interior.sum() > 50_000
    assert abs(diff.std() - 0.1) < 0.003 and abs(diff.mean()) < 0.002
    # On black pixels clipping leaves E[max(0, 0.1 Z)] = 0.1 / sqrt(2 pi) = 0.0399.
    assert abs(noisy[x == 0].mean() - 0.0399) < 0.002
    noisy_again, clean_again = _epoch(ds)
    np.testing.assert_array_equal(clean_again, clean)
    fresh = np.mean(noisy_again[interior] != noisy[interior])
    assert fresh > 0.99, "each epoch must draw fresh noise"


def test_held_out_binarisation_and_noise_are_drawn_once_per_seed():
    """Every pass over the test split, in this pipeline or a new one, sees the same draw:
    evaluating after any number of epochs (or after a resume) measures the same images."""
    def passes(seed, count=3, **options):
        ds, _ = load_dataset("digits", "test", batch_size=64, seed=seed, **options)
        next(iter(ds))  # a partial pass (a peek at the first batch) changes nothing either
        return [_epoch(ds) for _ in range(count)] + [_epoch(load_dataset(
            "digits", "test", batch_size=64, seed=seed, **options)[0])]

    binarised = passes(0, binarize=True, labels=True)
    for images, labels in binarised[1:]:
        np.testing.assert_array_equal(images, binarised[0][0])
        np.testing.assert_array_equal(labels, binarised[0][1])
    assert set(np.unique(binarised[0][0])) == {0.0, 1.0}
    other = passes(5, count=1, binarize=True, labels=True)[0][0]
    assert np.mean(other != binarised[0][0]) > 0.02, "another seed draws other samples"
    for noise in ("gaussian", "masking"):
        noisy = passes(0, noise=noise)
        for inputs, clean in noisy[1:]:
            np.testing.assert_array_equal(inputs, noisy[0][0])
            np.testing.assert_array_equal(clean, noisy[0][1])
        assert np.mean(noisy[0][0] != noisy[0][1]) > 0.1


def test_seed_alone_fixes_the_data_whatever_the_global_seed():
    """`load_dataset(seed=s)` gives the same shuffles, binarisation and noise with no global
    seed, or any: runs (which set the global seed to their own) keep their recorded data."""
    def data():
        train, _ = load_dataset("digits", batch_size=256, seed=3, binarize=True, labels=True)
        noisy, _ = load_dataset("digits", batch_size=256, seed=3, noise="gaussian")
        held, _ = load_dataset("digits", "test", batch_size=256, binarize=True)
        return [_epoch(train), _epoch(train), _epoch(noisy), _epoch(held)]

    seen = {}
    for global_seed in (None, 0, 3, 2024):
        tf.random.set_seed(global_seed)
        seen[global_seed] = data()
    first, second = seen[None][:2]
    assert not np.array_equal(first[1], second[1]), "the training split reshuffles each epoch"
    for global_seed, arrays in seen.items():
        for got, expected in zip(arrays, seen[None]):
            for part, reference in zip(got, expected):
                np.testing.assert_array_equal(part, reference, err_msg=f"global seed {global_seed}")


@pytest.mark.parametrize(
    "preset, options",
    [
        ("ae_conv.digits", dict(batch_size=64)),
        ("rbm_bernoulli.digits", dict(batch_size=10, binarize=True)),
        ("vae_conv.mnist_t10k", dict(batch_size=32, binarize=True)),
    ],
)
def test_the_shipped_presets_held_out_images_are_the_recorded_ones(preset, options, request):
    """Seed 0 draws the held-out split each preset recorded (its SHA-256), whatever the
    global seed (the test runs under another one than the presets' runs set)."""
    dataset = preset_metadata(preset)["dataset"]
    if dataset["name"] == "mnist":
        options = {**options, "data_dir": request.getfixturevalue("mnist_dir")}
    held, _ = load_dataset(dataset["name"], "test", seed=0, **options)
    images = np.ascontiguousarray(_epoch(held)[0], np.float32)
    assert hashlib.sha256(images.tobytes()).hexdigest() == dataset["held_out_sha256"]


@pytest.mark.parametrize("scale, low", [("unit", 0.0), ("symmetric", -1.0)])
def test_masking_noise_sets_the_stated_fraction_to_black(mnist_dir, scale, low):
    ds = _mnist_pipeline(mnist_dir, noise="masking", noise_level=0.3, scale=scale)
    noisy, clean = _epoch(ds)
    lit = clean > low
    masked = lit & (noisy == low)
    assert abs(masked.sum() / lit.sum() - 0.3) < 0.005
    np.testing.assert_array_equal(noisy[~masked], clean[~masked])


def test_bad_options_raise_clear_errors():
    cases = [
        (dict(noise="gaussian", labels=True), "noise and labels=True cannot be combined"),
        (dict(noise="salt"), "noise must be one of [None, 'gaussian', 'masking']"),
        (dict(noise="masking", noise_level=1.5), "between 0 and 1"),
        (dict(noise="gaussian", noise_level=-0.1), "positive"),
        (dict(noise_level=0.2), "noise_level was given without noise"),
        (dict(scale="minus_one"), "scale must be one of ['unit', 'symmetric']"),
        (dict(split="valid"), "split must be one of ['train', 'validation', 'test', 'all']"),
        (dict(split="validation"), "split='validation' needs a validation split: pass "
                                   "validation_fraction > 0"),
        (dict(validation_fraction=1.0), "validation_fraction must be a number in [0, 1)"),
        (dict(validation_fraction="0.2"), "validation_fraction must be a number in [0, 1)"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(holdout_fraction=1.0), "holdout_fraction must lie strictly between 0 and 1"),
        (dict(data_dir="."), "'digits' is bundled with scikit-learn"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as err:
            load_dataset("digits", **kwargs)
        assert message in str(err.value), kwargs


@pytest.mark.parametrize(
    "name, suggestion",
    [("mnsit", "'mnist'"), ("fashion-mnist", "'fashion_mnist'"), ("cifar", "'cifar10'")],
)
def test_unknown_dataset_names_suggest_close_matches(name, suggestion):
    with pytest.raises(ValueError, match=f"Unknown dataset '{name}'. Did you mean {suggestion}"):
        load_arrays(name)


# -------------------------------------------------------------------------------- npz


def test_npz_round_trip_with_official_splits(tmp_path, mnist_raw):
    images, labels = mnist_raw
    np.savez_compressed(
        tmp_path / "mnist.npz",
        x_train=images[:600], y_train=labels[:600], x_test=images[600:800], y_test=labels[600:800],
    )
    for kwargs in (dict(name=tmp_path / "mnist.npz"), dict(name="mnist", data_dir=str(tmp_path))):
        x, y, info = load_arrays(split="test", **kwargs)
        np.testing.assert_array_equal(_to_bytes(x[..., 0]), images[600:800])
        np.testing.assert_array_equal(y, labels[600:800])
        assert info.source == f"npz archive {tmp_path / 'mnist.npz'} (test split)"
    ds, info = load_dataset("mnist", "all", data_dir=str(tmp_path), labels=True, shuffle=False)
    all_images, all_labels = _epoch(ds)
    assert info.num_examples == 800 and info.num_classes == 10
    np.testing.assert_array_equal(all_labels, labels[:800])


def test_npz_single_pool_is_split_like_the_builtin_source(tmp_path):
    x, y, _ = load_arrays("digits", "all")
    np.savez(tmp_path / "digits_copy.npz", x=x, y=y[:, None])  # floats in [0, 1], (N, 1) labels
    for split in ("train", "test"):
        expected_x, expected_y, _ = load_arrays("digits", split)
        got_x, got_y, info = load_arrays(str(tmp_path), split)  # the folder's only npz
        np.testing.assert_array_equal(got_x, expected_x)
        np.testing.assert_array_equal(got_y, expected_y)
    assert "digits_copy.npz" in info.source and "seed=0" in info.source


def test_npz_without_labels_loads_images_only(tmp_path, mnist_raw):
    np.savez(tmp_path / "unlabelled.npz", x=mnist_raw[0][:500])
    x, y, info = load_arrays(str(tmp_path / "unlabelled.npz"), "all")
    assert x.shape == (500, 28, 28, 1) and y is None and info.num_classes == 0
    expected = "labels=True, but the images from npz archive .*unlabelled.npz: .* without labels"
    with pytest.raises(ValueError, match=expected):
        load_dataset(str(tmp_path / "unlabelled.npz"), labels=True)


def test_bad_npz_archives_raise_clear_errors(tmp_path, mnist_raw):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x_train=mnist_raw[0][:300], y_train=mnist_raw[1][:300])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    np.savez(tmp_path / "keys.npz", images=mnist_raw[0][:10])
    np.savez(tmp_path / "range.npz", x=mnist_raw[0][:10].astype(np.float32))
    np.savez(tmp_path / "flat.npz", x=mnist_raw[0][:10].reshape(10, -1))
    np.savez(tmp_path / "count.npz", x=mnist_raw[0][:10], y=mnist_raw[1][:9])
    cases = {
        "truncated.npz": "Could not read npz archive .*truncated.npz: .* truncated or corrupt",
        "keys.npz": re.escape("holds arrays ['images']; expected keys x_train/y_train"),
        "range.npz": re.escape("images must lie in [0, 1], got values in [0, 255]. Store 8-bit"),
        "flat.npz": re.escape("got shape (10, 784). Flat rows must be reshaped to (N, H, W)"),
        "count.npz": re.escape("expected 10 labels shaped (10,), got shape (9,)"),
    }
    for name, message in cases.items():
        with pytest.raises(DataFormatError, match=message):
            load_arrays(str(tmp_path / name))


# ------------------------------------------------------------------------------- IDX


def test_corrupt_or_incomplete_idx_folders_raise_clear_errors(tmp_path, mnist_dir):
    images_gz = os.path.join(mnist_dir, IMAGES_GZ)
    cut = tmp_path / "cut"
    cut.mkdir()
    raw = open(images_gz, "rb").read()
    (cut / IMAGES_GZ).write_bytes(raw[: len(raw) // 2])
    shutil.copy(os.path.join(mnist_dir, LABELS_GZ), cut / LABELS_GZ)
    expected = f"Could not read IDX file {re.escape(str(cut / IMAGES_GZ))}: .* truncated or corrupt"
    with pytest.raises(DataFormatError, match=expected):
        load_arrays("mnist", data_dir=str(cut))

    short = tmp_path / "short"
    short.mkdir()
    with gzip.open(images_gz) as f:
        (short / "t10k-images-idx3-ubyte").write_bytes(f.read()[:-784])  # one image short
    shutil.copy(os.path.join(mnist_dir, LABELS_GZ), short / LABELS_GZ)
    expected = "header promises 7840000 values (shape (10000, 28, 28)), the file holds 7839216"
    with pytest.raises(DataFormatError, match=re.escape(expected)):
        load_arrays(str(short))

    magic = tmp_path / "magic"
    magic.mkdir()
    (magic / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 16)
    shutil.copy(os.path.join(mnist_dir, LABELS_GZ), magic / LABELS_GZ)
    expected = "not an unsigned-byte IDX file: its magic number is 00000d03"
    with pytest.raises(DataFormatError, match=expected):
        load_arrays(str(magic))

    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(images_gz, lonely / IMAGES_GZ)
    expected = f"holds {IMAGES_GZ} but not t10k-labels-idx1-ubyte"
    with pytest.raises(DataNotFoundError, match=re.escape(expected)):
        load_arrays(str(lonely))


def test_missing_data_errors_say_where_they_looked(tmp_path):
    missing = tmp_path / "nowhere"
    cases = [
        (dict(name=str(missing)), f"No file or folder at '{missing}'"),
        (
            dict(name="mnist", data_dir=str(missing)),
            f"data_dir '{missing}' does not exist. To provide it, put the MNIST-style IDX files",
        ),
        (
            dict(name=str(tmp_path)),
            f"The folder {tmp_path} is empty. Put image files (.png, .jpg, .jpeg, .bmp, .gif) "
            "in it, or in one subfolder per class. Other layouts looked for: MNIST-style IDX",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(DataNotFoundError, match=re.escape(message)):
            load_arrays(**kwargs)


# ------------------------------------------------------------------------------- TFDS


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory, mnist_raw):
    """A real prepared TFDS 'mnist' dataset (2,000 MNIST images as its test split), made offline."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    root = tmp_path_factory.mktemp("tfds")
    images, labels = mnist_raw[0][:2000, ..., None], mnist_raw[1][:2000].astype(np.int64)
    features = tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(28, 28, 1)),
            "label": tfds.features.ClassLabel(num_classes=10),
        }
    )
    tfds.dataset_builders.store_as_tfds_dataset(
        name="mnist",
        version=tfds.builder_cls("mnist").VERSION,
        features=features,
        split_datasets={
            "test": tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
        },
        data_dir=str(root),
        disable_shuffling=True,
    )
    return root


def test_prepared_tfds_dataset_loads_offline_through_tfds_and_our_loader(tfds_dir, mnist_raw):
    import tensorflow_datasets as tfds

    # TFDS itself reads the folder as its registered "mnist" dataset, without network.
    direct = tfds.as_numpy(
        tfds.load("mnist", split="test", data_dir=str(tfds_dir), download=False, batch_size=-1)
    )
    np.testing.assert_array_equal(direct["image"][..., 0], mnist_raw[0][:2000])

    x, y, info = load_arrays("mnist", "all", data_dir=str(tfds_dir), download=False)
    np.testing.assert_array_equal(_to_bytes(x[..., 0]), mnist_raw[0][:2000])
    np.testing.assert_array_equal(y, mnist_raw[1][:2000])
    assert info.source.startswith(f"prepared TFDS dataset {tfds_dir / 'mnist'}")
    ds, train_info = load_dataset("mnist", data_dir=str(tfds_dir), labels=True, scale="symmetric")
    images, labels = _epoch(ds)
    assert train_info.num_examples == 1600
    assert (images.shape, labels.shape) == ((1600, 28, 28, 1), (1600,))
    assert images.min() == -1.0 and images.max() == 1.0 and train_info.num_classes == 10


def test_data_dir_is_searched_idx_then_npz_then_tfds(tmp_path, tfds_dir, mnist_dir, mnist_raw):
    os.symlink(tfds_dir / "mnist", tmp_path / "mnist")
    assert "prepared TFDS dataset" in load_arrays("mnist", data_dir=str(tmp_path))[2].source
    np.savez(tmp_path / "mnist.npz", x=mnist_raw[0][:100], y=mnist_raw[1][:100])
    assert load_arrays("mnist", data_dir=str(tmp_path))[2].source.startswith("npz archive")
    for name in (IMAGES_GZ, LABELS_GZ):
        os.symlink(os.path.join(mnist_dir, name), tmp_path / name)
    assert load_arrays("mnist", data_dir=str(tmp_path))[2].source.startswith("IDX files")


def test_damaged_tfds_dataset_raises_a_clear_error(tmp_path, tfds_dir):
    shutil.copytree(tfds_dir / "mnist", tmp_path / "mnist")
    (shard,) = (tmp_path / "mnist").glob("*/mnist-test.tfrecord*")
    shard.write_bytes(shard.read_bytes()[:5000])
    expected = "Could not read the 'test' split of the TFDS dataset in .* damaged; prepare it again"
    with pytest.raises(DataFormatError, match=expected):
        load_arrays("mnist", data_dir=str(tmp_path), download=False)


def test_offline_request_with_nothing_prepared_fails_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", data_dir=str(tmp_path), download=False)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    for expected in (
        "No data for 'mnist' found (download=False)",
        f"MNIST-style IDX files in {tmp_path}",
        f"an npz archive {tmp_path / 'mnist.npz'}",
        f"a prepared TFDS dataset in {tmp_path / 'mnist'}/<version>/",
        "tfds.load('mnist', data_dir=...)",
        "download=True",
    ):
        assert expected in message


def test_download_without_network_fails_fast_with_a_clear_error(tmp_path, monkeypatch):
    # The test never opens a connection: the socket layer answers as an offline machine does.
    from keras_genzoo.data import sources

    def offline(address, timeout=None):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(sources.socket, "create_connection", offline)
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", data_dir=str(tmp_path), download=True)
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert "cannot be downloaded: could not reach storage.googleapis.com:443" in message
    assert "this machine looks offline" in message and "put the MNIST-style IDX files" in message
    assert not list(tmp_path.glob("mnist/*/dataset_info.json"))
