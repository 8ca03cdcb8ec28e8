"""Pretrained presets: named weights with the recipe and the held-out metrics that made them.

A built preset is a directory `pretrained/<model>/<tag>/` with `config.json` (registered name,
builder arguments, optimizer), `model.weights.h5` and `metadata.json` (dataset and
split, zoo config and command, held-out metrics, SHA-256 and size of the weights and
the SHA-256 of `config.json`, licenses, parameter count, versions, date), and
`checksums.json`, the SHA-256 of `metadata.json`: every file is verified on loading.
Tags are named after the data.

- `load_preset("vae_conv.mnist_t10k")`, `load_preset("vae_conv", "mnist_t10k")`, a preset
  directory, or an https:// URL or local path of a preset archive (unpacked under
  `cache_dir()`, with the same checks either way); also reachable as
  `keras_genzoo.load(...)`.
- `list_presets()` (declared by a family and built), `missing_presets()` (declared, not
  built), `undeclared_presets()`, `preset_summary(name)`, `save_preset(model, directory, ...)`.
- Families declare their presets in `keras_genzoo/models/<family>/presets.py`
  (`PresetDeclaration`, `register_presets`).
"""

from __future__ import annotations

from typing import Any

import keras

from keras_genzoo.core.preset_table import PresetDeclaration, declared_presets, register_presets
from keras_genzoo.presets.catalog import (
    PRESETS_DIR,
    check_file_hash,
    is_preset_dir,
    list_presets,
    markdown_table,
    missing_presets,
    preset_summary,
    resolve_preset,
    split_preset_name,
    undeclared_presets,
)
from keras_genzoo.presets.remote import (
    CACHE_ENV,
    cache_dir,
    fetch_preset,
    is_archive,
    is_url,
    open_archive,
    safe_extract,
)
from keras_genzoo.presets.store import (
    CONFIG_FILE,
    METADATA_FILE,
    WEIGHTS_FILE,
    PresetError,
    flat_metrics,
    headline_value,
    load_preset_dir,
    preset_run_config,
    read_preset,
    save_preset,
    seal_preset,
)


def load_preset(
    source: str,
    tag: str | None = None,
    *,
    file_hash: str | None = None,
    skip_mismatch: bool = False,
    **overrides: Any,
) -> keras.Model:
    """The model of a preset with its verified weights (see `resolve_preset` for `source`)."""
    directory = resolve_preset(source, tag, file_hash=file_hash)
    return load_preset_dir(directory, overrides=overrides, skip_mismatch=skip_mismatch)


def preset_metadata(source: str, tag: str | None = None, *, file_hash: str | None = None) -> dict:
    """The `metadata.json` of a preset."""
    return read_preset(resolve_preset(source, tag, file_hash=file_hash))[1]


__all__ = [
    "CACHE_ENV",
    "CONFIG_FILE",
    "METADATA_FILE",
    "PRESETS_DIR",
    "PresetDeclaration",
    "PresetError",
    "WEIGHTS_FILE",
    "cache_dir",
    "check_file_hash",
    "declared_presets",
    "fetch_preset",
    "flat_metrics",
    "headline_value",
    "is_archive",
    "is_preset_dir",
    "is_url",
    "list_presets",
    "load_preset",
    "load_preset_dir",
    "markdown_table",
    "missing_presets",
    "open_archive",
    "preset_metadata",
    "preset_run_config",
    "preset_summary",
    "read_preset",
    "register_presets",
    "resolve_preset",
    "safe_extract",
    "save_preset",
    "seal_preset",
    "split_preset_name",
    "undeclared_presets",
]
