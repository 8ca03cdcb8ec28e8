"""GPU check: training and sampling speed of one model per family, in float32 and mixed
precision, with and without XLA, on one device and under MirroredStrategy.

    python benchmarks/gpu_check.py --write docs/BENCHMARKS.md      # a GPU machine, < 10 min
    python benchmarks/gpu_check.py --quick --split-cpu 2           # a CPU: tiny settings
    python benchmarks/gpu_check.py --models dcgan cyclegan --precisions float32 --xla on

By default the models are one per registered family: the family's entry in
`FAMILY_CHOICES`, else its first registered builder, so a new family is never left out.
Each configuration builds the model under its strategy and dtype policy and reads its
data through the run layer, as `keras-genzoo train` does (`run_config`: images, binarised
for a Bernoulli likelihood; images with labels; pairs; two domains; generated ratings),
keeps the first batches in memory, trains one warm-up epoch (tracing, XLA compilation)
and times `--steps` steps of `fit`.
An example is an image, a pair of images, or a row of the ratings matrix (a user; an
item for AutoRec). The batch per replica is fixed (`--batch-size`), so the global batch
grows with the replicas. "mirrored xN" is MirroredStrategy over every visible GPU (also
with one GPU: the strategy's own cost), or over `--split-cpu N` logical CPUs, which only
exercises the code path (they share the same cores); its scaling is its rate over N
times the one-device rate. Sampling speed is images per second of `generate(n, seed=0)`
of a float32 model on one device, after a warm-up call of the same size.

Configurations run in order of importance: every model's float32 one-device rate without
XLA, then sampling, float32 with XLA, MirroredStrategy in float32, and mixed precision.
One that would end after `--budget-seconds` (judged by the longest one of its model and
kind so far) is listed as "skipped (budget)"; one that fails shows its error in its row.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
import os
import sys
import time
from typing import Any, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Some virtual machines advertise Intel AMX but fault on it (SIGILL in bfloat16 matmuls
# on CPU); set ONEDNN_MAX_CPU_ISA=ALL to let oneDNN use AMX where it works.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_FP16")

import keras
import tensorflow as tf
from _common import (
    command_line,
    fit_images_per_second,
    load_average,
    load_note,
    machine_note,
    markdown_table,
    replace_marked_section,
    wall_seconds,
)

import keras_genzoo
from keras_genzoo.core.capabilities import Generator
from keras_genzoo.core.registry import builder_parameters, get_entry
from keras_genzoo.data.ratings import RatingsData
from keras_genzoo.models.ratings import RatingsModel
from keras_genzoo.training.config import RunConfig, is_recommender, translator_kind
from keras_genzoo.training.data import load_run_data
from keras_genzoo.training.distribute import get_strategy, split_cpu
from keras_genzoo.training.ratings_data import build_recommender, load_ratings_data
from keras_genzoo.training.train import build_model

#: The model measured for each family; a family missing here gets its first registered builder.
FAMILY_CHOICES = {
    "autoencoders": "ae_conv",
    "vae": "vae_conv",
    "gan": "dcgan",
    "rbm": "rbm_bernoulli",
    "pixelcnn": "pixelcnn",
    "diffusion": "ddpm",
    "vqvae": "vqvae",
    "translation": "pix2pix",
    "ratings": "autorec",
}
#: What a model trains on (`feed`).
FEEDS = ("images", "images, labels", "pairs", "domains", "ratings")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
XLA_MODES = {"both": (False, True), "off": (False,), "on": (True,)}
#: Settings for a GPU, and the tiny ones of `--quick` for a CPU; options given win.
FULL = {"steps": 50, "batch_size": 128, "samples": 256, "users": 1000, "items": 1000}
QUICK = {"steps": 5, "batch_size": 16, "samples": 8, "users": 120, "items": 80}
#: Batches of a model's data kept in memory and repeated while it is timed.
POOL_BATCHES = 4
SKIPPED = "skipped (budget)"
TRAINING_COLUMNS = [
    "model",
    "family",
    "data",
    "devices",
    "precision",
    "XLA",
    "global batch",
    "examples/s",
    "scaling",
]
MARKER_BEGIN = "<!-- gpu_check:begin -->"
MARKER_END = "<!-- gpu_check:end -->"


def family_models() -> dict[str, list[str]]:
    """The registered model names of each family, sorted."""
    families: dict[str, list[str]] = {}
    for name in keras_genzoo.list_models():
        families.setdefault(get_entry(name).family, []).append(name)
    return families


def default_models() -> list[str]:
    """One model per registered family (families sorted): its `FAMILY_CHOICES` entry when
    that is registered in the family, else the family's first builder."""
    chosen = []
    for family, names in sorted(family_models().items()):
        choice = FAMILY_CHOICES.get(family)
        chosen.append(choice if choice in names else names[0])
    return chosen


