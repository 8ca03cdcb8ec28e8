"""One preset directory: `config.json`, `model.weights.h5`, `metadata.json` and
`checksums.json`.

`save_preset` writes one into a temporary folder beside its destination and swaps it in
with renames when complete (an old preset is deleted only after that), recording the
data folder by name, never by a path of the machine that built it. Every file is
covered by a SHA-256: `metadata.json` records those of the weights and of `config.json`,
and `checksums.json` (the manifest format of `keras_genzoo.io.checksums`, written last)
records that of `metadata.json`. `read_preset` verifies the two JSON files before
returning them and `load_preset_dir` verifies the weights before anything is read from
them; the model is rebuilt by its registered builder (no code or serialised objects come
from the preset) and the weights are loaded only when every shape matches.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import tempfile
import warnings
from typing import Any

import h5py
import keras
import numpy as np

from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.core.registry import (
    BuilderCall,
    UnknownModelError,
    create_model,
    get_entry,
)
from keras_genzoo.core.version import VERSION
from keras_genzoo.io.atomic import replace_directory
from keras_genzoo.io.checksums import (
    MANIFEST_FILE,
    read_manifest,
    record_checksum,
    sha256_file,
    verify_file,
)
from keras_genzoo.io.jsonfiles import jsonable, write_json
from keras_genzoo.models.ratings import RatingsModel
from keras_genzoo.models.ratings.model import KNOWN_RATINGS_FILE

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
PRESET_FORMAT = 1
EDITED_ADVICE = (
    "The preset file changed after it was saved (edited, corrupted or truncated). "
    "Download or copy the preset again; to change a preset, load it and save it with "
    "save_preset, which records fresh checksums."
)
WEIGHTS_LICENSE = "Apache-2.0"
DATA_LICENSES = {
    "digits": "UCI optdigits as shipped with scikit-learn (BSD-3-Clause); CC BY 4.0 at the UCI repository",
    "mnist": "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0",
}


class PresetError(ValueError):
    """A preset that cannot be found, read or loaded as asked; says what to do instead."""


def save_weights(model: keras.Model, path: str) -> None:
    """Save the model's weights (seed states included, optimizer state left out)."""
    if not model.built:  # zoo models create their variables up front; Keras wants `built`
        model.build((None, *model.image_shape))
    keras.saving.save_weights(model, path, objects_to_skip=model.optimizers or None)


def weight_shapes(path: str) -> dict[str, tuple[int, ...]]:
    """`{variable path: shape}` of every array in a `.weights.h5` file."""
    shapes: dict[str, tuple[int, ...]] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: shapes.__setitem__(name, tuple(obj.shape))
            if isinstance(obj, h5py.Dataset) else None
        )
    return shapes


