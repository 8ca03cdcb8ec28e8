"""Input pipeline throughput: images/s that `load_dataset` delivers for each source and
option, side by side with the training throughput of the fastest zoo model.

    python benchmarks/input_pipeline.py                      # every source and option
    python benchmarks/input_pipeline.py --rounds 5 --markdown docs/BENCHMARKS.md

Sources: the bundled digits, the MNIST IDX files in ../shared/datasets/mnist (when
present; `--mnist-dir` elsewhere), an `.npz` archive and a folder of PNG files, both
written by the script from the digits (and from MNIST when present). Options: plain,
`binarize=True`, `noise="gaussian"`, `noise="masking"`. A pipeline is timed over whole
epochs after a first (cache-filling) epoch, consumed by a compiled loop the way `fit`
consumes it; a model is timed over `fit` steps on batches already in memory, after a
warm-up epoch. Rounds alternate pipelines and models and the best round counts. The
ratio is the pipeline's images/s over the fastest model's on images of the same shape;
the data layer must keep it at 10 or more. Decoding the PNG folder (once, at load time)
is reported separately.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import keras
import numpy as np
import tensorflow as tf
from _common import (
    alternating_rounds,
    command_line,
    fit_images_per_second,
    machine_note,
    markdown_row,
    markdown_table,
    replace_marked_section,
)
from PIL import Image

import keras_genzoo
from keras_genzoo.data import load_arrays, load_dataset

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MNIST_DIR = os.path.join(REPO_ROOT, "..", "shared", "datasets", "mnist")
OPTIONS = {
    "plain": {},
    "binarize": {"binarize": True},
    "gaussian noise": {"noise": "gaussian"},
    "masking noise": {"noise": "masking"},
}
# Small models of every family with their default widths; the fastest one sets the bar.
MODELS = ("ae_dense", "ae_conv", "vae_dense", "rbm_bernoulli", "dcgan")
SOURCE_KINDS = ("bundled", "IDX", "npz", "PNG folder")
REQUIRED_RATIO = 10.0
MARKER_BEGIN = "<!-- input_pipeline.py: begin -->"
MARKER_END = "<!-- input_pipeline.py: end -->"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", default=DEFAULT_MNIST_DIR)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best counts")
    parser.add_argument("--min-images", type=int, default=100_000,
                        help="images a pipeline delivers per timed round (whole epochs)")
    parser.add_argument("--steps", type=int, default=100, help="timed model steps per round")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--sources", nargs="+", default=list(SOURCE_KINDS), choices=list(SOURCE_KINDS))
    parser.add_argument("--max-images", type=int, default=None, help="cap per source (smoke runs)")
    parser.add_argument("--markdown", help="replace the section between the script's markers in this file")
    return parser.parse_args(argv)


def write_sources(
    workdir: str, mnist_dir: str | None, max_images: int | None, kinds: list[str]
) -> dict[str, dict]:
    """name -> load_dataset arguments of each source of `kinds`, writing npz and PNG copies."""
    bases = {"digits": {"name": "digits"}}
    if mnist_dir and os.path.isfile(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz")):
        bases["mnist"] = {"name": "mnist", "data_dir": mnist_dir}
    sources = {}
    for base, args in bases.items():
        own = "IDX" if base == "mnist" else "bundled"
        if own in kinds:
            sources[f"{base} ({own})"] = args
        x, y, _ = load_arrays(**args, split="all")
        if max_images:
            x, y = x[:max_images], y[:max_images]
        pixels = np.round(x * 255).astype(np.uint8)
        if "npz" in kinds:
            npz = os.path.join(workdir, f"{base}.npz")
            np.savez(npz, x=pixels, y=y)
            sources[f"{base} (npz)"] = {"name": npz}
        if "PNG folder" in kinds:
            folder = os.path.join(workdir, f"{base}_png")
            for index, (image, label) in enumerate(zip(pixels, y)):
                os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
                path = os.path.join(folder, str(label), f"{index:05d}.png")
                Image.fromarray(image[..., 0]).save(path)
            sources[f"{base} (PNG folder)"] = {"name": folder}
    return sources


def epoch_consumer(dataset, epochs: int):
    """A compiled function that runs `epochs` whole epochs of `dataset` (a fresh iterator
    each, as `fit` makes) and returns the number of images delivered."""
    @tf.function
    def consume():
        count = tf.constant(0, tf.int64)
        for _ in tf.range(epochs):
            for element in dataset:
                images = element[0] if isinstance(element, tuple) else element
                count += tf.shape(images, out_type=tf.int64)[0]
        return count

    consume()  # tracing, filling the cache
    return consume


def pipeline_rate(consume) -> float:
    """Images/s of one call of an `epoch_consumer`."""
    start = time.perf_counter()
    total = int(consume())
    return total / (time.perf_counter() - start)


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    """Rows of pipeline results and the fastest model per image shape."""
    workdir = tempfile.mkdtemp(prefix="input_pipeline_")
    sources = write_sources(workdir, args.mnist_dir, args.max_images, args.sources)
    pipelines, decode = {}, {}
    for source, source_args in sources.items():
        for option in args.options:
            start = time.perf_counter()
            ds, info = load_dataset(**source_args, batch_size=args.batch_size, **OPTIONS[option])
            if option == args.options[0]:
                decode[source] = (time.perf_counter() - start, info.num_examples)
            epochs = max(1, -(-args.min_images // info.num_examples))
            pipelines[(source, option)] = (epoch_consumer(ds, epochs), info)
    shapes = sorted({info.image_shape for _, info in pipelines.values()})
    models = {}
    for shape in shapes:
        for name in args.models:
            keras.utils.set_random_seed(0)
            model = keras_genzoo.create_model(name, image_shape=shape)
            low, high = model.value_range
            batch = np.random.default_rng(0).random((args.batch_size, *shape), np.float32)
            batch = (low + (high - low) * (batch > 0.5)).astype(np.float32)
            models[(shape, name)] = (model, tf.data.Dataset.from_tensors(batch).repeat())

    variants = {("pipeline", key): functools.partial(pipeline_rate, consume)
                for key, (consume, _) in pipelines.items()}
    variants.update({  # alternate: every pipeline, then every model
        ("model", key): functools.partial(fit_images_per_second, model, batches, args.steps, args.batch_size)
        for key, (model, batches) in models.items()
    })
    rates = alternating_rounds(variants, args.rounds, progress=True)
    best_pipeline = {key: max(rates[("pipeline", key)]) for key in pipelines}
    best_model = {key: max(rates[("model", key)]) for key in models}

    fastest = {}
    for shape in shapes:
        name = max(args.models, key=lambda n: best_model[(shape, n)])
        fastest[shape] = (name, best_model[(shape, name)])
    rows = []
    for (source, option), (_, info) in pipelines.items():
        name, rate = fastest[info.image_shape]
        rows.append({
            "source": source, "option": option, "shape": info.image_shape,
            "images": info.num_examples, "pipeline": best_pipeline[(source, option)],
            "model": name, "model_rate": rate,
            "ratio": best_pipeline[(source, option)] / rate,
        })
    all_models = {key: rate for key, rate in best_model.items()}
    return rows, {"fastest": fastest, "models": all_models, "decode": decode}


def report(rows: list[dict], extra: dict, args: argparse.Namespace, command: str) -> str:
    lines = [
        f"Command: `{command}`; {machine_note()}; batch {args.batch_size}, best of {args.rounds} "
        "alternating rounds.",
        "",
        markdown_table(["source", "option", "images", "pipeline images/s", "fastest model (images/s)",
                        "ratio"]),
    ]
    for r in rows:
        shape = "x".join(map(str, r["shape"]))
        lines.append(markdown_row([
            f"{r['source']} {shape}", r["option"], f"{r['images']:,}", f"{r['pipeline']:,.0f}",
            f"{r['model']} ({r['model_rate']:,.0f})", f"{r['ratio']:.1f}x",
        ]))
    lines += ["", "Training images/s of each model (best round):", ""]
    lines.append(markdown_table(
        ["image shape", *args.models],
        [["x".join(map(str, shape)), *(f"{extra['models'][(shape, n)]:,.0f}" for n in args.models)]
         for shape in extra["fastest"]],
    ))
    lines += ["", "Load time (decoding the files once; the PNG folder decodes every image):", ""]
    for source, (seconds, count) in extra["decode"].items():
        lines.append(f"- {source}: {seconds:.2f} s for the train split of {count:,} images")
    worst = min(rows, key=lambda r: r["ratio"])
    lines += ["", f"Smallest ratio: {worst['ratio']:.1f}x ({worst['source']}, {worst['option']}); "
              f"required: {REQUIRED_RATIO:.0f}x."]
    return "\n".join(lines)


def main(argv=None) -> tuple[list[dict], str]:
    args = parse_args(argv)
    rows, extra = run(args)
    given = list(argv if argv is not None else sys.argv[1:])
    # where the results go is not part of the measurement
    text = report(rows, extra, args, command_line(__file__, given, drop=["--markdown"]))
    print(text)
    if args.markdown:
        replace_marked_section(args.markdown, MARKER_BEGIN, MARKER_END, text)
    return rows, text


if __name__ == "__main__":
    main()
