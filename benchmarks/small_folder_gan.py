"""DCGAN on a 200-image folder under several discriminator augmentation policies.

    python benchmarks/small_folder_gan.py                  # 200 images, 2,000 steps, 2 seeds
    python benchmarks/small_folder_gan.py --variants none adaptive translation,cutout
    python benchmarks/small_folder_gan.py --quick          # a check that the script runs
    python benchmarks/small_folder_gan.py --write docs/BENCHMARKS.md

The data is synthetic: two classes of 32x32 colour pictures, a filled circle or a
filled square of random size, position and colour on a random plain background,
written as PNG files into class folders (`synthetic_shapes/circle`, `.../square`).
Each variant (`--variants`, each one a value of the GAN's `augment` argument; `none`
and `auto` by default, "auto" being the adaptive policy, colour and translation, on a
folder this small) trains `dcgan` (builder defaults) through `train_run` on that folder
for the same number of optimizer steps (`steps`), once per training seed (`--seeds`);
within each seed the rounds go through the variants in turn. The table gives the policy
each run settled on and, for adaptive policies, the augmentation probability p at the
end of training.

Scores, from 1,000 samples of each model: FID and KID against 1,000 fresh synthetic
images, in the features of a shape classifier trained here on 8,000 other synthetic
images (its held-out accuracy is reported); the share of samples it calls a circle
(0.5 is the data's balance) and the share it classifies with confidence above 0.9
(shapes it recognises). Each variant's mean over the seeds is the last rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import keras
import numpy as np
from _common import (
    command_line,
    fid_kid_classes,
    load_average,
    load_note,
    machine_note,
    markdown_table,
    replace_marked_section,
)
from PIL import Image, ImageDraw

import keras_genzoo
from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.evaluation.classifiers import FeatureClassifier, build_feature_classifier
from keras_genzoo.models.gan.augment import check_policy
from keras_genzoo.training import train_run

BEGIN, END = "<!-- small_folder_gan:begin -->", "<!-- small_folder_gan:end -->"
CLASSES = ("circle", "square")
SIZE = 32


def synthetic_shapes(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` uint8 (32, 32, 3) pictures of a circle (label 0) or a square (label 1)."""
    rng = np.random.default_rng(seed)
    images, labels = [], rng.integers(0, 2, count)
    for label in labels:
        background, colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        while np.abs(background - colour).sum() < 150:  # keep the shape visible
            colour = rng.integers(0, 256, 3)
        picture = Image.new("RGB", (SIZE, SIZE), tuple(int(c) for c in background))
        radius = int(rng.integers(5, 12))
        cx, cy = (int(v) for v in rng.integers(radius, SIZE - radius, 2))
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw = ImageDraw.Draw(picture)
        (draw.ellipse if label == 0 else draw.rectangle)(box, fill=tuple(int(c) for c in colour))
        images.append(np.asarray(picture))
    return np.stack(images), labels


def write_folder(root: str, count: int) -> str:
    folder = os.path.join(root, "synthetic_shapes")
    images, labels = synthetic_shapes(count, seed=0)
    for index, (image, label) in enumerate(zip(images, labels)):
        where = os.path.join(folder, CLASSES[label])
        os.makedirs(where, exist_ok=True)
        Image.fromarray(image).save(os.path.join(where, f"{index:04d}.png"))
    return folder


def shape_classifier(count: int, epochs: int) -> tuple[FeatureClassifier, float]:
    """A classifier of circles and squares (images in [0, 1]) and its held-out accuracy."""
    images, labels = synthetic_shapes(count, seed=1)
    x = images.astype("float32") / 255.0
    split = int(0.8 * count)
    model = build_feature_classifier((SIZE, SIZE, 3), 2, strides=(2, 2, 2))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:split], labels[:split], epochs=epochs, batch_size=64, verbose=0)
    accuracy = model.evaluate(x[split:], labels[split:], verbose=0)[1]
    return FeatureClassifier.from_model(model, feature_layer="features", name="shapes"), float(accuracy)


