"""Every Python block of README.md runs as written, each in a fresh interpreter.

Each block runs from an empty working folder with the package under test importable.
The placeholders the README uses for a user's own data are filled with stand-ins:
`path/to/folder` is a generated folder of 32x32 colour images in class subfolders,
`path/to/mnist` an MNIST-style IDX folder derived from scikit-learn's digits (enlarged
to 28x28; not MNIST), and `zoo_configs/` is copied from the repository.

Settings: by default the test shrinks the long settings of every block before running
it (`epochs=`, `max_trials=`, `num_samples=`, `gibbs_steps=`; see SMALL_SETTINGS), so
the blocks check the API, not the results. `KERAS_GENZOO_README_SMOKE=0` runs them
exactly as written (hours on a CPU; select them all with `-m "slow or not slow"`).
The package itself never reads this variable.

Markers, an HTML comment on the line before a block's fence:
`<!-- readme-test: slow (reason) -->` runs it only with `-m slow`;
`<!-- readme-test: skip (reason) -->` never runs it (at most MAX_SKIPPED blocks).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import PACKAGE_PARENT, REPO_ROOT
from image_folders import colour_digits, grey_digits, write_images
from PIL import Image

README = os.path.join(REPO_ROOT, "README.md")
SMOKE = os.environ.get("KERAS_GENZOO_README_SMOKE", "1") != "0"
SMALL_SETTINGS = {"epochs": 1, "max_trials": 1, "num_samples": 8, "gibbs_steps": 10}
MAX_SKIPPED = 2
BLOCK_TIMEOUT_S = 600

MARKER = re.compile(r"<!--\s*readme-test:\s*(\w+)\s*(?:\((.*?)\))?\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced Python block of the README."""

    name: str
    line: int
    source: str
    mark: str | None = None
    reason: str = ""


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def readme_blocks(text: str) -> list[Block]:
    """The Python blocks of a Markdown text, named after their section, with their markers."""
    blocks: list[Block] = []
    lines = text.splitlines()
    section, per_section, index = "top", {}, 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if line.startswith("#"):
            section = _slug(line.lstrip("#"))
        elif fence:
            end = index + 1
            while not FENCE.match(lines[end]):
                end += 1
            if fence.group(1) == "python":
                previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
                marker = MARKER.search(previous)
                per_section[section] = per_section.get(section, 0) + 1
                count = per_section[section]
                blocks.append(
                    Block(
                        name=section if count == 1 else f"{section}-{count}",
                        line=index + 1,
                        source="\n".join(lines[index + 1 : end]) + "\n",
                        mark=marker.group(1) if marker else None,
                        reason=(marker.group(2) or "").strip() if marker else "",
                    )
                )
            index = end
        index += 1
    return blocks


def shrink(source: str) -> str:
    """The source with every long setting of SMALL_SETTINGS cut to its small value."""
    pattern = r"\b(" + "|".join(SMALL_SETTINGS) + r")=(\d+)\b"
    return re.sub(
        pattern,
        lambda m: f"{m.group(1)}={min(int(m.group(2)), SMALL_SETTINGS[m.group(1)])}",
        source,
    )


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_stand_in_data(work: str) -> None:
    """The data the README's blocks expect, in the working folder `work`."""
    shutil.copytree(os.path.join(REPO_ROOT, "zoo_configs"), os.path.join(work, "zoo_configs"))
    images, labels = colour_digits(60, size=(32, 32))
    write_images(os.path.join(work, "path", "to", "folder"), images, labels)
    grey, grey_labels = grey_digits(400)
    enlarged = np.stack(
        [np.asarray(Image.fromarray(g[..., 0]).resize((28, 28), Image.BILINEAR)) for g in grey]
    ).astype(np.uint8)
    mnist = os.path.join(work, "path", "to", "mnist")
    os.makedirs(mnist)
    files = {"t10k-images-idx3-ubyte.gz": enlarged, "t10k-labels-idx1-ubyte.gz": grey_labels.astype(np.uint8)}
    for name, array in files.items():
        with gzip.open(os.path.join(mnist, name), "wb") as f:
            f.write(_idx_bytes(array))


def _params() -> list:
    with open(README, encoding="utf-8") as f:
        blocks = readme_blocks(f.read())
    params = []
    for block in blocks:
        marks = []
        if block.mark == "skip":
            marks.append(pytest.mark.skip(reason=f"README line {block.line}: {block.reason}"))
        elif block.mark == "slow":
            marks.append(pytest.mark.slow)
        params.append(pytest.param(block, id=block.name, marks=marks))
    return params


@pytest.mark.parametrize("block", _params())
def test_readme_python_block_runs(block: Block, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    write_stand_in_data(str(work))
    source = shrink(block.source) if SMOKE else block.source
    script = tmp_path / "readme_block.py"
    script.write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")])}
    env["KERAS_GENZOO_CACHE"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True,
        timeout=BLOCK_TIMEOUT_S if SMOKE else None,
    )
    code, stderr = result.returncode, result.stderr[-4000:]
    assert code == 0, f"README.md line {block.line} ({block.name}) exits {code}:\n{source}\n{stderr}"


def test_readme_blocks_are_found_and_markers_are_honest():
    """The parser finds the README's blocks, few are skipped, and every marker has a reason
    and stands before a Python block."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    blocks = readme_blocks(text)
    assert len(blocks) >= 10
    skipped = [b for b in blocks if b.mark == "skip"]
    assert len(skipped) <= MAX_SKIPPED, [f"line {b.line}" for b in skipped]
    assert all(b.reason for b in skipped), "a skipped README block must say why"
    assert {b.mark for b in blocks} <= {None, "skip", "slow"}
    assert len(MARKER.findall(text)) == sum(b.mark is not None for b in blocks), (
        "a readme-test marker that is not on the line before a ```python fence"
    )


def test_shrink_cuts_only_the_long_settings():
    source = "fit(ds, epochs=30, batch_size=64)\ntune(max_trials=10, epochs=5)\nlog_px(x, num_samples=1000)\n"
    small = "fit(ds, epochs=1, batch_size=64)\ntune(max_trials=1, epochs=1)\nlog_px(x, num_samples=8)\n"
    assert shrink(source) == small
    assert shrink("generate(64, gibbs_steps=1000, seed=0)") == "generate(64, gibbs_steps=10, seed=0)"
    assert shrink("kl_warmup_epochs=3") == "kl_warmup_epochs=3"
