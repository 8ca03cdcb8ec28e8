"""Image grids: turn a batch of generated or reconstructed images into a PNG."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


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


def save_image_grid(
    images: np.ndarray,
    path: str,
    value_range: Sequence[float] = (0.0, 1.0),
    *,
    ncols: int | None = None,
    scale: int | None = None,
) -> str:
    """Write `images` as a PNG grid at `path` and return the path.

    Small images are enlarged (nearest neighbour) so an 8x8 digit stays visible.
    """
    from PIL import Image

    images = np.asarray(images)
    if scale is None:
        scale = max(1, 64 // max(images.shape[1], 1))
    grid = image_grid(images, value_range, ncols=ncols, scale=scale)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return path
