"""The `keras-genzoo` command line: list, train and sample zoo models.

    keras-genzoo list [PATTERN]
    keras-genzoo train MODEL --dataset digits --epochs 40 --out runs/ae_conv_digits
    keras-genzoo train --config zoo_configs/ae_conv_digits.json --out runs/ae_conv_digits
    keras-genzoo sample RUN_DIR_OR_NAME --n 64 --out grid.png

A run directory holds `model.keras`, `metrics.json`, `config.json`, TensorBoard logs
(`logs/`, with image summaries under `logs/images`), checkpoints (`checkpoints/`), and
`reconstructions.png` (models with `reconstruct`) and/or `samples.png` (models with
`generate`). User errors exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import inspect
import json
import math
import os
import sys
import time
from typing import Any, Callable, Iterator, Sequence

import keras
import numpy as np

from keras_genzoo.data import DataNotFoundError, load_dataset
from keras_genzoo import distribute
from keras_genzoo.distribute import STRATEGIES, get_strategy
from keras_genzoo.images import image_grid
from keras_genzoo.loading import RUN_MODEL_FILE, load
from keras_genzoo.registry import (
    UnknownModelError,
    builder_parameters,
    create_model,
    get_entry,
    list_models,
)

PROG = "keras-genzoo"
RUN_DEFAULTS: dict[str, Any] = {
    "model": None,
    "overrides": {},
    "dataset": {"name": "digits"},
    "epochs": 10,
    "batch_size": 64,
    "learning_rate": None,
    "seed": 0,
    "strategy": "auto",
}
CONFIG_KEYS = (*RUN_DEFAULTS, "description")
# load_dataset arguments the trainer sets itself; a config cannot override them.
TRAINER_DATA_ARGS = ("name", "split", "batch_size", "scale", "labels", "shuffle")
# Keras `fit` cannot run under MultiWorkerMirroredStrategy (keras-team/keras#20585), so
# `multiworker` runs train with keras_genzoo.distribute.train and evaluate instead.
CLI_STRATEGIES = STRATEGIES
SCALE_OF_RANGE = {(0.0, 1.0): "unit", (-1.0, 1.0): "symmetric"}
PREVIEW_IMAGES = 32
PREVIEW_COLUMNS = 8
PANEL_GAP = 12  # white pixels between the panels of a reconstructions grid


class UsageError(Exception):
    """A mistake in the command line, a config file or the data: exit status 2."""


@contextlib.contextmanager
def _user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Report `kinds` of exceptions raised inside as usage errors (no traceback)."""
    try:
        yield
    except UsageError:
        raise
    except kinds as err:
        raise UsageError(str(err)) from err


# ------------------------------------------------------------------------ run configs


def parse_overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    """`["latent_dim=16", "filters=[16,32]"]` -> builder overrides (JSON values, else text)."""
    overrides: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(
                f"--set expects KEY=VALUE with a builder argument name as KEY, got {pair!r} "
                "(e.g. --set latent_dim=16 or --set filters=[16,32])."
            )
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


def _unknown_keys(keys: Sequence[str], allowed: Sequence[str], where: str) -> None:
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(
            f"Unknown {where} {', '.join(hints)}. Allowed: {', '.join(allowed)}."
        )


def _check_positive_int(config: dict[str, Any], key: str) -> None:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{key} must be a positive integer, got {value!r}.")


def dataset_options() -> list[str]:
    """Dataset options a run config may set (`load_dataset` arguments besides the trainer's)."""
    return [p for p in inspect.signature(load_dataset).parameters if p not in TRAINER_DATA_ARGS]


