"""SHA-256 checksums for files the package ships, downloads or writes, and loaders that
check them.

A folder the package writes (a run directory) keeps a manifest, `checksums.json`,
mapping each model file's path inside the folder to its SHA-256: `record_checksum`
adds an entry after a save, `verify_recorded` checks a file against it before loading.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Callable, TypeVar

from keras_genzoo.io.atomic import write_bytes

T = TypeVar("T")

_CHUNK_BYTES = 1 << 20
MANIFEST_FILE = "checksums.json"
DEFAULT_ADVICE = (
    "The file is corrupt, truncated or was replaced. Reinstall the package (or "
    "download the file again); if you regenerated it on purpose, record the new "
    "checksum next to it."
)


class ChecksumError(ValueError):
    """A file's content does not match the checksum it was published with."""


def sha256_file(path: str) -> str:
    """Hex SHA-256 digest of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str, expected_sha256: str, advice: str = DEFAULT_ADVICE) -> str:
    """Return `path` if its SHA-256 equals `expected_sha256`, else raise `ChecksumError`
    (with both hashes and `advice` in its message)."""
    expected = str(expected_sha256).strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(
            f"expected_sha256 must be 64 hexadecimal characters, got {expected_sha256!r}."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No file at {path!r} to verify. Reinstall the package or regenerate the file."
        )
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"Checksum mismatch for {path!r}: expected sha256 {expected}, got {actual}. "
            f"{advice}"
        )
    return path


def load_verified(path: str, expected_sha256: str, loader: Callable[[str], T]) -> T:
    """Verify the file at `path`, then return `loader(path)`; nothing is read unverified."""
    return loader(verify_file(path, expected_sha256))


def read_manifest(folder: str) -> dict[str, str] | None:
    """The `checksums.json` of `folder` ({relative path: sha256}), or None if it has none."""
    path = os.path.join(folder, MANIFEST_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ChecksumError(f"The checksum manifest {path!r} is unreadable: {err}.") from None
    if not isinstance(manifest, dict):
        raise ChecksumError(f"The checksum manifest {path!r} is not a JSON object.")
    return manifest


def _relative(folder: str, path: str) -> str:
    return os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/")


def record_checksum(folder: str, path: str) -> str:
    """Record the SHA-256 of `path` (a file inside `folder`) in the folder's manifest."""
    digest = sha256_file(path)
    manifest = read_manifest(folder) or {}
    manifest[_relative(folder, path)] = digest
    data = json.dumps(dict(sorted(manifest.items())), indent=2).encode("utf-8")
    write_bytes(data, os.path.join(folder, MANIFEST_FILE))
    return digest


def verify_recorded(folder: str, path: str) -> str:
    """Return `path` if it matches its entry in the manifest of `folder`, else raise
    `ChecksumError`; a file without an entry (or a folder without a manifest) is refused."""
    manifest = read_manifest(folder)
    name = _relative(folder, path)
    if manifest is None or name not in manifest:
        raise ChecksumError(
            f"{path!r} has no recorded SHA-256 in {os.path.join(folder, MANIFEST_FILE)!r}, "
            "so it cannot be verified. Only folders written by keras-genzoo (run "
            "directories, presets) load by folder; load a .keras file by its own path."
        )
    return verify_file(
        path, manifest[name],
        advice="The file changed after keras-genzoo wrote it (corrupted, truncated or "
        "edited). Train the run again, or restore the file from a copy.",
    )
