"""Train (or regenerate) the feature classifiers shipped for FID/KID and print their records.

    python benchmarks/train_feature_classifiers.py --mnist-dir PATH/TO/mnist

Writes `<dataset>_classifier.weights.h5` and `classifiers.json` (architecture, held-out
accuracy, SHA-256) into keras_genzoo/evaluation/weights/ unless --out says otherwise.
MNIST is skipped when no --mnist-dir is given.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import markdown_table

from keras_genzoo.evaluation.classifiers import WEIGHTS_DIR, train_feature_classifier

EPOCHS = {"digits": 40, "mnist": 15}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mnist-dir", help="folder with the MNIST IDX files")
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"], choices=sorted(EPOCHS))
    parser.add_argument("--out", default=WEIGHTS_DIR, help="where to write weights and classifiers.json")
    args = parser.parse_args()

    rows = []
    for dataset in args.datasets:
        if dataset == "mnist" and not args.mnist_dir:
            print("skipping mnist: pass --mnist-dir")
            continue
        start = time.time()
        record = train_feature_classifier(
            dataset,
            data_dir=args.mnist_dir if dataset == "mnist" else None,
            epochs=EPOCHS[dataset],
            weights_dir=args.out,
        )
        rows.append((dataset, record, time.time() - start))

    print(markdown_table(
        ["dataset", "train / test images", "epochs", "test accuracy", "sha256", "wall s"],
        [[dataset, f"{record['train_examples']} / {record['test_examples']}", record["training"]["epochs"],
          f"{record['test_accuracy']:.4f}", f"`{record['sha256']}`", f"{seconds:.0f}"]
         for dataset, record, seconds in rows],
    ))


if __name__ == "__main__":
    main()
