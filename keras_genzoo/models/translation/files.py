"""A folder of images translated into a folder of images with the same names.

`translate_folder` reads every image below a folder (as `keras_genzoo.data` reads image
folders: PNG, JPEG, BMP, GIF, at any depth), brings each to the model's input shape,
translates them all, and only then writes each translation atomically at the same
relative path, in the format of its name; existing files are kept unless told otherwise.
"""

from __future__ import annotations

import os

import numpy as np

from keras_genzoo.core.capabilities import Translator
from keras_genzoo.data.folders import check_image_options, decode_image_file, find_image_files, fit_image
from keras_genzoo.io.images import write_image


def translate_folder(
    model: Translator,
    source: str,
    destination: str,
    *,
    direction: str | None = None,
    seed: int | None = 0,
    resize_mode: str = "resize",
    overwrite: bool = False,
) -> list[str]:
    """Translate every image below `source` into `destination` (the same relative paths
    and names); returns the paths written. Images are resized (or cropped: `resize_mode`
    as for image folders) to the model's input shape for `direction`; `seed` seeds the
    noise of a model that draws it (the same seed, the same files)."""
    direction = model.directions[0] if direction is None else direction
    if direction not in model.directions:
        raise ValueError(f"direction must be one of {list(model.directions)}, got {direction!r}.")
    input_shape, _ = model.translation_shapes(direction)
    check_image_options(input_shape, resize_mode, False)
    paths, _, _ = find_image_files(source)
    targets = [os.path.join(destination, os.path.relpath(path, source)) for path in paths]
    existing = [t for t in targets if os.path.exists(t)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{len(existing)} output files exist already (e.g. {existing[0]}); pass overwrite=True "
            "(--overwrite) to replace them, or choose another output folder."
        )
    pixels = np.stack([fit_image(decode_image_file(p), input_shape, resize_mode, p) for p in paths])
    low, high = model.value_range
    images = (low + (high - low) * pixels.astype(np.float32) / 255.0).astype(np.float32)
    translated = model.translate(images, seed=seed, direction=direction)
    out = np.clip(np.round((translated - low) / (high - low) * 255.0), 0, 255).astype(np.uint8)
    for target in targets:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    return [write_image(image, target) for image, target in zip(out, targets)]
