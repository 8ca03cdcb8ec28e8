"""The presets shipped with the package and how a preset is named: `"model.tag"`,
`(model, tag)`, a preset directory or a URL.

Each family declares its presets beside its model (`keras_genzoo.core.preset_table`);
`pretrained/<model>/<tag>/` holds only the built artefacts. A preset is shipped when it
is both declared and built; `missing_presets` and `undeclared_presets` name the rest."""

from __future__ import annotations

import difflib
import fnmatch
import importlib.util
import os
from typing import Any

from keras_genzoo.core.preset_table import declared_presets
from keras_genzoo.core.registry import get_entry
from keras_genzoo.presets.remote import (
    ARCHIVE_SUFFIXES,
    fetch_preset,
    is_archive,
    is_url,
    open_archive,
)
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


def _built() -> dict[str, str]:
    """`{"model.tag": directory}` of every preset folder in `PRESETS_DIR`."""
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


def _matching(names: list[str], pattern: str | None) -> list[str]:
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def list_presets(pattern: str | None = None) -> list[str]:
    """The shipped presets: declared by their family and built in `PRESETS_DIR`, as
    `"model.tag"` names, sorted, optionally filtered (shell-style)."""
    built = _built()
    return _matching([n for n in declared_presets() if n in built], pattern)


def missing_presets(pattern: str | None = None) -> list[str]:
    """Declared presets whose artefacts are not in `PRESETS_DIR` (build them with
    `keras-genzoo build-presets`)."""
    built = _built()
    return _matching([n for n in declared_presets() if n not in built], pattern)


def undeclared_presets(pattern: str | None = None) -> list[str]:
    """Preset folders in `PRESETS_DIR` that no family declares (not listed, not loaded
    by name)."""
    declared = declared_presets()
    return _matching([n for n in _built() if n not in declared], pattern)


def preset_summary(name: str) -> dict[str, Any]:
    """A shipped preset's name, data, headline metric and value, weights size in bytes."""
    _, metadata = read_preset(shipped_preset(*name.split(".", 1)))
    return {
        "name": name,
        "description": declared_presets()[name].description,
        "data": metadata.get("dataset", {}).get("train", {}).get("source", ""),
        "metric": metadata.get("headline"),
        "value": headline_value(metadata),
        "bytes": metadata["weights"].get("bytes"),
        "parameters": metadata.get("parameters"),
    }


def shipped_preset(model: str, tag: str) -> str:
    """The directory of a shipped preset; unknown tags suggest close ones, and a declared
    preset that is not built says how to build it."""
    get_entry(model)  # unknown model names fail with suggestions
    name = f"{model}.{tag}"
    built, declared = _built(), declared_presets()
    if name in built and name in declared:
        return built[name]
    if name in declared:
        raise PresetError(
            f"The preset {name!r} is declared but not built: {PRESETS_DIR!r} holds no "
            f"{model}/{tag}/. Build it with `keras-genzoo build-presets {name}`."
        )
    if name in built:
        raise PresetError(
            f"{built[name]!r} is a preset folder that no family declares; load it by its "
            "path, or declare it in its family's presets table."
        )
    shipped = list_presets()
    tags = [n.split(".", 1)[1] for n in shipped if n.split(".", 1)[0] == model]
    close = difflib.get_close_matches(tag, tags, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    available = ", ".join(tags) if tags else "none for this model"
    everything = ", ".join(shipped) or "none"
    raise PresetError(
        f"No preset {tag!r} for {model!r}.{hint} Available tags: {available}. "
        f"All presets: {everything}."
    )


def markdown_table(names: list[str]) -> str:
    """The presets table of the README and docs/BENCHMARKS.md, from the shipped metadata."""
    lines = [
        "| preset | data (train / held out) | headline metric (held out) | value | weights "
        "| parameters | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        summary = preset_summary(name)
        _, metadata = read_preset(shipped_preset(*name.split(".", 1)))
        data = metadata["dataset"]
        unit = " ratings" if "kind" in data["train"] else ""  # a recommender's examples are ratings
        split = f"{data['train']['num_examples']:,} / {data['test']['num_examples']:,}{unit}"
        seconds = metadata["training"].get("train_seconds")
        lines.append(
            f"| `{name}` | {data['name']} ({split}) | {summary['metric']} | {summary['value']:.4g} "
            f"| {summary['bytes'] / 1e3:.0f} kB | {summary['parameters']:,} | {seconds:.0f} |"
        )
    return "\n".join(lines)


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


def check_file_hash(source: str, file_hash: str | None) -> None:
    """Refuse a `file_hash` for a source that is not a preset archive (it would be ignored)."""
    if file_hash is not None and not (is_url(source) or is_archive(source)):
        raise PresetError(
            "file_hash is the SHA-256 of a preset archive (an https:// URL or a "
            f"{', '.join(ARCHIVE_SUFFIXES)} file), but {source!r} is not one; drop file_hash. "
            "Shipped presets and preset directories are verified by the SHA-256 of their "
            "weights in their metadata."
        )


def resolve_preset(source: str, tag: str | None = None, *, file_hash: str | None = None) -> str:
    """The preset directory for a `model` + `tag`, a `"model.tag"` name, a preset
    directory, or the URL or path of a preset archive (unpacked once into the cache;
    `file_hash` is the archive's SHA-256 and applies to archives only)."""
    if is_url(source):
        return fetch_preset(source, file_hash=file_hash)
    if is_archive(source):
        return open_archive(source, file_hash=file_hash)
    check_file_hash(source, file_hash)
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
        "directory, or an https:// URL or the path of a preset archive."
    )
