"""Building the declared presets: train each from its zoo config and publish it.

`build_presets("vae_conv.*", data_dirs={"mnist": DIR})` reads the presets the families
declare (`keras_genzoo.core.preset_table`), trains each one's zoo config with
`train_run` into `runs_dir/<model>_<tag>` and writes the preset folder
`presets_dir/<model>/<tag>` with `save_preset`: exactly what `keras-genzoo train
--config <zoo config> --out ... --preset-out ...` does, which is the command each
preset's metadata records. `quick=True` trains one epoch with cheap metrics: a check of
the mechanism, never a preset to ship.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from typing import Any, Callable, Mapping

import keras

from keras_genzoo.core.preset_table import PresetDeclaration, declared_presets
from keras_genzoo.loading import load
from keras_genzoo.presets import save_preset
from keras_genzoo.training.config import RunConfig, is_recommender, load_run_config
from keras_genzoo.training.data import probe_dataset
from keras_genzoo.training.errors import RunError
from keras_genzoo.training.ratings_data import load_ratings_data
from keras_genzoo.training.train import train_run

#: Cheap options of each metric for `quick` builds.
QUICK_METRICS: dict[str, dict[str, Any]] = {
    "iw_nll": {"num_samples": 5, "num_images": 200},
    "neg_elbo": {},
    "nll": {},
    "generator": {"num_samples": 200},
    "pseudo_likelihood": {},
    "ais": {"num_chains": 16, "num_betas": 200},
}
DEFAULT_RUNS_DIR = os.path.join("runs", "presets")


@dataclasses.dataclass(frozen=True)
class PresetBuild:
    """One preset to build: its declaration, run config, folders and recorded command."""

    declaration: PresetDeclaration
    config: RunConfig
    run_dir: str
    preset_dir: str
    command: str


def plan_builds(
    pattern: str | None = None,
    *,
    data_dirs: Mapping[str, str] | None = None,
    presets_dir: str = "pretrained",
    runs_dir: str = DEFAULT_RUNS_DIR,
    source_dir: str = ".",
    quick: bool = False,
    overwrite: bool = False,
) -> list[PresetBuild]:
    """The builds `build_presets` would run, each checked before anything trains: its zoo
    config exists and trains the declared model on the declared data, that data can be
    read (`data_dirs` maps a dataset name to its files), and its folders are free
    (unless `overwrite`). Zoo configs are read from `source_dir`, a source checkout of
    the package (the folder holding `zoo_configs/`). Every problem raises `RunError`."""
    declared = declared_presets(pattern)
    if not declared:
        raise RunError(
            f"No declared preset matches {pattern!r}. Declared: "
            f"{', '.join(declared_presets()) or 'none'}."
        )
    root = os.path.abspath(source_dir)
    data_dirs = dict(data_dirs or {})
    builds = []
    for name, declaration in declared.items():
        path = os.path.join(root, declaration.zoo_config)
        if not os.path.isfile(path):
            raise RunError(
                f"The zoo config {declaration.zoo_config!r} of {name} is not in {root!r}; "
                "build presets from a source checkout of the package (its root folder, "
                "or pass its path as source_dir / --source-dir)."
            )
        config = load_run_config(path)
        if (config.model, config.dataset.name) != (declaration.model, declaration.data):
            raise RunError(
                f"{declaration.zoo_config} trains {config.model} on {config.dataset.name}, "
                f"but {name} is declared as {declaration.model} on {declaration.data}."
            )
        run_dir = os.path.join(runs_dir, f"{declaration.model}_{declaration.tag}")
        preset_dir = os.path.join(presets_dir, declaration.model, declaration.tag)
        command = ["keras-genzoo", "train", "--config", declaration.zoo_config,
                   "--out", run_dir, "--preset-out", preset_dir]
        changes: dict[str, Any] = {}
        if declaration.data in data_dirs:
            changes["dataset"] = {**config.dataset.to_dict(), "data_dir": data_dirs[declaration.data]}
            command += ["--data-dir", data_dirs[declaration.data]]
        if quick:
            changes["epochs"] = 1
            changes["metrics"] = {k: QUICK_METRICS.get(k, {}) for k in config.metrics}
            command += ["--epochs", "1"]
        config = config.replace(**changes) if changes else config
        # data that cannot be read fails here, before any training
        load_ratings_data(config) if is_recommender(config.model) else probe_dataset(config)
        for folder in (run_dir, preset_dir):
            if os.path.isdir(folder) and os.listdir(folder) and not overwrite:
                raise RunError(f"{folder} exists; pass overwrite (--overwrite) to rebuild {name}.")
        builds.append(PresetBuild(declaration, config, run_dir, preset_dir, shlex.join(command)))
    return builds


def build_presets(
    pattern: str | None = None,
    *,
    data_dirs: Mapping[str, str] | None = None,
    presets_dir: str = "pretrained",
    runs_dir: str = DEFAULT_RUNS_DIR,
    source_dir: str = ".",
    quick: bool = False,
    overwrite: bool = False,
    verbose: int = 1,
    report: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Train and publish every declared preset matching `pattern` (all by default), one
    after the other; returns the metadata of each preset written. See `plan_builds`
    for the checks made before the first one trains."""
    builds = plan_builds(pattern, data_dirs=data_dirs, presets_dir=presets_dir,
                         runs_dir=runs_dir, source_dir=source_dir, quick=quick,
                         overwrite=overwrite)
    written = []
    for build in builds:
        name = build.declaration.name
        report(f"== {name}: {build.command}")
        started = time.perf_counter()
        keras.backend.clear_session()
        run = train_run(build.config, build.run_dir, verbose=verbose, overwrite=overwrite)
        written.append(save_preset(
            load(build.run_dir), build.preset_dir, run=run, command=build.command,
            zoo_config=build.declaration.zoo_config,
            description=build.config.description or "", overwrite=overwrite,
        ))
        report(f"== {name}: built in {time.perf_counter() - started:.0f} s")
    return written
