"""The `keras-genzoo` command line: list, train, sample, evaluate and tune zoo models and presets.

    keras-genzoo list [PATTERN]
    keras-genzoo presets [PATTERN] [--markdown]
    keras-genzoo build-presets [PATTERN] --mnist-dir DIR [--presets-dir pretrained]
    keras-genzoo train MODEL --dataset digits --epochs 40 --out runs/ae_conv_digits
    keras-genzoo train dcgan --dataset path/to/images --steps 3000 --out runs/gan
    keras-genzoo train --config zoo_configs/ae_conv_digits.json --out runs/ae --preset-out my_ae
    keras-genzoo sample RUN_DIR_OR_NAME_OR_PRESET --n 64 --out grid.png
    keras-genzoo evaluate RUN_DIR_OR_PRESET
    keras-genzoo tune vae_conv --dataset digits --max-trials 10 --epochs 5 --directory tuning
    keras-genzoo compress RUN_DIR_OR_PRESET images/ compressed/
    keras-genzoo decompress RUN_DIR_OR_PRESET compressed/ decoded/
    keras-genzoo translate MODEL.keras_OR_RUN_OR_PRESET --input sketches/ --out pictures/
    keras-genzoo --version

Argument parsing only: training, evaluation and the run directory's files are the run
layer's (`keras_genzoo.training`). User errors exit with status 2 and a one-line message;
training that diverges, metrics that do not reproduce, and failures of the file system
exit with status 1; Ctrl-C exits with status 130 and no traceback (`train` says
how to `--resume`). Every command takes `-v`/`--verbose`, repeatable, with the levels of
`keras_genzoo.core.quiet`: none shows the package's own progress and the warnings that
matter; `-v` adds Keras' progress bars and the libraries' warnings; `-vv` adds
TensorFlow's start-up and C++ log lines. `--verbose N` and `--verbose=N` mean N times `-v`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import sys
import warnings
from typing import Any, Sequence

from keras_genzoo.core.capabilities import Generator, Translator
from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.core.quiet import apply_verbosity
from keras_genzoo.core.registry import UnknownModelError, get_entry, list_models
from keras_genzoo.core.version import VERSION
from keras_genzoo.io.images import save_images
from keras_genzoo.loading import load
from keras_genzoo.models.translation import translate_folder
from keras_genzoo.models.vqvae import VQVAE, compress_folder, decompress_folder
from keras_genzoo.presets import (
    catalog,
    flat_metrics,
    list_presets,
    markdown_table,
    missing_presets,
    preset_summary,
    save_preset,
    undeclared_presets,
)
from keras_genzoo.training import (
    DEFAULT_DATASET,
    DEFAULT_RUNS_DIR,
    RunConfig,
    RunError,
    build_presets,
    evaluate_run,
    load_run_config,
    parse_overrides,
    read_run_config,
    recorded_metrics,
    reproduction_verdict,
    reraised_as,
    train_run,
)
from keras_genzoo.training.distribute import STRATEGIES
from keras_genzoo.training.divergence import TrainingDiverged
from keras_genzoo.training.interrupt import TrainingInterrupted
from keras_genzoo.tuning import DEFAULT_MAX_PARAMS, TUNERS, SearchInterrupted, tune

PROG = "keras-genzoo"
_SKIP_BAD = "--skip-bad-images"
_SKIP_BAD_HELP = "leave out unreadable image files of a folder, with a warning naming them"
_VERBOSE_HELP = (
    "more output, repeatable: -v adds Keras' progress bars and library warnings, -vv also "
    "TensorFlow's own log lines"
)
_VERBOSE_NUMBER = re.compile(r"^--verbose(?:=(\d+))?$")


class UsageError(Exception):
    """A mistake on the command line: exit status 2."""


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run config of a `train` command: defaults < --config file < flags.

    `--resume` without a model or --config continues the run directory's own config.
    """
    config: dict[str, Any] = {}
    if args.config:
        config = load_run_config(args.config).to_dict()
    elif getattr(args, "resume", False) and args.model is None:
        if not os.path.isdir(args.out):
            raise UsageError(
                f"--resume: there is no run in {args.out!r} to continue (no such folder). "
                f"Start one with `{PROG} train MODEL --out {args.out}`, or check the --out path."
            )
        config = read_run_config(args.out).to_dict()
    steps = getattr(args, "steps", None)
    if steps is not None and args.epochs is not None:
        raise UsageError("Pass either --epochs or --steps, not both: --steps sets the run's length.")
    if args.epochs is not None:
        config.pop("steps", None)  # the flag replaces a length the config file gives
    flags = {
        "model": args.model,
        "steps": steps,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "strategy": args.strategy,
    }
    config.update({k: v for k, v in flags.items() if v is not None})
    dataset = config.get("dataset", {"name": DEFAULT_DATASET})
    if args.dataset is not None:
        dataset["name"] = args.dataset
    if args.data_dir is not None:
        dataset["data_dir"] = args.data_dir
    if getattr(args, "skip_bad_images", False):
        dataset["skip_bad_images"] = True
    config["dataset"] = dataset
    config["overrides"] = {**config.get("overrides", {}), **parse_overrides(args.set)}
    return RunConfig.from_dict(config)


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
    config = config_from_args(args)
    if args.preset_out and os.path.isdir(args.preset_out) and os.listdir(args.preset_out):
        raise UsageError(f"--preset-out {args.preset_out!r} exists and is not empty; pick a new folder.")
    try:
        metrics = train_run(config, args.out, resume=args.resume, overwrite=args.overwrite)
    except TrainingInterrupted as err:
        if err.completed:
            hint = f"Continue with: {resume_command(args.argv)}"
        else:
            hint = "No epoch was finished; run the command again to start over."
        print(f"{PROG} train: {err} {hint}", file=sys.stderr)
        return 130
    print(f"\nRun directory {args.out}:")
    for what, path in metrics["artifacts"].items():
        print(f"  {what:<16} {os.path.join(args.out, path)}")
    if "evaluation" in metrics:
        evaluation = ", ".join(f"{k}={v:.4g}" for k, v in metrics["evaluation"].items())
        print(f"  held-out         {evaluation}")
    if "ratings" in metrics:
        print(f"  held-out         {_ratings_line(metrics['ratings'])}")
        for name, scores in metrics["ratings"].get("baselines", {}).items():
            print(f"    baseline {name:<24} {_ratings_line(scores)}")
    if "reconstruction" in metrics:
        rec = metrics["reconstruction"]
        print(
            f"  reconstruction   mse={rec['mse']:.4g} vs mean image {rec['mean_image_mse']:.4g} "
            f"(ratio {rec['ratio_to_mean_image']:.3f})"
        )
    if "translation" in metrics:
        scores = ", ".join(f"{k}={v:.4g}" for k, v in metrics["translation"].items() if k != "num_images")
        print(f"  translation      {scores} ({metrics['translation']['num_images']} held-out images)")
    for name, value in metrics.get("scores", {}).items():
        print(f"  {name:<16} {value:.4g}")
    if args.preset_out:
        with reraised_as(UsageError, ValueError, OSError):
            metadata = save_preset(
                load(args.out), args.preset_out, run=metrics, command=args.command_line,
                zoo_config=args.config, description=config.description or "",
            )
        print(f"  preset           {args.preset_out} ({metadata['weights']['bytes']} bytes, "
              f"sha256 {metadata['weights']['sha256'][:12]}...)")
    return 0