def normalize_run_config(config: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults into a run config and check its keys, types and names.

    A run config is a dict (the JSON files in `zoo_configs/`) with `model`, builder
    `overrides`, `dataset` (a name or `{"name": ..., <load_dataset options>}`), `epochs`,
    `batch_size`, `learning_rate`, `seed`, `strategy` and an optional `description`.
    """
    if not isinstance(config, dict):
        raise UsageError(f"A run config is a JSON object, got {type(config).__name__}.")
    _unknown_keys(list(config), CONFIG_KEYS, "run config key")
    merged = {**RUN_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    if not isinstance(merged["model"], str) or not merged["model"]:
        raise UsageError(
            "No model given: name one (e.g. `keras-genzoo train ae_conv`) or set \"model\" "
            "in the --config file. See `keras-genzoo list`."
        )
    with _user_errors(UnknownModelError):
        params = builder_parameters(merged["model"])
    overrides = merged["overrides"]
    if not isinstance(overrides, dict):
        raise UsageError(f"overrides must be a JSON object of builder arguments, got {overrides!r}.")
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes_any:
        _unknown_keys(list(overrides), list(params), f"argument of model {merged['model']!r}:")
    merged["overrides"] = dict(overrides)
    dataset = merged["dataset"]
    dataset = {"name": dataset} if isinstance(dataset, str) else dataset
    if not isinstance(dataset, dict) or not isinstance(dataset.get("name"), str):
        raise UsageError(f"dataset must be a name or an object with a \"name\", got {dataset!r}.")
    _unknown_keys([k for k in dataset if k != "name"], dataset_options(), "dataset option")
    merged["dataset"] = dict(dataset)
    _check_positive_int(merged, "epochs")
    _check_positive_int(merged, "batch_size")
    rate = merged["learning_rate"]
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise UsageError(f"learning_rate must be a positive number, got {rate!r}.")
        if "learning_rate" not in params and not takes_any:
            raise UsageError(f"Model {merged['model']!r} has no learning_rate argument.")
    if isinstance(merged["seed"], bool) or not isinstance(merged["seed"], int):
        raise UsageError(f"seed must be an integer, got {merged['seed']!r}.")
    if merged["strategy"] not in CLI_STRATEGIES:
        _unknown_keys([str(merged["strategy"])], CLI_STRATEGIES, "strategy")
    return merged


def load_run_config(path: str) -> dict[str, Any]:
    """Read and normalise a JSON run config file."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"Config file {path!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"Could not read config file {path!r}: {err}.") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"Config file {path!r} is not valid JSON: {err}.") from None
    try:
        return normalize_run_config(config)
    except UsageError as err:
        raise UsageError(f"{path}: {err}") from None


def _config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The run config of a `train` command: defaults < --config file < flags."""
    config: dict[str, Any] = {}
    if args.config:
        config = load_run_config(args.config)
    flags = {
        "model": args.model,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "strategy": args.strategy,
    }
    config.update({k: v for k, v in flags.items() if v is not None})
    dataset = config.get("dataset", RUN_DEFAULTS["dataset"])
    dataset = {"name": dataset} if isinstance(dataset, str) else dict(dataset)
    if args.dataset is not None:
        dataset["name"] = args.dataset
    if args.data_dir is not None:
        dataset["data_dir"] = args.data_dir
    config["dataset"] = dataset
    config["overrides"] = {**config.get("overrides", {}), **parse_overrides(args.set)}
    return normalize_run_config(config)


# --------------------------------------------------------------------------- training


def _as_numpy(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _split_element(element: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(images, target images, labels) of a dataset element; absent parts are None."""
    if isinstance(element, (tuple, list)):
        inputs = _as_numpy(element[0])
        second = _as_numpy(element[1]) if len(element) > 1 else None
        if second is not None and second.shape == inputs.shape:
            return inputs, second, None
        return inputs, None, second
    return _as_numpy(element), None, None