def feed(name: str) -> str:
    """What the registered model `name` trains on: one of `FEEDS`."""
    if is_recommender(name):
        return "ratings"
    kind = translator_kind(name)
    if kind is not None:
        return "pairs" if kind == "paired" else "domains"
    return "images, labels" if "num_classes" in builder_parameters(name) else "images"


def generates(name: str) -> bool:
    """Whether the registered model `name` samples images (its builder returns a `Generator`)."""
    returns = inspect.signature(get_entry(name).builder).return_annotation
    return isinstance(returns, type) and issubclass(returns, Generator)


def run_config(name: str, args: argparse.Namespace, batch_size: int) -> RunConfig:
    """The run config that trains `name` on the check's data: the image dataset (binarised
    for a Bernoulli likelihood, made into pairs by a transform for a translator, paired
    with itself as the second domain for a CycleGAN) or generated ratings for a
    recommender. The run layer gives labels to conditional models."""
    kind = feed(name)
    if kind == "ratings":
        synthetic = {"num_users": args.users, "num_items": args.items, "density": 0.1, "seed": 0}
        dataset: dict[str, Any] = {"name": "synthetic_ratings", "ratings": {"synthetic": synthetic}}
    else:
        dataset = {"name": args.dataset}
        if args.data_dir:
            dataset["data_dir"] = args.data_dir
        likelihood = builder_parameters(name).get("likelihood")
        if likelihood is not None and likelihood.default == "bernoulli":  # binary pixels only
            dataset["binarize"] = True
        if kind == "pairs":
            dataset["pairs"] = "downsample" if "scale" in builder_parameters(name) else "edges"
        elif kind == "domains":
            dataset["unpaired"] = dict(dataset)
    return RunConfig.from_dict({"model": name, "dataset": dataset, "batch_size": batch_size, "seed": 0})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, with the settings of `FULL` or `QUICK` where none was given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="default: one per family")
    parser.add_argument("--dataset", default="digits", help="an image dataset: digits, mnist, ...")
    parser.add_argument("--data-dir", default=None, help="folder with the dataset's files (MNIST IDX)")
    parser.add_argument("--quick", action="store_true", help="tiny settings, for a CPU")
    parser.add_argument("--steps", type=int, help=f"timed steps per configuration ({FULL['steps']})")
    parser.add_argument("--batch-size", type=int, help=f"per replica ({FULL['batch_size']})")
    parser.add_argument("--samples", type=int, help=f"images per generate call ({FULL['samples']})")
    parser.add_argument("--users", type=int, help=f"users of the generated ratings ({FULL['users']})")
    parser.add_argument("--items", type=int, help=f"items of the generated ratings ({FULL['items']})")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--xla", choices=list(XLA_MODES), default="both")
    parser.add_argument("--split-cpu", type=int, default=0, help="logical CPUs, without GPUs")
    parser.add_argument(
        "--budget-seconds", type=float, default=540.0, help="measure nothing new after this many seconds"
    )
    parser.add_argument("--write", help="replace the section between the script's markers in this file")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.models = args.models or default_models()
    return args


@dataclasses.dataclass
class Training:
    """One training configuration and its result: examples/s, or why there is none."""

    model: str
    precision: str
    xla: bool
    devices: str
    replicas: int
    batch_size: int
    result: float | str = "not run"
    scaling: str = ""