def _ratings_line(scores: dict) -> str:
    """The measures of a recommender (or a baseline) in one line: `rmse=0.91, mae=0.72`."""
    return ", ".join(f"{k}={v:.4g}" for k, v in scores.items()
                     if isinstance(v, float) and not k.startswith("num_"))


def resume_command(argv: Sequence[str]) -> str:
    """The `train` command that resumes the run of `argv` (the same flags, --resume
    instead of --overwrite)."""
    kept = [arg for arg in argv if arg != "--overwrite"]
    return shlex.join([PROG, *kept, *([] if "--resume" in kept else ["--resume"])])


def _format_bytes(size: int | None) -> str:
    if size is None:
        return "?"
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


def _report_unlisted(pattern: str | None) -> None:
    """Name the declared presets that are not built and the built ones nobody declares."""
    missing, undeclared = missing_presets(pattern), undeclared_presets(pattern)
    if missing:
        print(f"Declared but not built (nothing in {catalog.PRESETS_DIR}): {', '.join(missing)}. "
              f"Build them with `{PROG} build-presets PATTERN`.", file=sys.stderr)
    if undeclared:
        print(f"Not listed, declared by no family: {', '.join(undeclared)} (in "
              f"{catalog.PRESETS_DIR}).", file=sys.stderr)


