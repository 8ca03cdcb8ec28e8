"""Write-then-rename: every file the package writes appears whole or not at all.

`replacing(path)` hands out a temporary name beside `path` (same folder, same file
name ending, so writers that check the extension accept it); when the block finishes
the temporary file replaces `path` in one `os.replace`, and when it raises the
temporary file is removed. A crash or a full disk during a save therefore leaves the
previous file intact.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from typing import Iterator

TEMPORARY_PREFIX = ".partial-"


def temporary_name(path: str) -> str:
    """A fresh hidden name beside `path` that ends like `path` (e.g. `.keras`)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:12]}-{name}")


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """Yield a temporary path to write; on success it atomically replaces `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = temporary_name(path)
    try:
        yield temporary
        if not os.path.exists(temporary):
            raise FileNotFoundError(f"Nothing was written to {temporary!r} for {path!r}.")
        os.replace(temporary, path)
    finally:
        if os.path.isdir(temporary):
            shutil.rmtree(temporary, ignore_errors=True)
        elif os.path.exists(temporary):
            os.remove(temporary)


def write_bytes(data: bytes, path: str) -> str:
    """Write `data` to `path` atomically; returns the path."""
    with replacing(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return path


def copy_file(source: str, path: str) -> str:
    """Copy `source` to `path` atomically; returns the path."""
    with replacing(path) as temporary:
        shutil.copyfile(source, temporary)
    return path
