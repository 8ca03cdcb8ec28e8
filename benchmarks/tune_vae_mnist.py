"""Random search for the dense VAE on MNIST: best trial's IW-NLL versus the default's.

Data: a folder of MNIST IDX files (default ../shared/datasets/mnist, the 10,000-image
test split), split 8,000 train / 2,000 test with seed 0, binarised; the search carves a
validation split (a fifth of the training images) out of the 8,000. It optimises the
validation importance-weighted NLL (`val_iw_nll`, `--search-samples` samples) with the
defaults as trial 0 (first layer width pinned at 256); at the end the default trial's
model and the best trial's model are scored with `--final-samples` importance samples on
the 2,000 test images, which the search never saw.

    python benchmarks/tune_vae_mnist.py --trials 5 --epochs 3 --search-samples 10 --final-samples 200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_genzoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/datasets/mnist")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--search-samples", type=int, default=50)
    parser.add_argument("--final-samples", type=int, default=1000)
    parser.add_argument("--directory", default="/tmp/genzoo_tune_vae_mnist")
    args = parser.parse_args()

    started = time.time()
    result = keras_genzoo.tune(
        "vae_dense", {"name": "mnist", "data_dir": args.data_dir, "binarize": True},
        max_trials=args.trials, epochs=args.epochs, objective="val_iw_nll",
        objective_options={"num_samples": args.search_samples},
        overrides={"units_width": 256}, directory=args.directory, overwrite=True,
    )
    search_seconds = time.time() - started
    print(result.format_table())

    hypermodel = result.hypermodel
    default_model = result.tuner.load_model(result.tuner.oracle.get_trial(result.table[0].trial))
    _, held = hypermodel.held_out(default_model, split="test")
    final = {}
    for tag, model in (("default", default_model), ("best", result.model)):
        log_px = model.log_likelihood(held.images, num_samples=args.final_samples, seed=0)
        final[tag] = float(-log_px.mean())
    report = {
        "command": " ".join(sys.argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "search_seconds": round(search_seconds, 1),
        "trials": [
            {"trial": r.trial, "status": r.status, "val_iw_nll": r.objective,
             "hyperparameters": r.hyperparameters} for r in result.table
        ],
        "best_trial": result.best_trial,
        "best_hyperparameters": result.best_hyperparameters,
        "best_validation_iw_nll": result.best_score,
        f"test_iw_nll_k{args.final_samples}": final,
        "improvement_nats": final["default"] - final["best"],
    }
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
