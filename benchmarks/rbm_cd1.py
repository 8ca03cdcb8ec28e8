"""One CD-1 epoch of a 784-500 RBM: keras_genzoo against scikit-learn's BernoulliRBM.

Both sides see the same batches in the same order (MNIST images from `--data-dir`,
batch size 100) and do the same work per batch: one Gibbs sweep from the batch
(scikit-learn: from its persistent chains), five (batch x 784) by (784 x 500) matrix
products, sampling and a plain SGD update. scikit-learn runs `partial_fit` as shipped
(float64); ours runs `train_step` in float32, driven either by `model.fit` on a
`tf.data.Dataset` of the batches with the whole epoch in one execution
(`steps_per_execution`) or by a `tf.function` looping over the epoch. Each epoch is
timed several times, alternating the implementations, and the median is reported, next
to the GFLOP/s of a plain float32 `tf.matmul` of the same shape measured in the same run
(independent products, which TensorFlow may overlap). A "floor" row times the five
products per batch alone, each batch waiting for the previous one's weights as training
must: the bound on any CD-1 epoch built from TensorFlow's float32 matmul on the machine.

The rows users get: `create_model("rbm_bernoulli", hidden_units=500)` as built, fitted
with `fit(images, batch_size=100)` on a NumPy array and on `load_dataset("mnist",
"all", batch_size=100)`; their epoch time is the second epoch of a two-epoch `fit`
(the first traces). Two more loop rows show what the per-step metrics cost: the
pseudo-likelihood on every row of the batch instead of the shipped sample of rows, and
no metrics at all.

With `--digits-seeds N`, a second table compares the models' quality on the binarised
8x8 digits over N seeds: scikit-learn's settings from its RBM example (100 hidden units,
10 epochs, batch size 10, learning rate 0.06) for scikit-learn, for our default builder
and for ours with plain SGD; held-out pseudo-likelihood (same flipped units for every
model) and log-likelihood with log Z from AIS.

    python benchmarks/rbm_cd1.py --data-dir DIR_WITH_MNIST_IDX_FILES [--digits-seeds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import (
    EpochTimer,
    alternating_rounds,
    best_rate,
    dependent_products,
    load_average,
    machine_is_busy,
    markdown_table,
    op_loop,
    wall_seconds,
)
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

import keras_genzoo
from keras_genzoo.core.layers import RBM
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.models.rbm import ais_log_partition, average_log_likelihood, pseudo_likelihood

LEARNING_RATE = 0.1
MATMULS_PER_BATCH = 5  # v W, h W^T, v' W, and the two weight-gradient products
SKLEARN_NAME = "scikit-learn BernoulliRBM.partial_fit (float64)"
FLOOR_NAME = "floor: the five float32 products per batch alone, batch after batch"
NUMPY_NAME = "keras_genzoo builder defaults, model.fit on a NumPy array"
DATASET_NAME = "keras_genzoo builder defaults, model.fit on load_dataset"
COLUMNS = [
    "implementation", "wall s / epoch", "GFLOP/s", "% of matmul peak", "speed-up vs scikit-learn",
    "CPU s / epoch", "CPU-time ratio", "fastest / floor's fastest",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with MNIST IDX files")
    parser.add_argument("--images", type=int, default=10000, help="images in the epoch")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs per variant")
    parser.add_argument(
        "--xla", choices=("off", "on", "both"), default="both",
        help="XLA for our train step (measured, not assumed)",
    )
    parser.add_argument(
        "--threads", type=int, default=0,
        help="threads for both libraries (TensorFlow ops and scikit-learn's BLAS); 0 keeps "
        "their defaults (all cores)",
    )
    parser.add_argument(
        "--digits-seeds", type=int, default=0,
        help="also compare likelihoods on the digits over this many seeds",
    )
    return parser.parse_args()


def load_batches(data_dir: str, images: int, batch_size: int) -> np.ndarray:
    x, _, _ = load_arrays("mnist", "all", data_dir=data_dir)
    if len(x) < images:
        raise SystemExit(f"{data_dir} holds {len(x)} images; --images asks for {images}.")
    batches = images // batch_size
    return x[: batches * batch_size].reshape(batches, batch_size, *x.shape[1:])


def build_model(hidden: int, image_shape, batches: int, xla: bool):
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "rbm_bernoulli", image_shape=image_shape, hidden_units=hidden, seed=0
    )
    # plain SGD with scikit-learn's learning rate: the same update rule
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE), steps_per_execution=batches, jit_compile=xla
    )
    return model


def default_fit(data, hidden: int, image_shape, **fit_options):
    """A two-epoch `fit` of the builder's model as built; returns the second epoch's time."""
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "rbm_bernoulli", image_shape=image_shape, hidden_units=hidden, seed=0
    )
    timer = EpochTimer()

    def run() -> float:
        model.fit(data, epochs=2, verbose=0, callbacks=[timer], **fit_options)
        return timer.seconds[-1]

    return run


def epoch_times(run) -> tuple[float, float, object]:
    """(wall s, CPU s, result) of one call of `run`; for a two-epoch `fit` (which returns
    its second epoch's wall time) the second epoch's share."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    if isinstance(result, float):
        cpu_seconds *= result / seconds
        seconds = result
    return seconds, cpu_seconds, result


def matmul_peak(batch_size: int, hidden: int, repeats: int) -> float:
    """GFLOP/s of float32 (batch x 784) @ (784 x hidden) products in one compiled loop."""
    b = tf.Variable(tf.random.normal((784, hidden)))
    count = 500
    a = tf.random.uniform((batch_size, 784))
    products = op_loop(lambda a: tf.matmul(a, b), a, (batch_size, hidden), count)
    flops = 2 * batch_size * 784 * hidden * count
    return best_rate(lambda: products().numpy(), flops, repeats, wall_seconds) / 1e9


def main(args: argparse.Namespace) -> None:
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    blas_threads = threadpool_limits(args.threads) if args.threads else contextlib.nullcontext()
    batches = load_batches(args.data_dir, args.images, args.batch_size)
    n_batches, batch_size = batches.shape[:2]
    flat64 = [b.reshape(batch_size, -1).astype(np.float64) for b in batches]
    epoch_tensor = tf.constant(batches)
    dataset = tf.data.Dataset.from_tensor_slices(epoch_tensor)  # one element per batch
    all_images = batches.reshape(-1, *batches.shape[2:])
    flops = MATMULS_PER_BATCH * 2 * batch_size * 784 * args.hidden * n_batches
    load_before = load_average()

    def sklearn_epoch() -> BernoulliRBM:
        rbm = BernoulliRBM(
            n_components=args.hidden, learning_rate=LEARNING_RATE, batch_size=batch_size,
            random_state=0,
        )
        for batch in flat64:
            rbm.partial_fit(batch)
        return rbm

    pl_images = all_images[:1000].reshape(min(1000, len(all_images)), -1)
    one_epoch_pl = {}
    mnist, _ = load_dataset("mnist", "all", batch_size=batch_size, data_dir=args.data_dir)
    mnist = mnist.take(n_batches)
    variants = {
        SKLEARN_NAME: sklearn_epoch,
        FLOOR_NAME: dependent_products(epoch_tensor, args.hidden),
        NUMPY_NAME: default_fit(all_images, args.hidden, batches.shape[2:], batch_size=batch_size),
        DATASET_NAME: default_fit(mnist, args.hidden, batches.shape[2:]),
    }
    for name, rows in (("pseudo-likelihood on every row", None), ("no metrics", 0)):
        model = build_model(args.hidden, batches.shape[2:], n_batches, False)
        if rows == 0:
            model._update_metrics = lambda *args, **kwargs: []
        else:
            model._update_metrics = functools.partial(model._update_metrics, rows=None)

        @tf.function
        def metrics_epoch(epoch, model=model):
            for i in tf.range(n_batches):
                model.train_step(epoch[i])

        variants[f"keras_genzoo train_step in a tf.function loop, {name} (no XLA)"] = (
            lambda f=metrics_epoch: f(epoch_tensor)
        )
    for run in variants.values():
        run()  # traces
    for xla in {"off": [False], "on": [True], "both": [False, True]}[args.xla]:
        tag = "XLA" if xla else "no XLA"
        fit_model = build_model(args.hidden, batches.shape[2:], n_batches, xla)
        loop_model = build_model(args.hidden, batches.shape[2:], n_batches, xla)

        @tf.function(jit_compile=xla)
        def run_epoch(epoch, model=loop_model):
            for i in tf.range(n_batches):
                model.train_step(epoch[i])

        fit = lambda m=fit_model: m.fit(dataset, epochs=1, shuffle=False, verbose=0)  # noqa: E731
        loop = lambda f=run_epoch: f(epoch_tensor)  # noqa: E731
        fit()  # compiles, and trains one epoch
        one_epoch_pl[tag] = pseudo_likelihood(fit_model.rbm, pl_images, seed=0).mean()
        loop()
        variants[f"keras_genzoo model.fit, steps_per_execution (float32, {tag})"] = fit
        variants[f"keras_genzoo train_step in a tf.function loop (float32, {tag})"] = loop

    with blas_threads:
        rounds = alternating_rounds(
            {name: functools.partial(epoch_times, run) for name, run in variants.items()}, args.repeats
        )
    wall = {name: [seconds for seconds, _, _ in results] for name, results in rounds.items()}
    cpu = {name: [cpu_seconds for _, cpu_seconds, _ in results] for name, results in rounds.items()}
    reference = rounds[SKLEARN_NAME][-1][2]
    peak = matmul_peak(batch_size, args.hidden, args.repeats)
    load_after = load_average()

    baseline = statistics.median(wall[SKLEARN_NAME])
    baseline_cpu = statistics.median(cpu[SKLEARN_NAME])
    threads = f"{args.threads} thread(s) per library" if args.threads else "default threads"
    print(
        f"One CD-1 epoch: {n_batches} batches of {batch_size} MNIST images, 784-{args.hidden} "
        f"RBM, learning rate {LEARNING_RATE}, {threads}; median of {args.repeats} epochs "
        f"(min in brackets). {MATMULS_PER_BATCH} matrix products per batch = "
        f"{flops / 1e9:.1f} GFLOP per epoch. Plain float32 tf.matmul peak, independent products "
        f"({batch_size}x784 @ 784x{args.hidden}, same run): {peak:.0f} GFLOP/s. "
        f"Load average {load_before:.1f} before, {load_after:.1f} after, on "
        f"{os.cpu_count()} CPUs.\n"
    )
    floor = min(wall[FLOOR_NAME])
    rows = []
    for name, values in wall.items():
        median, median_cpu = statistics.median(values), statistics.median(cpu[name])
        rows.append([
            name, f"{median:.3f} ({min(values):.3f})", f"{flops / median / 1e9:.0f}",
            f"{100 * flops / median / 1e9 / peak:.0f}%", f"{baseline / median:.2f}x",
            f"{median_cpu:.3f}", f"{baseline_cpu / median_cpu:.2f}x", f"{min(values) / floor:.2f}x",
        ])
    print(markdown_table(COLUMNS, rows))
    print(
        f"\nSanity check, pseudo-likelihood of the first {len(pl_images)} images after one "
        "epoch: "
        f"scikit-learn {reference.score_samples(pl_images).mean():.1f}, "
        + ", ".join(f"ours ({tag}) {value:.1f}" for tag, value in one_epoch_pl.items())
    )
    if machine_is_busy(load_before, load_after):
        print(
            "\nWARNING: the machine was busy (load average above the number of CPUs). "
            "Multi-threaded wall times are then unreliable, scikit-learn's most (its BLAS "
            "threads spin while waiting for each other); single-threaded CPU times "
            "(--threads 1) are the comparison that holds up under load."
        )


def digits_table(seeds: int) -> None:
    """Held-out pseudo-likelihood and AIS log-likelihood on the binarised digits."""
    hidden, learning_rate, epochs, batch_size = 100, 0.06, 10, 10
    train, _, info = load_arrays("digits", "train")
    test, _, _ = load_arrays("digits", "test")
    train, test = (train > 0.5).astype(np.float32), (test > 0.5).astype(np.float32)
    flat_train, flat_test = train.reshape(len(train), -1), test.reshape(len(test), -1)
    flips = np.random.default_rng(0).integers(0, 64, (10, len(flat_test)))

    def scores(layer) -> tuple[float, float]:
        pl = np.mean([pseudo_likelihood(layer, flat_test, flip_indices=f).mean() for f in flips])
        log_z = ais_log_partition(layer, data=flat_train, num_betas=10000, seed=0).log_z
        return float(pl), average_log_likelihood(layer, flat_test, log_z)

    rows: dict[str, list[tuple[float, float]]] = {}
    for seed in range(seeds):
        reference = BernoulliRBM(
            n_components=hidden, learning_rate=learning_rate, n_iter=epochs,
            batch_size=batch_size, random_state=seed,
        ).fit(flat_train)
        layer = RBM(hidden)
        layer.build((None, 64))
        layer.set_weights([
            reference.components_.T, reference.intercept_visible_, reference.intercept_hidden_,
            np.asarray(layer.seed_state),
        ])
        rows.setdefault("scikit-learn BernoulliRBM (PCD-1, SGD)", []).append(scores(layer))
        for name, momentum in (("keras_genzoo rbm_bernoulli (CD-1, SGD momentum 0.5)", 0.5),
                               ("keras_genzoo rbm_bernoulli (CD-1, plain SGD)", 0.0)):
            keras.utils.set_random_seed(seed)
            model = keras_genzoo.create_model(
                "rbm_bernoulli", image_shape=info.image_shape, hidden_units=hidden,
                learning_rate=learning_rate, momentum=momentum, seed=seed,
            )
            model.fit(train, batch_size=batch_size, epochs=epochs, verbose=0)
            rows.setdefault(name, []).append(scores(model.rbm))
    print(
        f"\nDigits (binarised, {len(train)} train / {len(test)} held out): {hidden} hidden "
        f"units, {epochs} epochs, batch size {batch_size}, learning rate {learning_rate}; "
        f"mean (min, max) over seeds 0-{seeds - 1}. AIS: 100 chains, 10,000 temperatures.\n"
    )
    table = []
    for name, values in rows.items():
        pl, ll = np.array(values).T
        table.append([
            name, f"{pl.mean():.2f} ({pl.min():.2f}, {pl.max():.2f})",
            f"{ll.mean():.2f} ({ll.min():.2f}, {ll.max():.2f})",
        ])
    print(markdown_table(["model", "held-out pseudo-likelihood", "held-out log-likelihood (AIS)"], table))


if __name__ == "__main__":
    arguments = parse_args()
    main(arguments)
    if arguments.digits_seeds:
        digits_table(arguments.digits_seeds)
