"""Autoencoder benchmark: held-out reconstruction and denoising on digits and MNIST.

For each registered autoencoder, trains on the training split with seed 0 and reports
the held-out reconstruction MSE next to the MSE of predicting the mean training image,
then the MSE to the clean images of held-out images with Gaussian noise, before and
after the model. Prints a markdown table.

    python benchmarks/autoencoders.py                      # digits only
    python benchmarks/autoencoders.py --mnist-dir DIR      # plus MNIST IDX files in DIR
"""

from __future__ import annotations

import argparse
import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from _common import markdown_table, split_images, wall_seconds

import keras_genzoo
from keras_genzoo.data import load_dataset

MODELS = ("ae_dense", "dae_dense", "ae_conv", "dae_conv")


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def benchmark(dataset: str, data_dir: str | None, epochs: int, noise: float, batch_size: int):
    x_train, x_test = split_images(dataset, data_dir)
    baseline = mse(x_train.mean(axis=0, keepdims=True), x_test)
    noisy_ds, _ = load_dataset(
        dataset, "test", data_dir=data_dir, batch_size=len(x_test), noise="gaussian",
        noise_level=noise, seed=11,
    )
    noisy, clean = (t.numpy() for t in next(iter(noisy_ds)))
    train_ds, _ = load_dataset(dataset, "train", data_dir=data_dir, batch_size=batch_size)
    rows = []
    for name in MODELS:
        keras.utils.set_random_seed(0)
        extra = {"noise_level": noise, "seed": 0} if name.startswith("dae") else {}
        model = keras_genzoo.create_model(name, image_shape=x_train.shape[1:], **extra)
        seconds = wall_seconds(functools.partial(model.fit, train_ds, epochs=epochs, verbose=0))
        held_out = mse(model.reconstruct(x_test), x_test)
        rows.append([
            dataset, name, str(epochs), f"{seconds:.0f}", f"{held_out:.4f}", f"{baseline:.4f}",
            f"{held_out / baseline:.3f}", f"{mse(noisy, clean):.4f}",
            f"{mse(model.reconstruct(noisy), clean):.4f}",
        ])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", help="folder with MNIST-style IDX files")
    parser.add_argument("--digits-epochs", type=int, default=40)
    parser.add_argument("--mnist-epochs", type=int, default=10)
    parser.add_argument("--noise", type=float, default=0.4, help="Gaussian noise std")
    args = parser.parse_args()
    rows = benchmark("digits", None, args.digits_epochs, args.noise, 64)
    if args.mnist_dir:
        rows += benchmark("mnist", args.mnist_dir, args.mnist_epochs, args.noise, 128)
    header = [
        "dataset", "model", "epochs", "train s", "held-out MSE", "mean-image MSE", "ratio",
        f"noisy MSE (std {args.noise})", "after model",
    ]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
