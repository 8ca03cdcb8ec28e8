"""`keras-genzoo train` and `sample` on a folder of colour image files: the model's
image_shape reaches the folder, colours survive into the PNGs, bad files stop the run
before anything is written."""

import json

import numpy as np
import pytest
import tensorflow as tf
from image_folders import colour_digits, write_images
from PIL import Image

from keras_genzoo import cli


def _png(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB", f"{path} is a {image.mode} image, not colour"
        return np.asarray(image)


@pytest.fixture(scope="module")
def colour_pictures(tmp_path_factory):
    """40 colour digit pictures of 40x48 pixels, unlabelled."""
    folder = tmp_path_factory.mktemp("pictures")
    images, _ = colour_digits(40, (40, 48), seed=3)
    write_images(folder, images)
    return folder, images


def test_train_and_sample_on_a_folder_keep_the_colours(colour_pictures, tmp_path, capsys):
    folder, images = colour_pictures
    run = tmp_path / "run"
    code = cli.main([
        "train", "vae_conv", "--dataset", str(folder), "--set", "image_shape=[32,32,3]",
        "--set", "filters=[4,8]", "--set", "latent_dim=4", "--epochs", "1",
        "--batch-size", "16", "--out", str(run),
    ])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    train, test = metrics["dataset"]["train"], metrics["dataset"]["test"]
    assert train["image_shape"] == [32, 32, 3] and test["num_examples"] == 8
    assert train["source"].startswith(f"image folder {folder} (40 images)")
    assert metrics["builder_arguments"]["image_shape"] == [32, 32, 3]

    # The first tile of reconstructions.png is the first held-out image, colours intact:
    # 32x32 tiles are drawn twice as large, after 2 pixels of padding.
    order = np.random.default_rng(0).permutation(40)
    first_held_out = np.sort(order[:8])[0]
    expected = tf.image.resize(images[first_held_out], (32, 32), antialias=True).numpy()
    grid = _png(run / "reconstructions.png")
    tile = grid[2 : 2 + 64 : 2, 2 : 2 + 64 : 2].astype(float)
    assert np.abs(tile - np.round(expected)).max() <= 1
    samples = _png(run / "samples.png")
    assert samples.shape[-1] == 3

    out = tmp_path / "grid.png"
    code = cli.main(["sample", str(run), "--n", "8", "--seed", "1", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    grid = _png(out)
    # 8 tiles of 64x64 in a 3x3 layout with 2-pixel padding.
    assert grid.shape == (3 * 66 + 2, 3 * 66 + 2, 3)
    tiles = grid[2:-2, 2:-2].astype(int)
    spread = np.abs(tiles[..., 0] - tiles[..., 1]) + np.abs(tiles[..., 1] - tiles[..., 2])
    assert spread.max() > 0, "samples came out grey"


def test_a_corrupt_file_stops_the_run_before_anything_is_written(colour_pictures, tmp_path, capsys):
    folder = tmp_path / "pictures"
    images, _ = colour_digits(12, (32, 32))
    paths = write_images(folder, images)
    with open(paths[5], "r+b") as f:
        f.truncate(100)
    run = tmp_path / "run"
    code = cli.main(["train", "ae_conv", "--dataset", str(folder), "--epochs", "1", "--out", str(run)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"Could not decode image file {paths[5]}" in err and "Invalid PNG data" in err
    assert not run.exists()

    single = tmp_path / "classes"
    write_images(single, images[:5], np.array([0, 0, 1, 1, 2]))
    code = cli.main(["train", "cgan", "--dataset", str(single), "--epochs", "1", "--out", str(run)])
    assert code == 2
    assert f"Class folder {single / '2'} holds a single image" in capsys.readouterr().err
    assert not run.exists()
