"""Image-to-image translation through the Python API on the bundled 8x8 digits.

Trains the three kinds of translator on pairs made from the digits:

* `super_resolution`: 4x4 digits to 8x8 (x2), scored by PSNR and SSIM on the held-out
  digits beside bilinear and bicubic upsampling;
* `pix2pix`: the outline of a digit (`edges`) to the digit, scored by the L1 to the true
  digits and by how often the shipped digits classifier reads the digit of the outline;
* `cyclegan`: digits and outlines of other digits, never paired, each translated to the
  other's style; the classifier reads the held-out outlines translated back to digits,
  and the round trip digit -> outline -> digit has a stated L1.

Then it writes a grid of pix2pix's drawings, translates a folder of image files the
way `keras-genzoo translate` does, and saves and reloads a model:

    python examples/translation_digits.py --out runs/example_translation
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import keras_genzoo
from keras_genzoo import save_images
from keras_genzoo.data import load_arrays
from keras_genzoo.data.pairs import make_pairs, pair_dataset, unpaired_dataset
from keras_genzoo.evaluation import conditional_accuracy
from keras_genzoo.models.translation import translate_folder
from keras_genzoo.models.translation.measurements import image_scores

RANGE = (-1.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--out", default=os.path.join("runs", "example_translation"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    # 1. Digits in [-1, 1]; the held-out split is never trained on.
    x_train, _, info = load_arrays("digits", "train", scale="symmetric")
    x_test, y_test, _ = load_arrays("digits", "test", scale="symmetric")

    # 2. Super-resolution x2: (4x4, 8x8) pairs, random flips alike on both sides.
    small, large = make_pairs(x_train, "downsample", factor=2, value_range=RANGE)
    sr = keras_genzoo.create_model("super_resolution", image_shape=info.image_shape, scale=2, seed=0)
    sr.fit(pair_dataset(small, large, batch_size=32, flip=True), epochs=args.epochs, verbose=2)
    small_test, _ = make_pairs(x_test, "downsample", factor=2, value_range=RANGE)
    for label, images in (
        ("super_resolution", sr.translate(small_test)),
        ("bilinear", tf.image.resize(small_test, (8, 8), method="bilinear").numpy()),
        ("bicubic", np.clip(tf.image.resize(small_test, (8, 8), method="bicubic").numpy(), -1, 1)),
    ):
        scores = image_scores(images, x_test, RANGE)
        print(f"x2 {label:>16}: PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}")

    # 3. Sketch to image: outlines to digits with pix2pix (its dropout is its noise).
    outlines, digits = make_pairs(x_train, "edges", value_range=RANGE)
    p2p = keras_genzoo.create_model("pix2pix", image_shape=info.image_shape, seed=0)
    p2p.fit(pair_dataset(outlines, digits, batch_size=32), epochs=args.epochs, verbose=2)
    outlines_test, _ = make_pairs(x_test, "edges", value_range=RANGE)
    drawn = p2p.translate(outlines_test, seed=0)
    accuracy = conditional_accuracy(drawn, y_test, "digits", RANGE).accuracy
    l1 = image_scores(drawn, x_test, RANGE)["l1"]
    print(f"pix2pix: L1 {l1:.3f} to the true digits, read as the outline's digit {accuracy:.1%}")
    grid = np.concatenate([outlines_test[:10], drawn[:10], x_test[:10]])
    print("grid:", save_images(grid, os.path.join(args.out, "pix2pix.png"), columns=10, value_range=RANGE))

    # 4. Unpaired: digits (A) and outlines of the other half of the digits (B).
    half = len(x_train) // 2
    domain_b, _ = make_pairs(x_train[half:], "edges", value_range=RANGE)
    cycle = keras_genzoo.create_model("cyclegan", image_shape=info.image_shape, seed=0)
    cycle.fit(unpaired_dataset(x_train[:half], domain_b, batch_size=32), epochs=args.epochs, verbose=2)
    back = cycle.translate(outlines_test, direction="b_to_a")
    accuracy = conditional_accuracy(back, y_test, "digits", RANGE).accuracy
    round_trip = cycle.translate(cycle.translate(x_test), direction="b_to_a")
    print(f"cyclegan: outlines drawn as digits read correctly {accuracy:.1%}; "
          f"digit -> outline -> digit L1 {np.mean(np.abs(round_trip - x_test)):.3f}")

    # 5. A folder of image files, translated into files of the same names.
    source = os.path.join(args.out, "small_digits")
    os.makedirs(source, exist_ok=True)
    for index, image in enumerate(small_test[:8]):
        pixels = np.round((image + 1) * 127.5).astype(np.uint8)
        keras.utils.save_img(os.path.join(source, f"{index}.png"), pixels, scale=False)
    written = translate_folder(sr, source, os.path.join(args.out, "enlarged"), overwrite=True)
    print(f"translated {len(written)} files into {os.path.dirname(written[0])}")

    # 6. Save and reload: weights, both optimizers, the noise state.
    path = os.path.join(args.out, "pix2pix.keras")
    p2p.save(path)
    restored = keras_genzoo.load(path)
    np.testing.assert_allclose(restored.translate(outlines_test[:8], seed=1),
                               p2p.translate(outlines_test[:8], seed=1), atol=1e-5)
    print(f"saved and reloaded {path}")


if __name__ == "__main__":
    main()