def _collect(dataset: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(inputs, targets, labels or None) of every image in a dataset.

    Targets are the inputs themselves unless the dataset yields (input, target) pairs.
    """
    inputs, targets, labels = [], [], []
    for element in dataset:
        x, y, label = _split_element(element)
        inputs.append(x)
        targets.append(x if y is None else y)
        if label is not None:
            labels.append(label)
    if not inputs:
        raise UsageError(
            "The held-out split is empty; raise the dataset's holdout_fraction or add data."
        )
    return np.concatenate(inputs), np.concatenate(targets), (
        np.concatenate(labels) if labels else None
    )


def _reconstruct(model: keras.Model, images: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """The model's reconstructions; conditional models also get the images' labels."""
    if labels is not None and getattr(model, "is_conditional", False):
        return np.asarray(model.reconstruct(images, labels=labels))
    return np.asarray(model.reconstruct(images))


def _grid_scale(images: np.ndarray) -> int:
    return max(1, 64 // max(int(images.shape[1]), 1))


def preview_grids(
    model: keras.Model,
    inputs: np.ndarray,
    targets: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    seed: int = 0,
    num_classes: int | None = None,
) -> dict[str, np.ndarray]:
    """uint8 image grids showing what `model` does: reconstructions and/or samples.

    The reconstructions grid puts panels side by side, tile for tile: the original
    images (the clean targets), the model's inputs when they differ (noisy pairs, or the
    noise a denoising model adds itself), then the model's reconstructions.
    """
    value_range = getattr(model, "value_range", (0.0, 1.0))
    grids = {}
    if hasattr(model, "reconstruct"):
        panels = [targets]
        if not np.array_equal(inputs, targets):
            panels.append(inputs)
        elif hasattr(model, "corrupt"):
            panels.append(model.corrupt(inputs, seed=seed))
        panels.append(_reconstruct(model, panels[-1], labels))
        scale = _grid_scale(targets)
        tiles = [
            image_grid(panel, value_range, ncols=PREVIEW_COLUMNS // 2, scale=scale, padding=2)
            for panel in panels
        ]
        gap = np.full((tiles[0].shape[0], PANEL_GAP, tiles[0].shape[2]), 255, np.uint8)
        grids["reconstructions"] = np.concatenate(
            [part for tile in tiles for part in (tile, gap)][:-1], axis=1
        )
    if hasattr(model, "generate"):
        conditional = getattr(model, "is_conditional", False)
        ncols = num_classes if conditional and num_classes and num_classes <= 16 else 8
        samples = model.generate(ncols * max(1, 64 // ncols), seed=seed)
        grids["samples"] = image_grid(
            samples, value_range, ncols=ncols, scale=_grid_scale(samples), padding=2
        )
    return grids


class ImageSummaries(keras.callbacks.Callback):
    """Writes preview grids as TensorBoard image summaries after every epoch."""

    def __init__(self, log_dir: str, make_grids: Callable[[], dict[str, np.ndarray]]) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.make_grids = make_grids
        self._writer = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import tensorflow as tf

        with self._writer.as_default():
            for tag, grid in self.make_grids().items():
                tf.summary.image(tag, grid[None], step=epoch)
        self._writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._writer.close()


def _reconstruction_report(
    model: keras.Model, train_ds: Any, test_inputs: np.ndarray, test_targets: np.ndarray,
    test_labels: np.ndarray | None, seed: int,
) -> dict[str, Any]:
    """Held-out reconstruction error next to the error of predicting the mean image."""
    total, count = 0.0, 0
    for element in train_ds:
        x, y, _ = _split_element(element)
        target = x if y is None else y
        total = total + target.astype(np.float64).sum(axis=0)
        count += len(target)
    mean_image = total / count
    reconstructions = _reconstruct(model, test_inputs, test_labels)
    mse = float(np.mean((reconstructions - test_targets) ** 2))
    baseline = float(np.mean((mean_image - test_targets) ** 2))
    report = {
        "num_images": int(len(test_inputs)),
        "mse": mse,
        "mean_image_mse": baseline,
        "ratio_to_mean_image": mse / baseline,
    }
    if hasattr(model, "corrupt") and np.array_equal(test_inputs, test_targets):
        noisy = model.corrupt(test_targets, seed=seed)
        denoised = _reconstruct(model, noisy, test_labels)
        report["denoising"] = {
            "noisy_input_mse": float(np.mean((noisy - test_targets) ** 2)),
            "denoised_mse": float(np.mean((denoised - test_targets) ** 2)),
        }
    return report


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:  # keras objects given as overrides (e.g. a loss instance)
        return keras.saving.serialize_keras_object(value)
    except Exception:  # noqa: BLE001 - anything else is recorded by its repr
        return repr(value)


def _write_png(grid: np.ndarray, path: str) -> str:
    from PIL import Image

    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return path


def run_training(config: dict[str, Any], out_dir: str, *, verbose: int = 1) -> dict[str, Any]:
    """Train the model of a run config and write a run directory; returns metrics.json's data.

    Data and model errors found before training starts raise `UsageError`.
    """
    config = normalize_run_config(config)
    with _user_errors(ValueError, TypeError, RuntimeError):
        # First of all: the multiworker strategy must exist before any TensorFlow work.
        strategy = get_strategy(config["strategy"])
    multiworker = config["strategy"] == "multiworker"
    backup_dir = os.path.join(out_dir, "backup")  # the chief's, which every worker restores
    if multiworker and not distribute.is_chief():
        out_dir = os.path.join(out_dir, "workers", distribute.task_name())
    name, seed = config["model"], config["seed"]
    keras.utils.set_random_seed(seed)
    data_options = {k: v for k, v in config["dataset"].items() if k != "name"}
    dataset_name = config["dataset"]["name"]
    with _user_errors(DataNotFoundError, FileNotFoundError, ValueError, TypeError):
        _, probe = load_dataset(dataset_name, "train", batch_size=config["batch_size"], **data_options)

    params = builder_parameters(name)
    arguments = dict(config["overrides"])
    if "image_shape" in params:
        arguments.setdefault("image_shape", tuple(probe.image_shape))
    if "num_classes" in params:
        arguments.setdefault("num_classes", probe.num_classes)
    if config["learning_rate"] is not None:
        arguments["learning_rate"] = config["learning_rate"]
    with _user_errors(ValueError, TypeError):
        with strategy.scope():
            model = create_model(name, **arguments)

    value_range = tuple(float(v) for v in getattr(model, "value_range", (0.0, 1.0)))
    if value_range not in SCALE_OF_RANGE:
        raise UsageError(
            f"Model {name!r} works on pixels in {list(value_range)}; the trainer can feed "
            "[0, 1] or [-1, 1] data. Build it with one of those value ranges."
        )
    conditional = bool(getattr(model, "is_conditional", False))
    load_options = dict(
        batch_size=config["batch_size"], scale=SCALE_OF_RANGE[value_range], labels=conditional,
        **{"seed": seed, **data_options},
    )
    with _user_errors(DataNotFoundError, FileNotFoundError, ValueError, TypeError):
        train_ds, train_info = load_dataset(dataset_name, "train", **load_options)
        test_ds, test_info = load_dataset(dataset_name, "test", shuffle=False, **load_options)
        if hasattr(model, "check_training_data"):
            model.check_training_data(train_ds)
    test_inputs, test_targets, test_labels = _collect(test_ds)

    os.makedirs(out_dir, exist_ok=True)
    log_dir = os.path.join(out_dir, "logs")
    checkpoint_dir = os.path.join(out_dir, "checkpoints")
    os.makedirs(checkpoint_dir, exist_ok=True)

    def make_grids() -> dict[str, np.ndarray]:
        return preview_grids(
            model, test_inputs[:PREVIEW_IMAGES], test_targets[:PREVIEW_IMAGES],
            None if test_labels is None else test_labels[:PREVIEW_IMAGES],
            seed=seed, num_classes=test_info.num_classes,
        )

    callbacks = [
        keras.callbacks.TensorBoard(log_dir, write_graph=False),
        ImageSummaries(os.path.join(log_dir, "images"), make_grids),
        keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "last.keras")),
    ]
    started = time.perf_counter()
    if multiworker:  # each worker backs up after every epoch; a restarted job resumes
        history = distribute.train(
            model, train_ds, epochs=config["epochs"], verbose=verbose, backup_dir=backup_dir
        ).history
    else:
        history = model.fit(
            train_ds, epochs=config["epochs"], validation_data=test_ds, callbacks=callbacks,
            verbose=verbose,
        ).history
    train_seconds = time.perf_counter() - started
    if multiworker:
        evaluation = distribute.evaluate(model, test_ds)
    else:
        evaluation = model.evaluate(test_ds, verbose=0, return_dict=True)
    model.save(os.path.join(out_dir, RUN_MODEL_FILE))

    artifacts = {"model": RUN_MODEL_FILE, "logs": "logs", "checkpoints": "checkpoints"}
    for tag, grid in make_grids().items():
        artifacts[tag] = os.path.basename(_write_png(grid, os.path.join(out_dir, f"{tag}.png")))
    metrics: dict[str, Any] = {
        "model": name,
        "family": get_entry(name).family,
        "config": config,
        "builder_arguments": arguments,
        "dataset": {
            "train": dataclasses.asdict(train_info),
            "test": dataclasses.asdict(test_info),
        },
        "history": history,
        "evaluation": evaluation,
        "train_seconds": train_seconds,
        "artifacts": artifacts,
    }
    if hasattr(model, "reconstruct"):
        metrics["reconstruction"] = _reconstruction_report(
            model, train_ds, test_inputs, test_targets, test_labels, seed
        )
    metrics = _jsonable(metrics)
    with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(metrics["config"], f, indent=2)
    return metrics


# --------------------------------------------------------------------------- commands


def _cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.pattern)
    if not names:
        print(f"No registered model matches {args.pattern!r}. Try `{PROG} list`.", file=sys.stderr)
        return 1
    entries = [get_entry(n) for n in names]
    name_width = max(len("NAME"), *(len(e.name) for e in entries))
    family_width = max(len("FAMILY"), *(len(e.family) for e in entries))
    print(f"{'NAME':<{name_width}}  {'FAMILY':<{family_width}}  SUMMARY")
    for entry in entries:
        print(f"{entry.name:<{name_width}}  {entry.family:<{family_width}}  {entry.summary}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    metrics = run_training(config, args.out)
    print(f"\nRun directory {args.out}:")
    for what, path in metrics["artifacts"].items():
        print(f"  {what:<16} {os.path.join(args.out, path)}")
    evaluation = ", ".join(f"{k}={v:.4g}" for k, v in metrics["evaluation"].items())
    print(f"  held-out         {evaluation}")
    if "reconstruction" in metrics:
        rec = metrics["reconstruction"]
        print(
            f"  reconstruction   mse={rec['mse']:.4g} vs mean image {rec['mean_image_mse']:.4g} "
            f"(ratio {rec['ratio_to_mean_image']:.3f})"
        )
    return 0


def _parse_labels(text: str | None, n: int) -> list[int] | None:
    if text is None:
        return None
    try:
        labels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--labels takes comma-separated class ids like 0,1,2, got {text!r}.") from None
    if not labels:
        raise UsageError("--labels needs at least one class id.")
    return [labels[i % len(labels)] for i in range(n)]


def _cmd_sample(args: argparse.Namespace) -> int:
    if not os.path.splitext(args.out)[1]:
        raise UsageError(f"--out must be an image file name such as grid.png, got {args.out!r}.")
    overrides = parse_overrides(args.set)
    with _user_errors(UnknownModelError, FileNotFoundError, ValueError, TypeError):
        model = load(args.run_or_name, **overrides)
    if not hasattr(model, "generate"):
        raise UsageError(
            f"{args.run_or_name!r} loads a {type(model).__name__}, which has no generate() "
            "and cannot sample. Autoencoders show reconstructions instead: see "
            "reconstructions.png in their run directory."
        )
    labels = _parse_labels(args.labels, args.n)
    with _user_errors(ValueError):
        images = model.generate(args.n, labels=labels, seed=args.seed)
    value_range = getattr(model, "value_range", (0.0, 1.0))
    directory = os.path.dirname(args.out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    conditional = getattr(model, "is_conditional", False)
    num_classes = getattr(model, "num_classes", None)
    ncols = num_classes if conditional and labels is None and num_classes and num_classes <= 16 else None
    grid = image_grid(images, value_range, ncols=ncols, scale=_grid_scale(images), padding=2)
    with _user_errors(ValueError, OSError):
        _write_png(grid, args.out)
    print(f"Wrote {args.n} samples to {args.out}")
    return 0


# ----------------------------------------------------------------------------- parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of `keras-genzoo`."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Train and sample generative models from the keras_genzoo zoo."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="list registered models")
    listing.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'ae_*'")
    listing.set_defaults(handler=_cmd_list)

    train = commands.add_parser(
        "train", help="train a model and write a run directory",
        description="Train a registered model; flags override the --config file.",
    )
    train.add_argument("model", nargs="?", help="registered model name (see `list`)")
    train.add_argument("--out", required=True, help="run directory to write")
    train.add_argument("--config", help="JSON run config, e.g. zoo_configs/ae_conv_digits.json")
    train.add_argument("--dataset", help="dataset name or folder (default: digits)")
    train.add_argument("--data-dir", help="folder holding the dataset's files")
    train.add_argument("--epochs", type=_positive, help="training epochs (default: 10)")
    train.add_argument("--batch-size", type=_positive, help="batch size (default: 64)")
    train.add_argument("--learning-rate", type=_positive_float, help="optimizer learning rate")
    train.add_argument("--seed", type=int, help="random seed (default: 0)")
    train.add_argument(
        "--strategy", choices=CLI_STRATEGIES, help="tf.distribute strategy (default: auto)"
    )
    train.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="builder argument override, JSON value (repeatable): --set latent_dim=16",
    )
    train.set_defaults(handler=_cmd_train)

    sample = commands.add_parser("sample", help="write a grid of generated images")
    sample.add_argument("run_or_name", help="run directory, .keras file or registered name")
    sample.add_argument("--n", type=_positive, default=64, help="number of images (default: 64)")
    sample.add_argument("--out", default="samples.png", help="PNG file to write")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    sample.add_argument("--labels", help="class ids for conditional models, cycled: 0,1,2")
    sample.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="builder override when sampling a fresh model by name (repeatable)",
    )
    sample.set_defaults(handler=_cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `keras-genzoo` with `argv` (default: the process arguments); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    try:
        return args.handler(args)
    except (UsageError, UnknownModelError) as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
