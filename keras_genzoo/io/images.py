"""Image grids: turn a batch of generated or reconstructed images into a PNG (`save_images`)."""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from keras_genzoo.io.atomic import replacing

CAPTION_HEIGHT = 16  # pixels of the caption strip under a labelled panel


def to_unit_range(images: np.ndarray, value_range: Sequence[float] = (0.0, 1.0)) -> np.ndarray:
    """Map images from `value_range` to [0, 1], clipping anything outside."""
    low, high = float(value_range[0]), float(value_range[1])
    if high <= low:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
    return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0.0, 1.0)


def image_grid(
    images: np.ndarray,
    value_range: Sequence[float] = (0.0, 1.0),
    *,
    ncols: int | None = None,
    padding: int = 1,
    scale: int = 1,
) -> np.ndarray:
    """Tile NHWC images into one uint8 picture (H, W, C) with `padding` pixels between."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"Expected a non-empty NHWC batch, got shape {images.shape}.")
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.ones(
        (nrows * (h + padding) + padding, ncols * (w + padding) + padding, c), np.float32
    )
    unit = to_unit_range(images, value_range)
    for i in range(n):
        r, col = divmod(i, ncols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = unit[i]
    return np.round(grid * 255).astype(np.uint8)


def grid_scale(images: np.ndarray) -> int:
    """Nearest-neighbour enlargement that draws an NHWC tile about 64 pixels high."""
    return max(1, 64 // max(int(np.shape(images)[1]), 1))


def with_caption(grid: np.ndarray, caption: str, height: int = CAPTION_HEIGHT) -> np.ndarray:
    """`grid` (uint8, H x W x C) with a white strip of `height` pixels below it, the
    `caption` written in black, centred."""
    from PIL import Image, ImageDraw

    strip = Image.new("L", (grid.shape[1], height), 255)
    draw = ImageDraw.Draw(strip)
    left, top, right, bottom = draw.textbbox((0, 0), caption)
    draw.text(((grid.shape[1] - (right - left)) // 2 - left, (height - (bottom - top)) // 2 - top),
              caption, fill=0)
    text = np.repeat(np.asarray(strip, np.uint8)[..., None], grid.shape[2], axis=2)
    return np.concatenate([grid, text], axis=0)


def write_png(grid: np.ndarray, path: str) -> str:
    """Write a uint8 (H, W, C) grid as a PNG file, whole or not at all; returns the path."""
    from PIL import Image

    with replacing(path) as temporary:
        Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(temporary, "PNG")
    return path


def write_image(image: np.ndarray, path: str) -> str:
    """Write a uint8 (H, W, C) image whole or not at all, in the format its file name
    ends with (.png, .jpg / .jpeg, .bmp, .gif); returns the path."""
    from PIL import Image

    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".gif": "GIF"}
    ending = os.path.splitext(path)[1].lower()
    if ending not in formats:
        raise ValueError(f"Cannot write {path}: image files end in {', '.join(formats)}.")
    with replacing(path) as temporary:
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        picture.save(temporary, formats[ending], **({"quality": 95} if formats[ending] == "JPEG" else {}))
    return path


def _default_range(images: np.ndarray) -> tuple[float, float]:
    if np.issubdtype(images.dtype, np.integer):
        return (0.0, 255.0)
    return (-1.0, 1.0) if images.size and float(np.min(images)) < 0.0 else (0.0, 1.0)


def save_images(
    images: np.ndarray,
    path: str,
    *,
    columns: int | None = None,
    value_range: Sequence[float] | None = None,
) -> str:
    """Save a batch of images (N, H, W, C) or (N, H, W) as one PNG grid at `path`; returns it.

    `value_range` is the range the pixel values use, e.g. `model.value_range`; by default
    (0, 255) for integer images, else (-1, 1) when any value is negative, else (0, 1).
    `columns` defaults to a square grid. Small images are enlarged (nearest neighbour) so
    that each tile is about 64 pixels high. The file appears whole or not at all.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if value_range is None:
        value_range = _default_range(images)
    grid = image_grid(images, value_range, ncols=columns, scale=grid_scale(images), padding=2)
    return write_png(grid, path)