def _cmd_presets(args: argparse.Namespace) -> int:
    names = list_presets(args.pattern)
    _report_unlisted(args.pattern)
    if not names:
        print(f"No shipped preset matches {args.pattern!r}. Try `{PROG} presets`.", file=sys.stderr)
        return 1
    if args.markdown:
        print(markdown_table(names))
        return 0
    rows = [("NAME", "METRIC", "VALUE", "SIZE", "DATA")]
    for name in names:
        info = preset_summary(name)
        value = "-" if info["value"] is None else f"{info['value']:.4g}"
        rows.append((name, info["metric"] or "-", value, _format_bytes(info["bytes"]), info["data"]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def _data_dirs(args: argparse.Namespace) -> dict[str, str]:
    pairs = {}
    for pair in args.data_dir or ():
        dataset, sep, folder = pair.partition("=")
        if not sep or not dataset or not folder:
            raise UsageError(f"--data-dir takes DATASET=DIR, e.g. mnist=../mnist, got {pair!r}.")
        pairs[dataset] = folder
    if args.mnist_dir:
        pairs["mnist"] = args.mnist_dir
    return pairs


def _cmd_build_presets(args: argparse.Namespace) -> int:
    written = build_presets(
        args.pattern, data_dirs=_data_dirs(args), presets_dir=args.presets_dir,
        runs_dir=args.runs_dir, source_dir=args.source_dir, quick=args.quick,
        overwrite=args.overwrite,
    )
    print(f"Built {len(written)} preset(s) into {args.presets_dir}.")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    with reraised_as(UsageError, FileNotFoundError, ValueError):
        recorded = flat_metrics(recorded_metrics(args.source))
        recomputed = flat_metrics(
            evaluate_run(args.source, data_dir=args.data_dir)
        )
    width = max(len("METRIC"), *(len(k) for k in recomputed))
    print(f"{'METRIC':<{width}}  {'RECORDED':>12}  {'RECOMPUTED':>12}  REL. DIFF")
    for name, value in recomputed.items():
        old = recorded.get(name)
        if old is None:
            print(f"{name:<{width}}  {'-':>12}  {value:>12.6g}  -")
            continue
        diff = abs(value - old) / max(abs(old), 1e-12)
        print(f"{name:<{width}}  {old:>12.6g}  {value:>12.6g}  {diff:.2e}")
    reproduced, verdict = reproduction_verdict(recorded, recomputed)
    print(verdict)
    return 0 if reproduced else 1


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
    with reraised_as(UsageError, UnknownModelError, FileNotFoundError, ValueError, TypeError):
        model = load(args.run_or_name, **overrides)
    if not isinstance(model, Generator):
        raise UsageError(
            f"{args.run_or_name!r} loads a {type(model).__name__}, which has no generate() "
            "and cannot sample. Autoencoders show reconstructions instead: see "
            "reconstructions.png in their run directory."
        )
    if _untrained(args.run_or_name) and not args.untrained:
        raise UsageError(_untrained_refusal(args.run_or_name))
    labels = _parse_labels(args.labels, args.n)
    with reraised_as(UsageError, ValueError):
        images = model.generate(args.n, labels=labels, seed=args.seed)
    directory = os.path.dirname(args.out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    num_classes = model.num_classes
    cycled = model.is_conditional and labels is None and num_classes <= 16
    with reraised_as(UsageError, ValueError, OSError):
        save_images(images, args.out, columns=num_classes if cycled else None,
                    value_range=model.value_range)
    print(f"Wrote {args.n} samples to {args.out}")
    return 0


def _untrained(source: str) -> bool:
    """Whether `load(source)` gives a freshly built model: a registered name, not a path."""
    return source in list_models() and not os.path.exists(source)


def _untrained_refusal(name: str) -> str:
    shipped = list_presets(f"{name}.*")
    if shipped:
        where = (f"Its presets: {', '.join(shipped)} (e.g. `{PROG} sample {shipped[0]}`)")
    else:
        where = f"It has no preset; all presets: {', '.join(list_presets()) or 'none'}"
    return (
        f"{name!r} names a model, not trained weights: its samples would come from random "
        f"weights. {where}; or train one with `{PROG} train {name} --out runs/{name}` and "
        f"sample that folder. Pass --untrained to sample the untrained model on purpose."
    )


def _compressor(source: str) -> VQVAE:
    if _untrained(source):
        raise UsageError(
            f"{source!r} names a model, not trained weights: its codes would mean nothing. "
            f"Train one with `{PROG} train {source} --out runs/{source}` and pass that folder."
        )
    with reraised_as(UsageError, UnknownModelError, FileNotFoundError, ValueError, TypeError):
        model = load(source)
    if not isinstance(model, VQVAE):
        raise UsageError(
            f"{source!r} loads a {type(model).__name__}; compression needs a VQ-VAE (vqvae, "
            "vqvae_conditional) trained with `keras-genzoo train`."
        )
    return model


def _cmd_compress(args: argparse.Namespace) -> int:
    model = _compressor(args.model)
    with reraised_as(UsageError, FileNotFoundError, FileExistsError, ValueError):
        written = compress_folder(
            model, args.input, args.output, resize_mode=args.resize_mode, overwrite=args.overwrite
        )
    total = sum(os.path.getsize(path) for path in written)
    print(f"Compressed {len(written)} images into {args.output} ({total} bytes, "
          f"{8 * total / len(written):.0f} bits per image)")
    return 0


def _cmd_decompress(args: argparse.Namespace) -> int:
    model = _compressor(args.model)
    with reraised_as(UsageError, FileNotFoundError, FileExistsError, ValueError):
        written = decompress_folder(model, args.input, args.output, overwrite=args.overwrite)
    print(f"Decompressed {len(written)} images into {args.output}")
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    if _untrained(args.model):
        raise UsageError(
            f"{args.model!r} names a model, not trained weights: its translations would come "
            "from random weights. Pass a trained model: a .keras file, a run directory or a "
            "preset."
        )
    with reraised_as(UsageError, UnknownModelError, FileNotFoundError, ValueError, TypeError):
        model = load(args.model)
    if not isinstance(model, Translator):
        raise UsageError(
            f"{args.model!r} loads a {type(model).__name__}, which does not translate images; "
            "translate with a super_resolution, srgan, pix2pix or cyclegan model."
        )
    with reraised_as(UsageError, FileNotFoundError, FileExistsError, ValueError):
        written = translate_folder(
            model, args.input, args.out, direction=args.direction, seed=args.seed,
            resize_mode=args.resize_mode, overwrite=args.overwrite,
        )
    print(f"Translated {len(written)} images into {args.out}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    # --set pins hyperparameters and --strategy distributes each trial, so neither goes
    # into the base run config.
    # --epochs goes to tune on its own: the config's epochs are the recipe's length, which
    # best_config.json trains when the search's epochs are shorter.
    base = config_from_args(
        argparse.Namespace(**{**vars(args), "set": None, "strategy": None, "epochs": None}))
    max_params = None if args.max_params == 0 else int(args.max_params)
    try:
        result = tune(
            config=base, tuner=args.tuner, max_trials=args.max_trials, objective=args.objective,
            directory=args.directory, project_name=args.project_name,
            overrides=parse_overrides(args.set), distribution_strategy=args.strategy,
            distributed=args.distributed or 0, overwrite=args.overwrite, timeout=args.timeout,
            validation_fraction=args.validation_fraction, max_params=max_params,
            epochs=args.epochs,
            verbose=min(2, 1 + args.verbose),
        )
    except SearchInterrupted as stop:
        print(f"{PROG} tune: interrupted; {stop.finished} finished trial(s) kept in "
              f"{stop.project_dir}. To resume, run the same command again.", file=sys.stderr)
        return 130
    print(result.format_table())
    print(f"\n{result.summary()}")
    print(f"  results table    {result.results_path}")
    print(f"  best config      {result.best_config_path}")
    print(f"  train it with    {PROG} train --config {result.best_config_path} --out RUN_DIR")
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
        prog=PROG,
        description="Train, sample and evaluate generative models and presets from the keras_genzoo zoo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="list registered models")
    listing.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'ae_*'")
    _add_verbose(listing)
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
    train.add_argument(_SKIP_BAD, action="store_true", help=_SKIP_BAD_HELP)
    train.add_argument("--epochs", type=_positive, help="training epochs (default: 10)")
    train.add_argument(
        "--steps", type=_positive, metavar="N",
        help="train for N optimizer steps instead (whole epochs, rounded up); the same "
        "length on a small folder as on a large dataset",
    )
    train.add_argument("--batch-size", type=_positive, help="batch size (default: 64)")
    train.add_argument("--learning-rate", type=_positive_float, help="optimizer learning rate")
    train.add_argument("--seed", type=int, help="random seed (default: 0)")
    train.add_argument(
        "--strategy", choices=STRATEGIES, help="tf.distribute strategy (default: auto)"
    )
    train.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="builder argument override, JSON value (repeatable): --set latent_dim=16",
    )
    train.add_argument(
        "--preset-out", metavar="DIR",
        help="also publish the trained model as a preset directory (config, weights, metadata)",
    )
    existing = train.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", action="store_true",
        help="continue the run in --out from its last completed epoch",
    )
    existing.add_argument(
        "--overwrite", action="store_true", help="replace the run in --out"
    )
    _add_verbose(train)
    train.set_defaults(handler=_cmd_train)

    presets = commands.add_parser("presets", help="list shipped presets with their headline metric")
    presets.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'vae*'")
    presets.add_argument("--markdown", action="store_true",
                         help="print the presets table of the README and docs/BENCHMARKS.md")
    _add_verbose(presets)
    presets.set_defaults(handler=_cmd_presets)

    builder = commands.add_parser(
        "build-presets", help="train the declared presets from their zoo configs",
        description="Train every declared preset matching PATTERN from its zoo config (run "
        "from the source tree) and write it into --presets-dir; one run directory each "
        "in --runs-dir. Existing presets are replaced only with --overwrite.",
    )
    builder.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'vae_conv.*'")
    builder.add_argument("--mnist-dir", help="folder of MNIST IDX files (presets trained on mnist)")
    builder.add_argument("--data-dir", action="append", metavar="DATASET=DIR",
                         help="files of another dataset a preset trains on (repeatable)")
    builder.add_argument("--presets-dir", default="pretrained", help="default: pretrained")
    builder.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help=f"default: {DEFAULT_RUNS_DIR}")
    builder.add_argument("--source-dir", default=".",
                         help="source checkout holding zoo_configs/ (default: the current folder)")
    builder.add_argument("--quick", action="store_true",
                         help="one epoch, cheap metrics: a check of the mechanism, not a preset to ship")
    builder.add_argument("--overwrite", action="store_true", help="replace existing presets and runs")
    _add_verbose(builder)
    builder.set_defaults(handler=_cmd_build_presets)

    evaluate = commands.add_parser(
        "evaluate", help="recompute the held-out metrics of a run directory or a preset",
        description="Recompute the recorded held-out metrics and compare: exit status 0 when "
        "every one reproduces within tolerance, 1 when one does not.",
    )
    evaluate.add_argument(
        "source", help="run directory, preset name (vae_conv.mnist_t10k), preset folder or URL"
    )
    evaluate.add_argument("--data-dir", help="folder holding the dataset's files, if not the recorded one")
    _add_verbose(evaluate)
    evaluate.set_defaults(handler=_cmd_evaluate)

    sample = commands.add_parser("sample", help="write a grid of generated images")
    sample.add_argument(
        "run_or_name", help="run directory, .keras file, registered name or preset (name.tag)"
    )
    sample.add_argument("--n", type=_positive, default=64, help="number of images (default: 64)")
    sample.add_argument("--out", default="samples.png", help="PNG file to write")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    sample.add_argument("--labels", help="class ids for conditional models, cycled: 0,1,2")
    sample.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="builder override when sampling a fresh model by name (repeatable)",
    )
    sample.add_argument(
        "--untrained", action="store_true",
        help="allow sampling a registered name, a model with fresh random weights",
    )
    _add_verbose(sample)
    sample.set_defaults(handler=_cmd_sample)

    search = commands.add_parser(
        "tune", help="search hyperparameters with keras-tuner",
        description="Search a model's hyperparameters; writes a results table and the best "
        "run config into DIRECTORY/PROJECT_NAME. A search found there resumes.",
    )
    search.add_argument("model", nargs="?", help="registered model name (see `list`)")
    search.add_argument("--config", help="JSON run config to start from (its values are the defaults)")
    search.add_argument("--dataset", help="dataset name or folder (default: digits)")
    search.add_argument("--data-dir", help="folder holding the dataset's files")
    search.add_argument(_SKIP_BAD, action="store_true", help=_SKIP_BAD_HELP)
    search.add_argument("--epochs", type=_positive, help="epochs per trial (Hyperband: at most)")
    search.add_argument("--batch-size", type=_positive, help="default batch size")
    search.add_argument("--learning-rate", type=_positive_float, help="default learning rate")
    search.add_argument("--seed", type=int, help="random seed (default: 0)")
    search.add_argument("--tuner", choices=TUNERS, default="random", help="search algorithm")
    search.add_argument("--max-trials", type=_positive, default=10, help="trials (default: 10)")
    search.add_argument("--objective", help="objective to optimise (default: the family's first)")
    search.add_argument("--directory", default="tuning", help="search folder (default: tuning)")
    search.add_argument("--project-name", help="project inside it (default: MODEL_DATASET)")
    search.add_argument(
        "--set", action="append", metavar="NAME=VALUE",
        help="pin a hyperparameter or set a builder argument, JSON value (repeatable)",
    )
    search.add_argument(
        "--strategy", choices=[s for s in STRATEGIES if s != "multiworker"],
        help="tf.distribute strategy for each trial",
    )
    search.add_argument(
        "--distributed", type=_positive, metavar="N",
        help="run as a keras-tuner chief and N worker processes on this machine",
    )
    search.add_argument("--timeout", type=_positive_float, help="seconds to wait for --distributed")
    search.add_argument("--overwrite", action="store_true", help="replace an existing search")
    search.add_argument(
        "--validation-fraction", type=float,
        help="share of the training split that scores the trials (default: 0.2); the test "
        "split only reports the best model",
    )
    search.add_argument(
        "--max-params", type=float, default=DEFAULT_MAX_PARAMS, metavar="N",
        help=f"skip trials whose model has more weights (default: {DEFAULT_MAX_PARAMS:.0e}; "
        "0: no limit)",
    )
    _add_verbose(search)
    search.set_defaults(handler=_cmd_tune)

    for name, handler, what, suffix in (
        ("compress", _cmd_compress, "images below INPUT (any depth)", "one .vqz file per image"),
        ("decompress", _cmd_decompress, ".vqz files below INPUT", "one PNG per file"),
    ):
        command = commands.add_parser(
            name, help=f"{name} a folder with a trained VQ-VAE",
            description=f"Read the {what} and write {suffix} at the same relative path below "
            "OUTPUT. Nothing is written when one input fails; existing files are kept unless "
            "--overwrite.",
        )
        command.add_argument("model", help="run directory, .keras file or preset of a trained VQ-VAE")
        command.add_argument("input", help="input folder")
        command.add_argument("output", help="output folder")
        command.add_argument("--overwrite", action="store_true", help="replace existing output files")
        if name == "compress":
            command.add_argument(
                "--resize-mode", choices=("resize", "crop", "crop_resize"), default="resize",
                help="how images of another size are brought to the model's (default: resize)",
            )
        _add_verbose(command)
        command.set_defaults(handler=handler)

    translate = commands.add_parser(
        "translate", help="translate a folder of images with a trained translation model",
        description="Read the images below --input (any depth), bring each to the model's input "
        "size, and write its translation under the same relative path and name below --out. "
        "Nothing is written when one input fails; existing files are kept unless --overwrite.",
    )
    translate.add_argument("model", help=".keras file, run directory or preset of a trained translator")
    translate.add_argument("--input", required=True, help="folder of images to translate")
    translate.add_argument("--out", required=True, help="folder to write the translations in")
    translate.add_argument(
        "--direction", default=None,
        help="a_to_b or b_to_a for a CycleGAN (default: the model's first, a_to_b)",
    )
    translate.add_argument("--seed", type=int, default=0, help="seed of the noise of pix2pix (default 0)")
    translate.add_argument(
        "--resize-mode", choices=("resize", "crop", "crop_resize"), default="resize",
        help="how images of another size are brought to the model's input size (default: resize)",
    )
    translate.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _add_verbose(translate)
    translate.set_defaults(handler=_cmd_translate)
    return parser


