"""SHA-256 checksums for files the package ships or downloads, and a loader that checks them."""

from __future__ import annotations

import hashlib
import os
from typing import Callable, TypeVar

T = TypeVar("T")

_CHUNK_BYTES = 1 << 20


class ChecksumError(ValueError):
    """A file's content does not match the checksum it was published with."""


def sha256_file(path: str) -> str:
    """Hex SHA-256 digest of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str, expected_sha256: str) -> str:
    """Return `path` if its SHA-256 equals `expected_sha256`, else raise `ChecksumError`."""
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
            "The file is corrupt, truncated or was replaced. Reinstall the package (or "
            "download the file again); if you regenerated it on purpose, record the new "
            "checksum next to it."
        )
    return path


def load_verified(path: str, expected_sha256: str, loader: Callable[[str], T]) -> T:
    """Verify the file at `path`, then return `loader(path)`; nothing is read unverified."""
    return loader(verify_file(path, expected_sha256))
