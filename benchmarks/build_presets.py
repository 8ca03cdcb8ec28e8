"""Train every shipped preset from its zoo config with the run layer, one process each.

    python benchmarks/build_presets.py --mnist-dir ../shared/datasets/mnist
    python benchmarks/build_presets.py --only vae_conv.mnist_t10k --mnist-dir ...
    python benchmarks/build_presets.py --quick --presets-dir /tmp/presets   # throwaway check
    python benchmarks/build_presets.py --table      # the presets table of README / BENCHMARKS

Each preset is `keras-genzoo train --config zoo_configs/<model>_<tag>.json --out
runs/presets/<model>_<tag> --preset-out keras_genzoo/pretrained/<model>/<tag>`, run
exactly as recorded in the preset's metadata.json. `--quick` trains one epoch with
cheap metrics, to test the mechanism (never ship those). An existing preset is replaced
only with `--overwrite`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (model, tag, zoo config): the tag names the data the weights were trained on.
PRESETS = [
    ("ae_conv", "digits", "zoo_configs/ae_conv_digits.json"),
    ("dae_conv", "digits", "zoo_configs/dae_conv_digits.json"),
    ("vae_conv", "mnist_t10k", "zoo_configs/vae_conv_mnist_t10k.json"),
    ("cvae_conv", "digits", "zoo_configs/cvae_conv_digits.json"),
    ("dcgan", "digits", "zoo_configs/dcgan_digits.json"),
    ("cgan", "digits", "zoo_configs/cgan_digits.json"),
    ("wgan_gp", "digits", "zoo_configs/wgan_gp_digits.json"),
    ("rbm_bernoulli", "digits", "zoo_configs/rbm_bernoulli_digits.json"),
    ("pixelcnn_conditional", "digits", "zoo_configs/pixelcnn_conditional_digits.json"),
]
QUICK_METRICS = {
    "iw_nll": {"num_samples": 5, "num_images": 200},
    "nll": {},
    "generator": {"num_samples": 200},
    "pseudo_likelihood": {},
    "ais": {"num_chains": 16, "num_betas": 200},
}


def _command(config: str, out: str, preset: str, mnist_dir: str | None, quick: bool) -> list[str]:
    command = ["keras-genzoo", "train", "--config", config, "--out", out, "--preset-out", preset]
    with open(os.path.join(REPO_ROOT, config), encoding="utf-8") as f:
        recipe = json.load(f)
    if recipe["dataset"]["name"] == "mnist":
        if mnist_dir is None:
            raise SystemExit(f"{config} trains on MNIST: pass --mnist-dir (a folder of MNIST IDX files).")
        command += ["--data-dir", mnist_dir]
    if quick:
        command += ["--epochs", "1"]
    return command


def print_table(presets_dir: str) -> None:
    """The markdown presets table, read from the shipped metadata."""
    from keras_genzoo.presets import catalog, preset_summary, read_preset

    catalog.PRESETS_DIR = os.path.abspath(presets_dir)
    print("| preset | data (train / held out) | headline metric (held out) | value | weights | parameters | train s |")
    print("|---|---|---|---|---|---|---|")
    for name in catalog.list_presets():
        summary = preset_summary(name)
        _, metadata = read_preset(catalog.shipped_preset(*name.split(".", 1)))
        data = metadata["dataset"]
        split = f"{data['train']['num_examples']:,} / {data['test']['num_examples']:,}"
        seconds = metadata["training"].get("train_seconds")
        print(
            f"| `{name}` | {data['name']} ({split}) | {summary['metric']} | {summary['value']:.4g} "
            f"| {summary['bytes'] / 1e3:.0f} kB | {summary['parameters']:,} | {seconds:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="model.tag to build (repeatable)")
    parser.add_argument("--mnist-dir", help="folder of MNIST IDX files (for the mnist_t10k presets)")
    parser.add_argument("--presets-dir", default=os.path.join("keras_genzoo", "pretrained"))
    parser.add_argument("--runs-dir", default=os.path.join("runs", "presets"))
    parser.add_argument("--quick", action="store_true", help="1 epoch, cheap metrics: a mechanism check")
    parser.add_argument("--overwrite", action="store_true", help="replace existing presets")
    parser.add_argument("--table", action="store_true", help="print the presets table and exit")
    args = parser.parse_args()
    os.chdir(REPO_ROOT)
    if args.table:
        sys.path.insert(0, REPO_ROOT)
        print_table(args.presets_dir)
        return
    chosen = [p for p in PRESETS if not args.only or f"{p[0]}.{p[1]}" in args.only]
    if args.only and len(chosen) != len(args.only):
        raise SystemExit(f"Unknown preset in {args.only}; known: {[f'{m}.{t}' for m, t, _ in PRESETS]}")
    env = {**os.environ, "PYTHONPATH": REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for model, tag, config in chosen:
        preset = os.path.join(args.presets_dir, model, tag)
        out = os.path.join(args.runs_dir, f"{model}_{tag}")
        for folder in (preset, out):
            if os.path.isdir(folder) and os.listdir(folder):
                if not args.overwrite:
                    raise SystemExit(f"{folder} exists; pass --overwrite to rebuild {model}.{tag}.")
                shutil.rmtree(folder)
        command = _command(config, out, preset, args.mnist_dir, args.quick)
        if args.quick:  # cheap metrics through a temporary copy of the config
            with open(config, encoding="utf-8") as f:
                recipe = json.load(f)
            recipe["metrics"] = {k: QUICK_METRICS[k] for k in recipe.get("metrics", {})}
            quick_config = os.path.join(args.runs_dir, f"{model}_{tag}.quick.json")
            os.makedirs(args.runs_dir, exist_ok=True)
            with open(quick_config, "w", encoding="utf-8") as f:
                json.dump(recipe, f, indent=2)
            command[command.index(config)] = quick_config
        print(f"== {model}.{tag}: {' '.join(command)}", flush=True)
        started = time.time()
        launcher = [sys.executable, "-m", "keras_genzoo.cli", *command[1:]]
        result = subprocess.run(launcher, env=env)
        print(f"== {model}.{tag}: exit {result.returncode} after {time.time() - started:.0f} s", flush=True)
        if result.returncode:
            raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
