"""A VQ-VAE on the bundled 8x8 digits: train, compress the held-out digits to bytes,
decompress them, and sample new digits from the prior over the codes.

The model trains its autoencoder, codebook (EMA) and Gated PixelCNN prior together
with `fit`, then the prior alone on the frozen codes with `fit_prior`. `compress`
writes one self-describing byte string per image; `decompress` gives back exactly the
model's reconstruction of the image's codes, and the script checks that on every
held-out digit. About a minute on a laptop CPU:

    python examples/vqvae_digits.py --out runs/example_vqvae
"""

from __future__ import annotations

import argparse
import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from PIL import Image

import keras_genzoo
from keras_genzoo import save_images
from keras_genzoo.data import load_arrays
from keras_genzoo.models.vqvae import HEADER_BYTES, psnr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--prior-epochs", type=int, default=20)
    parser.add_argument("--out", default=os.path.join("runs", "example_vqvae"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    # 1. The digits in [0, 1]: 1,438 to train on, 359 held out.
    x_train, _, _ = load_arrays("digits", "train")
    x_test, _, _ = load_arrays("digits", "test")

    # 2. A 4x4 grid of 32 codes per image, and a Gated PixelCNN prior over the grid.
    model = keras_genzoo.create_model(
        "vqvae", image_shape=(8, 8, 1), num_codes=32, code_dim=8, filters=(32,),
        restart_interval=50, prior_filters=32, prior_layers=4, learning_rate=2e-3,
    )
    model.fit(x_train, batch_size=32, epochs=args.epochs, verbose=2)
    model.fit_prior(x_train, batch_size=32, epochs=args.prior_epochs, verbose=0)

    # 3. Bytes out, images back: exactly the reconstruction of the codes.
    data = model.compress(x_test)
    decoded = model.decompress(data)
    assert np.array_equal(decoded, model.decode_indices(model.code_indices(x_test)))
    bits = 8 * np.mean([len(d) for d in data])
    ideal = -model.code_log_likelihood(model.code_indices(x_test)).mean() / np.log(2.0)
    print(f"{bits:.0f} bits per digit ({8 * HEADER_BYTES} of them the header; the prior's ideal "
          f"code length is {ideal:.1f} bits), PSNR {np.mean(psnr(decoded, x_test)):.1f} dB")

    # 4. The same digits as PNG files, for scale (lossless, 17 grey levels).
    png = []
    for image in np.round(x_test[..., 0] * 255).astype(np.uint8):
        buffer = io.BytesIO()
        Image.fromarray(image, "L").save(buffer, "PNG", optimize=True)
        png.append(8 * buffer.tell())
    print(f"PNG: {np.mean(png):.0f} bits per digit")

    # 5. New digits: codes drawn from the prior, then decoded.
    samples = model.generate(64, seed=0)
    print("samples:", save_images(samples, os.path.join(args.out, "samples.png")))
    pairs = np.concatenate([x_test[:32], decoded[:32]])
    print("held-out / decompressed:", save_images(pairs, os.path.join(args.out, "decompressed.png")))

    # 6. A .keras file keeps the codebook and the prior: the reloaded model reads the bytes.
    path = os.path.join(args.out, "vqvae.keras")
    model.save(path)
    assert np.array_equal(keras_genzoo.load(path).decompress(data[:8]), decoded[:8])
    print("saved and reloaded:", path)


if __name__ == "__main__":
    main()
