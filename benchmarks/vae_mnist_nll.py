"""Held-out negative log-likelihood of convolutional VAEs on binarised MNIST.

Trains on the fixed 8,000-image MNIST train split and reports, on the 2,000 held-out
images, the negative ELBO and the importance-weighted NLL (nats per binary image)
for k posterior samples. Images are binarised stochastically (each pixel on with
probability equal to its grey level): held-out images once, with a fixed seed;
training images either once (`static`) or afresh every epoch (`dynamic`, the
default for the full model, which curbs over-fitting on 8,000 images).

Two rows: the small configuration the test suite trains (tests/test_vae.py) and the
full configuration given on the command line.

    python benchmarks/vae_mnist_nll.py --data-dir PATH/TO/mnist
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_genzoo  # noqa: E402
from keras_genzoo.data import load_arrays  # noqa: E402
from keras_genzoo.models.vae import binarize  # noqa: E402


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    x_train: np.ndarray,
    x_test: np.ndarray,
    *,
    label: str,
    filters: tuple[int, ...],
    latent_dim: int,
    epochs: int,
    batch_size: int,
    binarisation: str,
    ks: tuple[int, ...],
) -> dict:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("vae_conv", filters=filters, latent_dim=latent_dim, seed=0)
    start_wall, start_cpu = time.time(), _cpu_seconds()
    for epoch in range(epochs):
        seed = 0 if binarisation == "static" else 100 + epoch
        data = tf.data.Dataset.from_tensor_slices(binarize(x_train, seed=seed))
        model.fit(data.shuffle(len(x_train), seed=epoch).batch(batch_size), verbose=0)
    train_wall, train_cpu = time.time() - start_wall, _cpu_seconds() - start_cpu
    held_out = binarize(x_test, seed=1)
    row = {
        "model": label,
        "params": model.count_params(),
        "epochs": epochs,
        "train CPU s": round(train_cpu),
        "train wall s": round(train_wall),
        "-ELBO": -float(np.mean(-model.anomaly_score(held_out, num_samples=10, seed=0))),
    }
    for k in ks:
        start_cpu = _cpu_seconds()
        row[f"NLL k={k}"] = -float(np.mean(model.log_likelihood(held_out, num_samples=k, seed=k)))
        row[f"k={k} CPU s"] = round(_cpu_seconds() - start_cpu)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--filters", default="32,64", help="conv widths of the full model")
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--binarisation", choices=("dynamic", "static"), default="dynamic")
    parser.add_argument("--k", default="1,100,1000", help="importance samples to report")
    parser.add_argument("--skip-test-config", action="store_true")
    args = parser.parse_args()

    x_train, _, _ = load_arrays("mnist", "train", data_dir=args.data_dir)
    x_test, _, _ = load_arrays("mnist", "test", data_dir=args.data_dir)
    ks = tuple(int(k) for k in args.k.split(","))
    rows = []
    if not args.skip_test_config:
        rows.append(run(
            x_train, x_test, label="test config: filters 16,32, latent 16, static",
            filters=(16, 32), latent_dim=16, epochs=8, batch_size=32,
            binarisation="static", ks=ks,
        ))
    filters = tuple(int(f) for f in args.filters.split(","))
    widths = ",".join(map(str, filters))
    rows.append(run(
        x_train, x_test,
        label=f"filters {widths}, latent {args.latent_dim}, {args.binarisation}",
        filters=filters, latent_dim=args.latent_dim, epochs=args.epochs,
        batch_size=args.batch_size, binarisation=args.binarisation, ks=ks,
    ))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
