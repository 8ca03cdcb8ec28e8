"""What the benchmark scripts share: timing, notes on the machine and the command, the
fixed MNIST split and its likelihood protocol, FLOP counts and measured peaks, FID and
KID in a classifier's feature space, and Markdown output.

The scripts import it as `_common` (Python puts a script's own folder first on the path).
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import keras
import numpy as np
import tensorflow as tf

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import FeatureClassifier, fid_from_features, kid_from_features
from keras_genzoo.models.vae import binarize

T = TypeVar("T")

# ----------------------------------------------------------------------- timing


def wall_seconds(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call of `fn`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds(fn: Callable[[], Any]) -> float:
    """CPU seconds (all of the process's threads) of one call of `fn`. On a machine shared
    with other jobs, wall time measures the other jobs too; CPU time still measures the work."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def alternating_rounds(
    variants: Mapping[Hashable, Callable[[], T]], rounds: int, progress: bool = False
) -> dict[Hashable, list[T]]:
    """Each variant's results over `rounds` rounds, every round calling each variant once in
    turn, so that a slow spell of a busy machine is spread over all of them. With
    `progress`, a line on stderr after each round."""
    results: dict[Hashable, list[T]] = {name: [] for name in variants}
    for index in range(rounds):
        for name, run in variants.items():
            results[name].append(run())
        if progress:
            print(f"round {index + 1}/{rounds} done", file=sys.stderr, flush=True)
    return results


def best_rate(fn: Callable[[], Any], work: float, repeats: int = 5,
              clock: Callable[[Callable[[], Any]], float] = cpu_seconds) -> float:
    """`work` per second of the fastest of `repeats` calls of `fn`, after one untimed call."""
    fn()
    return work / min(clock(fn) for _ in range(repeats))


class EpochTimer(keras.callbacks.Callback):
    """Wall time (`seconds`) and process CPU time (`cpu_seconds`) of each epoch of a `fit`."""

    def on_train_begin(self, logs=None):
        self.seconds, self.cpu_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.start_cpu = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        self.cpu_seconds.append(time.process_time() - self.start_cpu)


class WallClockBudget(keras.callbacks.Callback):
    """Stops `fit` after the compiled call during which `seconds` of wall-clock time have
    passed since training began (equal-time comparisons of models)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)

    def on_train_begin(self, logs=None) -> None:
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None) -> None:
        if time.perf_counter() - self.started >= self.seconds:
            self.model.stop_training = True


def fit_images_per_second(model: keras.Model, data: tf.data.Dataset, steps: int, batch_size: int) -> float:
    """Images per wall second of `steps` steps of `fit`, after a warm-up epoch of the same
    `steps` steps (tracing, XLA compilation). The warm-up has the timed epoch's length
    because a zoo model fits its steps per execution to the epoch's length: a shorter
    warm-up would leave the timed epoch to trace a train function of its own."""
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = wall_seconds(lambda: model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0))
    return steps * batch_size / seconds


# ------------------------------------------------------------ machine and command


def load_average() -> float:
    """The one-minute load average; above `os.cpu_count()`, the machine is busy."""
    return os.getloadavg()[0]


def machine_is_busy(*loads: float) -> bool:
    return max(loads) > (os.cpu_count() or 1)


def machine_note() -> str:
    """Where and when a table was measured: CPU architecture and count, versions, date."""
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, {datetime.date.today().isoformat()}"
    )


def load_note(before: float, after: float) -> str:
    return f"load average {before:.1f} before, {after:.1f} after"


def command_line(script: str, argv: Sequence[str], drop: Iterable[str] = ()) -> str:
    """`python benchmarks/<script> <argv>`: the command that measures a table again, less
    the options in `drop` (with their values), which only say where the results go."""
    given = list(argv)
    for option in drop:
        if option in given:
            del given[given.index(option) : given.index(option) + 2]
    return " ".join(["python", f"benchmarks/{os.path.basename(script)}", *given])


# --------------------------------------------------------------------- Markdown


def markdown_row(cells: Iterable[Any]) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def markdown_table(columns: Sequence[str], rows: Iterable[Iterable[Any]] = ()) -> str:
    """A Markdown table; without rows, its header alone (for rows printed as measured)."""
    lines = [markdown_row(columns), "|" + "---|" * len(columns)]
    lines += [markdown_row(row) for row in rows]
    return "\n".join(lines)


def records_table(records: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of dicts with the first one's keys as columns, floats to 2 places."""
    columns = list(records[0])
    rows = [[f"{r[c]:.2f}" if isinstance(r[c], float) else r[c] for c in columns] for r in records]
    return markdown_table(columns, rows)


