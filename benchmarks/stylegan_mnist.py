"""StyleGAN benchmark on the MNIST split: FID against the zoo's DCGAN for the same
wall-clock budget, truncation against FID and class coverage, and style mixing.

    python benchmarks/stylegan_mnist.py --mnist-dir path/to/mnist --budget-seconds 1800 \\
        --out runs/stylegan_benchmark

Both models train on the 8,000 MNIST training images of the fixed split (batch 64)
until `--budget-seconds` of wall-clock time have passed (checked after each compiled
call of the training step, so a run stops within one call of the budget), and are
scored with the GAN benchmark's protocol (benchmarks/gan_fid.py): 1,000 samples (seed
0) of the EMA generator against the 2,000 held-out images, in the features of the
shipped MNIST classifier. Then, for the StyleGAN:

- truncation: FID, classes covered (of 10, a class counts from 2 % of the samples) and
  the normalised entropy of the predicted classes for psi in 0.5, 0.7, 1.0; a figure
  with one row of samples per psi (the same latents);
- style mixing: a grid figure (rows: seed A, columns: seed B; row 0 and column 0 show
  the sources), and for each crossover layer, over 1,000 pairs of latents whose images
  the classifier labels differently, the share of mixes (styles below the crossover
  from A, the rest from B, fixed noise) labelled as A and as B.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from _common import (
    WallClockBudget,
    command_line,
    fid_kid_classes,
    machine_note,
    markdown_row,
    markdown_table,
    split_images,
)

import keras_genzoo
from keras_genzoo import save_images
from keras_genzoo.data import load_dataset
from keras_genzoo.evaluation import class_coverage, load_feature_classifier

SYMMETRIC = (-1.0, 1.0)
NUM_SAMPLES = 1000
MIX_PAIRS = 1000
TRUNCATIONS = (0.5, 0.7, 1.0)
MODELS = ("dcgan", "stylegan")


def scores(model, classifier, real_features: np.ndarray, **options) -> dict[str, float]:
    samples = model.generate(NUM_SAMPLES, seed=0, **options)
    fid, kid, predicted = fid_kid_classes(classifier, real_features, samples, SYMMETRIC)
    coverage = class_coverage(predicted, classifier.num_classes)
    return {"fid": fid, "kid": kid, "classes": coverage.covered, "entropy": coverage.normalized_entropy}


def train_for(name: str, data, image_shape, budget: float) -> tuple[keras.Model, float, int]:
    """`name` trained for `budget` wall seconds: the model, the seconds and the steps taken."""
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(name, image_shape=image_shape, seed=0)
    start = time.perf_counter()
    model.fit(data, epochs=1_000_000, callbacks=[WallClockBudget(budget)], verbose=0)
    seconds = time.perf_counter() - start
    return model, seconds, int(model.g_optimizer.iterations)


def mixing_sheet(model, seeds_a, seeds_b, crossover: int) -> np.ndarray:
    """The mixing grid with its sources in row 0 (B) and column 0 (A); blank corner."""
    grid = model.mix_styles(seeds_a, seeds_b, crossover=crossover)
    sources_a = model.mix_styles(seeds_a, seeds_b[:1], crossover=model.num_styles)[:, 0]
    sources_b = model.mix_styles(seeds_a[:1], seeds_b, crossover=0)[0]
    corner = np.full((1, *model.image_shape), model.value_range[0], np.float32)
    rows = [np.concatenate([corner, sources_b])]
    rows += [np.concatenate([sources_a[i : i + 1], grid[i]]) for i in range(len(seeds_a))]
    return np.concatenate(rows)


def mixing_agreement(model, classifier) -> list[tuple[int, float, float, int]]:
    """For each crossover layer, over pairs of latents whose images get different labels:
    (crossover, share of mixes labelled as A, share labelled as B, number of such pairs)."""
    w_a = model.map_latent(model.sample_latent(MIX_PAIRS, seed=1))
    w_b = model.map_latent(model.sample_latent(MIX_PAIRS, seed=2))
    label_a = classifier.predict(model.synthesize(w_a, noise="fixed"), SYMMETRIC)
    label_b = classifier.predict(model.synthesize(w_b, noise="fixed"), SYMMETRIC)
    differ = label_a != label_b
    layer = np.arange(model.num_styles)[None, :, None]
    results = []
    for crossover in range(1, model.num_styles):
        mixed = np.where(layer < crossover, w_a[:, None], w_b[:, None])
        label_mix = classifier.predict(model.synthesize(mixed, noise="fixed"), SYMMETRIC)[differ]
        results.append((crossover, float(np.mean(label_mix == label_a[differ])),
                        float(np.mean(label_mix == label_b[differ])), int(differ.sum())))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mnist-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--budget-seconds", type=float, default=1800.0,
                        help="wall-clock training time of each model")
    parser.add_argument("--out", default=os.path.join("runs", "stylegan_benchmark"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    classifier = load_feature_classifier("mnist")
    x_train, x_test = split_images("mnist", args.mnist_dir, scale="symmetric")
    real_features = classifier.features(x_test, SYMMETRIC)
    data, _ = load_dataset("mnist", "train", data_dir=args.mnist_dir, batch_size=64, scale="symmetric")

    rows, trained = [], {}
    for name in MODELS:
        model, seconds, steps = train_for(name, data, x_train.shape[1:], args.budget_seconds)
        trained[name] = model
        result = scores(model, classifier, real_features)
        rows.append([name, steps, f"{seconds:.0f}", f"{result['fid']:.1f}", f"{result['kid']:.3f}",
                     f"{result['classes']}/10"])
        print(markdown_row(rows[-1]), flush=True)

    stylegan = trained["stylegan"]
    truncation_rows, figure_rows = [], []
    for psi in TRUNCATIONS:
        result = scores(stylegan, classifier, real_features, truncation=psi)
        truncation_rows.append([psi, f"{result['fid']:.1f}", f"{result['classes']}/10",
                                f"{result['entropy']:.3f}"])
        figure_rows.append(stylegan.generate(12, seed=5, truncation=psi, noise="fixed"))
    truncation_figure = save_images(np.concatenate(figure_rows), os.path.join(args.out, "truncation.png"),
                                    columns=12, value_range=SYMMETRIC)

    crossover = stylegan.num_styles // 2
    sheet = mixing_sheet(stylegan, list(range(10, 18)), list(range(20, 28)), crossover)
    mixing_figure = save_images(sheet, os.path.join(args.out, "style_mixing.png"), columns=9,
                                value_range=SYMMETRIC)
    mixing_rows = [[layer, pairs, f"{as_a:.1%}", f"{as_b:.1%}"]
                   for layer, as_a, as_b, pairs in mixing_agreement(stylegan, classifier)]

    command = command_line(__file__, sys.argv[1:], drop=["--out", "--mnist-dir"])
    print(f"\n{command} --mnist-dir path/to/mnist; {machine_note()}")
    print("\n" + markdown_table(["model", "steps", "wall s", "FID", "KID", "classes"], rows))
    print(f"\nTruncation ({truncation_figure}):\n")
    print(markdown_table(["psi", "FID", "classes", "class entropy"], truncation_rows))
    print(f"\nStyle mixing ({mixing_figure}, crossover {crossover} of {stylegan.num_styles} style layers):\n")
    print(markdown_table(["crossover (styles from A)", "pairs labelled differently", "mix labelled as A",
                          "mix labelled as B"], mixing_rows))


if __name__ == "__main__":
    main()
