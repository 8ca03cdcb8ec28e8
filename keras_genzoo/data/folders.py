"""A folder of image files (PNG, JPEG, BMP, GIF) as one pool of images, with class labels
taken from its subfolders.

Layout: when every image lies below a first-level subfolder, those subfolders are the
classes (sorted by name; images at any depth below a class folder belong to it). When
any image lies directly in the folder, the folder is unlabelled and every image below it
is read. Hidden files and folders (names starting with ".") are ignored, as are files
with other extensions.

Files are decoded with TensorFlow (`tf.io.decode_image`), checked one by one so that an
unreadable file is named, then brought to one (height, width, channels): resized, or
centre-cropped, as `resize_mode` says, and converted to grey or colour as the channels
ask. The result is held in memory as uint8, like the other sources.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from keras_genzoo.core.quiet import ZooWarning
from keras_genzoo.data.errors import DataFormatError, DataNotFoundError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
RESIZE_MODES = ("resize", "crop_resize", "crop")
MAX_LISTED = 5  # files named in a message before "and N more"


@dataclass(frozen=True)
class ImageOptions:
    """How to bring image files to one shape: a target (H, W, C) or None, and how to fit it."""

    image_shape: tuple[int, int, int] | None = None
    resize_mode: str = "resize"
    skip_bad_images: bool = False


@dataclass(frozen=True)
class ImageFolder:
    """Decoded images (N, H, W, C) uint8, labels or None, class names, skipped files and why."""

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


# The last folder decoded, keyed by its path, options and files' sizes and times: loading
# the train and the held-out split of one folder decodes it once.
_last_decoded: dict[tuple, ImageFolder] = {}


class BadImageError(DataFormatError):
    """One image file cannot be used; the message names the file and why."""


def check_image_options(
    image_shape: Sequence[int] | None, resize_mode: str, skip_bad_images: bool
) -> ImageOptions:
    """Validated options, or a ValueError saying which one is wrong."""
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f"resize_mode must be one of {list(RESIZE_MODES)}, got {resize_mode!r}.")
    shape = None
    if image_shape is not None:
        try:
            shape = tuple(int(d) for d in image_shape)
        except (TypeError, ValueError):
            shape = ()
        if len(shape) != 3 or min(shape) < 1 or shape[2] not in (1, 3):
            raise ValueError(
                "image_shape must be (height, width, channels) with positive sizes and 1 "
                f"(grey) or 3 (colour) channels, got {image_shape!r}."
            )
    return ImageOptions(shape, resize_mode, bool(skip_bad_images))  # type: ignore[arg-type]


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _images_below(folder: str) -> list[str]:
    """Image files in `folder` and its subfolders (hidden ones skipped), sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, f) for f in files if _is_image(f))
    return sorted(found)


def _listing(paths: Sequence[str], folder: str) -> str:
    names = [os.path.relpath(p, folder) for p in paths[:MAX_LISTED]]
    more = len(paths) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def find_image_files(folder: str) -> tuple[list[str], list[int] | None, tuple[str, ...]]:
    """(image paths, class index per path or None, class names) of an image folder."""
    entries = sorted(os.listdir(folder))
    if not entries:
        raise DataNotFoundError(
            f"The folder {folder} is empty. Put image files ({', '.join(IMAGE_EXTENSIONS)}) "
            "in it, or in one subfolder per class."
        )
    loose = [os.path.join(folder, e) for e in entries if _is_image(e)]
    subfolders = [
        e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(folder, e))
    ]
    if loose:
        return _images_below(folder), None, ()
    paths, labels, names = [], [], []
    for name in subfolders:
        below = _images_below(os.path.join(folder, name))
        if not below:
            continue
        if len(below) == 1:
            raise DataFormatError(
                f"Class folder {os.path.join(folder, name)} holds a single image "
                f"({os.path.basename(below[0])}); a class needs at least 2 images so that "
                "its train and held-out parts can both have one. Add images to it, or move "
                "that image into another class folder."
            )
        labels.extend([len(names)] * len(below))
        names.append(name)
        paths.extend(below)
    if not paths:
        others = []
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            others.extend(os.path.join(root, f) for f in files)
        what = f"it holds {len(others)} other files ({_listing(sorted(others), folder)})"
        raise DataNotFoundError(
            f"No image files found in {folder} or its subfolders: "
            f"{what if others else 'it holds only folders'}. "
            f"Images are files ending in {', '.join(IMAGE_EXTENSIONS)}."
        )
    return paths, labels, tuple(names)


def _decode_error(err: Exception) -> str:
    """TensorFlow's reason without its op and function decorations."""
    text = getattr(err, "message", str(err))
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:\w+\]", "", text).strip().rstrip(".")


def decode_image_file(path: str) -> np.ndarray:
    """The image in `path` (H, W, C) uint8 with its stored channels; GIFs give their first frame."""
    import tensorflow as tf

    try:
        data = tf.io.read_file(path)
    except (tf.errors.OpError, OSError) as err:
        raise BadImageError(f"Could not read image file {path}: {_decode_error(err)}.") from err
    try:
        image = tf.io.decode_image(data, channels=0, expand_animations=False)
    except (tf.errors.OpError, ValueError) as err:
        raise BadImageError(
            f"Could not decode image file {path}: {_decode_error(err)}. The file is truncated, "
            "corrupt or not an image; replace or delete it (or pass skip_bad_images=True to "
            "leave out such files)."
        ) from err
    if image.dtype != tf.uint8:  # 16-bit PNGs
        image = tf.image.convert_image_dtype(image, tf.uint8, saturate=True)
    return image.numpy()


