"""One likelihood table on binarised MNIST: every density model of the zoo trained in one
run on the same data and scored on the same held-out images.

    python benchmarks/likelihood_mnist.py --data-dir PATH/TO/mnist --write docs/BENCHMARKS.md
    python benchmarks/likelihood_mnist.py --data-dir PATH/TO/mnist --quick   # checks it runs
    python benchmarks/likelihood_mnist.py --data-dir PATH/TO/mnist --models pixelcnn pixelrnn

Data: the fixed 8,000-image MNIST train split, binarised afresh every epoch (seed 100 +
epoch), and the 2,000 held-out images binarised once (seed 1), exactly as
`benchmarks/vae_mnist_nll.py` does. What each number is differs, and the table says so:

- `pixelcnn`, `pixelrnn`: the exact -log p(x) of an autoregressive model;
- `vae_conv`: the importance-weighted bound with `--k` posterior samples, an upper bound
  on its NLL (`_common.train_and_score_vae`, shared with the VAE benchmark);
- `rbm_bernoulli`: -log p(x) with log Z estimated by annealed importance sampling, an
  estimate (AIS tends to underestimate log Z, so the NLL can come out optimistic);
- `ddpm`: the variational bound of the DDPM paper with a two-level discretised decoder
  (the images mapped to {-1, 1}), an upper bound, its sum over timesteps estimated from
  `--ddpm-timesteps` stratified steps.

Numbers in nats per image (and bits per pixel); lower is better. Epochs are per model.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from _common import (
    HELD_OUT_BINARISATION_SEED,
    command_line,
    load_average,
    load_note,
    machine_note,
    records_table,
    replace_marked_section,
    split_images,
    train_and_score_vae,
    train_binarised,
    trainable_parameters,
)

import keras_genzoo
from keras_genzoo.models.vae import binarize

BEGIN, END = "<!-- likelihood_mnist:begin -->", "<!-- likelihood_mnist:end -->"
MODELS = ("pixelcnn", "pixelrnn", "vae_conv", "rbm_bernoulli", "ddpm")
PIXELS = 28 * 28


def row(label: str, how: str, trained: dict[str, Any], nll: float) -> dict[str, Any]:
    return {
        "model": label,
        "how": how,
        **trained,
        "held-out NLL (nats)": round(nll, 2),
        "bits/dim": round(nll / (PIXELS * math.log(2.0)), 4),
    }


def autoregressive(name: str, layers: int, args, x_train, held_out) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        name, filters=args.filters, num_layers=layers, learning_rate=args.learning_rate
    )
    trained = {
        "params": trainable_parameters(model),
        **train_binarised(model, x_train, args.epochs, args.batch_size),
    }
    nll = -float(np.mean(model.log_likelihood(held_out)))
    return row(f"{name}: filters {args.filters}, {layers} layers", "exact", trained, nll)


def vae(args, x_train, x_test, held_out) -> dict[str, Any]:
    result = train_and_score_vae(
        x_train,
        x_test,
        label="vae_conv: filters 32,64, latent 32",
        filters=(32, 64),
        latent_dim=32,
        epochs=args.vae_epochs,
        batch_size=32,
        binarisation="dynamic",
        ks=(args.k,),
    )
    trained = {key: result[key] for key in ("params", "epochs", "train CPU s", "train wall s")}
    return row(result["model"], f"IW bound, k={args.k}", trained, result[f"NLL k={args.k}"])


def rbm(args, x_train, held_out) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "rbm_bernoulli", hidden_units=args.rbm_hidden, cd_steps=args.rbm_cd_steps, persistent=True, seed=0
    )
    trained = {
        "params": trainable_parameters(model),
        **train_binarised(model, x_train, args.rbm_epochs, args.batch_size),
    }
    model.estimate_log_partition(
        "ais", train_images=binarize(x_train, seed=0), num_betas=args.ais_betas, seed=0
    )
    nll = -float(np.mean(model.log_likelihood(held_out)))
    label = f"rbm_bernoulli: {args.rbm_hidden} hidden, PCD-{args.rbm_cd_steps}"
    return row(label, f"AIS estimate of log Z, {args.ais_betas:,} temperatures", trained, nll)


def ddpm(args, x_train, held_out) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "ddpm",
        widths=args.ddpm_widths,
        attention_size=7,
        schedule="cosine",
        prediction="v",
        learning_rate=1e-3,
        num_levels=2,
        seed=0,
    )
    trained = {
        "params": trainable_parameters(model),
        **train_binarised(
            model, x_train, args.ddpm_epochs, args.batch_size, to_model=lambda x: 2.0 * x - 1.0
        ),
    }
    log_px = model.log_likelihood(2.0 * held_out - 1.0, num_timesteps=args.ddpm_timesteps, seed=0)
    label = f"ddpm: widths {','.join(map(str, args.ddpm_widths))}, cosine, v"
    return row(
        label, f"variational bound, {args.ddpm_timesteps} of 1,000 steps", trained, -float(np.mean(log_px))
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--filters", type=int, default=32, help="PixelCNN / PixelRNN width")
    parser.add_argument("--layers", type=int, default=6, help="PixelCNN gated layers")
    parser.add_argument("--rnn-layers", type=int, default=4, help="PixelRNN Row LSTM layers")
    parser.add_argument("--epochs", type=int, default=12, help="PixelCNN and PixelRNN epochs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--vae-epochs", type=int, default=40)
    parser.add_argument("--k", type=int, default=1000, help="VAE importance samples")
    parser.add_argument("--rbm-hidden", type=int, default=500)
    parser.add_argument("--rbm-cd-steps", type=int, default=1)
    parser.add_argument("--rbm-epochs", type=int, default=30)
    parser.add_argument("--ais-betas", type=int, default=10000, help="AIS temperatures")
    parser.add_argument("--ddpm-widths", type=lambda s: [int(w) for w in s.split(",")], default=[16, 32, 64])
    parser.add_argument("--ddpm-epochs", type=int, default=20)
    parser.add_argument("--ddpm-timesteps", type=int, default=100, help="steps of the bound's estimate")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="512 training and 64 held-out images, one epoch each: checks that it runs",
    )
    parser.add_argument("--write", metavar="MARKDOWN", help="put the table into this file")
    args = parser.parse_args()
    if args.quick:
        args.epochs = args.vae_epochs = args.rbm_epochs = args.ddpm_epochs = 1
        args.filters, args.layers, args.rnn_layers, args.k = 8, 2, 1, 10
        args.rbm_hidden, args.ais_betas = 16, 100
        args.ddpm_widths, args.ddpm_timesteps = [8, 16], 4

    before = load_average()
    x_train, x_test = split_images("mnist", args.data_dir)
    if args.quick:
        x_train, x_test = x_train[:512], x_test[:64]
    held_out = binarize(x_test, seed=HELD_OUT_BINARISATION_SEED)
    runners = {
        "pixelcnn": lambda: autoregressive("pixelcnn", args.layers, args, x_train, held_out),
        "pixelrnn": lambda: autoregressive("pixelrnn", args.rnn_layers, args, x_train, held_out),
        "vae_conv": lambda: vae(args, x_train, x_test, held_out),
        "rbm_bernoulli": lambda: rbm(args, x_train, held_out),
        "ddpm": lambda: ddpm(args, x_train, held_out),
    }
    rows = []
    for name in args.models:
        keras.backend.clear_session()
        rows.append(runners[name]())
        print(rows[-1], file=sys.stderr, flush=True)
    text = (
        f"{records_table(rows)}\n\n{len(x_train):,} training images binarised afresh every epoch, "
        f"{len(x_test):,} held-out images binarised once (seed {HELD_OUT_BINARISATION_SEED}). "
        f"{machine_note()}; {load_note(before, load_average())}.\n"
        f"Command: `{command_line(__file__, sys.argv[1:], drop=['--write', '--data-dir'])}`"
    )
    print(text)
    if args.write:
        replace_marked_section(args.write, BEGIN, END, text)


if __name__ == "__main__":
    main()
