"""Rate and distortion of the VQ-VAE's compression on held-out MNIST, against PNG, JPEG,
WebP and a convolutional autoencoder with uniformly quantised latents.

    python benchmarks/vqvae_compression.py --data-dir PATH/TO/mnist --figure rd.png

Every model trains on the fixed 8,000-image MNIST split (grey levels in [0, 1]) and is
scored on the 2,000 held-out images. Each VQ-VAE trains its autoencoder and prior
together (`fit`), then its prior alone on the frozen codes (`fit_prior`). For each it
reports: the bytes `compress` writes per image (header included); whether
`decompress(compress(x))` equals `decode_indices(code_indices(x))` on every image;
the ideal code length -sum log2 p of the codes under the prior, and how far the coded
payload is above it; PSNR (dB, peak 1) and SSIM (TensorFlow's, 11 x 11 Gaussian window)
of the decompressed images; the prior's exact held-out NLL of the codes; and FID of
1,000 generated samples (seed 0) against the held-out images in the feature space of
the shipped MNIST classifier, the GAN benchmark's protocol.

The codecs code the 8-bit images with Pillow: PNG (lossless, optimize=True), JPEG and
WebP at several qualities (their whole files, headers included). The autoencoder
baseline is `ae_conv` with its latents rounded to a step; its rate is the ideal code
length under a per-dimension histogram of the training set's rounded latents (add-one
smoothing), with no header and no coder overhead, which favours it.
"""

from __future__ import annotations

import argparse
import io
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import load_average, load_note, machine_note, markdown_table, split_images
from PIL import Image, ImageDraw

import keras_genzoo
from keras_genzoo.evaluation import evaluate_generator
from keras_genzoo.models.vqvae import HEADER_BYTES, psnr

# (label, builder arguments): the grid is 28 / 2^len(filters) per side. The prior runs
# once per grid position to code, decode or sample a batch, which is what bounds the
# grid's size on a CPU (a 14x14 grid costs 4x the positions at 4x the area each).
VQ_CONFIGS = [
    ("4x4 grid, 256 codes", {"filters": (32, 64, 64), "num_codes": 256, "code_dim": 16}),
    ("7x7 grid, 32 codes", {"filters": (32, 64), "num_codes": 32, "code_dim": 16}),
]
QUALITIES = (5, 10, 20, 30, 50, 75, 90)
COLUMNS = ["method", "setting", "bits / image", "PSNR (dB)", "SSIM"]


def ssim(images: np.ndarray, references: np.ndarray) -> float:
    pair = tf.constant(images, tf.float32), tf.constant(references, tf.float32)
    return float(np.mean(tf.image.ssim(*pair, 1.0)))


def mean_psnr(images: np.ndarray, references: np.ndarray) -> float:
    values = psnr(images, references)
    return float(np.mean(values)) if np.all(np.isfinite(values)) else float("inf")


def run_vqvae(label: str, settings: dict, x_train, x_test, args) -> tuple[dict, dict]:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("vqvae", **settings)
    start = time.process_time()
    model.fit(x_train, batch_size=64, epochs=args.epochs, verbose=0)
    model.fit_prior(x_train, batch_size=64, epochs=args.prior_epochs, verbose=0)
    train_cpu = time.process_time() - start
    codes = model.code_indices(x_test)
    start = time.time()
    data = model.compress(x_test)
    compress_s = time.time() - start
    start = time.time()
    decoded = model.decompress(data)
    decompress_s = time.time() - start
    expected = model.decode_indices(codes)
    exact = int(sum(np.array_equal(a, b) for a, b in zip(decoded, expected)))
    nll = -model.code_log_likelihood(codes)
    ideal = nll / np.log(2.0)
    payload = np.array([8 * (len(d) - HEADER_BYTES) for d in data], np.float64)
    above = payload - ideal
    generated = evaluate_generator(model, x_test, "mnist", num_samples=1000, seed=0)
    row = {
        "label": label,
        "bits": float(np.mean([8 * len(d) for d in data])),
        "psnr": mean_psnr(decoded, x_test),
        "ssim": ssim(decoded, x_test),
    }
    detail = {
        "model": f"vqvae, {label}",
        "params": model.count_params(),
        "train CPU s": round(train_cpu),
        "codes in use": f"{len(np.unique(codes))}/{settings['num_codes']}",
        "exact round trips": f"{exact}/{len(x_test)}",
        "code NLL (nats)": round(float(np.mean(nll)), 2),
        "ideal bits": round(float(np.mean(ideal)), 1),
        "payload bits": round(float(np.mean(payload)), 1),
        "payload / ideal": f"{payload.sum() / ideal.sum():.4f}",
        "max payload - 1.01 ideal": round(float(np.max(payload - 1.01 * ideal)), 1),
        "mean payload - ideal": round(float(np.mean(above)), 1),
        "compress s": round(compress_s, 1),
        "decompress s": round(decompress_s, 1),
        "FID": round(generated["fid"], 1),
        "classes": f"{int(generated['classes_covered'])}/10",
    }
    print(detail, flush=True)
    return row, detail


