"""Held-out negative log-likelihood of convolutional VAEs on binarised MNIST.

Trains on the fixed 8,000-image MNIST train split and reports, on the 2,000 held-out
images, the negative ELBO and the importance-weighted NLL (nats per binary image)
for k posterior samples. Images are binarised stochastically (each pixel on with
probability equal to its grey level): held-out images once, with a fixed seed;
training images either once (`static`) or afresh every epoch (`dynamic`, the
default for the full model, which curbs over-fitting on 8,000 images).

Two rows: the small configuration the test suite trains (tests/test_vae.py) and the
full configuration given on the command line. The training and scoring live in
`_common.train_and_score_vae`, shared with `likelihood_mnist.py`.

    python benchmarks/vae_mnist_nll.py --data-dir PATH/TO/mnist
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import records_table, split_images, train_and_score_vae


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

    x_train, x_test = split_images("mnist", args.data_dir)
    ks = tuple(int(k) for k in args.k.split(","))
    rows = []
    if not args.skip_test_config:
        rows.append(train_and_score_vae(
            x_train, x_test, label="test config: filters 16,32, latent 16, static",
            filters=(16, 32), latent_dim=16, epochs=8, batch_size=32,
            binarisation="static", ks=ks,
        ))
    filters = tuple(int(f) for f in args.filters.split(","))
    widths = ",".join(map(str, filters))
    rows.append(train_and_score_vae(
        x_train, x_test,
        label=f"filters {widths}, latent {args.latent_dim}, {args.binarisation}",
        filters=filters, latent_dim=args.latent_dim, epochs=args.epochs,
        batch_size=args.batch_size, binarisation=args.binarisation, ks=ks,
    ))
    print(records_table(rows))


if __name__ == "__main__":
    main()
