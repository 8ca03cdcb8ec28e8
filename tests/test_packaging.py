"""The wheel `pip install .` installs: the package's modules, every shipped preset and the
classifier weights as package data, and nothing from the repository's other folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO_ROOT

#: Build outputs and tool folders of a working copy; the wheel is built without them.
LEFT_OUT_AT_THE_ROOT = {".git", "build", "dist", "runs"}
LEFT_OUT_EVERYWHERE = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def _files_under(folder: str) -> list[str]:
    """Paths of the files under `folder`, relative to it, with "/" separators."""
    return sorted(
        os.path.relpath(os.path.join(parent, name), folder).replace(os.sep, "/")
        for parent, _, names in os.walk(folder)
        for name in names
        if "__pycache__" not in parent
    )


def _left_out(folder: str, names: list[str]) -> set[str]:
    at_root = os.path.samefile(folder, REPO_ROOT)
    return {
        name for name in names
        if name in LEFT_OUT_EVERYWHERE or name.endswith(".egg-info")
        or (at_root and (name in LEFT_OUT_AT_THE_ROOT or name.startswith(".venv")))
    }


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> list[str]:
    """Names in the wheel built from a clean copy of the repository (setuptools builds in
    the source folder, and stale files in an old build/ folder would end up in the wheel)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_left_out)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(work / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list((work / "dist").glob("keras_genzoo-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        return wheel.namelist()


def test_wheel_ships_every_preset_file_and_the_classifier_weights(wheel_files):
    presets_dir = os.path.join(REPO_ROOT, "pretrained")
    presets = [f"keras_genzoo/pretrained/{name}" for name in _files_under(presets_dir)]
    weights_dir = os.path.join(REPO_ROOT, "keras_genzoo", "evaluation", "weights")
    weights = [f"keras_genzoo/evaluation/weights/{name}" for name in _files_under(weights_dir)]
    assert any(name.endswith("vae_conv/mnist_t10k/model.weights.h5") for name in presets)
    assert any(name.endswith("mnist_classifier.weights.h5") for name in weights)
    missing = sorted(set(presets + weights) - set(wheel_files))
    assert not missing, f"not in the wheel: {missing}"


def test_wheel_holds_the_package_modules_and_nothing_else(wheel_files):
    package = os.path.join(REPO_ROOT, "keras_genzoo")
    modules = {f"keras_genzoo/{name}" for name in _files_under(package) if name.endswith(".py")}
    shipped = {name for name in wheel_files if name.endswith(".py")}
    assert shipped == modules, (
        f"missing: {sorted(modules - shipped)}; not in the source: {sorted(shipped - modules)}"
    )
    outside = [
        name for name in wheel_files
        if name.split("/")[0] != "keras_genzoo"
        and not (name.startswith("keras_genzoo-") and name.split("/")[0].endswith(".dist-info"))
    ]
    assert not outside, f"the wheel holds files outside the package: {outside}"
    repository_only = [
        name for name in wheel_files
        if {"tests", "benchmarks"} & set(name.split("/"))
        or os.path.basename(name).startswith(("test_", "conftest"))
    ]
    assert not repository_only, f"test or benchmark files in the wheel: {repository_only}"