def replace_marked_section(path: str, begin: str, end: str, text: str) -> None:
    """Put `text` between the `begin` and `end` marker lines in the Markdown file `path`,
    appending the markers at the end of the file when it has none."""
    with open(path, encoding="utf-8") as f:
        content = f.read()
    block = f"{begin}\n{text}\n{end}"
    if begin in content and end in content:
        head, rest = content.split(begin, 1)
        content = head + block + rest.split(end, 1)[1]
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)


# ---------------------------------------------------------- datasets and protocols


def split_images(
    dataset: str, data_dir: str | None = None, scale: str = "unit"
) -> tuple[np.ndarray, np.ndarray]:
    """The training and held-out images of a dataset's fixed split (for MNIST, the 8,000 /
    2,000 split of the IDX files in `data_dir`)."""
    x_train, _, _ = load_arrays(dataset, "train", data_dir=data_dir, scale=scale)
    x_test, _, _ = load_arrays(dataset, "test", data_dir=data_dir, scale=scale)
    return x_train, x_test


#: The MNIST likelihood protocol binarises the held-out images once, with this seed.
HELD_OUT_BINARISATION_SEED = 1


def binarised_epoch(
    x_train: np.ndarray, epoch: int, batch_size: int, dynamic: bool = True
) -> tf.data.Dataset:
    """One epoch of the likelihood protocol's training batches: grey levels binarised
    afresh every epoch (seed 100 + epoch) or, not `dynamic`, once (seed 0); shuffled
    with seed `epoch`."""
    images = binarize(x_train, seed=100 + epoch if dynamic else 0)
    return tf.data.Dataset.from_tensor_slices(images).shuffle(len(x_train), seed=epoch).batch(batch_size)


