"""What a run writes: preview grids, TensorBoard image summaries, reports and files.

Every file of a run directory is written by `save_model`, `write_json` or
`keras_genzoo.io.images.write_png`,
each to a temporary name that replaces the file only once it is complete
(`keras_genzoo.io.atomic`). `save_model` refuses NaN weights and records each model file's
SHA-256 in the run's `checksums.json`, which `keras_genzoo.load` checks.
"""

from __future__ import annotations

import time
from typing import Callable

import keras
import numpy as np

from keras_genzoo.core.capabilities import Encoder, Generator, Translator
from keras_genzoo.core.model import ZooModel
from keras_genzoo.io.atomic import replacing
from keras_genzoo.io.checksums import record_checksum
from keras_genzoo.io.images import grid_scale, image_grid, with_caption
from keras_genzoo.models.autoencoders import DenoisingAutoencoder
from keras_genzoo.training.data import RunData
from keras_genzoo.training.divergence import check_finite_weights

# The files and folders of a run directory (besides the model, `loading.RUN_MODEL_FILE`).
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
LOGS_DIR = "logs"
CHECKPOINTS_DIR = "checkpoints"
BACKUP_DIR = "backup"
PREVIEW_IMAGES = 32
PREVIEW_COLUMNS = 8
PANEL_GAP = 12  # white pixels between the panels of a reconstructions grid
# The most of a run's time its per-epoch preview grids may take: drawing a GAN's
# samples re-estimates its moving-average generator's batch statistics on 2,048 draws,
# seconds that dwarfed 3-step epochs on a small folder (benchmarks/gan_epoch_overhead.py).
PREVIEW_SHARE = 0.1


# ----------------------------------------------------------------------------- files


def save_model(model: keras.Model, path: str, run_dir: str | None = None) -> str:
    """Save `model` as a `.keras` archive at `path`; returns the path.

    Weights holding NaN or inf are refused (`TrainingDiverged`). With `run_dir`, the
    file's SHA-256 is recorded in that folder's `checksums.json`.
    """
    check_finite_weights(model)
    with replacing(path) as temporary:
        model.save(temporary)
    if run_dir is not None:
        record_checksum(run_dir, path)
    return path


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the model to `path` with `save_model` after every epoch (atomic, verified)."""

    def __init__(self, path: str, run_dir: str) -> None:
        super().__init__()
        self.path = path
        self.run_dir = run_dir

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        save_model(self.model, self.path, self.run_dir)


# ---------------------------------------------------------------------------- grids


def reconstruct(model: Encoder, images: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """The model's reconstructions; conditional models also get the images' labels."""
    return np.asarray(model.reconstruct(images, labels=labels if model.is_conditional else None))


def preview_grids(
    model: ZooModel,
    inputs: np.ndarray,
    targets: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    seed: int = 0,
    num_classes: int | None = None,
) -> dict[str, np.ndarray]:
    """uint8 image grids showing what `model` does: reconstructions and/or samples, or
    a translator's translations (`translation_grid`).

    The reconstructions grid puts panels side by side, tile for tile, each captioned
    underneath: the original images (the clean targets, "input"), the model's inputs when
    they differ (noisy pairs, or the noise a denoising model adds itself), then the
    model's reconstructions.
    """
    value_range = model.value_range
    grids = {}
    if isinstance(model, Encoder):
        panels = [targets]
        if not np.array_equal(inputs, targets):
            panels.append(inputs)
        elif isinstance(model, DenoisingAutoencoder):
            panels.append(model.corrupt(inputs, seed=seed))
        panels.append(reconstruct(model, panels[-1], labels))
        captions = ["input", "model input (noisy)", "reconstruction"]
        captions = captions[:1] + captions[1 : len(panels) - 1] + captions[-1:]
        grids["reconstructions"] = side_by_side(panels, captions, value_range)
    if isinstance(model, Translator):
        grids["translations"] = translation_grid(model, inputs, targets, seed=seed)
    if isinstance(model, Generator):
        conditional = model.is_conditional
        ncols = num_classes if conditional and num_classes and num_classes <= 16 else 8
        samples = model.generate(ncols * max(1, 64 // ncols), seed=seed)
        grids["samples"] = image_grid(
            samples, value_range, ncols=ncols, scale=grid_scale(samples), padding=2
        )
    return grids


def side_by_side(
    panels: list[np.ndarray], captions: list[str], value_range: tuple[float, float]
) -> np.ndarray:
    """One grid per panel of images (all of one shape), tile for tile, captioned
    underneath, side by side with white gaps between them."""
    scale = grid_scale(panels[-1])
    tiles = [
        with_caption(
            image_grid(panel, value_range, ncols=PREVIEW_COLUMNS // 2, scale=scale, padding=2),
            caption,
        )
        for panel, caption in zip(panels, captions)
    ]
    gap = np.full((tiles[0].shape[0], PANEL_GAP, tiles[0].shape[2]), 255, np.uint8)
    return np.concatenate([part for tile in tiles for part in (tile, gap)][:-1], axis=1)


def shown_at(images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`images` shown at `shape` (height, width, channels): each pixel repeated by the
    whole factor between their sizes (a super-resolution input), a grey image given the
    channels of a colour one."""
    height, width, channels = shape
    rows, columns = height // images.shape[1], width // images.shape[2]
    images = np.repeat(np.repeat(images, rows, axis=1), columns, axis=2)
    return np.repeat(images, channels, axis=3) if images.shape[3] != channels else images


