"""Diffusion on the MNIST split: DDPM against the zoo's GANs at equal wall-clock budgets,
sample quality against sampling steps, classifier-free guidance, and the training step's
throughput against a plain-Keras twin.

    python benchmarks/diffusion_mnist.py --mnist-dir path/to/mnist --budget 900
    python benchmarks/diffusion_mnist.py --mnist-dir path/to/mnist --quick   # checks it runs
    python benchmarks/diffusion_mnist.py --mnist-dir path/to/mnist --write docs/BENCHMARKS.md
    python benchmarks/diffusion_mnist.py --mnist-dir path/to/mnist --steps-from runs/x/ddpm.keras

Data: the MNIST test split's fixed 8,000 / 2,000 split (`load_dataset("mnist", ...)`), in
[-1, 1]. Scores follow the GAN benchmark's protocol: FID and KID of `--samples` samples
(seed 0) against the 2,000 held-out images in the features of the shipped MNIST
classifier, which also reads the class of every sample. KID is unbiased, so the
ancestral sampler's smaller sample count (`--ancestral-samples`) is comparable.

1. `ddpm`, `dcgan` and `wgan_gp` (builder defaults, except the U-Net options given here)
   each train for `--budget` wall-clock seconds, stopped by a callback after the step
   that crosses it.
2. The `ddpm` of part 1 (saved as `ddpm.keras` in `--out`) samples with DDIM at 10, 20,
   50 and 100 steps (eta 0, deterministic), with DDIM at 50 and 100 steps and eta
   `--stochastic-eta` (fresh noise at each step), and with the ancestral sampler over all
   its steps: KID for each, and seconds per image measured side by side
   (`--timing-rounds` alternating rounds of `--timing-images` images, best of each). A
   figure has one row of samples per setting, from the same seeds. `--steps-from MODEL`
   runs this part alone on a saved `ddpm` (a `.keras` file or a preset such as
   `ddpm.mnist_t10k`).
3. `ddpm_conditional` trains for the same budget; guidance scales 0 (unconditional), 1,
   2, 3 and 5 are scored by FID and by the share of samples the classifier reads as the
   requested digit.
4. Throughput: images per second of the zoo's `fit` on `ddpm` against a plain
   `keras.Model` twin with the same U-Net, the same loss and the same weight average,
   best of `--timing-rounds` alternating rounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import (
    WallClockBudget,
    alternating_rounds,
    command_line,
    fid_kid_classes,
    fit_images_per_second,
    load_average,
    load_note,
    machine_note,
    markdown_table,
    replace_marked_section,
    split_images,
    trainable_parameters,
    wall_seconds,
)

import keras_genzoo
from keras_genzoo.data import load_dataset
from keras_genzoo.evaluation import class_coverage, load_feature_classifier
from keras_genzoo.io.images import save_images
from keras_genzoo.models.gan import GAN

BEGIN, END = "<!-- diffusion_mnist:begin -->", "<!-- diffusion_mnist:end -->"
SYMMETRIC = (-1.0, 1.0)
DDIM_STEPS = (10, 20, 50, 100)
GUIDANCE = (0.0, 1.0, 2.0, 3.0, 5.0)
BATCH = 64


class PlainDiffusion(keras.Model):
    """The twin: the same U-Net, loss on the schedule's discrete levels, prediction target
    (epsilon or v) and weight average as the zoo's `ddpm`, written as a plain
    `keras.Model` with no zoo code."""

    def __init__(
        self, network: keras.Model, alpha_bar: np.ndarray, prediction: str, ema_decay: float = 0.999
    ):
        super().__init__()
        self.network = network
        self.alpha_bar = tf.constant(alpha_bar, tf.float32)
        self.steps = len(alpha_bar) - 1
        self.prediction = prediction
        self.ema_decay = ema_decay
        self.averages = [
            self.add_weight(shape=v.shape, initializer="zeros", trainable=False, name=f"average_{i}")
            for i, v in enumerate(network.trainable_variables)
        ]

    def train_step(self, images):
        batch = tf.shape(images)[0]
        index = tf.random.uniform((batch,), 1, self.steps + 1, dtype=tf.int32)
        alpha_bar = tf.reshape(tf.gather(self.alpha_bar, index), (-1, 1, 1, 1))
        noise = tf.random.normal(tf.shape(images))
        noisy = tf.sqrt(alpha_bar) * images + tf.sqrt(1.0 - alpha_bar) * noise
        times = tf.cast(index, tf.float32)[:, None] / self.steps
        if self.prediction == "epsilon":
            target = noise
        else:
            target = tf.sqrt(alpha_bar) * noise - tf.sqrt(1.0 - alpha_bar) * images
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.network([noisy, times], training=True) - target))
        variables = self.network.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for average, variable in zip(self.averages, variables):
            average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * variable)
        return {"loss": loss}


def train_for(model: keras.Model, data: tf.data.Dataset, budget: float) -> dict[str, float]:
    """Train until `budget` wall seconds have passed; the seconds and steps it took."""
    start = time.perf_counter()
    model.fit(data, epochs=100_000, callbacks=[WallClockBudget(budget)], verbose=0)
    optimizer = model.g_optimizer if isinstance(model, GAN) else model.optimizer
    return {"seconds": time.perf_counter() - start, "steps": int(optimizer.iterations)}


def scores(classifier, real_features, images, labels=None) -> dict[str, float]:
    fid, kid, predicted = fid_kid_classes(classifier, real_features, images, SYMMETRIC)
    result = {"fid": fid, "kid": kid, "classes": class_coverage(predicted, classifier.num_classes).covered}
    if labels is not None:
        result["accuracy"] = float(np.mean(predicted == labels))
    return result


def ddpm_overrides(args) -> dict:
    return {
        "widths": args.widths,
        "attention_size": args.attention_size,
        "timesteps": args.timesteps,
        "schedule": args.schedule,
        "prediction": args.prediction,
        "learning_rate": args.learning_rate,
    }


def equal_budget(args, data_dir, classifier, real_features, out) -> tuple[list, keras.Model]:
    rows, trained = [], {}
    for name in ("ddpm", "dcgan", "wgan_gp"):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        overrides = ddpm_overrides(args) if name == "ddpm" else {}
        model = keras_genzoo.create_model(name, image_shape=(28, 28, 1), seed=0, **overrides)
        data, _ = load_dataset("mnist", "train", data_dir=data_dir, batch_size=BATCH, scale="symmetric")
        spent = train_for(model, data, args.budget)
        images = model.generate(args.samples, seed=0)
        result = scores(classifier, real_features, images)
        save_images(images[:100], os.path.join(out, f"{name}_samples.png"), columns=10, value_range=SYMMETRIC)
        parameters = trainable_parameters(model)
        rows.append(
            [
                name,
                f"{parameters:,}",
                f"{spent['seconds']:.0f}",
                spent["steps"],
                f"{result['fid']:.1f}",
                f"{result['kid']:.3f}",
                f"{result['classes']}/10",
            ]
        )
        print(rows[-1], file=sys.stderr, flush=True)
        trained[name] = model
    return rows, trained["ddpm"]


def steps_table(args, model, classifier, real_features, out) -> tuple[list, dict]:
    steps = [s for s in DDIM_STEPS if s < model.schedule.timesteps]
    settings = [(f"DDIM {s}", {"sampler": "ddim", "steps": s}) for s in steps]
    eta = args.stochastic_eta
    settings += [(f"DDIM {s}, eta {eta:g}", {"sampler": "ddim", "steps": s, "eta": eta})
                 for s in steps if s >= 50]
    settings.append((f"ancestral {model.schedule.timesteps}", {"sampler": "ddpm"}))
    rows, figure, kid = [], [], {}
    for label, options in settings:
        count = args.ancestral_samples if options["sampler"] == "ddpm" else args.samples
        images = model.generate(count, seed=0, **options)
        result = scores(classifier, real_features, images)
        kid[label] = result["kid"]
        figure.append(images[:10])
        rows.append([label, count, f"{result['kid']:.3f}", f"{result['fid']:.1f}"])
        print(rows[-1], file=sys.stderr, flush=True)
    save_images(
        np.concatenate(figure), os.path.join(out, "steps_figure.png"), columns=10, value_range=SYMMETRIC
    )

    def timed(options):
        return lambda: wall_seconds(lambda: model.generate(args.timing_images, seed=1, **options))

    for _, options in settings:  # trace every loop once before timing
        model.generate(2, seed=1, **options)
    rounds = alternating_rounds({label: timed(options) for label, options in settings}, args.timing_rounds)
    seconds = {label: min(times) / args.timing_images for label, times in rounds.items()}
    for row, (label, _) in zip(rows, settings):
        row.append(f"{seconds[label] * 1000:.1f}")
    ancestral = settings[-1][0]
    ratios = {label: (kid[label] / kid[ancestral], seconds[ancestral] / seconds[label])
              for label, options in settings if options.get("steps") == 50}
    return rows, ratios


def steps_text(args, rows: list, ratios: dict) -> str:
    ratio_lines = "; ".join(f"{label}: KID ratio {kid:.2f}, {speed:.1f}x faster"
                            for label, (kid, speed) in ratios.items())
    return ("Sampling steps (KID is unbiased, so sample counts may differ; ms per image is the best of "
            f"{args.timing_rounds} alternating rounds of {args.timing_images} images):\n\n"
            + markdown_table(["sampler", "samples", "KID", "FID", "ms / image"], rows)
            + f"\n\nAgainst ancestral sampling: {ratio_lines}.")


def guidance_table(args, data_dir, classifier, real_features, out) -> list:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = keras_genzoo.create_model(
        "ddpm_conditional", image_shape=(28, 28, 1), seed=0, **ddpm_overrides(args)
    )
    data, _ = load_dataset(
        "mnist", "train", data_dir=data_dir, batch_size=BATCH, scale="symmetric", labels=True
    )
    spent = train_for(model, data, args.budget)
    labels = np.arange(args.samples) % 10
    rows = []
    for guidance in GUIDANCE:
        images = model.generate(args.samples, labels=labels, seed=0, guidance=guidance)
        result = scores(classifier, real_features, images, labels)
        rows.append(
            [
                f"{guidance:g}",
                f"{result['accuracy']:.1%}",
                f"{result['fid']:.1f}",
                f"{result['kid']:.3f}",
                f"{result['classes']}/10",
            ]
        )
        print(rows[-1], file=sys.stderr, flush=True)
        save_images(
            images[:100], os.path.join(out, f"guidance_{guidance:g}.png"), columns=10, value_range=SYMMETRIC
        )
    rows.append([f"(trained {spent['seconds']:.0f} s, {spent['steps']} steps)", "", "", "", ""])
    return rows


def throughput(args, x_train: np.ndarray) -> tuple[dict[str, float], float]:
    keras.backend.clear_session()
    zoo = keras_genzoo.create_model("ddpm", image_shape=(28, 28, 1), seed=0, **ddpm_overrides(args))
    network = keras.models.clone_model(zoo.network)
    twin = PlainDiffusion(network, zoo.schedule.alpha_bar_grid, args.prediction)
    twin.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate), steps_per_execution=1, jit_compile=False
    )
    data = tf.data.Dataset.from_tensor_slices(x_train).repeat().batch(BATCH).prefetch(2)
    steps = args.throughput_steps
    rounds = alternating_rounds(
        {
            "zoo": lambda: fit_images_per_second(zoo, data, steps, BATCH),
            "twin": lambda: fit_images_per_second(twin, data, steps, BATCH),
        },
        args.timing_rounds,
    )
    best = {name: max(rates) for name, rates in rounds.items()}
    return best, best["zoo"] / best["twin"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mnist-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--out", default=os.path.join("runs", "diffusion_benchmark"))
    parser.add_argument("--budget", type=float, default=900.0, help="training seconds per model")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--ancestral-samples", type=int, default=200)
    parser.add_argument("--timing-images", type=int, default=16)
    parser.add_argument("--timing-rounds", type=int, default=3)
    parser.add_argument("--throughput-steps", type=int, default=40)
    parser.add_argument("--widths", type=lambda s: [int(w) for w in s.split(",")], default=[16, 32, 64])
    parser.add_argument("--attention-size", type=int, default=7)
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine")
    parser.add_argument("--prediction", choices=("epsilon", "v"), default="v")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--stochastic-eta", type=float, default=1.0,
                        help="the eta of the stochastic DDIM rows of the sampling-steps table")
    parser.add_argument("--steps-from", metavar="MODEL",
                        help="only the sampling-steps table, of this ddpm: a run's ddpm.keras or a preset")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 s budgets, 100 samples, 60 timesteps: checks that the script runs",
    )
    parser.add_argument("--write", metavar="MARKDOWN", help="put the tables into this file")
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="only the zoo / twin training throughput (no training budgets, sampling or guidance)",
    )
    args = parser.parse_args()
    if (args.throughput_only or args.steps_from) and args.write:
        parser.error("--throughput-only and --steps-from print one part, not --write's tables")
    if args.quick:
        args.budget, args.samples, args.ancestral_samples, args.timesteps = 20.0, 100, 20, 60
        args.timing_images, args.timing_rounds, args.throughput_steps = 2, 1, 5
    os.makedirs(args.out, exist_ok=True)
    before = load_average()

    x_train, x_test = split_images("mnist", args.mnist_dir, scale="symmetric")
    if args.throughput_only:
        rates, ratio = throughput(args, x_train)
        print(f"Training throughput, best of {args.timing_rounds} alternating rounds of "
              f"{args.throughput_steps} steps at batch {BATCH}: zoo {rates['zoo']:.1f} images/s, "
              f"plain-Keras twin {rates['twin']:.1f} images/s (zoo / twin {ratio:.3f}); "
              f"{load_note(before, load_average())}.")
        return
    classifier = load_feature_classifier("mnist")
    real_features = classifier.features(x_test, SYMMETRIC)

    if args.steps_from:
        ddpm = keras_genzoo.load(args.steps_from)
        step_rows, ratios = steps_table(args, ddpm, classifier, real_features, args.out)
        print(f"{args.steps_from}. " + steps_text(args, step_rows, ratios)
              + f"\n{machine_note()}; {load_note(before, load_average())}.")
        return
    budget_rows, ddpm = equal_budget(args, args.mnist_dir, classifier, real_features, args.out)
    ddpm.save(os.path.join(args.out, "ddpm.keras"))
    step_rows, ratios = steps_table(args, ddpm, classifier, real_features, args.out)
    guidance_rows = guidance_table(args, args.mnist_dir, classifier, real_features, args.out)
    rates, ratio = throughput(args, x_train)

    text = "\n\n".join(
        [
            f"Equal training budgets ({args.budget:.0f} s of wall time each), {args.samples} samples "
            "(`ddpm`: DDIM, 50 steps):\n\n"
            + markdown_table(
                ["model", "trainable parameters", "train s", "steps", "FID", "KID", "classes"], budget_rows
            ),
            "The `ddpm` above. " + steps_text(args, step_rows, ratios),
            f"Classifier-free guidance (`ddpm_conditional`, same budget, {args.samples} samples, labels "
            "cycled 0-9; accuracy: the classifier reads the requested digit):\n\n"
            + markdown_table(["guidance", "accuracy", "FID", "KID", "classes"], guidance_rows),
            f"Training throughput, best of {args.timing_rounds} alternating rounds of "
            f"{args.throughput_steps} steps at batch {BATCH}: zoo {rates['zoo']:.1f} images/s, "
            f"plain-Keras twin {rates['twin']:.1f} images/s (zoo / twin {ratio:.3f}).",
            f"U-Net widths {args.widths}, attention at <= {args.attention_size} pixels, {args.schedule} "
            f"schedule over {args.timesteps} timesteps, {args.prediction} prediction, Adam at "
            f"{args.learning_rate:g}. {machine_note()}; {load_note(before, load_average())}.\n"
            f"Command: `{command_line(__file__, sys.argv[1:], drop=['--write', '--mnist-dir', '--out'])}`",
        ]
    )
    print(text)
    if args.write:
        replace_marked_section(args.write, BEGIN, END, text)


if __name__ == "__main__":
    main()