def codec_rows(x_test: np.ndarray) -> list[tuple[str, str, float, float, float]]:
    pixels = np.round(x_test[..., 0] * 255).astype(np.uint8)
    reference = pixels.astype(np.float32)[..., None] / 255.0
    rows = []
    runs = [("PNG", "lossless", "PNG", {"optimize": True})]
    runs += [("JPEG", f"quality {q}", "JPEG", {"quality": q}) for q in QUALITIES]
    runs += [("WebP", f"quality {q}", "WEBP", {"quality": q, "method": 6}) for q in QUALITIES]
    for method, setting, fmt, options in runs:
        sizes, decoded = [], []
        for image in pixels:
            buffer = io.BytesIO()
            Image.fromarray(image, "L").save(buffer, fmt, **options)
            sizes.append(8 * buffer.tell())
            buffer.seek(0)
            decoded.append(np.asarray(Image.open(buffer).convert("L"), np.float32) / 255.0)
        decoded = np.stack(decoded)[..., None]
        scores = mean_psnr(decoded, reference), ssim(decoded, reference)
        rows.append((method, setting, float(np.mean(sizes)), *scores))
    return rows


def autoencoder_rows(x_train, x_test, args) -> list[tuple[str, str, float, float, float]]:
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model("ae_conv", latent_dim=args.ae_latent, filters=(32, 64))
    model.fit(x_train, x_train, batch_size=64, epochs=args.epochs, verbose=0)
    z_train, z_test = model.encode(x_train), model.encode(x_test)
    rows = []
    for step in args.ae_steps:
        q_train, q_test = np.round(z_train / step).astype(np.int64), np.round(z_test / step).astype(np.int64)
        bits = np.zeros(len(x_test))
        for dim in range(z_train.shape[1]):
            low = min(q_train[:, dim].min(), q_test[:, dim].min())
            high = max(q_train[:, dim].max(), q_test[:, dim].max())
            counts = np.bincount(q_train[:, dim] - low, minlength=high - low + 1) + 1.0
            bits -= np.log2(counts[q_test[:, dim] - low] / counts.sum())
        decoded = np.clip(model.decode((q_test * step).astype(np.float32)), 0.0, 1.0)
        rows.append((f"ae_conv, latent {args.ae_latent}, rounded", f"step {step:g}", float(np.mean(bits)),
                     mean_psnr(decoded, x_test), ssim(decoded, x_test)))
    return rows


COLOURS = {"VQ-VAE": (200, 30, 30), "JPEG": (30, 90, 200), "WebP": (20, 150, 60), "ae_conv": (140, 90, 20)}


def figure(series: dict[str, list[tuple[float, float]]], path: str, size=(640, 420)) -> None:
    """Bits per image (log scale) against PSNR, one line per method."""
    width, height = size
    margin = 60
    points = [p for line in series.values() for p in line]
    xs = np.log10([p[0] for p in points])
    ys = [p[1] for p in points]
    x0, x1 = np.floor(xs.min() * 4) / 4, np.ceil(xs.max() * 4) / 4
    y0, y1 = np.floor(min(ys)) - 1, np.ceil(max(ys)) + 1

    def at(bits, db):
        return (margin + (np.log10(bits) - x0) / (x1 - x0) * (width - 2 * margin),
                height - margin - (db - y0) / (y1 - y0) * (height - 2 * margin))

    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for tick in (100, 200, 500, 1000, 2000, 5000):
        if x0 <= np.log10(tick) <= x1:
            x, _ = at(tick, y0)
            draw.line([x, height - margin, x, height - margin + 5], fill="black")
            draw.text((x - 12, height - margin + 8), str(tick), fill="black")
    for db in range(int(y0), int(y1) + 1, 2):
        _, y = at(10 ** x0, db)
        draw.line([margin - 5, y, margin, y], fill="black")
        draw.text((margin - 28, y - 6), str(db), fill="black")
    draw.text((width // 2 - 60, height - 25), "bits per image (log scale)", fill="black")
    draw.text((8, 8), "PSNR (dB) on 2,000 held-out MNIST images", fill="black")
    for index, (name, line) in enumerate(series.items()):
        colour = next(c for key, c in COLOURS.items() if name.startswith(key))
        line = sorted(line)
        coords = [at(b, d) for b, d in line]
        if len(coords) > 1:
            draw.line(coords, fill=colour, width=2)
        for x, y in coords:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((margin + 10, margin + 8 + 14 * index), name, fill=colour)
    canvas.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the joint VQ-VAE and ae_conv fits")
    parser.add_argument("--prior-epochs", type=int, default=8, help="epochs of the prior on frozen codes")
    parser.add_argument("--ae-latent", type=int, default=16)
    parser.add_argument("--ae-steps", type=float, nargs="+", default=(0.25, 0.5, 1.0, 2.0))
    parser.add_argument("--figure", default=None, help="where to write the rate-distortion figure (PNG)")
    args = parser.parse_args()

    before = load_average()
    started = time.time()
    x_train, x_test = split_images("mnist", args.data_dir)
    rows = codec_rows(x_test)
    rows += autoencoder_rows(x_train, x_test, args)
    details = []
    for label, settings in VQ_CONFIGS:
        row, detail = run_vqvae(label, settings, x_train, x_test, args)
        rows.append(("VQ-VAE", label, row["bits"], row["psnr"], row["ssim"]))
        details.append(detail)
    print(machine_note() + "; " + load_note(before, load_average()) + f"; {time.time() - started:.0f} s wall")
    print(markdown_table(COLUMNS, [(m, s, f"{b:.0f}", f"{p:.2f}", f"{q:.3f}") for m, s, b, p, q in rows]))
    print()
    print(markdown_table(list(details[0]), [list(d.values()) for d in details]))
    if args.figure:
        series: dict[str, list[tuple[float, float]]] = {}
        for method, _, bits, db, _ in rows:
            if np.isfinite(db):
                series.setdefault(method, []).append((bits, db))
        figure(series, args.figure)


if __name__ == "__main__":
    main()
