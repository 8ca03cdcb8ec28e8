"""`load`: one entry point for registry names, presets, `.keras` files and run directories."""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import Any

import keras

from keras_genzoo import (
    models,  # noqa: F401  (registers every zoo class for deserialisation)
    presets,
)
from keras_genzoo.core import registry
from keras_genzoo.core.registry import create_model, get_entry
from keras_genzoo.io.checksums import read_manifest, verify_recorded

RUN_MODEL_FILE = "model.keras"
MANIFEST_SEARCH_DEPTH = 2  # a run's model.keras and its checkpoints/*.keras


def list_models(pattern: str | None = None, *, pretrained: bool = False) -> list[str]:
    """Registered model names, sorted, optionally filtered by a shell-style pattern.

    With `pretrained=True`: the shipped presets instead, as `name.tag` strings.
    """
    if pretrained:
        return presets.list_presets(pattern)
    return registry.list_models(pattern)


def verify_model_file(path: str, folder: str | None = None) -> None:
    """Check a model file against the SHA-256 its run recorded (`ChecksumError` if not).

    `folder` (a run directory or preset) must record the file. Without it, the file's
    folder and the one above are searched for a manifest that records it; a file no
    manifest records (saved with `model.save`) loads unverified.
    """
    if folder is not None:
        verify_recorded(folder, path)
        return
    candidate = os.path.dirname(os.path.abspath(path))
    for _ in range(MANIFEST_SEARCH_DEPTH):
        manifest = read_manifest(candidate)
        relative = os.path.relpath(os.path.abspath(path), candidate).replace(os.sep, "/")
        if manifest is not None and relative in manifest:
            verify_recorded(candidate, path)
            return
        candidate = os.path.dirname(candidate)


def _resolve_model_file(path: str) -> str:
    if os.path.isdir(path):
        candidate = os.path.join(path, RUN_MODEL_FILE)
        if not os.path.isfile(candidate):
            raise FileNotFoundError(
                f"{path!r} is a directory but holds neither {RUN_MODEL_FILE!r} (a run "
                "directory written by `keras-genzoo train`) nor 'metadata.json' (a preset "
                "directory). Pass one of those or a `.keras` file."
            )
        return candidate
    if not path.endswith(".keras"):
        raise ValueError(
            f"{path!r} is a file but not a `.keras` archive. Save models with "
            "`model.save('name.keras')` and load that file."
        )
    return path


def check_keras_archive(path: str) -> None:
    """Refuse a `.keras` file that is not a zip archive or whose members fail their
    CRC-32 check (a damaged byte), with a message saying what to do, before Keras reads it."""
    advice = (
        "It cannot be loaded: restore it from a copy, or save the model again with "
        "model.save(...) (a run's model: train the run again)."
    )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a valid `.keras` archive (it is not a zip file); it may be "
            f"truncated or corrupt. {advice}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise ValueError(f"{path!r} is a corrupt `.keras` archive ({err}). {advice}") from None
    if damaged is not None:
        raise ValueError(
            f"{path!r} is a corrupt `.keras` archive: its member {damaged!r} fails its "
            f"CRC-32 check (a damaged or changed byte). {advice}"
        )


def _looks_like_path(name_or_path: str) -> bool:
    return (
        os.path.exists(name_or_path)
        or name_or_path.endswith(".keras")
        or os.sep in name_or_path
        or (os.altsep is not None and os.altsep in name_or_path)
    )


def load(
    name_or_path: str,
    pretrained: str | None = None,
    *,
    skip_mismatch: bool = False,
    file_hash: str | None = None,
    **overrides: Any,
) -> keras.Model:
    """Load a zoo model by registry name, preset, `.keras` file or run directory.

    - `load("vae_conv")`: a fresh, untrained model with random weights (`overrides` go
      to its builder), the same as `create_model`: train it, or name a preset for
      trained weights;
    - `load("vae_conv", pretrained="mnist_t10k")` or `load("vae_conv.mnist_t10k")`: a
      shipped preset; also a preset directory, or an https:// URL or local path of a
      preset archive (`.tar.gz`, `.tgz`, `.tar`, `.zip`; unpacked once into the cache,
      `file_hash` its SHA-256). Overrides that change weight shapes fail, unless
      `skip_mismatch=True` loads every compatible layer;
    - a `.keras` file or run directory: the saved model with weights and optimizer state,
      after checking it against the SHA-256 its run directory recorded
      (`keras_genzoo.io.checksums.ChecksumError` on a mismatch) and checking that the
      archive is whole (`ValueError` naming a damaged file).
    """
    presets.check_file_hash(name_or_path, file_hash)
    preset_options = dict(file_hash=file_hash, skip_mismatch=skip_mismatch, **overrides)
    if (
        presets.is_url(name_or_path)
        or presets.is_archive(name_or_path)
        or presets.is_preset_dir(name_or_path)
    ):
        if pretrained is not None:
            raise ValueError(f"{name_or_path!r} is a preset already; drop pretrained={pretrained!r}.")
        return presets.load_preset(name_or_path, **preset_options)
    if _looks_like_path(name_or_path):
        if pretrained is not None or overrides:
            raise ValueError(
                "`pretrained` and builder overrides apply to registry names and presets, not "
                f"to saved models; {name_or_path!r} is a path. Load it without them."
            )
        if not os.path.exists(name_or_path):
            raise FileNotFoundError(f"No saved model at {name_or_path!r}.")
        model_file = _resolve_model_file(name_or_path)
        verify_model_file(model_file, name_or_path if os.path.isdir(name_or_path) else None)
        check_keras_archive(model_file)
        return keras.saving.load_model(model_file)
    split = presets.split_preset_name(name_or_path)
    if split is not None and pretrained is None:
        return presets.load_preset(*split, **preset_options)
    get_entry(name_or_path)  # unknown names fail here with suggestions
    if pretrained is not None:
        return presets.load_preset(name_or_path, pretrained, **preset_options)
    return create_model(name_or_path, **overrides)
