"""Write-then-rename: every file the package writes appears whole or not at all.

`replacing(path)` hands out a temporary name beside `path` (same folder, same file
name ending, so writers that check the extension accept it); when the block finishes
the temporary file is flushed to disk (`fsync` of the file and of its folder), replaces
`path` in one `os.replace`, and the folder is flushed again so the rename itself is
durable; when the block raises, the temporary file is removed. A crash, a power cut or
a full disk during a save therefore leaves the previous file intact.

`replace_directory(staged, directory)` does the same for a folder written in full
beside its destination (a preset): the folder is flushed, any old folder is renamed
aside, the new one renamed in, and only then is the old one deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from typing import Iterator

TEMPORARY_PREFIX = ".partial-"
REPLACED_PREFIX = ".replaced-"


def temporary_name(path: str, prefix: str = TEMPORARY_PREFIX) -> str:
    """A fresh hidden name beside `path` that ends like `path` (e.g. `.keras`)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f"{prefix}{uuid.uuid4().hex[:12]}-{name}")


def fsync_directory(folder: str) -> None:
    """Flush a folder's entries (names created, renamed or removed) to disk. Windows
    cannot open a folder for this and makes renames durable by itself."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(path: str) -> None:
    """Flush a file, or every file and folder under a folder, to disk."""
    if not os.path.isdir(path):
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        return
    for folder, _, files in os.walk(path):
        for name in files:
            fsync_tree(os.path.join(folder, name))
        fsync_directory(folder)


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """Yield a temporary path to write; on success it atomically and durably replaces `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = temporary_name(path)
    try:
        yield temporary
        if not os.path.exists(temporary):
            raise FileNotFoundError(f"Nothing was written to {temporary!r} for {path!r}.")
        fsync_tree(temporary)
        fsync_directory(folder)
        os.replace(temporary, path)
        fsync_directory(folder)
    finally:
        if os.path.isdir(temporary):
            shutil.rmtree(temporary, ignore_errors=True)
        elif os.path.exists(temporary):
            os.remove(temporary)


def replace_directory(staged: str, directory: str) -> None:
    """Move the complete folder `staged` to `directory` (same parent folder), replacing
    any folder there without ever deleting it first.

    `staged` is flushed to disk; an existing `directory` is renamed aside, `staged` is
    renamed in, and the old folder is deleted only after that; if the second rename
    fails, the old folder is renamed back. Each step is one rename, so at any moment
    the old or the new folder exists whole (a crash between the two renames leaves the
    old one whole under its `.replaced-` name beside `directory`).
    """
    folder = os.path.dirname(os.path.abspath(directory))
    fsync_tree(staged)
    fsync_directory(folder)
    aside = None
    if os.path.isdir(directory):
        aside = temporary_name(directory, REPLACED_PREFIX)
        os.replace(directory, aside)
    try:
        os.replace(staged, directory)
    except BaseException:
        if aside is not None:
            os.replace(aside, directory)
        raise
    finally:
        fsync_directory(folder)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
        fsync_directory(folder)


def write_bytes(data: bytes, path: str) -> str:
    """Write `data` to `path` atomically; returns the path."""
    with replacing(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(data)
    return path


def copy_file(source: str, path: str) -> str:
    """Copy `source` to `path` atomically; returns the path."""
    with replacing(path) as temporary:
        shutil.copyfile(source, temporary)
    return path
