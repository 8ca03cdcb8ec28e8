"""Image-to-image translation on real data: sketch to image, super-resolution on MNIST and
on photographs, and unpaired transfer between two handwriting datasets.

    python benchmarks/translation.py --mnist-dir path/to/mnist            # every part
    python benchmarks/translation.py --mnist-dir path/to/mnist --parts photo_sr cyclegan
    python benchmarks/translation.py --mnist-dir path/to/mnist --quick    # checks it runs
    python benchmarks/translation.py --mnist-dir path/to/mnist --write docs/BENCHMARKS.md

Every model is built by its registered builder with its defaults (except the sizes named
here) and seed 0, and trains by `fit` for a fixed number of optimizer steps (one step of
an adversarial model updates its discriminator and its generator once). MNIST is the
test split's fixed 8,000 / 2,000 split in [-1, 1]; FID is measured on the held-out
images, in the features of the shipped MNIST classifier, which also reads the class.
The parts (`--parts`, all by default):

1. `sketch`: MNIST digits from their `edges` outlines (`make_pairs`). `pix2pix` against
   `unet_translator` (the same U-Net generator, dropout included, on the L1 loss alone),
   the same number of steps at `--batch-size`. Held-out outlines are translated (noise
   seed 0) and compared with the true digits: the classifier's accuracy against the
   source labels, L1, PSNR, SSIM, FID and KID. The outline itself is the no-model row.
2. `mnist_sr`: super-resolution x4 on MNIST (7x7 block averages, `downsample`, to
   28x28). `super_resolution` and `srgan` against bicubic upsampling
   (`tf.image.resize`): PSNR and SSIM (`tf.image.psnr`, `tf.image.ssim`), L1, FID and
   the classifier's accuracy on the held-out digits.
3. `photo_sr`: super-resolution x2 and x3 on the two colour photographs that ship with
   scikit-learn (`load_sample_images`). `super_resolution` (3 channels) trains on
   random `--patch`-pixel crops, flipped half the time and recoloured (a random channel
   order, inverted half the time: the flower has no sky blue, the other photograph
   plenty), of 96-pixel tiles of one photograph (`--train-photo`) and is tested on the
   other, cut into non-overlapping `--patch`-pixel patches: PSNR and SSIM per patch,
   averaged, and the PSNR of the whole photograph, against bicubic upsampling of the
   same block-averaged inputs. By default flower.jpg trains and
   china.jpg tests: the flower's blurred background makes bicubic nearly exact on most
   of its patches (about 44 dB at x2, against 33 dB on china.jpg), so a mean over its
   patches says little about detail.
4. `cyclegan`: `cyclegan` between MNIST (domain A) and scikit-learn's 8x8 digits
   (domain B, its fixed 80 / 20 split, resized to 28x28 by `load_unpaired` as the
   zoo config `cyclegan_mnist_t10k_digits.json` does; builder defaults are that
   config's settings). Class preservation: the target domain's shipped classifier
   reads each held-out translation as the source's label (the digits classifier reads
   28x28 images brought back to 8x8 by antialiased resizing, as it reads the digits
   domain's own images, whose accuracy is given as its ceiling); the same classifier on
   the untranslated source images is the no-model row. FID of the translations against
   the target domain's held-out images in that classifier's features, and the L1 of
   A -> B -> A and B -> A -> B round trips.

FIDs here are in the zoo's own classifiers' feature spaces: comparable within the zoo
under the same classifier, not with published (Inception) FIDs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import (
    command_line,
    fid_kid_classes,
    load_average,
    load_note,
    machine_note,
    markdown_table,
    replace_marked_section,
    split_images,
)
from sklearn.datasets import load_sample_images

import keras_genzoo
from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.data import load_arrays
from keras_genzoo.data.pairs import (
    image_patches,
    load_unpaired,
    make_pairs,
    pair_dataset,
    transform_dataset,
    unpaired_dataset,
)
from keras_genzoo.evaluation import FeatureClassifier, fid_from_features, load_feature_classifier
from keras_genzoo.models.translation.measurements import image_scores

BEGIN, END = "<!-- translation:begin -->", "<!-- translation:end -->"
SYMMETRIC = (-1.0, 1.0)
PARTS = ("sketch", "mnist_sr", "photo_sr", "cyclegan")
MNIST_SHAPE = (28, 28, 1)
DIGITS_SIZE = (8, 8)
PHOTOS = ("china.jpg", "flower.jpg")
TILE = 96
FID_NOTE = (
    "Every FID here is measured in the features of one of the zoo's shipped classifiers (MNIST or "
    "digits): comparable only within the zoo under the same classifier, not with Inception FIDs."
)


# ------------------------------------------------------------------ shared steps


def train(model: keras.Model, data: tf.data.Dataset, steps: int) -> float:
    """Wall seconds of `steps` optimizer steps of `fit` on `data` (repeated as needed)."""
    start = time.perf_counter()
    model.fit(data.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
    return time.perf_counter() - start


def built(name: str, **arguments) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras_genzoo.create_model(name, seed=0, **arguments)


def bicubic(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic upsampling (`tf.image.resize`) to `size`, clipped to [-1, 1]."""
    return np.clip(tf.image.resize(images, size, method="bicubic").numpy(), *SYMMETRIC)


