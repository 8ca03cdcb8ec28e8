"""GAN benchmark: FID/KID gains over the untrained generator, conditional accuracy, and
mode coverage on the 8-Gaussian ring, printed as markdown tables.

    python benchmarks/gan_fid.py --mnist-dir PATH/TO/mnist --out runs/gan_benchmark

Digits (1,438 train / 359 held out) always run; MNIST (8,000 / 2,000) only with
--mnist-dir. FID and KID compare 1,000 samples (seed 0) with the held-out split, in the
feature space of the shipped classifier of that dataset. Each trained model is scored
three ways side by side: the moving-average (EMA) generator as `generate` samples it
(batch-norm statistics re-estimated for the averaged weights), the same EMA weights
with the batch-norm statistics of the live weights (what `generate` did before), and
the live weights. Coverage figures of the toy are written to --out.
"""

from __future__ import annotations

import argparse
import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import cpu_seconds, fid_kid_classes, markdown_row, markdown_table, split_images

import keras_genzoo
from keras_genzoo.core.blocks import build_conv_decoder
from keras_genzoo.data import load_dataset
from keras_genzoo.evaluation import (
    class_coverage,
    coverage_figure,
    fid_from_features,
    gaussian_ring,
    load_feature_classifier,
    mode_coverage,
)
from keras_genzoo.models.gan import (
    GAN,
    build_dcgan_discriminator,
    build_mlp_discriminator,
    build_mlp_generator,
)

SYMMETRIC = (-1.0, 1.0)
NUM_SAMPLES = 1000
TOY_COLUMNS = [
    "8-Gaussian ring", "steps", "CPU s", "modes covered", "within 5 std", "direction concentration", "figure",
]
IMAGE_COLUMNS = [
    "dataset", "model", "epochs", "CPU s", "FID (EMA)", "FID (EMA, live BN stats)", "FID (raw)",
    "FID untrained", "gain", "KID", "classes", "cond. acc.",
]
# (model, epochs on digits, epochs on MNIST)
RUNS = [("dcgan", 60, 5), ("cgan", 60, 5), ("wgan_gp", 30, 2)]


def transposed_dcgan(image_shape) -> GAN:
    """The original DCGAN generator (transposed convolutions), for comparison."""
    generator = build_conv_decoder(
        image_shape, 64, (128, 64), kernel_size=4, normalization="batch",
        output_activation="tanh", upsampling="transpose", name="generator",
    )
    model = GAN(
        generator, build_dcgan_discriminator(image_shape), ema_decay=0.999, seed=0, name="dcgan_transposed"
    )
    model.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    return model


def ema_with_live_statistics(model: GAN, labels: np.ndarray | None) -> np.ndarray:
    """Samples of the EMA weights paired with the live weights' batch-norm statistics."""
    latent = model.sample_latent(NUM_SAMPLES, seed=0)
    inputs = latent if labels is None else [latent, labels[:, None].astype(np.int32)]
    out, _ = model.generator.stateless_call(
        [w.value for w in model._ema_weights],
        [v.value for v in model.generator.non_trainable_variables],
        inputs,
        training=False,
    )
    return np.clip(np.asarray(out, np.float32), *model.value_range)


def score(model: GAN, classifier, real_features: np.ndarray) -> dict[str, float]:
    labels = np.arange(NUM_SAMPLES) % model.num_classes if model.is_conditional else None
    samples = model.generate(NUM_SAMPLES, labels=labels, seed=0)
    fid, kid, predicted = fid_kid_classes(classifier, real_features, samples, SYMMETRIC)
    result = {"fid": fid, "kid": kid, "classes": class_coverage(predicted, classifier.num_classes).covered}
    if labels is not None:
        result["accuracy"] = float(np.mean(predicted == labels))
    if model._ema_weights:
        variants = {
            "fid_live_stats": ema_with_live_statistics(model, labels),
            "fid_raw": model.generate(NUM_SAMPLES, labels=labels, seed=0, use_ema=False),
        }
        for key, images in variants.items():
            result[key] = fid_from_features(real_features, classifier.features(images, SYMMETRIC))
    return result


