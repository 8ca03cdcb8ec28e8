"""FID and KID on your own images: a feature classifier trained on a labelled folder.

The shipped feature classifiers know the digits and MNIST only. For a folder of your
own images with one subfolder per class, train a classifier on it once, save it
(checksum recorded), and score a generator's samples with it:

    keras-genzoo train dcgan --dataset path/to/folder --set image_shape=[32,32,3] --out runs/mine
    python examples/fid_custom_folder.py path/to/folder --run runs/mine --image-shape 32 32 3

Without a folder (`--demo`), the script writes a folder of colour pictures made from the
bundled digits and trains a small DCGAN on it first (a few minutes on a laptop CPU).

FID and KID values are comparable only when computed with the same classifier (and the
same real images): keep the saved classifier and reuse it for every model you compare.
A model can also be scored with any Keras classifier of your own, wrapped with
`FeatureClassifier.from_model(model, feature_layer=..., input_range=...)`.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import (
    fid,
    kid,
    load_feature_classifier,
    train_feature_classifier,
)
from keras_genzoo.training import train_run

CLASSIFIER = "my_folder"


def write_demo_folder(folder: str, size: int) -> None:
    """The digits as colour pictures: class-coloured ink on a random background, by class."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    palette = rng.integers(64, 256, (10, 3))
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        ink = np.asarray(
            Image.fromarray(np.uint8(image * 255 / 16)).resize((size, size), Image.BILINEAR)
        )[..., None] / 255.0
        background = rng.integers(0, 96, (1, 1, 3))
        picture = np.uint8(np.round(background * (1 - ink) + palette[label] * ink))
        os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
        Image.fromarray(picture).save(os.path.join(folder, str(label), f"{index:04d}.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="folder of images, one subfolder per class")
    parser.add_argument("--run", help="run directory (or .keras file) of a trained generator")
    parser.add_argument("--image-shape", type=int, nargs=3, default=[32, 32, 3])
    parser.add_argument("--classifier-dir", default=os.path.join("runs", "classifiers"))
    parser.add_argument("--epochs", type=int, default=15, help="classifier training epochs")
    parser.add_argument("--demo", action="store_true", help="make a demo folder and generator")
    args = parser.parse_args()
    image_shape = tuple(args.image_shape)
    folder, run = args.folder, args.run
    if args.demo:
        scratch = tempfile.mkdtemp(prefix="genzoo_demo_")
        folder = folder or os.path.join(scratch, "pictures")
        write_demo_folder(folder, image_shape[0])
        run = run or os.path.join(scratch, "dcgan")
        train_run(
            {"model": "dcgan", "dataset": folder, "epochs": 10,
             "overrides": {"image_shape": list(image_shape)}},
            run, verbose=0,
        )
    if folder is None or run is None:
        parser.error("pass a labelled folder and --run, or --demo")

    # 1. A classifier of the folder's classes, saved with its checksum; trained once.
    try:
        classifier = load_feature_classifier(CLASSIFIER, weights_dir=args.classifier_dir)
    except ValueError:
        record = train_feature_classifier(
            folder, name=CLASSIFIER, image_shape=image_shape, epochs=args.epochs,
            weights_dir=args.classifier_dir,
        )
        print(f"classifier: held-out accuracy {record['test_accuracy']:.3f} on "
              f"{record['test_examples']} images, classes {record['class_names']}")
        classifier = load_feature_classifier(CLASSIFIER, weights_dir=args.classifier_dir)

    # 2. Real held-out images against the generator's samples, in the model's range.
    model = keras_genzoo.load(run)
    scale = "symmetric" if tuple(model.value_range) == (-1.0, 1.0) else "unit"
    real_train, _, _ = load_arrays(folder, "train", image_shape=image_shape, scale=scale)
    real_test, _, _ = load_arrays(folder, "test", image_shape=image_shape, scale=scale)
    samples = np.asarray(model.generate(len(real_test), seed=0))
    subset = min(len(real_test), 200)
    print(f"FID  real train vs real held-out (the floor): "
          f"{fid(real_train, real_test, classifier, model.value_range):.2f}")
    print(f"FID  samples vs real held-out:               "
          f"{fid(real_test, samples, classifier, model.value_range):.2f}")
    score = kid(real_test, samples, classifier, model.value_range, subset_size=subset)
    print(f"KID  samples vs real held-out:               {score.mean:.4f} +- {score.std:.4f}")


if __name__ == "__main__":
    main()