def mnist_scores(
    outputs: np.ndarray, targets: np.ndarray, labels: np.ndarray, classifier: FeatureClassifier,
    real_features: np.ndarray,
) -> dict[str, float]:
    """Pixel scores against the true digits, FID and KID against the held-out features and
    the share of outputs the classifier reads as their source's label."""
    scores = image_scores(outputs, targets, SYMMETRIC)
    fid, kid, predicted = fid_kid_classes(classifier, real_features, outputs, SYMMETRIC)
    return {**scores, "fid": fid, "kid": kid, "accuracy": float(np.mean(predicted == labels))}


def mnist_row(label: str, params: str, steps: str, seconds: str, s: dict[str, float]) -> list[str]:
    return [label, params, steps, seconds, f"{s['accuracy']:.1%}", f"{s['l1']:.4f}", f"{s['psnr']:.2f}",
            f"{s['ssim']:.3f}", f"{s['fid']:.2f}", f"{s['kid']:.4f}"]


def train_and_score_on_mnist(
    part: str, names: Sequence[str], arguments: dict[str, Any], data: tf.data.Dataset, steps: int,
    inputs: np.ndarray, mnist, classifier: FeatureClassifier, real_features: np.ndarray,
    rows: list[list[str]],
) -> dict[str, float]:
    """Builds each model of `names` on MNIST (with `arguments`), trains it `steps` steps on
    `data`, scores its translation of the held-out `inputs` (noise seed 0) and appends its
    table row to `rows`; returns each model's FID."""
    _, x_test, y_test = mnist
    fids = {}
    for name in names:
        model = built(name, image_shape=MNIST_SHAPE, **arguments)
        seconds = train(model, data, steps)
        scores = mnist_scores(model.translate(inputs, seed=0), x_test, y_test, classifier, real_features)
        fids[name] = scores["fid"]
        rows.append(mnist_row(f"`{name}`", f"{model.generator.count_params():,}", str(steps),
                              f"{seconds:.0f}", scores))
        progress(f"{part}: {rows[-1]}")
    return fids


MNIST_COLUMNS = ["model", "generator params", "steps", "train s", "classifier reads source label", "L1",
                 "PSNR dB", "SSIM", "FID", "KID"]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ parts


def sketch(args, mnist, classifier, real_features) -> str:
    x_train, x_test, y_test = mnist
    outlines_train, _ = make_pairs(x_train, "edges", value_range=SYMMETRIC)
    outlines_test, _ = make_pairs(x_test, "edges", value_range=SYMMETRIC)
    data = pair_dataset(outlines_train, x_train, batch_size=args.batch_size, seed=0, drop_remainder=True)
    rows = [mnist_row("outline itself (no model)", "-", "-", "-",
                      mnist_scores(outlines_test, x_test, y_test, classifier, real_features))]
    fids = train_and_score_on_mnist("sketch", ("unet_translator", "pix2pix"), {"input_channels": 1}, data,
                                    args.sketch_steps, outlines_test, mnist, classifier, real_features, rows)
    verdict = "improves" if fids["pix2pix"] < fids["unet_translator"] else "does not improve"
    return (
        f"**Sketch to image** (MNIST from `edges` outlines, {len(x_train):,} training pairs, batch "
        f"{args.batch_size}; {len(x_test):,} held-out outlines translated with noise seed 0):\n\n"
        + markdown_table(MNIST_COLUMNS, rows)
        + f"\n\nThe adversarial term {verdict} FID: pix2pix {fids['pix2pix']:.2f} against the L1-only "
        f"U-Net's {fids['unet_translator']:.2f} (same generator, same steps). The classifier reads "
        f"the true held-out digits at {classifier.accuracy(x_test, y_test, SYMMETRIC):.1%}."
    )