@dataclasses.dataclass
class Sampling:
    """One model's sampling measurement: images/s of `generate`, or why there is none."""

    model: str
    count: int
    result: float | str = "not run"


def ratings_rate(model: RatingsModel, train: RatingsData, steps: int, batch_size: int) -> float:
    """Rows of the ratings matrix per second of the recommender's `fit`, over whole epochs
    of at least `steps` steps after a warm-up epoch."""
    rows = train.num_items if model.example_axis == "items" else train.num_users
    epochs = math.ceil(steps / math.ceil(rows / batch_size))
    model.fit(train, batch_size=batch_size, epochs=1, verbose=0)
    seconds = wall_seconds(lambda: model.fit(train, batch_size=batch_size, epochs=epochs, verbose=0))
    return epochs * rows / seconds


def prepare(
    name: str, args: argparse.Namespace, batch_size: int, strategy: tf.distribute.Strategy
) -> tuple[keras.Model, Any]:
    """A fresh model of `name` built under `strategy` and the data it trains on: the first
    batches of its run's pipeline kept in memory and repeated, in batches of `batch_size`,
    or a recommender's training ratings."""
    config = run_config(name, args, batch_size)
    if is_recommender(name):
        data = load_ratings_data(config)
        with strategy.scope():
            model, _ = build_recommender(config, data)
        return model, data.split.train
    model, _ = build_model(config, strategy=strategy)
    pipeline = load_run_data(config, model).train  # checks the model can train on it
    pool = next(iter(pipeline.unbatch().batch(POOL_BATCHES * batch_size)))
    batches = (
        tf.data.Dataset.from_tensor_slices(pool)
        .repeat()
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    return model, batches


def train_rate(job: Training, strategy: tf.distribute.Strategy, args: argparse.Namespace) -> float:
    """Training examples per second of one configuration (see the module's documentation)."""
    keras.backend.clear_session()
    keras.mixed_precision.set_dtype_policy(job.precision)
    try:
        keras.utils.set_random_seed(0)
        model, data = prepare(job.model, args, job.batch_size, strategy)
        model.jit_compile = job.xla
        if isinstance(data, RatingsData):
            return ratings_rate(model, data, args.steps, job.batch_size)
        return fit_images_per_second(model, data, args.steps, job.batch_size)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def sample_rate(job: Sampling, args: argparse.Namespace) -> float:
    """Images per second of `generate(count, seed=0)` of a fresh float32 model on one
    device, after a warm-up call of the same size."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    config = run_config(job.model, args, args.batch_size)
    model, _ = build_model(config, strategy=get_strategy("onedevice"))
    model.generate(job.count, seed=0)
    return job.count / wall_seconds(lambda: model.generate(job.count, seed=0))


def strategies(args: argparse.Namespace) -> dict[str, tf.distribute.Strategy]:
    """One device, and MirroredStrategy over every GPU or over the `--split-cpu` logical CPUs."""
    if args.split_cpu:
        split_cpu(args.split_cpu)
    chosen = {"one device": get_strategy("onedevice")}
    if tf.config.list_logical_devices("GPU") or args.split_cpu > 1:
        mirrored = get_strategy("mirrored")
        chosen[f"mirrored x{mirrored.num_replicas_in_sync}"] = mirrored
    return chosen


def plan(args: argparse.Namespace, replicas: dict[str, int]) -> tuple[list[Training], list[Sampling]]:
    """Every training configuration (in table order) and every sampling measurement."""
    trainings = [
        Training(name, precision, xla, label, count, args.batch_size * count)
        for name in args.models
        for precision in args.precisions
        for xla in XLA_MODES[args.xla]
        for label, count in replicas.items()
    ]
    samplings = [Sampling(name, args.samples) for name in args.models if generates(name)]
    return trainings, samplings


def priority(job: Training | Sampling, args: argparse.Namespace) -> tuple[int, ...]:
    """When a job runs: the first precision without (the first) XLA mode on one device,
    then sampling, other XLA modes, MirroredStrategy, then the other precisions."""
    model = args.models.index(job.model)
    if isinstance(job, Sampling):
        return (1, 0, 0, model)
    precision = args.precisions.index(job.precision)
    xla = XLA_MODES[args.xla].index(job.xla)
    mirrored = job.devices != "one device"
    tier = 0 if not (precision or xla or mirrored) else 2 + 2 * (precision > 0) + mirrored
    return (tier, precision, xla, model)


def rate_text(result: float | str) -> str:
    """A rate for the table (3 significant digits below 100), or the reason there is none."""
    if isinstance(result, str):
        return result
    return f"{result:,.0f}" if result >= 100 else f"{result:.3g}"


def fill_scaling(trainings: list[Training]) -> None:
    """Each MirroredStrategy rate over its replicas times the one-device rate."""
    one = {(t.model, t.precision, t.xla): t.result for t in trainings if t.devices == "one device"}
    for t in trainings:
        base = one.get((t.model, t.precision, t.xla))
        if t.devices != "one device" and isinstance(t.result, float) and isinstance(base, float):
            t.scaling = f"{t.result / (t.replicas * base):.0%}"


def device_description() -> str:
    """How many GPUs, and which."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "no GPU (CPU only)"
    names = sorted({tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus})
    return f"{len(gpus)} GPU(s): {', '.join(names)}"


def report(
    args: argparse.Namespace,
    argv: Sequence[str],
    trainings: list[Training],
    samplings: list[Sampling],
    seconds: float,
    loads: tuple[float, float],
) -> str:
    """The Markdown section: how it was measured, then the training and sampling tables."""
    command = command_line(__file__, argv, drop=("--write",))
    lines = [
        f"Command: `{command}`. Device: {device_description()}; machine: {machine_note()}; "
        f"{load_note(*loads)}. Data: {args.dataset} images (generated "
        f"ratings of {args.users} users x {args.items} items for recommenders), builder "
        f"defaults, batch {args.batch_size} per replica, {args.steps} timed steps after a "
        f"warm-up epoch; {args.samples} images per generate call. The run took {seconds:.0f} s "
        f"of a {args.budget_seconds:.0f} s budget.",
        "",
        "Training, examples per second:",
        "",
        markdown_table(
            TRAINING_COLUMNS,
            [
                [
                    t.model,
                    get_entry(t.model).family,
                    feed(t.model),
                    t.devices,
                    t.precision,
                    "on" if t.xla else "off",
                    t.batch_size,
                    rate_text(t.result),
                    t.scaling,
                ]
                for t in trainings
            ],
        ),
        "",
        "Sampling, float32 on one device (models that generate images):",
        "",
        markdown_table(
            ["model", "images per call", "images/s"],
            [[s.model, s.count, rate_text(s.result)] for s in samplings],
        ),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> tuple[list[Training], list[Sampling], str]:
    """Measure, print the section, write it where `--write` says; returns the measurements."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started, load_before = time.perf_counter(), load_average()
    chosen = strategies(args)
    trainings, samplings = plan(args, {label: s.num_replicas_in_sync for label, s in chosen.items()})
    longest: dict[tuple[str, type], float] = {}  # the longest job of each model and kind so far
    for job in sorted([*trainings, *samplings], key=lambda job: priority(job, args)):
        begun = time.perf_counter()
        if begun - started + longest.get((job.model, type(job)), 0.0) > args.budget_seconds:
            job.result = SKIPPED
            continue
        try:
            if isinstance(job, Sampling):
                job.result = sample_rate(job, args)
            else:
                job.result = train_rate(job, chosen[job.devices], args)
        except Exception as err:  # report it in the job's row and carry on
            message = " ".join(str(err).split())[:100].replace("|", "/")
            job.result = f"failed: {type(err).__name__}: {message}"
        key = (job.model, type(job))
        longest[key] = max(longest.get(key, 0.0), time.perf_counter() - begun)
        print(f"[{time.perf_counter() - started:5.0f} s] {job}", flush=True)
    fill_scaling(trainings)
    text = report(
        args, argv, trainings, samplings, time.perf_counter() - started, (load_before, load_average())
    )
    print("\n" + text)
    if args.write:
        replace_marked_section(args.write, MARKER_BEGIN, MARKER_END, text)
    return trainings, samplings, text


if __name__ == "__main__":
    main()
