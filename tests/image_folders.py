"""Folders of real image files for tests: scikit-learn's digits as PNGs, and colour
("CIFAR-like") pictures made from them."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

# One foreground colour per digit class.
CLASS_COLOURS = np.array(
    [
        (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
        (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    ],
    np.float32,
)


def grey_digits(count: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` real 8x8 digits as uint8 (N, 8, 8, 1) 0..255, and their labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images[offset : offset + count] * 255 / 16).astype(np.uint8)
    return images[..., None], bunch.target[offset : offset + count].astype(np.int64)


def colour_digits(
    count: int, size: tuple[int, int] = (32, 32), seed: int = 0, offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Digits enlarged to `size`, painted in their class colour on a random background.

    uint8 (N, H, W, 3) and labels; the three channels differ in every image.
    """
    grey, labels = grey_digits(count, offset)
    height, width = size
    ink = np.stack(
        [np.asarray(Image.fromarray(g[..., 0]).resize((width, height), Image.BILINEAR)) for g in grey]
    )[..., None].astype(np.float32) / 255.0
    background = np.random.default_rng(seed).integers(0, 256, (count, 1, 1, 3)).astype(np.float32)
    foreground = CLASS_COLOURS[labels][:, None, None, :]
    return np.round(background * (1 - ink) + foreground * ink).astype(np.uint8), labels


def write_images(
    folder, images: np.ndarray, labels: np.ndarray | None = None, ext: str = "png"
) -> list[str]:
    """Write images as files `<folder>[/<label>]/<index>.<ext>`; returns the paths in that order.

    Grey images (one channel) are written as grey files.
    """
    paths = []
    for index, image in enumerate(images):
        where = os.path.join(str(folder), str(labels[index])) if labels is not None else str(folder)
        os.makedirs(where, exist_ok=True)
        path = os.path.join(where, f"{index:05d}.{ext}")
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
        paths.append(path)
    return paths
