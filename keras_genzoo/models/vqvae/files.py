"""Folders of images to folders of compressed files and back.

`compress_folder` reads every image below a folder (as `keras_genzoo.data` reads image
folders), brings each to the model's image shape, and writes one `.vqz` file per image
at the same relative path. `decompress_folder` turns every `.vqz` file below a folder
into a PNG. Both compute everything before writing anything, write each file
atomically, and refuse to replace existing files unless told to.
"""

from __future__ import annotations

import os

import numpy as np

from keras_genzoo.data.folders import decode_image_file, find_image_files, fit_image
from keras_genzoo.io.atomic import write_bytes
from keras_genzoo.io.images import write_png
from keras_genzoo.models.vqvae.model import VQVAE

SUFFIX = ".vqz"


def _targets(sources: list[str], root: str, destination: str, suffix: str, overwrite: bool) -> list[str]:
    targets = [
        os.path.join(destination, os.path.splitext(os.path.relpath(path, root))[0] + suffix)
        for path in sources
    ]
    if len(set(targets)) != len(targets):
        raise ValueError(
            f"Two files below {root} differ only in their extension and would both become the "
            f"same {suffix} file; rename one."
        )
    existing = [t for t in targets if os.path.exists(t)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{len(existing)} output files exist already (e.g. {existing[0]}); pass overwrite=True "
            "(--overwrite) to replace them, or choose another output folder."
        )
    return targets


def _class_ids(model: VQVAE, labels: list[int] | None, names: tuple[str, ...]) -> np.ndarray:
    if labels is None or not all(name.isdigit() for name in names):
        raise ValueError(
            f"{model.name} codes an image given its class: put the images in one subfolder per "
            f"class, named by the class id (0 to {model.num_classes - 1})."
        )
    return np.array([int(names[label]) for label in labels], np.int32)


def compress_folder(
    model: VQVAE, source: str, destination: str, *, resize_mode: str = "resize", overwrite: bool = False
) -> list[str]:
    """Compress every image below `source` into `destination` (one `.vqz` file each, at
    the same relative path); returns the paths written. Images are resized (or cropped:
    `resize_mode` as for image folders) to the model's shape; a class-conditional
    model takes each image's class from its subfolder's name, a class id."""
    paths, labels, names = find_image_files(source)
    targets = _targets(paths, source, destination, SUFFIX, overwrite)
    class_ids = _class_ids(model, labels, names) if model.is_conditional else None
    pixels = np.stack([fit_image(decode_image_file(p), model.image_shape, resize_mode, p) for p in paths])
    low, high = model.value_range
    images = (low + (high - low) * pixels.astype(np.float32) / 255.0).astype(np.float32)
    data = model.compress(images, labels=class_ids)
    return [write_bytes(item, target) for item, target in zip(data, targets)]


def decompress_folder(model: VQVAE, source: str, destination: str, *, overwrite: bool = False) -> list[str]:
    """Decompress every `.vqz` file below `source` into a PNG at the same relative path
    below `destination`; returns the paths written. A corrupted file stops it before
    anything is written (`CorruptDataError` names it)."""
    paths = sorted(
        os.path.join(folder, name)
        for folder, _, files in os.walk(source) for name in files if name.endswith(SUFFIX)
    )
    if not paths:
        raise FileNotFoundError(f"No {SUFFIX} files found below {source}.")
    targets = _targets(paths, source, destination, ".png", overwrite)
    data = []
    for path in paths:
        with open(path, "rb") as f:
            data.append(f.read())
    images = model.decompress(data)
    low, high = model.value_range
    pixels = np.clip(np.round((images - low) / (high - low) * 255.0), 0, 255).astype(np.uint8)
    return [write_png(image, target) for image, target in zip(pixels, targets)]
