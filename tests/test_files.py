"""Files the package writes and reads: durable atomic writes, the feature classifier's
weights and record written as a pair, and damaged `.keras` archives."""

from __future__ import annotations

import errno
import json
import os
import struct
import zipfile

import numpy as np
import pytest

import keras_genzoo
from keras_genzoo.evaluation.classifiers import (
    load_feature_classifier,
    read_metadata,
    train_feature_classifier,
)
from keras_genzoo.io.atomic import TEMPORARY_PREFIX, copy_file, write_bytes
from keras_genzoo.io.checksums import sha256_file
from keras_genzoo.io.jsonfiles import write_json


@pytest.fixture
def disk_events(monkeypatch):
    """Every `os.fsync` (as the inode it flushed) and `os.replace` (as its target), in order."""
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        events.append(("fsync", os.fstat(descriptor).st_ino))
        return real_fsync(descriptor)

    def replace(source, target, *args, **kwargs):
        events.append(("replace", os.path.abspath(target)))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def _flushed_around_the_rename(events, target, file_inode: int) -> None:
    folder_inode = os.stat(os.path.dirname(os.path.abspath(target))).st_ino
    renames = [i for i, event in enumerate(events) if event == ("replace", os.path.abspath(target))]
    assert len(renames) == 1, events
    before, after = events[: renames[0]], events[renames[0] + 1:]
    assert ("fsync", file_inode) in before, "the new file is on disk before it is renamed"
    assert ("fsync", folder_inode) in before, "the folder is flushed before the rename"
    assert ("fsync", folder_inode) in after, "the rename itself is flushed"


@pytest.mark.parametrize("writer", ["write_bytes", "copy_file", "write_json"])
def test_atomic_writes_flush_the_file_and_its_folder_around_the_rename(writer, tmp_path, disk_events):
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    target = tmp_path / "out" / "file.json"
    disk_events.clear()
    {"write_bytes": lambda: write_bytes(b"{}", str(target)),
     "copy_file": lambda: copy_file(str(source), str(target)),
     "write_json": lambda: write_json({"a": 1}, str(target))}[writer]()
    _flushed_around_the_rename(disk_events, target, os.stat(target).st_ino)
    assert [n for n in os.listdir(target.parent) if n.startswith(TEMPORARY_PREFIX)] == []


def test_a_saved_preset_is_flushed_before_and_after_it_is_renamed_into_place(tmp_path, disk_events):
    model = keras_genzoo.create_model("ae_dense", image_shape=(8, 8, 1), latent_dim=3, units=[16])
    directory = tmp_path / "presets" / "p"
    disk_events.clear()
    keras_genzoo.save_preset(model, str(directory))
    _flushed_around_the_rename(disk_events, directory, os.stat(directory).st_ino)
    renamed = disk_events.index(("replace", str(directory)))
    for name in os.listdir(directory):
        assert ("fsync", os.stat(directory / name).st_ino) in disk_events[:renamed], name


def test_a_failed_classifier_save_keeps_the_previous_weights_and_record(tmp_path, monkeypatch):
    """A full disk while the record is written: the weights file and `classifiers.json`
    stay the previous, matching pair; no temporary file is left; a later save replaces both."""
    weights_dir = tmp_path / "weights"
    first = train_feature_classifier("digits", epochs=1, weights_dir=str(weights_dir))
    before = {name: (weights_dir / name).read_bytes() for name in os.listdir(weights_dir)}
    assert sorted(before) == ["classifiers.json", "digits_classifier.weights.h5"]

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(json, "dump", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        train_feature_classifier("digits", epochs=1, seed=1, weights_dir=str(weights_dir))
    monkeypatch.undo()
    assert {name: (weights_dir / name).read_bytes() for name in os.listdir(weights_dir)} == before
    assert load_feature_classifier("digits", str(weights_dir)).metadata == first
    second = train_feature_classifier("digits", epochs=1, seed=1, weights_dir=str(weights_dir))
    assert read_metadata(str(weights_dir)) == {"digits": second} and second["sha256"] != first["sha256"]
    assert sha256_file(str(weights_dir / "digits_classifier.weights.h5")) == second["sha256"]
    assert sorted(os.listdir(weights_dir)) == sorted(before)


def _damage_member(path, member: str) -> None:
    """Flip one byte in the middle of `member`'s stored data, leaving the zip readable."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(open(path, "rb").read())
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))


@pytest.mark.parametrize("member", ["model.weights.h5", "config.json"])
def test_a_keras_file_with_a_damaged_byte_is_refused_as_corrupt(member, tmp_path):
    model = keras_genzoo.create_model("ae_dense", image_shape=(8, 8, 1), latent_dim=3, units=[16])
    model(np.zeros((1, 8, 8, 1), "float32"))
    path = tmp_path / "model.keras"
    model.save(str(path))
    _damage_member(path, member)
    assert zipfile.is_zipfile(path)
    with pytest.raises(ValueError) as info:
        keras_genzoo.load(str(path))
    message = str(info.value)
    assert f"{str(path)!r} is a corrupt `.keras` archive" in message
    assert f"member {member!r} fails its CRC-32 check" in message
    assert "restore it from a copy, or save the model again" in message