def _drop_alpha(image: np.ndarray) -> np.ndarray:
    return image[..., :1] if image.shape[-1] == 2 else image[..., :3]


def fit_image(image: np.ndarray, shape: tuple[int, int, int], mode: str, path: str) -> np.ndarray:
    """One decoded image brought to `shape` (H, W, C) uint8 as `mode` says."""
    import tensorflow as tf

    height, width, channels = shape
    image = _drop_alpha(image)
    h, w = image.shape[:2]
    if mode == "crop":
        if h < height or w < width:
            raise BadImageError(
                f"Image file {path} is {h}x{w} pixels (height x width), too small for a "
                f"{height}x{width} centre crop. Use resize_mode='resize' or 'crop_resize', "
                "ask for a smaller image_shape, or remove the file."
            )
        top, left = (h - height) // 2, (w - width) // 2
        image = image[top : top + height, left : left + width]
    else:
        if mode == "crop_resize":  # the largest centred box with the target's aspect ratio
            crop_h = min(h, max(1, round(w * height / width)))
            crop_w = min(w, max(1, round(h * width / height)))
            top, left = (h - crop_h) // 2, (w - crop_w) // 2
            image = image[top : top + crop_h, left : left + crop_w]
        if image.shape[:2] != (height, width):
            resized = tf.image.resize(image, (height, width), method="bilinear", antialias=True)
            image = np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)
    if image.shape[-1] != channels:
        convert = tf.image.rgb_to_grayscale if channels == 1 else tf.image.grayscale_to_rgb
        image = convert(tf.convert_to_tensor(image)).numpy()
    return image


def _natural_shape(images: list[np.ndarray], paths: list[str], folder: str) -> tuple[int, int, int]:
    """The one shape all images share, or an error saying what differs and how to fix it."""
    grey = [p for p, im in zip(paths, images) if im.shape[-1] in (1, 2)]
    colour = [p for p, im in zip(paths, images) if im.shape[-1] in (3, 4)]
    if grey and colour:
        raise DataFormatError(
            f"{folder} mixes grey images ({len(grey)}, e.g. {_listing(grey, folder)}) and "
            f"colour images ({len(colour)}, e.g. {_listing(colour, folder)}). Ask for one: "
            "image_shape=(height, width, 1) converts all to grey, (height, width, 3) to colour."
        )
    sizes: dict[tuple[int, int], str] = {}
    for path, image in zip(paths, images):
        sizes.setdefault(image.shape[:2], path)
    if len(sizes) > 1:
        examples = ", ".join(
            f"{os.path.relpath(p, folder)} is {h}x{w}" for (h, w), p in list(sizes.items())[:3]
        )
        raise DataFormatError(
            f"The images in {folder} have {len(sizes)} different sizes ({examples}). Pass "
            "image_shape=(height, width, channels) to resize or crop them to one size."
        )
    (height, width), = sizes
    return height, width, 1 if grey else 3


def _file_signature(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:  # reported when the file is read
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def load_image_folder(folder: str, options: ImageOptions) -> ImageFolder:
    """Decode, check and conform every image of `folder` (see the module docstring).

    With `skip_bad_images`, files that cannot be used are left out with a warning that
    names each one and says why.
    """
    paths, labels, class_names = find_image_files(folder)
    key = (os.path.realpath(folder), options, tuple(paths), tuple(labels or ()),
           tuple(map(_file_signature, paths)))
    if key not in _last_decoded:
        _last_decoded.clear()
        _last_decoded[key] = _decode_folder(folder, options, paths, labels, class_names)
    result = _last_decoded[key]
    if result.skipped:
        warnings.warn(
            f"Skipped {len(result.skipped)} of {len(paths)} image files in {folder} "
            "(skip_bad_images=True): " + "; ".join(reason for _, reason in result.skipped),
            ZooWarning, stacklevel=4,
        )
    return result


def _decode_folder(
    folder: str, options: ImageOptions, paths: list[str], labels: list[int] | None,
    class_names: tuple[str, ...],
) -> ImageFolder:
    skipped: list[tuple[str, str]] = []

    def attempt(work, *args) -> object:
        """`work(*args)`, or None for a bad image when bad images are skipped
        (the last argument is always the file's path)."""
        path = args[-1]
        try:
            return work(*args)
        except BadImageError as err:
            if not options.skip_bad_images:
                raise
            skipped.append((os.path.relpath(path, folder), str(err)))
            return None

    # With a target shape each image is fitted as soon as it is decoded, so memory holds
    # only images of the target size; without one, all must share their stored shape.
    shape = options.image_shape
    fitted, final = [], []
    for index, path in enumerate(paths):
        image = attempt(decode_image_file, path)
        if image is not None and shape is not None:
            image = attempt(fit_image, image, shape, options.resize_mode, path)
        if image is not None:
            fitted.append(image)
            final.append(index)
    if shape is None and fitted:
        shape = _natural_shape(fitted, [paths[i] for i in final], folder)
        fitted = [fit_image(image, shape, "resize", paths[i]) for i, image in zip(final, fitted)]
    if not fitted:
        raise DataFormatError(
            f"None of the {len(paths)} image files in {folder} could be used; all were skipped."
        )
    kept_labels = None
    if labels is not None:
        kept_labels = np.asarray([labels[i] for i in final], np.int64)
        empty = [name for c, name in enumerate(class_names) if not np.any(kept_labels == c)]
        if empty:
            raise DataFormatError(
                f"After skipping unreadable files, class folder(s) {', '.join(empty)} in "
                f"{folder} hold no usable image."
            )
    return ImageFolder(np.stack(fitted), kept_labels, class_names, tuple(skipped))
