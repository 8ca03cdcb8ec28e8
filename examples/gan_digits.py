"""GANs through the Python API on the bundled 8x8 digits: train, watch, sample, score.

Trains a DCGAN (or a conditional GAN with --model cgan) with the standard Keras
TensorBoard callback, so `d_loss`, `g_loss`, `d_real` and `d_fake` can be watched live,
then writes a sample grid and a walk through latent space, scores the samples with FID (and
conditional accuracy) on the shipped digits classifier, and saves/reloads the model.
About two minutes on a laptop CPU:

    python examples/gan_digits.py --out runs/example_gan
    tensorboard --logdir runs/example_gan/logs
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
from keras_genzoo.evaluation import conditional_accuracy, fid, load_feature_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["dcgan", "cgan", "wgan_gp"], default="dcgan")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--out", default=os.path.join("runs", "example_gan"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    # 1. Data in [-1, 1] (the generators end in tanh); (images, labels) for the cGAN.
    conditional = args.model == "cgan"
    train_ds, info = load_dataset("digits", "train", batch_size=64, scale="symmetric", labels=conditional)
    x_test, _, _ = load_arrays("digits", "test", scale="symmetric")
    print(f"{info.name}: {info.num_examples} training images of shape {info.image_shape}")

    # 2. A compiled GAN from the registry: two optimizers, one `fit`.
    gan = keras_genzoo.create_model(args.model, image_shape=info.image_shape, seed=0)
    classifier = load_feature_classifier("digits")
    labels = np.arange(1000) % 10 if conditional else None
    before = fid(x_test, gan.generate(1000, labels=labels, seed=0), classifier, info.value_range)

    # 3. Train with the standard TensorBoard callback, which logs the GAN's metrics at
    #    each epoch end. (With update_freq=N it also logs every N batches, but Keras then
    #    drops the epoch summaries of epochs that do not end on a multiple of N.)
    logs = os.path.join(args.out, "logs")
    gan.fit(
        train_ds,
        epochs=args.epochs,
        callbacks=[keras.callbacks.TensorBoard(log_dir=logs)],
        verbose=2,
    )
    print(f"TensorBoard logs in {logs}: tensorboard --logdir {logs}")

    # 4. Sample a grid (one row per digit for the cGAN) and a walk through latent space.
    grid_labels = np.repeat(np.arange(10), 10) if conditional else None
    samples = gan.generate(100, labels=grid_labels, seed=1)
    grid = save_images(samples, os.path.join(args.out, "samples.png"), columns=10,
                       value_range=info.value_range)
    print("samples:", grid)
    path = gan.latent_walk(10, seed=2, labels=3 if conditional else None)
    walk = save_images(path, os.path.join(args.out, "latent_walk.png"), columns=10,
                       value_range=info.value_range)
    print("latent walk:", walk)

    # 5. Scores on the held-out digits with the shipped (checksum-verified) classifier.
    after_samples = gan.generate(1000, labels=labels, seed=0)
    after = fid(x_test, after_samples, classifier, info.value_range)
    print(f"FID vs held-out digits: untrained {before:.1f} -> trained {after:.1f} "
          f"({before / after:.1f}x better)")
    if conditional:
        result = conditional_accuracy(after_samples, labels, classifier, info.value_range)
        print(f"samples classified as the requested digit: {result.accuracy:.1%}")

    # 6. Save and reload: weights, both optimizers, the EMA generator and the noise state.
    model_path = os.path.join(args.out, f"{args.model}.keras")
    gan.save(model_path)
    restored = keras_genzoo.load(model_path)
    few_labels = labels[:16] if conditional else None
    np.testing.assert_allclose(restored.generate(16, labels=few_labels, seed=3),
                               gan.generate(16, labels=few_labels, seed=3), atol=1e-6)
    print(f"saved and reloaded {model_path}")


if __name__ == "__main__":
    main()