def image_runs(dataset: str, data_dir: str | None, with_transposed: bool) -> list[str]:
    classifier = load_feature_classifier(dataset)
    x_train, x_test = split_images(dataset, data_dir, scale="symmetric")
    real_features = classifier.features(x_test, SYMMETRIC)
    reference = fid_from_features(real_features, classifier.features(x_train[:NUM_SAMPLES], SYMMETRIC))
    rows = [markdown_row([dataset, f"{NUM_SAMPLES} real training images", "-", "-", f"{reference:.1f}",
                          *["-"] * 7])]
    runs = [(name, digits if dataset == "digits" else mnist) for name, digits, mnist in RUNS]
    if with_transposed:
        runs.append(("dcgan_transposed", runs[0][1]))
    for name, epochs in runs:
        keras.utils.set_random_seed(0)
        conditional = name == "cgan"
        data, _ = load_dataset(dataset, "train", data_dir=data_dir, batch_size=64, scale="symmetric",
                               labels=conditional)
        if name == "dcgan_transposed":
            model = transposed_dcgan(x_train.shape[1:])
        else:
            model = keras_genzoo.create_model(name, image_shape=x_train.shape[1:], seed=0)
        before = score(model, classifier, real_features)
        seconds = cpu_seconds(functools.partial(model.fit, data, epochs=epochs, verbose=0))
        after = score(model, classifier, real_features)
        accuracy = f"{after['accuracy']:.1%}" if "accuracy" in after else "-"
        rows.append(markdown_row([
            dataset, name, epochs, f"{seconds:.0f}", f"{after['fid']:.1f}",
            f"{after.get('fid_live_stats', float('nan')):.1f}", f"{after.get('fid_raw', float('nan')):.1f}",
            f"{before['fid']:.1f}", f"{before['fid'] / after['fid']:.1f}x", f"{after['kid']:.2f}",
            f"{after['classes']}/10", accuracy,
        ]))
        print(rows[-1], flush=True)
    return rows


def toy_runs(out: str) -> list[str]:
    points, centers = gaussian_ring(4096, std=0.05, seed=0)
    data = tf.data.Dataset.from_tensor_slices(points.reshape(-1, 1, 1, 2))
    data = data.shuffle(4096, seed=0).batch(256)
    rows = []
    for label, units in (("healthy (128, 128)", (128, 128)), ("crippled (1 unit)", (1,))):
        for steps in (800, 1600, 4800):
            keras.utils.set_random_seed(0)
            model = GAN(build_mlp_generator((1, 1, 2), 8), build_mlp_discriminator((1, 1, 2), units),
                        value_range=(-3, 3), seed=1)
            model.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                          g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
            seconds = cpu_seconds(functools.partial(model.fit, data, epochs=steps // 16, verbose=0))
            samples = model.generate(2000, seed=0).reshape(-1, 2)
            coverage = mode_coverage(samples, centers, radius=0.25)
            figure = os.path.join(out, f"ring_{units[0]}units_{steps}steps.png")
            coverage_figure(samples, centers, 0.25, figure)
            directions = samples / np.linalg.norm(samples, axis=1, keepdims=True)
            concentration = np.linalg.norm(directions.mean(axis=0))
            rows.append(markdown_row([
                label, steps, f"{seconds:.0f}", f"{coverage.covered}/8",
                f"{coverage.high_quality_fraction:.0%}", f"{concentration:.2f}",
                f"`{os.path.basename(figure)}`",
            ]))
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mnist-dir", help="folder with the MNIST IDX files")
    parser.add_argument("--out", default=os.path.join("runs", "gan_benchmark"))
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--skip-toy", action="store_true")
    parser.add_argument("--skip-transposed", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    toy = [] if args.skip_toy else toy_runs(args.out)
    images = [] if args.skip_digits else image_runs("digits", None, not args.skip_transposed)
    if args.mnist_dir:
        images += image_runs("mnist", args.mnist_dir, False)

    if toy:
        print("\n" + markdown_table(TOY_COLUMNS))
        print("\n".join(toy))
    print("\n" + markdown_table(IMAGE_COLUMNS))
    print("\n".join(images))


if __name__ == "__main__":
    main()
