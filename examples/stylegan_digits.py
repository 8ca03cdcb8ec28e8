"""StyleGAN through the Python API on the bundled 8x8 digits: train, truncate, mix styles.

Trains `stylegan` (a mapping network and a style-modulated synthesis network), then
writes samples at two truncations, a style-mixing grid (coarse styles from the row's
seed, fine styles from the column's) and a walk in W, scores the samples with FID on
the shipped digits classifier, and saves/reloads the model. A few minutes on a laptop CPU:

    python examples/stylegan_digits.py --out runs/example_stylegan
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
from keras_genzoo.evaluation import fid, load_feature_classifier


def mixing_sheet(model, seeds_a, seeds_b, crossover: int) -> np.ndarray:
    """The style-mixing grid with its sources: row 0 the B images, column 0 the A images,
    image [i, j] the mix of A_i (coarse) and B_j (fine); the corner is blank."""
    grid = model.mix_styles(seeds_a, seeds_b, crossover=crossover)
    sources_a = model.mix_styles(seeds_a, seeds_b[:1], crossover=model.num_styles)[:, 0]
    sources_b = model.mix_styles(seeds_a[:1], seeds_b, crossover=0)[0]
    corner = np.full((1, *model.image_shape), model.value_range[0], np.float32)
    rows = [np.concatenate([corner, sources_b])]
    rows += [np.concatenate([sources_a[i : i + 1], grid[i]]) for i in range(len(seeds_a))]
    return np.concatenate(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default=os.path.join("runs", "example_stylegan"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    # 1. Digits in [-1, 1], and a compiled StyleGAN from the registry.
    train_ds, info = load_dataset("digits", "train", batch_size=64, scale="symmetric")
    x_test, _, _ = load_arrays("digits", "test", scale="symmetric")
    model = keras_genzoo.create_model("stylegan", image_shape=info.image_shape, seed=0)
    print(f"{info.name}: {info.num_examples} images of shape {info.image_shape}; "
          f"{model.num_styles} style layers")
    classifier = load_feature_classifier("digits")
    before = fid(x_test, model.generate(1000, seed=0), classifier, info.value_range)

    # 2. One `fit`: d_loss, g_loss, d_real, d_fake and the lazy R1 penalty are logged.
    model.fit(train_ds, epochs=args.epochs, verbose=2)

    # 3. Samples without and with truncation towards the tracked mean w.
    for psi in (1.0, 0.7):
        samples = model.generate(100, seed=1, truncation=psi)
        path = save_images(samples, os.path.join(args.out, f"samples_psi{psi}.png"), columns=10,
                           value_range=info.value_range)
        print(f"samples, truncation {psi}:", path)

    # 4. Style mixing: the first half of the style layers (the coarse ones) from A.
    crossover = model.num_styles // 2
    sheet = mixing_sheet(model, [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], crossover)
    path = save_images(sheet, os.path.join(args.out, "style_mixing.png"), columns=6,
                       value_range=info.value_range)
    print(f"style mixing (styles below layer {crossover} from the rows):", path)
    walk = model.style_walk(10, seed=2)
    path = save_images(walk, os.path.join(args.out, "style_walk.png"), columns=10,
                       value_range=info.value_range)
    print("walk in W:", path)

    # 5. FID on the held-out digits with the shipped classifier.
    after = fid(x_test, model.generate(1000, seed=0), classifier, info.value_range)
    print(f"FID vs held-out digits: untrained {before:.1f} -> trained {after:.1f}")

    # 6. Save and reload: weights, both optimizers, the EMA generator and the mean w.
    model_path = os.path.join(args.out, "stylegan.keras")
    model.save(model_path)
    restored = keras_genzoo.load(model_path)
    np.testing.assert_allclose(restored.generate(16, seed=3, truncation=0.7),
                               model.generate(16, seed=3, truncation=0.7), atol=1e-6)
    print(f"saved and reloaded {model_path}")


if __name__ == "__main__":
    main()
