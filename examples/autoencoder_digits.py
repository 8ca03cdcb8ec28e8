"""Autoencoders through the Python API, end to end, on the bundled 8x8 digits.

Loads the data, trains a convolutional autoencoder and a denoising one, compares their
held-out error with the mean-image baseline, denoises noisy digits, saves both models,
reloads them and writes image grids. About a minute on a laptop CPU:

    python examples/autoencoder_digits.py --out runs/example_autoencoders
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import keras_genzoo
from keras_genzoo import save_images
from keras_genzoo.data import load_arrays, load_dataset

NOISE_LEVEL = 0.3


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "example_autoencoders"))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    # 1. Data: a shuffled, batched tf.data pipeline for training, arrays for evaluation.
    train_ds, info = load_dataset("digits", "train", batch_size=64)
    x_train, _, _ = load_arrays("digits", "train")
    x_test, _, _ = load_arrays("digits", "test")
    print(f"{info.name}: {info.num_examples} training images of shape {info.image_shape}")

    # 2. A registered model, built for this image shape; builders return compiled models.
    autoencoder = keras_genzoo.create_model("ae_conv", image_shape=info.image_shape, latent_dim=16)
    autoencoder.fit(train_ds, epochs=args.epochs, validation_data=x_test, verbose=2)

    # 3. Held-out error against the baseline of always predicting the mean training image.
    baseline = mse(x_train.mean(axis=0, keepdims=True), x_test)
    held_out = autoencoder.evaluate(x_test, verbose=0, return_dict=True)["mse"]
    print(f"held-out MSE {held_out:.4f} vs mean image {baseline:.4f} "
          f"(ratio {held_out / baseline:.3f})")

    # 4. Latent codes, decoding and reconstruction.
    codes = autoencoder.encode(x_test[:32])
    reconstructions = autoencoder.decode(codes)
    assert np.allclose(reconstructions, autoencoder.reconstruct(x_test[:32]), atol=1e-5)
    print(f"codes: {codes.shape}, reconstructions: {reconstructions.shape}")

    # 5. A denoising autoencoder corrupts its own training batches (seeded Gaussian noise).
    denoiser = keras_genzoo.create_model(
        "dae_conv", image_shape=info.image_shape, noise_level=NOISE_LEVEL, seed=0
    )
    denoiser.fit(train_ds, epochs=args.epochs, verbose=0)
    noisy_ds, _ = load_dataset(
        "digits", "test", batch_size=len(x_test), noise="gaussian", noise_level=NOISE_LEVEL
    )
    noisy, clean = (t.numpy() for t in next(iter(noisy_ds)))
    print(f"noisy held-out digits: MSE {mse(noisy, clean):.4f}; after the autoencoder "
          f"{mse(autoencoder.reconstruct(noisy), clean):.4f}; after the denoiser "
          f"{mse(denoiser.reconstruct(noisy), clean):.4f}")

    # 6. Save, reload (weights, config and optimizer state) and check nothing changed.
    for name, model in (("autoencoder", autoencoder), ("denoiser", denoiser)):
        path = os.path.join(args.out, f"{name}.keras")
        model.save(path)
        restored = keras_genzoo.load(path)
        assert np.allclose(restored.reconstruct(noisy), model.reconstruct(noisy), atol=1e-6)
        print(f"saved and reloaded {path}")

    # 7. Image grids: rows of 8 originals, each followed by its reconstruction row.
    pairs = np.concatenate([
        row for start in range(0, 32, 8)
        for row in (x_test[start:start + 8], reconstructions[start:start + 8])
    ])
    denoising = np.concatenate([
        clean[:8], noisy[:8], autoencoder.reconstruct(noisy[:8]), denoiser.reconstruct(noisy[:8])
    ])
    for name, images in (("reconstructions", pairs), ("denoising", denoising)):
        path = save_images(images, os.path.join(args.out, f"{name}.png"), columns=8)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