def _add_verbose(command: argparse.ArgumentParser) -> None:
    command.add_argument("-v", "--verbose", action="count", default=0, help=_VERBOSE_HELP)


def counted_verbose_flags(argv: Sequence[str]) -> list[str]:
    """`argv` with `--verbose N` and `--verbose=N` written as N times `-v` (the count flag)."""
    result: list[str] = []
    index = 0
    while index < len(argv):
        match = _VERBOSE_NUMBER.match(argv[index])
        number = None
        if match and match.group(1):
            number = match.group(1)
        elif match and index + 1 < len(argv) and argv[index + 1].isdigit():
            number = argv[index + 1]
            index += 1
        result += ["-v"] * int(number) if number is not None else [argv[index]]
        if argv[index] == "--":
            result += argv[index + 1 :]
            break
        index += 1
    return result


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line `keras-genzoo: warning: ...`, ours without a source location."""
    text = f"{PROG}: warning: {message}" if issubclass(category, ZooWarning) else (
        f"{PROG}: warning: {category.__name__}: {message} ({filename}:{lineno})"
    )
    print(text, file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `keras-genzoo` with `argv` (default: the process arguments); returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(counted_verbose_flags(argv))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    args.command_line = shlex.join([PROG, *argv])
    args.argv = argv
    apply_verbosity(args.verbose)
    warnings.showwarning = _show_warning
    try:
        return args.handler(args)
    except (UsageError, RunError, UnknownModelError) as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (TrainingDiverged, OSError) as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: stopped by Ctrl-C.", file=sys.stderr)
        return 130