def score(model, classifier: FeatureClassifier, real_features: np.ndarray, samples: int) -> dict:
    images = model.generate(samples, seed=0)
    fid, kid, predicted = fid_kid_classes(classifier, real_features, images, model.value_range)
    logits = classifier.model.predict(np.clip((images + 1) / 2, 0, 1), verbose=0)
    confidence = keras.ops.convert_to_numpy(keras.ops.softmax(logits)).max(axis=1)
    return {"fid": fid, "kid": kid, "circles": float(np.mean(predicted == 0)),
            "confident": float(np.mean(confidence > 0.9))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=2, help="training seeds per variant")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--classifier-images", type=int, default=8000)
    parser.add_argument("--classifier-epochs", type=int, default=20)
    parser.add_argument("--variants", nargs="+", default=["none", "auto"], metavar="AUGMENT",
                        help="augment values to compare, e.g. none auto adaptive adaptive:translation "
                             "translation,cutout (default: none auto)")
    parser.add_argument("--quick", action="store_true",
                        help="10 steps, 100 samples, a 1-epoch classifier, no EMA: checks the script runs")
    parser.add_argument("--write", metavar="MARKDOWN", help="put the table into this file")
    args = parser.parse_args()
    for variant in args.variants:
        try:
            check_policy(variant)
        except ValueError as error:
            parser.error(f"--variants: {error}")
    if args.quick:
        args.steps, args.samples, args.classifier_images, args.classifier_epochs = 10, 100, 400, 1
        args.seeds = 1
    if args.quick:
        warnings.simplefilter("ignore", ZooWarning)  # 10 steps are short on purpose

    before = load_average()
    classifier, accuracy = shape_classifier(args.classifier_images, args.classifier_epochs)
    real, _ = synthetic_shapes(args.samples, seed=2)
    real_features = classifier.features(real.astype("float32") / 255.0)
    rows, scores = [], {}
    with tempfile.TemporaryDirectory() as root:
        folder = write_folder(root, args.images)
        for seed in range(args.seeds):
            for name in args.variants:
                augment = None if name == "none" else name
                keras.backend.clear_session()
                overrides = {"image_shape": [SIZE, SIZE, 3], "augment": augment}
                if args.quick:  # no moving average: its previews' statistics cost seconds
                    overrides["ema_decay"] = None
                config = {"model": "dcgan", "dataset": folder, "steps": args.steps, "seed": seed,
                          "batch_size": 64, "overrides": overrides}
                started = time.perf_counter()
                run_dir = os.path.join(root, f"run_{len(rows)}")
                train_run(config, run_dir, verbose=0)
                seconds = time.perf_counter() - started
                model = keras_genzoo.load(run_dir)
                result = score(model, classifier, real_features, args.samples)
                policy = model.augment.spec() or "none"
                tracked = model.augment_probability
                result["p"] = float("nan") if tracked is None else float(tracked.probability.numpy())
                final_p = "-" if tracked is None else f"{result['p']:.3f}"
                scores.setdefault((name, policy), []).append(result)
                rows.append([name, policy, seed, f"{result['fid']:.2f}", f"{result['kid']:.4f}",
                             f"{result['circles']:.2f}", f"{result['confident']:.2f}", final_p,
                             f"{seconds:.0f}"])
                print(rows[-1], file=sys.stderr, flush=True)
    for (name, policy), results in scores.items():
        mean = {key: float(np.mean([r[key] for r in results])) for key in results[0]}
        rows.append([f"**{name}, mean**", policy, f"{len(results)} seeds", f"{mean['fid']:.2f}",
                     f"{mean['kid']:.4f}", f"{mean['circles']:.2f}", f"{mean['confident']:.2f}",
                     "-" if np.isnan(mean["p"]) else f"{mean['p']:.3f}", "-"])
    table = markdown_table(
        ["augment", "policy", "seed", "FID", "KID", "share of circles", "confidently a shape", "final p",
         "train s"],
        rows,
    )
    text = (f"{table}\n\n{args.images} synthetic 32x32 colour circles and squares, {args.steps} "
            f"steps at batch 64 each, {args.samples} samples; the shape classifier's held-out "
            f"accuracy {accuracy:.3f}. {machine_note()}; {load_note(before, load_average())}.\n"
            f"Command: `{command_line(__file__, sys.argv[1:], drop=['--write'])}`")
    print(text)
    if args.write:
        replace_marked_section(args.write, BEGIN, END, text)


if __name__ == "__main__":
    main()
