"""PixelCNN sampling speed: the zoo's compiled, cached loop against the naive loop.

One trained network (the MNIST benchmark's configuration, trained briefly on binarised
MNIST) samples a batch of 28x28 images three ways, in alternating rounds:

* naive: the keras-io PixelCNN example's loop, one `model.predict` over the whole
  image per pixel (784 calls), the pixel drawn in NumPy;
* compiled: `generate(cached=False)`, the same full forward pass per pixel but the
  whole loop in one `tf.function`;
* cached: `generate()`, the vertical stack once per row and the horizontal stack on
  one row per pixel, in one `tf.function`.

Reports the best of N rounds per way (the machine is shared and noisy) and the ratios.
The first compiled call (tracing) is timed separately.

    python benchmarks/pixelcnn_sampling.py --data-dir PATH/TO/mnist
"""

from __future__ import annotations

import argparse
import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import markdown_table, wall_seconds

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.models.vae import binarize


def naive_sample(model, n: int, seed: int) -> np.ndarray:
    """keras-io's sampler: a full `predict` per pixel, then a Bernoulli draw in NumPy."""
    rng = np.random.default_rng(seed)
    height, width, channels = model.image_shape
    pixels = np.zeros((n, height, width, channels), np.float32)
    for row in range(height):
        for col in range(width):
            for channel in range(channels):
                logits = model.predict(pixels, verbose=0)[:, row, col, channel, 0]
                probs = 1.0 / (1.0 + np.exp(-logits))
                pixels[:, row, col, channel] = (rng.random(n) < probs).astype(np.float32)
    return pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--batch", type=int, default=16, help="images sampled per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=2000)
    args = parser.parse_args()

    x_train, _, _ = load_arrays("mnist", "train", data_dir=args.data_dir)
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("pixelcnn", filters=32, num_layers=6)
    images = binarize(x_train[: args.train_images], seed=0)
    model.fit(tf.data.Dataset.from_tensor_slices(images).batch(64), epochs=1, verbose=0)
    print(f"trained 1 epoch on {len(images)} images; {model.count_params():,} parameters")

    ways = {
        "naive (predict per pixel)": lambda s: naive_sample(model, args.batch, s),
        "compiled, full pass per pixel": lambda s: model.generate(args.batch, seed=s, cached=False),
        "compiled, cached (row-wise)": lambda s: model.generate(args.batch, seed=s),
    }
    for name in list(ways)[1:]:
        seconds = wall_seconds(functools.partial(ways[name], 0))
        print(f"first call (tracing) of {name}: {seconds:.1f} s", flush=True)
    times: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(args.rounds):
        for name, sample in ways.items():
            started = time.perf_counter()
            out = sample(round_ + 1)
            times[name].append(time.perf_counter() - started)
            assert out.shape == (args.batch, *model.image_shape)
            print(f"round {round_ + 1}: {name} {times[name][-1]:.2f} s", flush=True)
    best = {name: min(values) for name, values in times.items()}
    naive = best["naive (predict per pixel)"]
    print(f"\n{args.batch} images of 28x28, best of {args.rounds} rounds")
    print(markdown_table(
        ["sampler", "best s", "s per image", "speed-up over naive"],
        [[name, f"{seconds:.2f}", f"{seconds / args.batch:.3f}", f"{naive / seconds:.1f}x"]
         for name, seconds in best.items()],
    ))


if __name__ == "__main__":
    main()
