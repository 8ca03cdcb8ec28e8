"""Presets published as archives at a URL: downloaded once into a cache, then used offline.

The archive (`.tar.gz`, `.tgz`, `.tar` or `.zip` holding one preset directory) is fetched
with `keras.utils.get_file`, which checks `file_hash` (SHA-256) on every call, cached or
not. It is unpacked into a temporary folder that becomes the cache entry, named by the
archive's SHA-256, only once it is complete and holds a loadable preset; members that
would land outside that folder (`../`, absolute paths) and links are refused, and a
download or archive that fails any check is deleted, so a partial download never
becomes a cache entry. A local archive file goes through the same checks
(`open_archive`) and is never deleted.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import urllib.parse
import zipfile

import keras

from keras_genzoo.io.atomic import replace_directory
from keras_genzoo.io.checksums import sha256_file, verify_file
from keras_genzoo.presets.store import (
    METADATA_FILE,
    PresetError,
    load_preset_dir,
    read_preset,
)

CACHE_ENV = "KERAS_GENZOO_CACHE"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def cache_dir() -> str:
    """Where downloaded presets are kept: `$KERAS_GENZOO_CACHE`, else
    `$KERAS_HOME/keras_genzoo` (KERAS_HOME defaults to `~/.keras`)."""
    if os.environ.get(CACHE_ENV):
        return os.path.abspath(os.path.expanduser(os.environ[CACHE_ENV]))
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(os.path.abspath(keras_home), "keras_genzoo")


def is_url(text: str) -> bool:
    return isinstance(text, str) and text.startswith(("https://", "http://"))


def _archive_name(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "http" and parsed.hostname not in LOOPBACK_HOSTS:
        raise PresetError(
            f"Refusing to download a preset over plain http from {parsed.hostname!r}; use an "
            "https:// URL (plain http is accepted for this machine only, 127.0.0.1)."
        )
    name = posixpath.basename(parsed.path)
    if not name.endswith(ARCHIVE_SUFFIXES):
        raise PresetError(
            f"A preset URL must name an archive ending in {', '.join(ARCHIVE_SUFFIXES)}, got {url!r}."
        )
    return name


def _check_member(name: str, archive: str) -> None:
    path = name.replace("\\", "/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if path.startswith("/") or (len(path) > 1 and path[1] == ":") or ".." in parts:
        raise PresetError(
            f"Refusing to unpack {archive!r}: member {name!r} would be written outside the "
            "preset folder. The archive is malformed or malicious; it was not used."
        )


def _refuse_link(name: str, archive: str) -> None:
    raise PresetError(
        f"Refusing to unpack {archive!r}: member {name!r} is a link or a special file; a "
        "preset archive holds plain files and folders only. It was not used."
    )


def safe_extract(archive: str, target: str) -> None:
    """Unpack a tar or zip `archive` into `target`, refusing escaping members and links."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member(info.filename, archive)
                mode = info.external_attr >> 16
                if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    _refuse_link(info.filename, archive)
            zf.extractall(target)
        return
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member.name, archive)
                if not (member.isfile() or member.isdir()):
                    _refuse_link(member.name, archive)
            tar.extractall(target, members=members, filter="data")
    except tarfile.TarError as err:
        raise PresetError(
            f"{archive!r} is not a readable tar or zip archive ({err}); it may be truncated."
        ) from None


def _preset_root(folder: str) -> str:
    """The folder holding `metadata.json`: the archive's top level or its one sub-folder."""
    if os.path.isfile(os.path.join(folder, METADATA_FILE)):
        return folder
    entries = [e for e in os.listdir(folder) if not e.startswith(".")]
    if len(entries) == 1 and os.path.isfile(os.path.join(folder, entries[0], METADATA_FILE)):
        return os.path.join(folder, entries[0])
    raise PresetError(
        f"The archive holds no preset: {METADATA_FILE!r} is neither at its top level nor in "
        "its only folder."
    )


def is_archive(text: str) -> bool:
    """True for the path of a local preset archive (`.tar.gz`, `.tgz`, `.tar`, `.zip`)."""
    return isinstance(text, str) and not is_url(text) and text.endswith(ARCHIVE_SUFFIXES)


def _cache_root(cache: str | None) -> str:
    """The cache folder (`cache_dir()` by default) with its `archives` and `presets` folders."""
    root = os.path.abspath(cache or cache_dir())
    for folder in ("archives", "presets"):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    return root


def _unpacked(archive: str, root: str) -> str:
    """The cache entry of `archive`, named by the SHA-256 of its content: unpacked, checked
    and loaded once before it becomes the entry, reused as it is afterwards."""
    extracted = os.path.join(root, "presets")
    entry = os.path.join(extracted, sha256_file(archive))
    if os.path.isdir(entry):
        return entry
    staging = tempfile.mkdtemp(prefix=".partial-", dir=extracted)
    try:
        safe_extract(archive, staging)
        preset = _preset_root(staging)
        read_preset(preset)
        load_preset_dir(preset)  # weights verified and loadable before the entry exists
        replace_directory(preset, entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entry


def fetch_preset(url: str, *, file_hash: str | None = None, cache: str | None = None) -> str:
    """The cached preset directory of the archive at `url`, downloading it the first time.

    `file_hash` (the archive's SHA-256) is checked on every call, and the archive's
    content, not its URL, names the cache entry, so an archive that changed at the same
    URL is unpacked afresh. `cache` defaults to `cache_dir()`. The preset's weights are
    verified by the loader on every load.
    """
    name = _archive_name(url)
    root = _cache_root(cache)
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    archive_path = os.path.join(root, "archives", f"{key}-{name}")
    try:
        archive_path = keras.utils.get_file(
            f"{key}-{name}", origin=url, file_hash=file_hash, hash_algorithm="sha256",
            cache_dir=root, cache_subdir="archives",
        )
    except BaseException as err:
        if os.path.exists(archive_path):  # get_file keeps a file whose hash it refused
            os.remove(archive_path)
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        raise PresetError(f"Could not download the preset archive {url!r}: {err}") from err
    try:
        return _unpacked(archive_path, root)
    except BaseException:
        if os.path.exists(archive_path):
            os.remove(archive_path)
        raise


def open_archive(path: str, *, file_hash: str | None = None, cache: str | None = None) -> str:
    """The cached preset directory of a local preset archive, unpacked the first time.

    The same checks as an archive at a URL: `file_hash` (its SHA-256) on every call, safe
    extraction, a loadable preset before the cache entry exists; the archive itself is
    left where it is.
    """
    if not is_archive(path):
        raise PresetError(
            f"A preset archive must end in {', '.join(ARCHIVE_SUFFIXES)}, got {path!r}."
        )
    if not os.path.isfile(path):
        raise PresetError(f"No preset archive at {path!r}.")
    if file_hash is not None:
        verify_file(
            path, file_hash,
            advice="The archive is not the one that hash was published for: download it again.",
        )
    return _unpacked(os.path.abspath(path), _cache_root(cache))