def mnist_sr(args, mnist, classifier, real_features) -> str:
    x_train, x_test, y_test = mnist
    low_train, _ = make_pairs(x_train, "downsample", factor=4, value_range=SYMMETRIC)
    low_test, _ = make_pairs(x_test, "downsample", factor=4, value_range=SYMMETRIC)
    data = pair_dataset(low_train, x_train, batch_size=args.batch_size, seed=0, drop_remainder=True)
    rows = [mnist_row("bicubic", "-", "-", "-", mnist_scores(bicubic(low_test, MNIST_SHAPE[:2]), x_test,
                                                             y_test, classifier, real_features))]
    fids = train_and_score_on_mnist("mnist_sr", ("super_resolution", "srgan"), {"scale": 4}, data,
                                    args.mnist_sr_steps, low_test, mnist, classifier, real_features, rows)
    lower = "lower" if fids["srgan"] < fids["super_resolution"] else "not lower"
    return (
        f"**Super-resolution x4 on MNIST** (7x7 block averages to 28x28, {len(x_train):,} training "
        f"pairs, batch {args.batch_size}; {len(x_test):,} held-out digits):\n\n"
        + markdown_table(MNIST_COLUMNS, rows)
        + f"\n\n`srgan`'s FID is {lower} than `super_resolution`'s ({fids['srgan']:.2f} against "
        f"{fids['super_resolution']:.2f}). The classifier reads the true held-out digits at "
        f"{classifier.accuracy(x_test, y_test, SYMMETRIC):.1%}."
    )


def whole_psnr(outputs: np.ndarray, targets: np.ndarray) -> float:
    """PSNR (dB) of all the patches together: from their mean squared error, in [0, 1] units."""
    error = np.mean(np.square((outputs - targets) / (SYMMETRIC[1] - SYMMETRIC[0])))
    return float(10.0 * np.log10(1.0 / error))


def other_photo(name: str) -> str:
    return PHOTOS[1 - PHOTOS.index(name)]


def photographs(train_photo: str) -> tuple[np.ndarray, np.ndarray]:
    """(training photograph, test photograph), float32 (H, W, 3) in [-1, 1]."""
    bunch = load_sample_images()
    found = {os.path.basename(path): image for path, image in zip(bunch.filenames, bunch.images)}
    names = (train_photo, other_photo(train_photo))
    return tuple(found[name].astype(np.float32) / 127.5 - 1.0 for name in names)


