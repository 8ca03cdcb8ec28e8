"""Folders of image files as a data source: layouts, resizing, colour, splits and bad input."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf
from image_folders import colour_digits, grey_digits, write_images
from PIL import Image

from keras_genzoo.data import (
    DataFormatError,
    DataNotFoundError,
    load_arrays,
    load_dataset,
)


def _bytes(images):
    return np.round(np.asarray(images) * 255).astype(np.uint8)


def _in_file_order(paths, *arrays):
    order = sorted(range(len(paths)), key=lambda i: paths[i])
    return [a[order] for a in arrays]


@pytest.fixture(scope="module")
def grey_classes(tmp_path_factory):
    """300 real digits as grey PNGs, one subfolder per class."""
    folder = tmp_path_factory.mktemp("grey_classes")
    images, labels = grey_digits(300)
    paths = write_images(folder, images, labels)
    return folder, *_in_file_order(paths, images, labels)


@pytest.fixture(scope="module")
def colour_pool(tmp_path_factory):
    """60 colour 32x32 digit pictures as PNGs, unlabelled (all in the folder itself)."""
    folder = tmp_path_factory.mktemp("colour_pool")
    images, _ = colour_digits(60, (32, 32))
    write_images(folder, images)
    return folder, images


def test_grey_class_folders_load_exactly_with_labels_and_seeded_splits(grey_classes):
    folder, images, labels = grey_classes
    x, y, info = load_arrays(folder, "all")
    np.testing.assert_array_equal(_bytes(x), images)  # PNG is lossless
    np.testing.assert_array_equal(y, labels)
    assert info.image_shape == (8, 8, 1) and info.num_classes == 10 and info.num_examples == 300
    assert info.class_names == tuple(str(c) for c in range(10))
    assert info.source == f"image folder {folder} (300 images, 10 class folders)"

    x_train, y_train, train = load_arrays(folder, "train")
    x_test, y_test, test = load_arrays(folder, "test")
    assert (train.num_examples, test.num_examples) == (240, 60)
    assert "holdout_fraction=0.2, split_seed=0" in train.source
    def rows(a):
        return {r.tobytes() + bytes([int(c)]) for r, c in zip(_bytes(a[0]), a[1])}
    assert not rows((x_train, y_train)) & rows((x_test, y_test))
    assert rows((x_train, y_train)) | rows((x_test, y_test)) == rows((x, y))
    moved, _, _ = load_arrays(folder, "test", split_seed=3)
    assert not np.array_equal(moved, x_test)

    ds, ds_info = load_dataset(folder, "test", labels=True, scale="symmetric", batch_size=25)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[0]) for b in batches] == [25, 25, 10]
    got = np.concatenate([b[0] for b in batches])
    np.testing.assert_allclose(got, x_test * 2 - 1, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y_test)
    assert ds_info.value_range == (-1.0, 1.0) and ds_info.class_names == info.class_names


def test_colour_folder_keeps_colours_and_converts_resizes_and_crops(colour_pool):
    folder, images = colour_pool
    x, y, info = load_arrays(folder, "all")
    assert y is None and info.num_classes == 0 and info.class_names == ()
    assert info.image_shape == (32, 32, 3)
    np.testing.assert_array_equal(_bytes(x), images)

    grey, _, grey_info = load_arrays(folder, "all", image_shape=(32, 32, 1))
    expected_grey = tf.image.rgb_to_grayscale(images).numpy()
    assert grey_info.image_shape == (32, 32, 1)
    assert np.abs(_bytes(grey).astype(int) - expected_grey).max() <= 1

    small, _, _ = load_arrays(folder, "all", image_shape=(16, 20, 3))
    expected_small = tf.image.resize(images, (16, 20), antialias=True).numpy()
    assert small.shape == (60, 16, 20, 3)
    assert np.abs(small * 255 - expected_small).max() <= 0.51

    crop, _, _ = load_arrays(folder, "all", image_shape=(20, 24, 3), resize_mode="crop")
    np.testing.assert_array_equal(_bytes(crop), images[:, 6:26, 4:28])

    # crop_resize keeps proportions: a 32x32 picture to 16x32 keeps the central 16 rows.
    wide, _, _ = load_arrays(folder, "all", image_shape=(16, 32, 3), resize_mode="crop_resize")
    np.testing.assert_array_equal(_bytes(wide), images[:, 8:24])
    stretched, _, _ = load_arrays(folder, "all", image_shape=(16, 32, 3))
    assert not np.array_equal(stretched, wide)


def test_formats_nesting_alpha_and_hidden_files(tmp_path):
    images, _ = colour_digits(8, (24, 24), seed=1)
    for i, ext in enumerate(["png", "jpg", "jpeg", "bmp", "gif", "PNG"]):
        where = tmp_path / ("nested/deeper" if i % 2 else "")
        where.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(where / f"{i}.{ext}")
    rgba = np.concatenate([images[6], np.full((24, 24, 1), 128, np.uint8)], axis=-1)
    Image.fromarray(rgba).save(tmp_path / "6_alpha.png")
    (tmp_path / ".hidden.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "broken.png").write_bytes(b"not an image")
    x, y, info = load_arrays(tmp_path, "all")
    assert x.shape == (7, 24, 24, 3) and y is None
    by_name = dict(zip(
        ["0.png", "2.jpeg", "4.gif", "6_alpha.png", "1.jpg", "3.bmp", "5.PNG"], _bytes(x)
    ))  # sorted paths: top-level files, then nested/deeper/
    np.testing.assert_array_equal(by_name["0.png"], images[0])
    np.testing.assert_array_equal(by_name["3.bmp"], images[3])
    np.testing.assert_array_equal(by_name["5.PNG"], images[5])
    np.testing.assert_array_equal(by_name["6_alpha.png"], images[6])  # alpha dropped
    for name, index in [("1.jpg", 1), ("2.jpeg", 2), ("4.gif", 4)]:
        error = np.abs(by_name[name].astype(int) - images[index]).mean(axis=(0, 1))
        assert np.all(error < 12), (name, error)  # lossy, but the same picture in each channel


def test_loose_images_make_an_unlabelled_folder_and_labels_true_explains(tmp_path):
    images, labels = grey_digits(12)
    write_images(tmp_path, images[:10], labels[:10])
    write_images(tmp_path, images[10:])  # two images directly in the folder
    x, y, info = load_arrays(tmp_path, "all")
    assert len(x) == 12 and y is None and info.num_classes == 0
    with pytest.raises(ValueError, match="one subfolder per class and no images directly"):
        load_dataset(tmp_path, labels=True)


# ---------------------------------------------------------------------- bad input


def test_empty_and_imageless_folders_are_named(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match=f"The folder {re.escape(str(empty))} is empty"):
        load_dataset(empty)
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "labels.csv").write_text("a,b")
    (other / "sub" / "readme.txt").write_text("hello")
    expected = (
        f"No image files found in {other} or its subfolders: it holds 2 other files "
        f"(labels.csv, {os.path.join('sub', 'readme.txt')})"
    )
    with pytest.raises(DataNotFoundError, match=re.escape(expected)):
        load_arrays(other)


def test_a_corrupt_file_among_many_is_named_or_skipped_with_a_report(tmp_path):
    images, labels = grey_digits(200)
    paths = write_images(tmp_path, images, labels)
    truncated, garbage = paths[57], paths[123]
    data = open(truncated, "rb").read()
    open(truncated, "wb").write(data[: len(data) // 2])
    open(garbage, "wb").write(b"GIF89a but not really")
    with pytest.raises(DataFormatError) as err:
        load_dataset(tmp_path, labels=True)
    message = str(err.value)
    assert f"Could not decode image file {truncated}: Invalid PNG data" in message
    assert "skip_bad_images=True" in message

    with pytest.warns(UserWarning) as record:
        x, y, info = load_arrays(tmp_path, "all", skip_bad_images=True)
    report = str(record[0].message)
    assert f"Skipped 2 of 200 image files in {tmp_path} (skip_bad_images=True)" in report
    assert truncated in report and garbage in report
    assert len(x) == 198 and info.num_examples == 198
    expected_skipped = tuple(sorted(os.path.relpath(p, tmp_path) for p in (truncated, garbage)))
    assert info.skipped_files == expected_skipped
    assert "2 unusable files skipped" in info.source
    keep = [i for i in range(200) if i not in (57, 123)]
    kept_images, kept_labels = _in_file_order([paths[i] for i in keep], images[keep], labels[keep])
    np.testing.assert_array_equal(_bytes(x), kept_images)
    np.testing.assert_array_equal(y, kept_labels)


def test_unreadable_files_are_named(tmp_path):
    images, _ = grey_digits(3)
    write_images(tmp_path, images)
    os.symlink(tmp_path / "missing.png", tmp_path / "dangling.png")
    dangling = re.escape(str(tmp_path / "dangling.png"))
    with pytest.raises(DataFormatError, match=f"Could not read image file {dangling}"):
        load_arrays(tmp_path)


def test_images_too_small_for_the_crop_are_named(tmp_path):
    images, _ = colour_digits(4, (32, 32))
    write_images(tmp_path, images)
    Image.fromarray(images[0][:20, :30]).save(tmp_path / "small.png")
    expected = (f"Image file {tmp_path / 'small.png'} is 20x30 pixels (height x width), "
                "too small for a 24x24 centre crop")
    with pytest.raises(DataFormatError, match=re.escape(expected)):
        load_arrays(tmp_path, image_shape=(24, 24, 3), resize_mode="crop")
    with pytest.warns(UserWarning, match="small.png is 20x30 pixels"):
        x, _, info = load_arrays(
            tmp_path, "all", image_shape=(24, 24, 3), resize_mode="crop", skip_bad_images=True
        )
    assert len(x) == 4 and info.skipped_files == ("small.png",)
    # Resizing takes any size; without image_shape, sizes must agree.
    assert load_arrays(tmp_path, "all", image_shape=(24, 24, 3))[0].shape == (5, 24, 24, 3)
    sizes = r"have 2 different sizes \(00000.png is 32x32, small.png is 20x30\). Pass image_shape"
    with pytest.raises(DataFormatError, match=sizes):
        load_arrays(tmp_path)


def test_a_class_folder_with_a_single_image_is_named(tmp_path):
    images, labels = grey_digits(20)
    write_images(tmp_path, images[:19], np.where(labels[:19] == 3, 4, labels[:19]))
    write_images(tmp_path / "3", images[19:])
    expected = f"Class folder {tmp_path / '3'} holds a single image (00000.png); a class needs at least 2"
    with pytest.raises(DataFormatError, match=re.escape(expected)):
        load_dataset(tmp_path, labels=True)


def test_class_folders_are_split_class_by_class(tmp_path):
    """Every class keeps a training and a held-out image, whatever split_seed; the
    unlabelled pool keeps its one seeded permutation."""
    images, _ = grey_digits(30)
    labels = np.array([0] * 2 + [1] * 3 + [2] * 25)
    write_images(tmp_path, images, labels)
    _, y_all, info = load_arrays(tmp_path, "all")
    assert info.num_classes == 3 and len(y_all) == 30
    for split_seed in range(20):
        _, y_train, train = load_arrays(tmp_path, "train", split_seed=split_seed)
        x_test, y_test, _ = load_arrays(tmp_path, "test", split_seed=split_seed)
        # 20% of 30 is 6: class 2 holds out 5 of its 25, the remaining one goes to class 1
        # (the larger remainder), and class 0 still holds out one of its two.
        assert np.bincount(y_test).tolist() == [1, 1, 5], split_seed
        assert np.bincount(y_train).tolist() == [1, 2, 20], split_seed
        assert "stratified by class" in train.source
    again, _, _ = load_arrays(tmp_path, "test", split_seed=19)
    np.testing.assert_array_equal(again, x_test)
    moved, _, _ = load_arrays(tmp_path, "test", split_seed=3)
    assert not np.array_equal(moved, x_test)
    # Without class folders, the split is one seeded permutation of the files.
    pool = tmp_path / "pool"
    write_images(pool, images)
    x_pool, y_pool, pool_info = load_arrays(pool, "test", split_seed=7)
    held = np.sort(np.random.default_rng(7).permutation(30)[:6])
    np.testing.assert_array_equal(_bytes(x_pool), images[held])
    assert y_pool is None and "stratified" not in pool_info.source


def test_class_folders_carve_validation_class_by_class(tmp_path):
    """The validation split of class folders is stratified like the test split: every
    class of the training split gives images to it, and the three splits are disjoint."""
    images, _ = grey_digits(60)
    labels = np.arange(60) % 3
    write_images(tmp_path, images, labels)
    stored = {row.tobytes() for row in images}
    assert len(stored) == 60
    splits = {split: load_arrays(tmp_path, split, validation_fraction=0.25)
              for split in ("train", "validation", "test")}
    counts = {split: np.bincount(y, minlength=3).tolist() for split, (_, y, _) in splits.items()}
    assert counts == {"train": [12, 12, 12], "validation": [4, 4, 4], "test": [4, 4, 4]}
    rows = {split: {row.tobytes() for row in _bytes(x)} for split, (x, _, _) in splits.items()}
    assert rows["train"] | rows["validation"] | rows["test"] == stored
    assert sum(len(r) for r in rows.values()) == 60
    assert "stratified by class" in splits["validation"][2].source


def test_mixed_grey_and_colour_needs_a_channel_count(tmp_path):
    grey, _ = grey_digits(3)
    colour, _ = colour_digits(2, (8, 8))
    write_images(tmp_path / "a", grey)
    write_images(tmp_path / "b", colour)
    expected = "mixes grey images (3, e.g. a/00000.png, a/00001.png, a/00002.png) and colour images (2"
    with pytest.raises(DataFormatError, match=re.escape(expected)):
        load_arrays(tmp_path)
    as_colour, labels, _ = load_arrays(tmp_path, "all", image_shape=(8, 8, 3))
    np.testing.assert_array_equal(_bytes(as_colour[:3]), np.repeat(grey, 3, axis=-1))
    np.testing.assert_array_equal(_bytes(as_colour[3:]), colour)
    as_grey, _, _ = load_arrays(tmp_path, "all", image_shape=(8, 8, 1))
    np.testing.assert_array_equal(_bytes(as_grey[:3]), grey)


def test_bad_image_options_raise_clear_errors(grey_classes):
    folder = grey_classes[0]
    cases = [
        (dict(image_shape=(8, 8, 4)), "1 (grey) or 3 (colour) channels, got (8, 8, 4)"),
        (dict(image_shape=(8, 8)), "image_shape must be (height, width, channels)"),
        (dict(resize_mode="pad"), "resize_mode must be one of ['resize', 'crop_resize', 'crop']"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            load_dataset(folder, **kwargs)
    expected = "image_shape=(32, 32, 3) was asked for, but scikit-learn's bundled digits holds (8, 8, 1)"
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_dataset("digits", image_shape=(32, 32, 3))
    assert load_dataset("digits", image_shape=[8, 8, 1])[1].image_shape == (8, 8, 1)
