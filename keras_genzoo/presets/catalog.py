"""The presets shipped with the package (`pretrained/<model>/<tag>/`) and
how a preset is named: `"model.tag"`, `(model, tag)`, a preset directory or a URL."""

from __future__ import annotations

import difflib
import fnmatch
import importlib.util
import os
from typing import Any

from keras_genzoo.core.registry import get_entry
from keras_genzoo.presets.remote import fetch_preset, is_url
from keras_genzoo.presets.store import (
    METADATA_FILE,
    PresetError,
    headline_value,
    read_preset,
)


def _presets_dir() -> str:
    """Where the shipped presets are: the package data `keras_genzoo/pretrained/` of an
    installed wheel (or an editable install's mapping of it), else the source tree's
    top-level `pretrained/` folder."""
    spec = importlib.util.find_spec("keras_genzoo.pretrained")
    if spec is not None and spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(package_parent, "pretrained")


PRESETS_DIR = _presets_dir()


def _shipped() -> dict[str, str]:
    """`{"model.tag": directory}` of every shipped preset."""
    found = {}
    if os.path.isdir(PRESETS_DIR):
        for model in sorted(os.listdir(PRESETS_DIR)):
            model_dir = os.path.join(PRESETS_DIR, model)
            if not os.path.isdir(model_dir):
                continue
            for tag in sorted(os.listdir(model_dir)):
                if os.path.isfile(os.path.join(model_dir, tag, METADATA_FILE)):
                    found[f"{model}.{tag}"] = os.path.join(model_dir, tag)
    return found


def list_presets(pattern: str | None = None) -> list[str]:
    """Shipped presets as `"model.tag"` names, sorted, optionally filtered (shell-style)."""
    names = list(_shipped())
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def preset_summary(name: str) -> dict[str, Any]:
    """A shipped preset's name, data, headline metric and value, weights size in bytes."""
    _, metadata = read_preset(shipped_preset(*name.split(".", 1)))
    return {
        "name": name,
        "data": metadata.get("dataset", {}).get("train", {}).get("source", ""),
        "metric": metadata.get("headline"),
        "value": headline_value(metadata),
        "bytes": metadata["weights"].get("bytes"),
        "parameters": metadata.get("parameters"),
    }


def shipped_preset(model: str, tag: str) -> str:
    """The directory of a shipped preset; unknown tags suggest close ones."""
    get_entry(model)  # unknown model names fail with suggestions
    shipped = _shipped()
    if f"{model}.{tag}" in shipped:
        return shipped[f"{model}.{tag}"]
    tags = [n.split(".", 1)[1] for n in shipped if n.split(".", 1)[0] == model]
    close = difflib.get_close_matches(tag, tags, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    available = ", ".join(tags) if tags else "none for this model"
    everything = ", ".join(shipped) or "none"
    raise PresetError(
        f"No preset {tag!r} for {model!r}.{hint} Available tags: {available}. "
        f"All presets: {everything}."
    )


def is_preset_dir(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, METADATA_FILE))


def split_preset_name(name: str) -> tuple[str, str] | None:
    """`"vae_conv.mnist_t10k"` -> ("vae_conv", "mnist_t10k") when the part before the dot
    is a registered model; None otherwise."""
    model, dot, tag = name.partition(".")
    if not dot or not tag or os.sep in name:
        return None
    try:
        get_entry(model)
    except ValueError:
        return None
    return model, tag


def resolve_preset(source: str, tag: str | None = None, *, file_hash: str | None = None) -> str:
    """The preset directory for a `model` + `tag`, a `"model.tag"` name, a preset
    directory or the URL of a preset archive (downloaded once into the cache)."""
    if is_url(source):
        return fetch_preset(source, file_hash=file_hash)
    if tag is not None:
        return shipped_preset(source, tag)
    if is_preset_dir(source):
        return os.path.abspath(source)
    split = split_preset_name(source)
    if split is not None:
        return shipped_preset(*split)
    if os.path.isdir(source):
        raise PresetError(
            f"{source!r} is a directory without {METADATA_FILE!r}, so not a preset directory."
        )
    raise PresetError(
        f"{source!r} names no preset: pass 'model.tag' (see list_presets()), a preset "
        "directory or an https:// URL of a preset archive."
    )
