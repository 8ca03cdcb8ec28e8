"""Held-out exact NLL of a Gated PixelCNN against the importance-weighted NLL of vae_conv.

Both models train in this one run on the same data: the fixed 8,000-image MNIST train
split, binarised afresh every epoch (seed 100 + epoch), and are scored on the 2,000
held-out images binarised once (seed 1), exactly as `benchmarks/vae_mnist_nll.py` does
(`_common.train_and_score_vae` trains and scores the VAE for both). The PixelCNN's
number is its exact -log p(x); the VAE's is the importance-weighted bound with k
posterior samples, an upper bound on its NLL that k = 1000 makes tight to about a nat.

    python benchmarks/pixelcnn_mnist_nll.py --data-dir PATH/TO/mnist
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from _common import (
    HELD_OUT_BINARISATION_SEED,
    binarised_epoch,
    records_table,
    split_images,
    train_and_score_vae,
)

import keras_genzoo
from keras_genzoo.models.vae import binarize


def run_pixelcnn(
    x_train: np.ndarray,
    held_out: np.ndarray,
    *,
    filters: int,
    num_layers: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
) -> dict:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "pixelcnn", filters=filters, num_layers=num_layers, learning_rate=learning_rate
    )
    start_wall, start_cpu = time.time(), time.process_time()
    for epoch in range(epochs):
        history = model.fit(binarised_epoch(x_train, epoch, batch_size), verbose=0)
        nll = -float(np.mean(model.log_likelihood(held_out)))
        print(
            f"pixelcnn epoch {epoch + 1}: train {history.history['loss'][0]:.2f}, "
            f"held-out {nll:.2f} nats ({time.time() - start_wall:.0f} s)",
            flush=True,
        )
    train_wall, train_cpu = time.time() - start_wall, time.process_time() - start_cpu
    log_px = model.log_likelihood(held_out)
    return {
        "model": f"pixelcnn: filters {filters}, {num_layers} gated layers, dynamic",
        "params": model.count_params(),
        "epochs": epochs,
        "train CPU s": round(train_cpu),
        "train wall s": round(train_wall),
        "held-out NLL": -float(np.mean(log_px)),
        "bits/dim": float(np.mean(model.bits_per_dim(held_out))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--filters", type=int, default=32, help="PixelCNN stack width")
    parser.add_argument("--layers", type=int, default=6, help="PixelCNN gated layers")
    parser.add_argument("--epochs", type=int, default=12, help="PixelCNN epochs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--vae-epochs", type=int, default=40)
    parser.add_argument("--k", type=int, default=1000, help="VAE importance samples")
    args = parser.parse_args()

    x_train, x_test = split_images("mnist", args.data_dir)
    held_out = binarize(x_test, seed=HELD_OUT_BINARISATION_SEED)
    started = time.time()
    pixel = run_pixelcnn(
        x_train, held_out, filters=args.filters, num_layers=args.layers, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate,
    )
    vae = train_and_score_vae(
        x_train, x_test, label="vae_conv: filters 32,64, latent 32, dynamic", filters=(32, 64),
        latent_dim=32, epochs=args.vae_epochs, batch_size=32, binarisation="dynamic",
        ks=(args.k,),
    )
    rows = [
        {**{k: pixel[k] for k in ("model", "params", "epochs", "train CPU s", "train wall s")},
         "held-out NLL (nats)": pixel["held-out NLL"], "how": "exact", "bits/dim": pixel["bits/dim"]},
        {**{k: vae[k] for k in ("model", "params", "epochs", "train CPU s", "train wall s")},
         "held-out NLL (nats)": vae[f"NLL k={args.k}"], "how": f"IW bound, k={args.k}",
         "bits/dim": vae[f"NLL k={args.k}"] / (784 * np.log(2.0))},
    ]
    print(records_table(rows))
    gap = rows[1]["held-out NLL (nats)"] - rows[0]["held-out NLL (nats)"]
    print(f"PixelCNN below vae_conv by {gap:.2f} nats; whole run {time.time() - started:.0f} s wall")


if __name__ == "__main__":
    main()
