"""Seconds per epoch of a run-layer GAN on a tiny folder: previews every epoch vs bounded.

    python benchmarks/gan_epoch_overhead.py            # 200 images, 3 steps an epoch, 12 epochs
    python benchmarks/gan_epoch_overhead.py --quick    # a check that the script runs
    python benchmarks/gan_epoch_overhead.py --write docs/BENCHMARKS.md

A 200-image folder at batch 64 gives 3 training steps an epoch, so whatever a run does
once per epoch dominates. The measured cause was the preview grid drawn after every
epoch: sampling with the moving-average generator re-estimates its batch-norm
statistics on 2,048 latent draws (seconds for a 32x32 colour generator). The run layer
now draws previews after the first and the last epoch and otherwise only while they
take at most `PREVIEW_SHARE` of the time spent (`ImageSummaries(time_share=...)`).

The variants train the same dcgan (its builder defaults, EMA generator) on the run
layer's data. Two use the run layer's callbacks and backup, composed as `train_run`
composes them, and differ only in `run_callbacks(..., preview_share=...)`: None
("every epoch", as before) or the default. The third fits with no run callbacks (the
floor), so what the run layer still adds per epoch (checkpoint, TensorBoard, backup)
shows as its difference from the second. Reported: median seconds of the epochs after
the first (tracing), the total, and how many epochs drew previews. Rounds alternate the
variants.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import keras
import numpy as np
from _common import (
    EpochTimer,
    alternating_rounds,
    command_line,
    load_average,
    load_note,
    machine_note,
    markdown_table,
    replace_marked_section,
)
from PIL import Image

from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.training import (
    ImageSummaries,
    RunConfig,
    build_model,
    fit_model,
    load_run_data,
    run_callbacks,
)
from keras_genzoo.training.artifacts import PREVIEW_SHARE

BEGIN, END = "<!-- gan_epoch_overhead:begin -->", "<!-- gan_epoch_overhead:end -->"


def write_folder(folder: str, count: int, size: int) -> None:
    """`count` random colour blobs of `size` x `size` pixels as PNGs (content does not
    matter for timing)."""
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(image).save(os.path.join(folder, f"{i:04d}.png"))


def one_run(folder: str, epochs: int, size: int, share: float | None, run_layer: bool = True) -> dict:
    """One run's epoch times; `run_layer=False` fits with no run callbacks at all (the
    floor: the training steps and Keras' own per-epoch work)."""
    keras.backend.clear_session()
    config = RunConfig.from_dict({
        "model": "dcgan", "dataset": folder, "epochs": epochs, "batch_size": 64,
        "overrides": {"image_shape": [size, size, 3]},
    })
    keras.utils.set_random_seed(config.seed)
    model, _ = build_model(config)
    data = load_run_data(config, model)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as out:
        callbacks = run_callbacks(out, model, data, config.seed, preview_share=share) if run_layer else []
        fit_model(model, data, config, callbacks=[*callbacks, timer],
                  backup_dir=os.path.join(out, "backup") if run_layer else None, verbose=0)
    previews = [e for c in callbacks if isinstance(c, ImageSummaries) for e in c.written_epochs]
    later = timer.seconds[1:] or timer.seconds
    return {"median": statistics.median(later), "total": sum(timer.seconds), "previews": len(previews)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="16 images of 16x16, 3 epochs, 1 round")
    parser.add_argument("--write", metavar="MARKDOWN", help="put the table into this file")
    args = parser.parse_args()
    if args.quick:
        args.images, args.size, args.epochs, args.rounds = 16, 16, 3, 1
    warnings.simplefilter("ignore", ZooWarning)  # the runs are short on purpose

    before = load_average()
    with tempfile.TemporaryDirectory() as root:
        folder = os.path.join(root, "images")
        write_folder(folder, args.images, args.size)
        variants = {
            "training steps only (no run callbacks)":
                lambda: one_run(folder, args.epochs, args.size, None, run_layer=False),
            "previews every epoch (before)": lambda: one_run(folder, args.epochs, args.size, None),
            f"previews <= {PREVIEW_SHARE:.0%} of the time (now)":
                lambda: one_run(folder, args.epochs, args.size, PREVIEW_SHARE),
        }
        results = alternating_rounds(variants, args.rounds, progress=True)
    rows = []
    for name, runs in results.items():
        best = min(runs, key=lambda r: r["total"])
        rows.append([name, f"{best['median']:.2f}", f"{best['total']:.1f}",
                     f"{best['previews']}/{args.epochs}"])
    columns = ["variant", "s/epoch (median, after the 1st)", "s in all", "epochs with previews"]
    table = markdown_table(columns, rows)
    steps = -(-int(args.images * 0.8) // 64)
    text = (f"{table}\n\ndcgan on {args.images} random {args.size}x{args.size} colour images "
            f"({steps} steps an epoch), {args.epochs} epochs, best of {args.rounds} rounds. "
            f"{machine_note()}; {load_note(before, load_average())}.\n"
            f"Command: `{command_line(__file__, sys.argv[1:], drop=['--write'])}`")
    print(text)
    if args.write:
        replace_marked_section(args.write, BEGIN, END, text)


if __name__ == "__main__":
    main()