def trainable_parameters(model: keras.Model) -> int:
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def train_binarised(
    model: keras.Model,
    x_train: np.ndarray,
    epochs: int,
    batch_size: int,
    dynamic: bool = True,
    to_model: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Train `model` for `epochs` of `binarised_epoch` batches (mapped by `to_model` when
    given), printing each epoch's first log value to stderr; the epochs and the CPU and
    wall seconds they took."""
    start_wall, start_cpu = time.time(), time.process_time()
    for epoch in range(epochs):
        data = binarised_epoch(x_train, epoch, batch_size, dynamic)
        history = model.fit(data if to_model is None else data.map(to_model), verbose=0).history
        first = next(iter(history.items()))
        print(f"{model.name} epoch {epoch + 1}: {first[0]} {first[1][0]:.3f} "
              f"({time.time() - start_wall:.0f} s)", file=sys.stderr, flush=True)
    return {
        "epochs": epochs,
        "train CPU s": round(time.process_time() - start_cpu),
        "train wall s": round(time.time() - start_wall),
    }


def train_and_score_vae(
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
) -> dict[str, Any]:
    """Train a `vae_conv` under the likelihood protocol (`binarisation` "dynamic" or
    "static") and score the binarised held-out images: negative ELBO and the
    importance-weighted NLL for each k, in nats, with CPU and wall times."""
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "vae_conv", filters=filters, latent_dim=latent_dim, likelihood="bernoulli", seed=0
    )
    trained = train_binarised(model, x_train, epochs, batch_size, binarisation == "dynamic")
    held_out = binarize(x_test, seed=HELD_OUT_BINARISATION_SEED)
    row = {
        "model": label,
        "params": model.count_params(),
        **trained,
        "-ELBO": -float(np.mean(-model.anomaly_score(held_out, num_samples=10, seed=0))),
    }
    for k in ks:
        start_cpu = time.process_time()
        row[f"NLL k={k}"] = -float(np.mean(model.log_likelihood(held_out, num_samples=k, seed=k)))
        row[f"k={k} CPU s"] = round(time.process_time() - start_cpu)
    return row


def fid_kid_classes(
    classifier: FeatureClassifier,
    real_features: np.ndarray,
    samples: np.ndarray,
    value_range: Sequence[float],
) -> tuple[float, float, np.ndarray]:
    """FID and mean KID (10 subsets, seed 0) of `samples` against `real_features`, and the
    samples' predicted classes, from one pass of the classifier (as the zoo's scores do)."""
    features, predicted = classifier.features_and_predictions(samples, value_range)
    fid = fid_from_features(real_features, features)
    return fid, kid_from_features(real_features, features).mean, predicted


# ------------------------------------------------------------- FLOPs and peaks


def _leaf_layers(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def forward_flops(model: keras.Model) -> tuple[float, float]:
    """(dense FLOPs, convolution FLOPs) of one example's forward pass."""
    dense = conv = 0.0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Dense):
            dense += 2.0 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            kh, kw, cout, cin = layer.kernel.shape
            conv += 2.0 * kh * kw * cin * cout * np.prod(layer.input.shape[1:3])
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            conv += 2.0 * kh * kw * cin * cout * np.prod(layer.output.shape[1:3])
    return dense, conv


def op_loop(op: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor, out_shape: tuple[int, ...], count: int):
    """A compiled loop summing `op(x + i)` for i < `count`; shifting `x` keeps every op
    inside the loop (not hoisted out of it)."""

    @tf.function
    def run():
        total = tf.zeros(out_shape)
        for i in tf.range(count):
            total += op(x + tf.cast(i, tf.float32))
        return total

    return run


def measured_peaks() -> tuple[float, float]:
    """FLOPs per CPU second of float32 matmuls and 3x3 convolutions, in compiled loops."""
    a = tf.random.uniform((256, 1024))
    b = tf.Variable(tf.random.normal((1024, 1024)))
    x = tf.random.uniform((64, 14, 14, 64))
    k = tf.Variable(tf.random.normal((3, 3, 64, 64)))
    count = 20
    matmuls = op_loop(lambda a: tf.matmul(a, b), a, (256, 1024), count)
    convs = op_loop(lambda x: tf.nn.conv2d(x, k, 1, "SAME"), x, (64, 14, 14, 64), count)
    matmul = best_rate(lambda: matmuls().numpy(), 2.0 * 256 * 1024 * 1024 * count)
    conv = best_rate(lambda: convs().numpy(), 2.0 * 64 * 14 * 14 * 9 * 64 * 64 * count)
    return matmul, conv


def dependent_products(epoch: tf.Tensor, hidden: int):
    """An epoch of a CD-1 step's five float32 products per batch alone, each batch's
    weights depending on the previous batch's products as in training; no sampling,
    non-linearities, biases or optimizer. No CD-1 step built from `tf.matmul` beats
    this floor on the same machine."""
    n_batches, batch_size = epoch.shape[:2]
    flat = tf.reshape(epoch, (n_batches, batch_size, -1))
    kernel = tf.Variable(tf.random.normal((flat.shape[-1], hidden), stddev=0.01, seed=0))

    @tf.function
    def run():
        for i in tf.range(n_batches):
            v = flat[i]
            h = tf.matmul(v, kernel)
            v_negative = tf.matmul(h, kernel, transpose_b=True)
            h_negative = tf.matmul(v_negative, kernel)
            kernel.assign_add(1e-6 * (
                tf.matmul(v, h, transpose_a=True)
                - tf.matmul(v_negative, h_negative, transpose_a=True)
            ))

    run()
    return run
