"""Cost of the zoo's input checks: one training epoch with and without them.

`ZooModel.fit` checks the first batch (shape, dtype, range, NaN/inf), checks arrays
whole for NaN and inf, and checks every batch of a `tf.data` pipeline for NaN and inf
as training reads it. This script times one epoch of `model.fit` against the same
epoch through plain `keras.Model.fit` (no checks) on the same compiled model, for a
pipeline and for arrays, in alternating rounds, and reports best-of-N times and their
ratio. Both variants are warmed up first (tracing is not timed).

Whole epochs differ by a few per cent from round to round, more than the checks cost, so
a second table times the parts directly, best of `--rounds` alternating rounds: the
per-batch check (one pass over the pipeline with and without it, per batch), and the
fixed cost of a `fit` call on a dataset it has not seen last (reading the first batch,
wrapping the pipeline, a first pass through the new wrapper), against one training step.
`fit` on the dataset it saw last pays only the per-batch part.

    python benchmarks/input_checks.py                       # digits
    python benchmarks/input_checks.py --mnist-dir DIR       # 8,000 MNIST images
"""

from __future__ import annotations

import argparse
import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
from _common import alternating_rounds, markdown_row, markdown_table, wall_seconds

import keras_genzoo
from keras_genzoo.core.checks import finite_checked
from keras_genzoo.core.conditioning import first_batch
from keras_genzoo.data import load_arrays, load_dataset


def epoch_seconds(fit, data) -> float:
    return wall_seconds(lambda: fit(data, epochs=1, verbose=0))


def compare(model_name: str, dataset: str, data_dir: str | None, rounds: int, batch: int) -> None:
    train_ds, info = load_dataset(dataset, "train", data_dir=data_dir, batch_size=batch, seed=0)
    images, _, _ = load_arrays(dataset, "train", data_dir=data_dir)
    model = keras_genzoo.create_model(model_name, image_shape=info.image_shape)
    variants = {
        "checked": lambda data, **kw: model.fit(data, batch_size=batch, **kw),
        "unchecked": lambda data, **kw: keras.Model.fit(model, data, batch_size=batch, **kw),
    }
    for source, data in (("tf.data", train_ds), ("arrays", images)):
        for fit in variants.values():
            epoch_seconds(fit, data)  # warm-up: tracing
        times = alternating_rounds(
            {name: functools.partial(epoch_seconds, fit, data) for name, fit in variants.items()}, rounds
        )
        best = {name: min(values) for name, values in times.items()}
        print(markdown_row([
            model_name, f"{dataset} ({len(images)} images)", source, f"{best['unchecked']:.3f}",
            f"{best['checked']:.3f}", f"{best['checked'] / best['unchecked']:.3f}",
        ]), flush=True)


def pass_seconds(data) -> float:
    return wall_seconds(lambda: [None for _ in data])


def parts(model_name: str, dataset: str, data_dir: str | None, rounds: int, batch: int) -> list:
    """Per-batch check and per-call set-up, in ms, beside one training step."""
    train_ds, info = load_dataset(dataset, "train", data_dir=data_dir, batch_size=batch, seed=0)
    model = keras_genzoo.create_model(model_name, image_shape=info.image_shape)
    steps = int(train_ds.cardinality())
    wrapped = finite_checked(train_ds, model_name, "inputs")

    def set_up() -> float:
        return wall_seconds(lambda: (first_batch(train_ds, None),
                                     [None for _ in finite_checked(train_ds, model_name, "inputs")]))

    model.fit(train_ds, epochs=1, verbose=0)  # warm-up: tracing
    times = alternating_rounds({
        "plain pass": functools.partial(pass_seconds, train_ds),
        "checked pass": functools.partial(pass_seconds, wrapped),
        "new dataset": set_up,
        "epoch": functools.partial(epoch_seconds, model.fit, train_ds),
    }, rounds)
    best = {name: min(values) for name, values in times.items()}
    per_batch = (best["checked pass"] - best["plain pass"]) / steps
    step = best["epoch"] / steps
    set_up_seconds = best["new dataset"] - best["checked pass"]
    return [model_name, f"{dataset} ({steps} batches of {batch})", f"{1000 * step:.2f}",
            f"{1000 * per_batch:.3f}", f"{100 * per_batch / step:.1f} %", f"{1000 * set_up_seconds:.1f}",
            f"{100 * set_up_seconds / best['epoch']:.1f} %"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", help="folder of MNIST IDX files (adds MNIST)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    print(markdown_table(
        ["model", "data", "input", "epoch without checks (s)", "with checks (s)", "ratio"]
    ))
    cases = [("digits", None)] + ([("mnist", args.mnist_dir)] if args.mnist_dir else [])
    for dataset, data_dir in cases:
        for model_name in ("ae_conv", "vae_conv"):
            compare(model_name, dataset, data_dir, args.rounds, args.batch_size)
    print()
    print(markdown_table(
        ["model", "data", "step (ms)", "per-batch check (ms)", "of a step",
         "set-up per new dataset (ms)", "of an epoch"],
        [parts(name, dataset, data_dir, args.rounds, args.batch_size)
         for dataset, data_dir in cases for name in ("ae_conv", "vae_conv")],
    ))


if __name__ == "__main__":
    main()
