"""A coverage figure for 2-D samples: where the samples fall relative to the known modes."""

from __future__ import annotations

import numpy as np

from keras_genzoo.evaluation.metrics import mode_coverage


def coverage_figure(
    samples: np.ndarray,
    centers: np.ndarray,
    radius: float,
    path: str,
    *,
    extent: float | None = None,
    size: int = 320,
) -> str:
    """Draw 2-D `samples` (blue dots) over circles of `radius` around `centers` and save a PNG.

    Covered modes are drawn in green, missed ones in red, and the coverage count is
    written in the corner, so mode collapse shows at a glance. `extent` is the half-width
    of the square drawn (default: fits the centers and radius with a margin).
    """
    from PIL import Image, ImageDraw

    points = np.asarray(samples, np.float64).reshape(len(samples), -1)
    centers = np.asarray(centers, np.float64)
    if points.shape[1] != 2 or centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(
            f"coverage_figure draws 2-D data; got samples of dimension {points.shape[1]} "
            f"and centers of shape {centers.shape}."
        )
    coverage = mode_coverage(points, centers, radius)
    extent = float(extent or 1.25 * (np.abs(centers).max() + radius))

    def to_pixel(xy: np.ndarray) -> np.ndarray:
        unit = (np.asarray(xy) + extent) / (2 * extent)
        return unit * (size - 1) * np.array([1, -1]) + np.array([0, size - 1])

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    pixel_radius = radius / (2 * extent) * (size - 1)
    for center, covered in zip(centers, coverage.mode_covered):
        x, y = to_pixel(center)
        colour = (0, 160, 0) if covered else (220, 0, 0)
        draw.ellipse([x - pixel_radius, y - pixel_radius, x + pixel_radius, y + pixel_radius],
                     outline=colour, width=2)
    for x, y in to_pixel(points):
        if 0 <= x < size and 0 <= y < size:
            draw.rectangle([x - 1, y - 1, x + 1, y + 1], fill=(30, 60, 200))
    draw.text((6, 6), f"modes covered: {coverage.covered}/{coverage.num_modes}", fill=(0, 0, 0))
    draw.text((6, 20), f"near a mode: {coverage.high_quality_fraction:.0%}", fill=(0, 0, 0))
    image.save(path)
    return path