def translation_grid(
    model: Translator, inputs: np.ndarray, targets: np.ndarray, *, seed: int = 0
) -> np.ndarray:
    """A translator's inputs, translations (seeded by `seed`) and targets side by side,
    tile for tile; a model that also translates back (a CycleGAN) shows its inputs,
    their translations and the translations taken back instead of targets."""
    outputs = np.asarray(model.translate(inputs, seed=seed))
    if "b_to_a" in model.directions:
        back = np.asarray(model.translate(outputs, seed=seed, direction="b_to_a"))
        panels, captions = [inputs, outputs, back], ["input (A)", "translation (B)", "back to A"]
    else:
        panels, captions = [inputs, outputs, targets], ["input", "translation", "target"]
    shape = max((panel.shape[1:] for panel in panels), key=lambda s: (s[0] * s[1], s[2]))
    return side_by_side([shown_at(panel, shape) for panel in panels], captions, model.value_range)


def run_preview_grids(model: ZooModel, data: RunData, seed: int) -> dict[str, np.ndarray]:
    """`preview_grids` of the first held-out images of a run."""
    labels = None if data.test_labels is None else data.test_labels[:PREVIEW_IMAGES]
    return preview_grids(
        model, data.test_inputs[:PREVIEW_IMAGES], data.test_targets[:PREVIEW_IMAGES], labels,
        seed=seed, num_classes=data.test_info.num_classes,
    )


class ImageSummaries(keras.callbacks.Callback):
    """Writes preview grids as TensorBoard image summaries after the first and the last
    epoch, and after others while they take at most `time_share` of the time spent so
    far (None: after every epoch).

    The grids change no state of the model, so which epochs get one does not change
    training.
    """

    def __init__(
        self, log_dir: str, make_grids: Callable[[], dict[str, np.ndarray]],
        time_share: float | None = None,
    ) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.make_grids = make_grids
        self.time_share = time_share
        self._writer = None
        self._started = 0.0
        self._spent = 0.0
        self.written_epochs: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.log_dir)
        self._started = time.perf_counter()
        self._spent = 0.0
        self.written_epochs = []

    def _due(self, epoch: int) -> bool:
        if self.time_share is None or not self.written_epochs:
            return True
        if epoch + 1 >= self.params.get("epochs", 0):
            return True
        elapsed = time.perf_counter() - self._started
        return self._spent <= self.time_share * elapsed

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import tensorflow as tf

        if not self._due(epoch):
            return
        started = time.perf_counter()
        with self._writer.as_default():
            for tag, grid in self.make_grids().items():
                tf.summary.image(tag, grid[None], step=epoch)
        self._writer.flush()
        self._spent += time.perf_counter() - started
        self.written_epochs.append(epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._writer.close()
