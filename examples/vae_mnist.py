"""Train a convolutional VAE, sample a grid, interpolate, save and reload it.

    python examples/vae_mnist.py --data-dir PATH/TO/mnist --epochs 5
    python examples/vae_mnist.py                # offline: scikit-learn's 8x8 digits

Grey-level images in [0, 1] train under the Bernoulli likelihood (pixel-wise cross
entropy). Writes samples.png, interpolation.png and model.keras to --out.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import keras_genzoo
from keras_genzoo import save_images
from keras_genzoo.data import load_arrays, load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with MNIST IDX files (default: digits)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--out", default="vae_mnist_run")
    args = parser.parse_args()
    name = "mnist" if args.data_dir else "digits"
    os.makedirs(args.out, exist_ok=True)

    train, info = load_dataset(name, "train", data_dir=args.data_dir, batch_size=32)
    test, _ = load_dataset(name, "test", data_dir=args.data_dir, batch_size=256)
    model = keras_genzoo.create_model(
        "vae_conv", image_shape=info.image_shape, num_levels=info.num_levels,
        latent_dim=args.latent_dim, seed=0,
    )
    model.fit(train, validation_data=test, epochs=args.epochs, verbose=2)
    metrics = model.evaluate(test, verbose=0, return_dict=True)
    print(f"held-out negative ELBO: {metrics['loss']:.2f} nats per image "
          f"(reconstruction {metrics['reconstruction']:.2f} + KL {metrics['kl']:.2f})")

    samples = model.generate(64, seed=0)
    print("wrote", save_images(samples, os.path.join(args.out, "samples.png"), columns=8))

    x_test, _, _ = load_arrays(name, "test", data_dir=args.data_dir)
    path = model.interpolate(x_test[:6], x_test[6:12], steps=10)  # (6, 10, H, W, C)
    grid = path.reshape(-1, *info.image_shape)
    print("wrote", save_images(grid, os.path.join(args.out, "interpolation.png"), columns=10))

    saved = os.path.join(args.out, "model.keras")
    model.save(saved)
    reloaded = keras_genzoo.load(saved)
    same = np.array_equal(reloaded.generate(64, seed=0), samples)
    print(f"saved {saved}; the reloaded model generates the same samples: {same}")
    scores = reloaded.anomaly_score(x_test[:5], seed=0)
    print("anomaly scores (negative ELBO, nats) of 5 held-out images:", np.round(scores, 1))


if __name__ == "__main__":
    main()