def _versions() -> dict[str, str]:
    import tensorflow as tf

    return {
        "keras_genzoo": VERSION, "keras": keras.__version__,
        "tensorflow": tf.__version__, "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _check_finite(model: keras.Model) -> None:
    bad = [w.path for w in model.weights if not np.all(np.isfinite(np.asarray(w)))]
    if bad:
        raise PresetError(
            f"The model has non-finite weights ({', '.join(bad[:5])}); a diverged model is "
            "not saved as a preset. Train it again (lower the learning rate)."
        )


def _save_known_ratings(model: keras.Model, directory: str) -> dict[str, Any]:
    """A recommender predicts from the ratings it was fitted on: they go into the preset
    folder beside the weights; returns their metadata record (`{}` for other models)."""
    if not isinstance(model, RatingsModel) or model.known is None:
        return {}
    model.save_assets(directory)
    path = os.path.join(directory, KNOWN_RATINGS_FILE)
    return {"known_ratings": {"file": KNOWN_RATINGS_FILE, "sha256": sha256_file(path)}}


def _load_known_ratings(model: keras.Model, directory: str, metadata: dict[str, Any]) -> None:
    """Give a recommender built from a preset the ratings it predicts from (verified)."""
    record = metadata.get("known_ratings")
    if not isinstance(model, RatingsModel) or record is None:
        return
    verify_file(os.path.join(directory, record["file"]), record["sha256"])
    model.load_assets(directory)


def save_preset(
    model: keras.Model,
    directory: str,
    *,
    model_name: str | None = None,
    builder_arguments: dict[str, Any] | None = None,
    optimizer: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
    description: str = "",
    command: str | None = None,
    zoo_config: str | None = None,
    headline: str | None = None,
    weights_license: str = WEIGHTS_LICENSE,
    data_license: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write `model` as a preset directory (config, weights, metadata); returns the metadata.

    The builder name and arguments come from `run` (what `keras_genzoo.training.train_run`
    returns: also the dataset, split, recipe and held-out metrics) or from `model_name`
    and `builder_arguments`; models built by `create_model` or loaded from a preset
    remember both. `headline` names the metric `list_presets` shows. An existing
    non-empty `directory` is refused unless `overwrite`.
    """
    remembered = getattr(model, "zoo_builder", None)
    if run is not None:
        model_name = model_name or run["model"]
        builder_arguments = run["builder_arguments"] if builder_arguments is None else builder_arguments
        optimizer = run["config"].get("optimizer") if optimizer is None else optimizer
    elif remembered is not None:
        model_name = model_name or remembered.name
        builder_arguments = remembered.arguments if builder_arguments is None else builder_arguments
        optimizer = remembered.optimizer if optimizer is None else optimizer
    if model_name is None or builder_arguments is None:
        raise PresetError(
            "save_preset needs the model's registered name and builder arguments: pass "
            "run= (the metrics train_run returned) or model_name= and builder_arguments=."
        )
    try:
        family = get_entry(model_name).family
    except UnknownModelError as err:
        raise PresetError(str(err)) from None
    _check_finite(model)
    directory = os.path.abspath(directory)
    if os.path.isdir(directory) and os.listdir(directory) and not overwrite:
        raise PresetError(
            f"{directory!r} exists and is not empty; choose another directory or pass "
            "overwrite=True (--overwrite) to replace it."
        )
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    try:
        weights_path = os.path.join(staging, WEIGHTS_FILE)
        save_weights(model, weights_path)
        known = _save_known_ratings(model, staging)
        settled = model.settled_arguments() if isinstance(model, ZooModel) else {}
        config = {
            "model": model_name, "builder_arguments": {**builder_arguments, **settled},
            "optimizer": optimizer,
        }
        metadata = {
            "format": PRESET_FORMAT,
            "model": model_name,
            "family": family,
            "description": description,
            "weights": {
                "file": WEIGHTS_FILE,
                "sha256": sha256_file(weights_path),
                "bytes": os.path.getsize(weights_path),
            },
            **known,
            "parameters": int(sum(np.prod(w.shape) for w in model.weights)),
            "license": {"weights": weights_license, "data": data_license},
            "versions": _versions(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        if run is not None:
            run_config, dataset, command = _portable_record(run, command)
            dataset_name = run_config["dataset"]["name"]
            metadata["license"]["data"] = data_license or DATA_LICENSES.get(dataset_name)
            metadata["dataset"] = {
                "name": dataset_name,
                "options": {k: v for k, v in run_config["dataset"].items() if k != "name"},
                **dataset,
            }
            metadata["training"] = {
                "zoo_config": zoo_config, "command": command, "config": run_config,
                "epochs": run["config"]["epochs"], "train_seconds": run.get("train_seconds"),
                "final": {k: v[-1] for k, v in run.get("history", {}).items() if v},
            }
            metadata["metrics"] = {
                k: run[k] for k in ("evaluation", "reconstruction", "translation", "ratings", "scores")
                if k in run
            }
        metadata["headline"] = headline or default_headline(metadata)
        headline_value(metadata)  # the named metric must exist
        write_json(config, os.path.join(staging, CONFIG_FILE))
        metadata = seal_preset(staging, metadata)
        replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return jsonable(metadata)


def seal_preset(directory: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record the checksums of a preset folder whose config and weights are written.

    `metadata` (default: the folder's `metadata.json`) gains the SHA-256 of
    `config.json` (beside that of the weights) and is written as `metadata.json`; then
    `checksums.json` records the SHA-256 of `metadata.json`, last, so a folder with a
    manifest is complete. Returns the metadata. Only for files you trust: it vouches
    for them as they are.
    """
    if metadata is None:
        metadata = _read_json(os.path.join(directory, METADATA_FILE), "the preset's metadata")
    config_record = {"file": CONFIG_FILE, "sha256": sha256_file(os.path.join(directory, CONFIG_FILE))}
    sealed: dict[str, Any] = {}
    for key, value in metadata.items():
        if key != "config":
            sealed[key] = value
        if key == "weights":
            sealed["config"] = config_record
    sealed.setdefault("config", config_record)
    manifest = os.path.join(directory, MANIFEST_FILE)
    if os.path.exists(manifest):
        os.remove(manifest)
    metadata_path = write_json(sealed, os.path.join(directory, METADATA_FILE))
    record_checksum(directory, metadata_path)
    return sealed


def _portable_record(
    run: dict[str, Any], command: str | None
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The run's config, dataset record and command without the local path of its data.

    A `data_dir` (relative to wherever the preset was built, or absolute on that
    machine) means nothing elsewhere: it leaves the config, and the folder's name is
    recorded as `data_folder`, in the sources and in the command instead. The held-out
    images' SHA-256 still identifies the data; `preset_run_config` asks for the folder.
    """
    config = copy.deepcopy(run["config"])
    dataset = copy.deepcopy(run["dataset"])
    data_dir = config["dataset"].pop("data_dir", None)
    if data_dir is None:
        return config, dataset, command
    data_dir = str(data_dir)
    expanded = os.path.expanduser(data_dir)
    folder = os.path.basename(os.path.normpath(os.path.abspath(expanded)))
    dataset["data_folder"] = folder
    # the path as a word of a source ("IDX files in PATH: ...", "npz archive PATH/x.npz")
    in_source = re.compile(rf"(?<=\s){re.escape(expanded)}(?=[\\/:\s]|$)")
    for split in ("train", "test"):
        if isinstance(dataset.get(split), dict) and "source" in dataset[split]:
            dataset[split]["source"] = in_source.sub(folder, dataset[split]["source"])
    if command is not None:
        try:
            words = shlex.split(command)
        except ValueError:  # not a shell command line; kept as given
            return config, dataset, command
        command = shlex.join(
            folder if word == data_dir
            else word[: -len(data_dir)] + folder if word.endswith(f"={data_dir}")
            else word
            for word in words
        )
    return config, dataset, command


def preset_run_config(metadata: dict[str, Any], data_dir: str | None = None) -> dict[str, Any]:
    """The run config a preset records (`training.config`), reading its data from `data_dir`.

    A preset built from a data folder records only the folder's name (`data_folder`),
    so recomputing its metrics needs `data_dir`; without it `PresetError` asks for it,
    as it does when an older preset's recorded `data_dir` does not exist here.
    """
    config = copy.deepcopy(metadata["training"]["config"])
    recorded = metadata.get("dataset", {})
    if data_dir is not None:
        config["dataset"]["data_dir"] = data_dir
        return config
    folder = recorded.get("data_folder")
    stale = config["dataset"].get("data_dir")
    if folder is None and (stale is None or os.path.exists(os.path.expanduser(stale))):
        return config
    name = folder or os.path.basename(os.path.normpath(stale))
    raise PresetError(
        f"This {metadata.get('model', '')} preset was measured on the {recorded.get('name')!r} "
        f"files of a folder named {name!r} (held-out images sha256 "
        f"{recorded.get('held_out_sha256', 'not recorded')}). Pass that folder with data_dir= "
        "(--data-dir on the command line)."
    )


# The metric `list_presets` shows, by preference, when save_preset is given none.
HEADLINE_PREFERENCE = (
    "scores.iw_nll", "scores.nll", "scores.fid", "scores.ais_log_likelihood", "scores.pseudo_likelihood",
    "translation.psnr", "translation.cycle_l1", "ratings.rmse", "ratings.recall@20",
    "reconstruction.mse", "evaluation.loss",
)


def default_headline(metadata: dict[str, Any]) -> str | None:
    """The first of `HEADLINE_PREFERENCE` the metadata records."""
    metrics = flat_metrics(metadata.get("metrics", {}))
    return next((name for name in HEADLINE_PREFERENCE if name in metrics), None)


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Nested held-out metrics as `{"evaluation.loss": ..., "scores.iw_nll": ...}`."""
    flat: dict[str, float] = {}

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                visit(f"{prefix}.{key}" if prefix else key, item)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[prefix] = float(value)

    visit("", metrics)
    return flat


def headline_value(metadata: dict[str, Any]) -> float | None:
    """The value of the preset's headline metric (None when it names none)."""
    name = metadata.get("headline")
    if name is None:
        return None
    metrics = flat_metrics(metadata.get("metrics", {}))
    if name not in metrics:
        raise PresetError(
            f"The headline metric {name!r} is not among the recorded metrics: "
            f"{', '.join(sorted(metrics)) or 'none'}."
        )
    return metrics[name]


def _read_json(path: str, what: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise PresetError(
            f"The preset directory {os.path.dirname(path)!r} has no {os.path.basename(path)!r} "
            f"({what}); a preset holds {CONFIG_FILE}, {WEIGHTS_FILE} and {METADATA_FILE}. "
            "Download or copy it again."
        )
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PresetError(f"{path!r} does not parse as JSON ({err}); the preset is corrupt.") from None
    if not isinstance(data, dict):
        raise PresetError(f"{path!r} must hold a JSON object, got {type(data).__name__}.")
    return data


def _recorded_file(directory: str, metadata: dict[str, Any], key: str) -> dict[str, Any]:
    """The `{file, sha256}` record `key` of the metadata, checked."""
    record = metadata[key]
    if not isinstance(record, dict) or not {"file", "sha256"} <= set(record):
        raise PresetError(
            f"{os.path.join(directory, METADATA_FILE)!r}: {key!r} must give 'file' and 'sha256'."
        )
    if os.path.basename(record["file"]) != record["file"]:
        raise PresetError(f"The {key} file must lie in the preset directory, got {record['file']!r}.")
    return record


def _verify_json_files(directory: str, metadata: dict[str, Any]) -> None:
    """Check `metadata.json` against `checksums.json` and `config.json` against the
    metadata: `ChecksumError` names an edited file, `PresetError` a missing record."""
    metadata_path = os.path.join(directory, METADATA_FILE)
    manifest = read_manifest(directory)
    if manifest is None or METADATA_FILE not in manifest or "config" not in metadata:
        raise PresetError(
            f"The preset {directory!r} records no SHA-256 of its {METADATA_FILE} (in "
            f"{MANIFEST_FILE}) or of its {CONFIG_FILE} (in {METADATA_FILE}), so they cannot "
            "be verified. Download or copy the preset again; if you trust its files (a preset "
            "saved by an older keras-genzoo), record their checksums with "
            "keras_genzoo.presets.seal_preset(directory)."
        )
    verify_file(metadata_path, manifest[METADATA_FILE], advice=EDITED_ADVICE)
    record = _recorded_file(directory, metadata, "config")
    if record["file"] != CONFIG_FILE:
        raise PresetError(f"The model config of a preset is {CONFIG_FILE!r}, got {record['file']!r}.")
    verify_file(os.path.join(directory, CONFIG_FILE), record["sha256"], advice=EDITED_ADVICE)


def read_preset(directory: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, metadata) of a preset directory, verified against their recorded SHA-256s
    and checked for the keys loading needs."""
    metadata = _read_json(os.path.join(directory, METADATA_FILE), "the preset's metadata")
    config = _read_json(os.path.join(directory, CONFIG_FILE), "the model config")
    if "weights" not in metadata:
        raise PresetError(f"{os.path.join(directory, METADATA_FILE)!r} lacks the key 'weights'.")
    _verify_json_files(directory, metadata)
    for key in ("model", "builder_arguments"):
        if key not in config:
            raise PresetError(f"{os.path.join(directory, CONFIG_FILE)!r} lacks the key {key!r}.")
    _recorded_file(directory, metadata, "weights")
    return config, metadata


def _mismatches(expected: dict, found: dict) -> list[str]:
    lines = []
    for path in sorted(set(expected) | set(found)):
        want, have = expected.get(path), found.get(path)
        if want != have:
            layer = path.rsplit("/vars/", 1)[0]
            lines.append(
                f"{layer} (variable {path.rsplit('/', 1)[-1]}): preset "
                f"{'absent' if have is None else have}, model {'absent' if want is None else want}"
            )
    return lines


def load_preset_dir(
    directory: str, *, overrides: dict[str, Any] | None = None, skip_mismatch: bool = False
) -> keras.Model:
    """Build the preset's model (with builder `overrides`) and load its verified weights.

    Weight shapes that differ from the model's (an override such as another latent size)
    raise `PresetError` naming the layers and shapes; with `skip_mismatch=True` every
    compatible layer is loaded and the others are reported in a warning.
    """
    config, metadata = read_preset(directory)
    weights_path = os.path.join(directory, metadata["weights"]["file"])
    if not os.path.isfile(weights_path):
        raise PresetError(
            f"The preset directory {directory!r} has no weights file {metadata['weights']['file']!r}."
        )
    verify_file(weights_path, metadata["weights"]["sha256"])  # ChecksumError names both hashes
    arguments = {**config["builder_arguments"], **(overrides or {})}
    if "image_shape" in arguments and arguments["image_shape"] is not None:
        arguments["image_shape"] = tuple(arguments["image_shape"])
    model = create_model(config["model"], **arguments)
    if config.get("optimizer"):
        model.recompile_with_optimizer(config["optimizer"], arguments.get("learning_rate"))
    model.zoo_builder = BuilderCall(config["model"], arguments, config.get("optimizer"))
    with tempfile.TemporaryDirectory() as scratch:
        expected_path = os.path.join(scratch, WEIGHTS_FILE)
        save_weights(model, expected_path)
        mismatched = _mismatches(weight_shapes(expected_path), weight_shapes(weights_path))
    if mismatched and not skip_mismatch:
        raise PresetError(
            f"The weights of preset {directory!r} do not fit the model built with "
            f"{overrides or 'its own arguments'}: " + "; ".join(mismatched)
            + ". Drop the overrides that change weight shapes, or pass skip_mismatch=True "
            "to load every compatible layer."
        )
    optimizers = model.optimizers or None
    if mismatched:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras' own per-layer warnings; ours follows
            keras.saving.load_weights(
                model, weights_path, skip_mismatch=True, objects_to_skip=optimizers
            )
        warnings.warn(
            "Loaded every compatible layer of the preset; left at their fresh values: "
            + "; ".join(mismatched), ZooWarning, stacklevel=3,
        )
    else:
        keras.saving.load_weights(model, weights_path, objects_to_skip=optimizers)
    _load_known_ratings(model, directory, metadata)
    return model
