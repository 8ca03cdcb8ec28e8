"""Paired and unpaired data for image-to-image translation (keras_genzoo.data.pairs), on
real digits written as image files and on the digits arrays."""

from __future__ import annotations

import os

import numpy as np
import pytest
from image_folders import colour_digits, grey_digits, write_images
from PIL import Image

from keras_genzoo.data import load_arrays
from keras_genzoo.data.errors import DataFormatError, DataNotFoundError
from keras_genzoo.data.pairs import (
    downsampled,
    edge_outline,
    image_patches,
    load_folder_pairs,
    load_pairs,
    load_side_by_side,
    load_unpaired,
    make_pairs,
    masked,
    pair_dataset,
    transform_dataset,
    unpaired_dataset,
)


def _digits(count: int = 32) -> np.ndarray:
    return load_arrays("digits", "all")[0][:count]


def _paired_folder(root, count: int = 6, enlarge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A/<i>.png: digits; B/<i>.png: the same digits inverted (and `enlarge` times larger)."""
    images, _ = grey_digits(count)
    targets = 255 - images
    if enlarge > 1:
        targets = targets.repeat(enlarge, axis=1).repeat(enlarge, axis=2)
    write_images(root / "A", images)
    write_images(root / "B", targets)
    return images, targets


def test_folder_pairs_match_by_name_and_keep_both_sides(tmp_path):
    images, targets = _paired_folder(tmp_path)
    a, b, names = load_folder_pairs(tmp_path)
    assert names == [f"{i:05d}.png" for i in range(6)]
    np.testing.assert_allclose(a, images / 255.0, atol=1e-6)
    np.testing.assert_allclose(b, targets / 255.0, atol=1e-6)
    a, b, _ = load_folder_pairs(tmp_path, scale="symmetric", image_shape=(16, 16, 1))
    assert a.shape == b.shape == (6, 16, 16, 1) and a.min() >= -1 and a.max() <= 1


def test_folder_pairs_of_a_whole_size_ratio_are_super_resolution_pairs(tmp_path):
    _paired_folder(tmp_path, enlarge=2)
    a, b, _ = load_folder_pairs(tmp_path)
    assert a.shape == (6, 8, 8, 1) and b.shape == (6, 16, 16, 1)


def test_folder_pairs_name_every_file_without_its_partner(tmp_path):
    _paired_folder(tmp_path)
    os.remove(tmp_path / "B" / "00002.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "B" / "extra.png")
    lonely = r"A/ holds 1 file\(s\) with no partner in B/: 00002.png"
    with pytest.raises(DataFormatError, match=lonely) as err:
        load_folder_pairs(tmp_path)
    assert "B/ holds 1 file(s) with no partner in A/: extra.png" in str(err.value)


def test_folder_pairs_refuse_sizes_that_do_not_pair_and_missing_sides(tmp_path):
    _paired_folder(tmp_path)
    for name in os.listdir(tmp_path / "B"):
        Image.fromarray(np.zeros((8, 12), np.uint8)).save(tmp_path / "B" / name)
    with pytest.raises(DataFormatError, match=r"inputs are 8x8, targets 8x12"):
        load_folder_pairs(tmp_path)
    # resizing both sides to one shape pairs them
    a, b, _ = load_folder_pairs(tmp_path, image_shape=(8, 8, 1))
    assert a.shape == b.shape
    with pytest.raises(DataNotFoundError, match="has no A/ folder"):
        load_folder_pairs(tmp_path / "B")


def test_side_by_side_images_split_into_input_and_target(tmp_path):
    images, _ = grey_digits(4)
    write_images(tmp_path, np.concatenate([images, 255 - images], axis=2))
    a, b = load_side_by_side(tmp_path)
    np.testing.assert_allclose(a, images / 255.0, atol=1e-6)
    np.testing.assert_allclose(b, 1.0 - images / 255.0, atol=1e-6)
    right_a, right_b = load_side_by_side(tmp_path, input_side="right")
    np.testing.assert_array_equal(right_a, b)
    a, _ = load_side_by_side(tmp_path, image_shape=(16, 16, 1))
    assert a.shape == (4, 16, 16, 1)


def test_side_by_side_images_of_odd_width_are_refused(tmp_path):
    write_images(tmp_path, np.zeros((2, 8, 15, 1), np.uint8))
    with pytest.raises(DataFormatError, match="15 pixels wide, an odd number"):
        load_side_by_side(tmp_path)
    with pytest.raises(ValueError, match=r"input_side must be one of \['left', 'right'\]"):
        load_side_by_side(tmp_path, input_side="top")


def test_edges_outline_the_strokes_of_real_digits():
    images = _digits()
    outline = edge_outline(images)
    assert outline.shape == images.shape and outline.min() >= 0 and outline.max() <= 1
    np.testing.assert_allclose(outline.max(axis=(1, 2, 3)), 1.0)
    # a flat image has no edge at all; inside a flat region the outline is zero
    assert np.all(edge_outline(np.full((1, 8, 8, 1), 0.7, np.float32)) == 0)
    symmetric = edge_outline(2 * images - 1, value_range=(-1, 1))
    np.testing.assert_allclose(symmetric, 2 * outline - 1, atol=1e-5)


def test_downsample_averages_blocks_and_refuses_factors_that_do_not_divide():
    images = _digits()
    small = downsampled(images, 2)
    assert small.shape == (32, 4, 4, 1)
    np.testing.assert_allclose(small[:, 0, 0, 0], images[:, :2, :2, 0].mean(axis=(1, 2)), atol=1e-6)
    with pytest.raises(ValueError, match="factor 3 does not divide the image size 8x8.*2, 4"):
        downsampled(images, 3)
    with pytest.raises(ValueError, match=r"factor must be one of \[2, 3, 4\]"):
        downsampled(images, 5)
    assert downsampled(np.zeros((1, 9, 12, 3), np.float32), 3).shape == (1, 3, 4, 3)


def test_mask_hides_one_seeded_box_per_image():
    images = _digits() * 0.5 + 0.5  # no pixel at the low end before masking
    holes = masked(images, 0.25, seed=3)
    hidden = (holes == 0).reshape(len(images), -1).sum(axis=1)
    assert np.all(hidden == 16)  # a 4x4 box of an 8x8 image
    np.testing.assert_array_equal(holes, masked(images, 0.25, seed=3))
    assert not np.array_equal(holes, masked(images, 0.25, seed=4))
    with pytest.raises(ValueError, match=r"fraction must be a number in \(0, 1\)"):
        masked(images, 1.5)


def test_grey_makes_colourisation_pairs_and_refuses_grey_images():
    colour = colour_digits(4, size=(8, 8))[0].astype(np.float32) / 255.0
    inputs, targets = make_pairs(colour, "grey")
    assert inputs.shape == (4, 8, 8, 1) and targets.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(inputs[..., 0], colour @ np.array([0.2989, 0.587, 0.114]), atol=1e-5)
    with pytest.raises(ValueError, match="needs colour images"):
        make_pairs(_digits(), "grey")
    with pytest.raises(ValueError, match="transform must be one of"):
        make_pairs(_digits(), "blur")
    with pytest.raises(ValueError, match=r"images of shape \(n, height, width, channels\) with 1 or 3"):
        make_pairs(_digits()[..., 0], "edges")


def test_pairs_from_a_zoo_dataset_by_name():
    inputs, targets = load_pairs("digits", "downsample", "test", factor=4, scale="symmetric")
    assert inputs.shape[1:] == (2, 2, 1) and targets.shape[1:] == (8, 8, 1)
    assert targets.min() >= -1 and targets.min() < 0
    x, y = load_pairs("digits", "edges", "test")
    assert x.shape == y.shape and len(x) == len(inputs)


def test_crops_and_flips_are_the_same_on_both_sides_of_a_pair():
    targets = _digits(16)
    inputs = 1.0 - targets  # the input's pixel is a function of the target's at the same place
    ds = pair_dataset(inputs, targets, batch_size=16, crop=6, flip=True, seed=1)
    epochs = [list(ds.as_numpy_iterator())[0] for _ in range(2)]
    for x, y in epochs:
        assert x.shape == y.shape == (16, 6, 6, 1)
        np.testing.assert_allclose(x, 1.0 - y, atol=1e-6)
    assert not np.array_equal(epochs[0][1], epochs[1][1]), "every pass draws new windows"
    # a super-resolution pair is cut at the matching place of the smaller input
    small = downsampled(targets, 2)
    for x, y in pair_dataset(small, targets, batch_size=16, crop=4, flip=True).as_numpy_iterator():
        assert x.shape == (16, 2, 2, 1) and y.shape == (16, 4, 4, 1)
        np.testing.assert_allclose(x, downsampled(y, 2), atol=1e-6)


def test_pair_and_unpaired_datasets_follow_their_seed_alone():
    import tensorflow as tf

    targets = _digits(16)
    epochs = []
    for global_seed in (1, 2):
        tf.random.set_seed(global_seed)
        ds = pair_dataset(1.0 - targets, targets, batch_size=16, crop=6, flip=True, seed=3)
        unpaired = unpaired_dataset(targets, -targets[:8], batch_size=16, seed=3)
        epochs.append((next(iter(ds))[1].numpy(), next(iter(unpaired))[1].numpy()))
    for first, second in zip(*epochs):
        np.testing.assert_array_equal(first, second)
    other = next(iter(pair_dataset(1.0 - targets, targets, batch_size=16, crop=6, seed=4)))[1]
    assert not np.array_equal(other.numpy(), epochs[0][0])


def test_pair_datasets_refuse_bad_pairs():
    targets = _digits(8)
    with pytest.raises(ValueError, match="pair one to one, got 7 inputs and 8 targets"):
        pair_dataset(targets[:7], targets)
    with pytest.raises(DataFormatError, match="inputs are 8x8, targets 6x6"):
        pair_dataset(targets, targets[:, :6, :6])
    with pytest.raises(ValueError, match="crop 3x3 must be a multiple of 2"):
        pair_dataset(downsampled(targets, 2), targets, crop=3)
    with pytest.raises(ValueError, match="larger than the targets"):
        pair_dataset(targets, targets, crop=9)


def test_unpaired_domains_keep_their_own_sizes_and_shapes():
    digits = _digits(40)
    letters = colour_digits(24, size=(16, 16))[0].astype(np.float32) / 255.0
    with pytest.raises(ValueError, match="different image shapes"):
        load_unpaired(digits, letters)
    a, b = load_unpaired(digits, letters, image_shape=(8, 8, 1))
    assert a.shape == (40, 8, 8, 1) and b.shape == (24, 8, 8, 1)
    batches = list(unpaired_dataset(a, b, batch_size=16).as_numpy_iterator())
    assert [len(x) for x, _ in batches] == [16, 16, 8] and [len(y) for _, y in batches] == [16, 16, 8]
    seen = np.concatenate([x for x, _ in batches])
    assert sorted(seen.reshape(40, -1).sum(axis=1)) == pytest.approx(sorted(a.reshape(40, -1).sum(axis=1)))
    from_name, _ = load_unpaired("digits", letters, image_shape=(8, 8, 1), split="test")
    assert from_name.shape[1:] == (8, 8, 1)
    with pytest.raises(ValueError, match="must lie in the unit range"):
        load_unpaired(digits * 2, letters, image_shape=(8, 8, 1))
    with pytest.raises(ValueError, match="Each domain needs images"):
        unpaired_dataset(a[:0], b)


def test_unpaired_folders_of_several_sizes_are_read_at_the_shape_asked_for(tmp_path):
    write_images(tmp_path / "a", colour_digits(6, size=(16, 16))[0])
    write_images(tmp_path / "a" / "big", colour_digits(4, size=(24, 24))[0])
    with pytest.raises(DataFormatError, match="different sizes"):
        load_unpaired(tmp_path / "a", _digits(8), split="all")
    a, b = load_unpaired(tmp_path / "a", _digits(8), split="all", image_shape=(8, 8, 1))
    assert a.shape == (10, 8, 8, 1) and b.shape == (8, 8, 8, 1)


def test_pairs_made_on_the_fly_follow_each_cropped_and_flipped_image():
    digits = _digits(16) * 0.5 + 0.5  # no pixel at the low end before masking
    masks = transform_dataset(digits, "mask", batch_size=16, crop=6, flip=True, seed=2)
    passes = [next(iter(masks)) for _ in range(2)]
    for x, y in passes:
        x, y = x.numpy(), y.numpy()
        assert x.shape == y.shape == (16, 6, 6, 1)
        hidden = x != y
        assert np.all(x[hidden] == 0) and np.all(hidden.reshape(16, -1).sum(axis=1) == 9)
    assert not np.array_equal(passes[0][0].numpy(), passes[1][0].numpy()), "new masks every pass"
    again = next(iter(transform_dataset(digits, "mask", batch_size=16, crop=6, flip=True, seed=2)))
    np.testing.assert_array_equal(again[0].numpy(), passes[0][0].numpy())
    for x, y in transform_dataset(digits, "downsample", batch_size=16, crop=4, factor=2).take(1):
        np.testing.assert_allclose(x.numpy(), downsampled(y.numpy(), 2), atol=1e-6)
    for x, y in transform_dataset(digits, "edges", batch_size=16).take(1):
        np.testing.assert_allclose(x.numpy(), edge_outline(y.numpy()), atol=1e-6)
    with pytest.raises(ValueError, match="factor 2 does not divide the image size 5x5"):
        transform_dataset(digits, "downsample", crop=5)
    with pytest.raises(ValueError, match="needs colour images"):
        transform_dataset(digits, "grey")


def test_photographs_cut_into_patches_for_super_resolution():
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images  # two 427x640 colour photographs
    patches = image_patches(china, 96)
    assert patches.shape == (4 * 6, 96, 96, 3) and patches.dtype == np.uint8
    np.testing.assert_array_equal(patches[7], china[96:192, 96:192])
    overlapping = image_patches(np.stack([china, flower]), (32, 48), stride=16)
    # (427 - 32) // 16 + 1 = 25 rows and (640 - 48) // 16 + 1 = 38 columns of windows each
    assert overlapping.shape == (2 * 25 * 38, 32, 48, 3)
    np.testing.assert_array_equal(overlapping[25 * 38], flower[:32, :48])
    small, large = make_pairs(patches.astype(np.float32) / 255, "downsample", factor=3)
    assert small.shape == (24, 32, 32, 3) and large.shape == (24, 96, 96, 3)
    with pytest.raises(ValueError, match="do not fit in images of 427x640"):
        image_patches(china, 500)


def test_recolouring_gives_real_photographs_new_colours_on_both_sides_alike():
    from sklearn.datasets import load_sample_images

    flower = load_sample_images().images[1].astype(np.float32) / 127.5 - 1.0
    tiles = image_patches(flower, 48)  # 8 x 13 tiles of the flower, no sky blue in it
    originals = {tile.mean(axis=(0, 1)).round(4).tobytes() for tile in tiles}
    data = transform_dataset(tiles, "downsample", batch_size=len(tiles), shuffle=False, recolour=True,
                             factor=2, value_range=(-1.0, 1.0), seed=4)
    x, y = (v.numpy() for v in next(iter(data)))
    np.testing.assert_allclose(x, downsampled(y, 2), atol=1e-5)  # the input follows its target
    means = y.mean(axis=(1, 2))
    kept = sum(row.round(4).tobytes() in originals for row in means)
    assert 0 < kept < len(tiles), kept  # some tiles keep their colours, most do not
    for tile, mean in zip(tiles, means, strict=True):  # a channel order, inverted or not
        candidates = [tile.mean(axis=(0, 1)), -tile.mean(axis=(0, 1))]
        assert any(np.allclose(np.sort(mean), np.sort(c), atol=1e-4) for c in candidates)
    assert means[:, 2].max() > 0.5 > tiles.mean(axis=(1, 2))[:, 2].max()  # blue it never had
    for transform in ("grey", "edges"):
        with pytest.raises(ValueError, match=f"the '{transform}' transform does not treat"):
            transform_dataset(tiles, transform, recolour=True, value_range=(-1.0, 1.0))