def photo_sr(args) -> str:
    train_photo, test_photo = photographs(args.train_photo)
    tiles = image_patches(train_photo, TILE, stride=TILE // 2)
    test_patches = image_patches(test_photo, args.patch)
    size = (args.patch, args.patch)
    rows, gains = [], {}
    for scale in (2, 3):
        data = transform_dataset(tiles, "downsample", batch_size=args.photo_batch_size, seed=0,
                                 crop=args.patch, flip=True, recolour=True, factor=scale,
                                 value_range=SYMMETRIC, drop_remainder=True)
        low_test, _ = make_pairs(test_patches, "downsample", factor=scale, value_range=SYMMETRIC)
        enlarged = bicubic(low_test, size)
        baseline = image_scores(enlarged, test_patches, SYMMETRIC)
        model = built("super_resolution", image_shape=(*size, 3), scale=scale)
        seconds = train(model, data, args.photo_steps)
        outputs = model.translate(low_test)
        scores = image_scores(outputs, test_patches, SYMMETRIC)
        baseline["whole"] = whole_psnr(enlarged, test_patches)
        scores["whole"] = whole_psnr(outputs, test_patches)
        gains[scale] = (scores["psnr"] - baseline["psnr"], scores["whole"] - baseline["whole"])
        for label, s, params, steps, train_s in (
            ("bicubic", baseline, "-", "-", "-"),
            ("`super_resolution`", scores, f"{model.generator.count_params():,}", str(args.photo_steps),
             f"{seconds:.0f}"),
        ):
            rows.append([f"x{scale}", label, params, steps, train_s, f"{s['psnr']:.2f}", f"{s['whole']:.2f}",
                         f"{s['ssim']:.4f}", f"{s['l1']:.4f}"])
        progress(f"photo_sr: {rows[-2:]}")
    return (
        f"**Super-resolution x2 and x3 on photographs** (`super_resolution` trained on random "
        f"{args.patch}x{args.patch} crops, flipped half the time, of {len(tiles)} {TILE}-pixel tiles of "
        f"{args.train_photo}, batch {args.photo_batch_size}; tested on the {len(test_patches)} "
        f"non-overlapping {args.patch}x{args.patch} patches of {other_photo(args.train_photo)}; "
        "inputs are block averages; training colours recoloured (channel order, inversion); PSNR and "
        "SSIM per patch, averaged, and the PSNR of the whole photograph, from the squared error "
        "over all its patches):\n\n"
        + markdown_table(["scale", "method", "params", "steps", "train s", "PSNR dB (patch mean)",
                          "PSNR dB (whole photo)", "SSIM", "L1"], rows)
        + f"\n\nPSNR above bicubic, patch mean and whole photograph: {gains[2][0]:+.2f} and "
        f"{gains[2][1]:+.2f} dB at x2, {gains[3][0]:+.2f} and {gains[3][1]:+.2f} dB at x3."
    )


def to_digits_size(images: np.ndarray) -> np.ndarray:
    """28x28 images brought to the digits classifier's 8x8 (antialiased resizing)."""
    return np.clip(tf.image.resize(images, DIGITS_SIZE, antialias=True).numpy(), *SYMMETRIC)


def cyclegan(args, mnist, mnist_classifier) -> str:
    x_train, x_test, y_test = mnist
    digits_classifier = load_feature_classifier("digits")
    digits_train, _, _ = load_arrays("digits", "train", scale="symmetric")
    digits_test, digits_labels, _ = load_arrays("digits", "test", scale="symmetric")
    a_train, b_train = load_unpaired(x_train, digits_train, scale="symmetric", image_shape=MNIST_SHAPE)
    a_test, b_test = load_unpaired(x_test, digits_test, scale="symmetric", image_shape=MNIST_SHAPE)
    data = unpaired_dataset(a_train, b_train, batch_size=args.cycle_batch_size, seed=0)
    model = built("cyclegan", image_shape=MNIST_SHAPE)
    seconds = train(model, data, args.cycle_steps)
    to_b = model.translate(a_test, direction="a_to_b")
    to_a = model.translate(b_test, direction="b_to_a")
    cycle_a = float(np.mean(np.abs(model.translate(to_b, direction="b_to_a") - a_test)))
    cycle_b = float(np.mean(np.abs(model.translate(to_a, direction="a_to_b") - b_test)))

    digits_real = digits_classifier.features(to_digits_size(b_test), SYMMETRIC)
    mnist_real = mnist_classifier.features(a_test, SYMMETRIC)

    def read(classifier, real, images, labels) -> tuple[float, float]:
        features, predicted = classifier.features_and_predictions(images, SYMMETRIC)
        return float(np.mean(predicted == labels)), fid_from_features(real, features)

    a_to_b = read(digits_classifier, digits_real, to_digits_size(to_b), y_test)
    a_plain = read(digits_classifier, digits_real, to_digits_size(a_test), y_test)
    b_to_a = read(mnist_classifier, mnist_real, to_a, digits_labels)
    b_plain = read(mnist_classifier, mnist_real, b_test, digits_labels)
    ceiling_b = digits_classifier.accuracy(to_digits_size(b_test), digits_labels, SYMMETRIC)
    ceiling_a = mnist_classifier.accuracy(a_test, y_test, SYMMETRIC)
    rows = [
        ["MNIST -> digits (A -> B)", len(a_test), f"{a_to_b[0]:.1%}", f"{a_plain[0]:.1%}", f"{ceiling_b:.1%}",
         f"{a_to_b[1]:.2f}", f"{a_plain[1]:.2f}", f"{cycle_a:.4f}"],
        ["digits -> MNIST (B -> A)", len(b_test), f"{b_to_a[0]:.1%}", f"{b_plain[0]:.1%}", f"{ceiling_a:.1%}",
         f"{b_to_a[1]:.2f}", f"{b_plain[1]:.2f}", f"{cycle_b:.4f}"],
    ]
    progress(f"cyclegan: {rows}")
    return (
        f"**Unpaired transfer, MNIST <-> scikit-learn digits** (`cyclegan`, {args.cycle_steps} steps at "
        f"batch {args.cycle_batch_size}, {seconds:.0f} s; {len(a_train):,} MNIST and {len(b_train):,} "
        "digits for training, the held-out images of each translated; the target's classifier: "
        "digits (translations resized to 8x8) for A -> B, MNIST for B -> A):\n\n"
        + markdown_table(
            ["direction", "images", "target classifier reads source label", "same, untranslated source",
             "target classifier on target's own images", "FID vs target", "FID untranslated",
             "cycle L1 (source -> target -> source)"],
            rows,
        )
    )


# ------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist-dir",
                        help="folder with the MNIST IDX files (parts sketch, mnist_sr, cyclegan)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="parts to run (default: all)")
    parser.add_argument("--sketch-steps", type=int, default=1200, help="steps of each model in part sketch")
    parser.add_argument("--mnist-sr-steps", type=int, default=1200,
                        help="steps of each model in part mnist_sr")
    parser.add_argument("--photo-steps", type=int, default=3000, help="steps of each scale in part photo_sr")
    parser.add_argument("--cycle-steps", type=int, default=1000, help="steps of the CycleGAN")
    parser.add_argument("--batch-size", type=int, default=64, help="batch of the MNIST paired parts")
    parser.add_argument("--photo-batch-size", type=int, default=16)
    parser.add_argument("--cycle-batch-size", type=int, default=32)
    parser.add_argument("--patch", type=int, default=48,
                        help="side of the photographs' patches (a multiple of 6)")
    parser.add_argument("--train-photo", choices=PHOTOS, default="flower.jpg",
                        help="the photograph that trains (the other one tests)")
    parser.add_argument("--held-out", type=int, default=2000, help="held-out MNIST images scored")
    parser.add_argument("--quick", action="store_true",
                        help="4 steps per model and 200 held-out images: checks that the script runs")
    parser.add_argument("--write", metavar="MARKDOWN", help="put the tables into this file")
    args = parser.parse_args()
    mnist_parts = [part for part in args.parts if part != "photo_sr"]
    if mnist_parts and not args.mnist_dir:
        parser.error(f"--mnist-dir is needed for the parts {', '.join(mnist_parts)}")
    if args.patch % 6 or not 12 <= args.patch <= TILE:
        parser.error(f"--patch must be a multiple of 6 (for x2 and x3) from 12 to {TILE}, got {args.patch}")
    for option in ("sketch_steps", "mnist_sr_steps", "photo_steps", "cycle_steps", "held_out"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if args.quick:
        args.sketch_steps = args.mnist_sr_steps = args.photo_steps = args.cycle_steps = 4
        args.held_out = 200
        warnings.simplefilter("ignore", ZooWarning)  # a few steps are short on purpose

    before = load_average()
    sections, seconds = [], {}
    if mnist_parts:
        classifier = load_feature_classifier("mnist")
        x_train, x_test = split_images("mnist", args.mnist_dir, scale="symmetric")
        _, y_test, _ = load_arrays("mnist", "test", data_dir=args.mnist_dir, scale="symmetric")
        mnist = (x_train, x_test[: args.held_out], y_test[: args.held_out])
        real_features = classifier.features(mnist[1], SYMMETRIC)
    for part in args.parts:
        start = time.perf_counter()
        if part == "sketch":
            sections.append(sketch(args, mnist, classifier, real_features))
        elif part == "mnist_sr":
            sections.append(mnist_sr(args, mnist, classifier, real_features))
        elif part == "photo_sr":
            sections.append(photo_sr(args))
        else:
            sections.append(cyclegan(args, mnist, classifier))
        seconds[part] = time.perf_counter() - start
        progress(f"{part} done in {seconds[part]:.0f} s")
    command = command_line(__file__, sys.argv[1:], drop=["--write", "--mnist-dir"])
    if args.mnist_dir:
        command += " --mnist-dir path/to/mnist"
    timing = ", ".join(f"{part} {s:.0f} s" for part, s in seconds.items())
    text = "\n\n".join([
        *sections,
        f"{FID_NOTE} Wall time per part (training and scoring): {timing}. {machine_note()}; "
        f"{load_note(before, load_average())}.\n"
        f"Command: `{command}`",
    ])
    print(text)
    if args.write:
        replace_marked_section(args.write, BEGIN, END, text)


if __name__ == "__main__":
    main()
