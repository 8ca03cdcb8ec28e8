"""One training process for the multi-worker and kill-and-restart tests.

Trains registered zoo models, one after the other, on the digits training images with
`keras_genzoo.training.distribute.train`, and saves each one's final weights and metrics history
to `<out>/<task>-<model>.npz` and `.json` (task: `worker-0`, `worker-1`, ...). With
`--strategy multiworker` the cluster comes from the `TF_CONFIG` environment variable.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--model", action="append", required=True, help="registered name (repeatable)"
    )
    parser.add_argument(
        "--overrides", action="append", default=[], help="builder arguments as JSON, per model"
    )
    parser.add_argument("--strategy", default="default")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--examples", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backup-dir", default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    # The multi-worker strategy must exist before TensorFlow runs anything else.
    from keras_genzoo.training.distribute import (
        evaluate,
        get_strategy,
        task_name,
        train,
    )

    strategy = get_strategy(args.strategy)

    import keras
    import numpy as np

    import keras_genzoo
    from keras_genzoo.data import load_arrays

    images, _, info = load_arrays("digits", "train")
    images = images[: args.examples]
    os.makedirs(args.out, exist_ok=True)
    overrides = args.overrides + ["{}"] * (len(args.model) - len(args.overrides))
    for name, extra in zip(args.model, overrides):
        keras.utils.set_random_seed(7)
        with strategy.scope():
            model = keras_genzoo.create_model(
                name, image_shape=info.image_shape, **json.loads(extra)
            )
        log = train(
            model, images, batch_size=args.batch_size, epochs=args.epochs,
            backup_dir=args.backup_dir and os.path.join(args.backup_dir, name), verbose=1,
        )
        stem = os.path.join(args.out, f"{task_name()}-{name}")
        weights = {
            f"{i:03d} {w.path}".replace("/", "|"): np.asarray(w)
            for i, w in enumerate(model.weights)
        }
        np.savez(f"{stem}.npz", **weights)
        summary = {
            "history": log.history,
            "resumed_from": log.resumed_from,
            "evaluation": evaluate(model, images, batch_size=args.batch_size),
        }
        with open(f"{stem}.json", "w") as f:
            json.dump(summary, f)


if __name__ == "__main__":
    main()
