"""Training throughput (images/s) of one model per family, on 1 device and on all GPUs,
in float32 and mixed precision, with and without XLA.

    python benchmarks/throughput.py                                   # digits, all configs
    python benchmarks/throughput.py --dataset mnist --data-dir DIR    # 28x28 MNIST images
    python benchmarks/throughput.py --split-cpu 2                     # 2 replicas on a CPU

Each configuration builds the model under its strategy and dtype policy, trains one
warm-up epoch (tracing, XLA compilation) and then times `--steps` steps of `fit` on
real images repeated from memory. The batch per replica is fixed (`--batch-size`), so
the global batch grows with the replicas; scaling efficiency is images/s on N devices
divided by N times images/s on one. With several GPUs, "N devices" is MirroredStrategy
over all of them; `--split-cpu N` splits a CPU into N logical devices instead, which
only exercises the code path (the logical devices share the same cores). A
configuration that fails prints its error in the table instead of a number.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Some virtual machines advertise Intel AMX but fault on it (SIGILL in bfloat16 matmuls
# on CPU); set ONEDNN_MAX_CPU_ISA=ALL to let oneDNN use AMX where it works.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import keras
import tensorflow as tf
from _common import fit_images_per_second, markdown_row, markdown_table

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.training.distribute import get_strategy, split_cpu

FAMILY_MODELS = {
    "autoencoders": "ae_conv", "vae": "vae_conv", "gan": "dcgan", "rbm": "rbm_bernoulli",
}
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(FAMILY_MODELS.values()))
    parser.add_argument("--dataset", default="digits", help="digits or mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--batch-size", type=int, default=128, help="per replica")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per config")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--xla", choices=("both", "on", "off"), default="both")
    parser.add_argument("--split-cpu", type=int, default=0, help="logical CPUs, without GPUs")
    return parser.parse_args()


def measure(name, images, strategy, precision, xla, batch_size, steps) -> float:
    """Images per second of `fit` on `name` after one warm-up epoch."""
    global_batch = batch_size * strategy.num_replicas_in_sync
    keras.mixed_precision.set_dtype_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras_genzoo.create_model(name, image_shape=images.shape[1:])
        model.jit_compile = xla
        low, high = model.value_range
        scaled = (low + (high - low) * images).astype("float32")
        data = (
            tf.data.Dataset.from_tensor_slices(scaled)
            .repeat()
            .batch(global_batch, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE)
        )
        return fit_images_per_second(model, data, steps, global_batch)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def main() -> None:
    args = parse_args()
    if args.split_cpu:
        split_cpu(args.split_cpu)
    images, _, info = load_arrays(args.dataset, "train", data_dir=args.data_dir)
    gpus = tf.config.list_logical_devices("GPU")
    strategies = {1: get_strategy("onedevice")}
    if len(gpus) > 1 or args.split_cpu > 1:
        mirrored = get_strategy("mirrored")
        strategies[mirrored.num_replicas_in_sync] = mirrored
    xla_modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.xla]
    device = f"{len(gpus)} GPU(s): {gpus[0].name}" if gpus else "CPU only"
    print(f"{args.dataset} {info.image_shape}, {device}, TensorFlow {tf.__version__}, "
          f"batch {args.batch_size} per replica, {args.steps} timed steps\n")
    print(markdown_table(["model", "devices", "precision", "XLA", "global batch", "images/s", "scaling"]))
    one_device: dict[tuple, float] = {}
    for name in args.models:
        for precision in args.precisions:
            for xla in xla_modes:
                for count, strategy in strategies.items():
                    row = [name, count, precision, "on" if xla else "off", args.batch_size * count]
                    try:
                        speed = measure(name, images, strategy, precision, xla,
                                        args.batch_size, args.steps)
                    except Exception as err:  # report and carry on with the next config
                        message = " ".join(str(err).split())[:80]
                        print(markdown_row([*row, f"failed: {type(err).__name__}: {message}", ""]),
                              flush=True)
                        continue
                    key = (name, precision, xla)
                    if count == 1:
                        one_device[key] = speed
                    scaling = (
                        f"{speed / (count * one_device[key]):.0%}"
                        if count > 1 and key in one_device else ""
                    )
                    print(markdown_row([*row, f"{speed:,.0f}", scaling]), flush=True)

if __name__ == "__main__":
    main()
