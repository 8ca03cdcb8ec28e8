"""Image pairs for image-to-image translation, and unpaired images of two domains.

Paired data is (input, target) arrays, float32 in a value range, from one of:

* a folder holding `A/` (inputs) and `B/` (targets) with files of the same names
  (`load_folder_pairs`); a file without its partner is an error naming it;
* a folder of side-by-side "AB" images, the input on the left half and the target on the
  right (`load_side_by_side`);
* any zoo dataset, each image paired with a made input (`make_pairs`, `load_pairs`):
  `edges` (an outline: the Sobel gradient magnitude, scaled per image), `downsample`
  (the image averaged over factor x factor blocks: super-resolution), `mask` (a random
  box set to the low end of the range: inpainting), `grey` (the luminance of a colour
  image: colourisation).

`pair_dataset` batches pairs for `model.fit`, with random crops and horizontal flips
applied alike to both sides of a pair; `transform_dataset` makes the pairs of a
transform on the fly, from each cropped and flipped image, with new masks every pass.
Unpaired data is two pools of images with their own sizes (`load_unpaired`), batched as
`(a, b)` by `unpaired_dataset`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from keras_genzoo.core.checks import check_choice, check_positive_int, check_probability
from keras_genzoo.core.randomness import numpy_rng
from keras_genzoo.data.datasets import SCALES, load_arrays
from keras_genzoo.data.errors import DataFormatError, DataNotFoundError
from keras_genzoo.data.folders import (
    check_image_options,
    find_image_files,
    load_image_folder,
)
from keras_genzoo.data.pipeline import random_numbers, scale_images, seeded_shuffle, tf_data_seeds

if TYPE_CHECKING:
    import tensorflow as tf

TRANSFORMS = ("edges", "downsample", "mask", "grey")
#: The transforms that treat every colour alike, so their pairs may be recoloured.
RECOLOURABLE_TRANSFORMS = ("downsample", "mask")
DOWNSAMPLE_FACTORS = (2, 3, 4)
#: The share of an image's area a `mask` box hides when none is given.
DEFAULT_MASK_FRACTION = 0.25
#: Sobel magnitudes below this (on images in [0, 1]) are rounding, not edges.
FLAT = 1e-5
#: Partners named in an error message before "and N more".
MAX_NAMED = 5


def _named(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _value_range(scale: str) -> tuple[float, float]:
    check_choice(scale, list(SCALES), "scale")
    return SCALES[scale]


def _side_files(folder: str, side: str) -> dict[str, str]:
    """The image files below `folder/side`, keyed by their path relative to it, in the
    order `load_image_folder` reads them (a function of the set of names: two sides
    with the same names are read in the same order)."""
    where = os.path.join(folder, side)
    if not os.path.isdir(where):
        raise DataNotFoundError(
            f"{folder} has no {side}/ folder. A paired folder holds A/ (inputs) and B/ "
            "(targets) with files of the same names; for side-by-side images use "
            "load_side_by_side."
        )
    paths, _, _ = find_image_files(where)
    return {os.path.relpath(path, where): path for path in paths}


def _loaded_side(folder: str, side: str, image_shape: Any, resize_mode: str) -> np.ndarray:
    options = check_image_options(image_shape, resize_mode, False)
    return load_image_folder(os.path.join(folder, side), options).images


def load_folder_pairs(
    folder: str | os.PathLike,
    *,
    scale: str = "unit",
    image_shape: Sequence[int] | None = None,
    target_shape: Sequence[int] | None = None,
    resize_mode: str = "resize",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(inputs, targets, names) from `folder/A` and `folder/B`, float32 in the `scale` range.

    Files pair by their path below A/ and B/; every file needs its partner. `names` are
    those paths, in the order of the arrays.
    `image_shape` brings the inputs to one (height, width, channels), `target_shape` the
    targets (default: `image_shape`), as a folder of images is read by `load_dataset`.
    Without them, the images of a side must share one size; the two sides may differ in
    size only by a whole factor (a super-resolution pair), never in aspect.
    """
    folder = os.fspath(folder)
    value_range = _value_range(scale)
    inputs, targets = _side_files(folder, "A"), _side_files(folder, "B")
    lonely_a = sorted(set(inputs) - set(targets))
    lonely_b = sorted(set(targets) - set(inputs))
    if lonely_a or lonely_b:
        parts = []
        if lonely_a:
            parts.append(f"A/ holds {len(lonely_a)} file(s) with no partner in B/: {_named(lonely_a)}")
        if lonely_b:
            parts.append(f"B/ holds {len(lonely_b)} file(s) with no partner in A/: {_named(lonely_b)}")
        raise DataFormatError(
            f"Unpaired files in {folder}: {'; '.join(parts)}. Each input A/<name> needs its "
            "target B/<name> (same name and subfolder); add or remove the files named."
        )
    a = _loaded_side(folder, "A", image_shape, resize_mode)
    b = _loaded_side(folder, "B", target_shape if target_shape is not None else image_shape, resize_mode)
    _check_pair_sizes(a.shape[1:3], b.shape[1:3], f"The images in {folder}/A and {folder}/B")
    names = list(inputs)  # in the order both sides were read
    return scale_images(a, 255.0, value_range), scale_images(b, 255.0, value_range), names


def _check_pair_sizes(a_size: Sequence[int], b_size: Sequence[int], what: str) -> int:
    """The whole factor by which targets are larger than inputs (1: the same size), or an
    error saying the sizes do not pair."""
    (ah, aw), (bh, bw) = (int(d) for d in a_size), (int(d) for d in b_size)
    factor = bh // ah if ah else 0
    if factor < 1 or bh != factor * ah or bw != factor * aw:
        raise DataFormatError(
            f"{what} differ in size: inputs are {ah}x{aw}, targets {bh}x{bw} (height x width). "
            "Both sides must be the same size, or the targets a whole multiple of the inputs "
            "(super-resolution); pass image_shape (and target_shape) to resize them."
        )
    return factor


def load_side_by_side(
    folder: str | os.PathLike,
    *,
    scale: str = "unit",
    image_shape: Sequence[int] | None = None,
    resize_mode: str = "resize",
    input_side: str = "left",
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) from images holding both side by side, float32 in the `scale` range.

    Each file is one pair: the left half and the right half (`input_side` says which is
    the input). `image_shape` is the size of one half; without it every file must have
    the same even width.
    """
    value_range = _value_range(scale)
    check_choice(input_side, ["left", "right"], "input_side")
    shape = None
    if image_shape is not None:
        options = check_image_options(image_shape, resize_mode, False)
        height, width, channels = options.image_shape
        shape = (height, 2 * width, channels)
    images = load_image_folder(os.fspath(folder), check_image_options(shape, resize_mode, False)).images
    width = images.shape[2]
    if width % 2:
        raise DataFormatError(
            f"The side-by-side images in {folder} are {width} pixels wide, an odd number: "
            "they cannot hold two halves of one size. Each file must be the input and the "
            "target side by side, each half the same size."
        )
    left, right = images[:, :, : width // 2], images[:, :, width // 2 :]
    a, b = (left, right) if input_side == "left" else (right, left)
    return scale_images(a, 255.0, value_range), scale_images(b, 255.0, value_range)


# ------------------------------------------------------------------- made pairs

#: Luminance weights of red, green and blue (ITU-R BT.601), as tf.image.rgb_to_grayscale.
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _check_images(images: Any) -> np.ndarray:
    arr = np.asarray(images, np.float32)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise ValueError(
            f"Pairs are made from images of shape (n, height, width, channels) with 1 or 3 "
            f"channels, got shape {arr.shape}."
        )
    return arr


def _check_factor(factor: Any, size: Sequence[int]) -> int:
    if not (isinstance(factor, (int, np.integer)) and factor in DOWNSAMPLE_FACTORS):
        raise ValueError(f"factor must be one of {list(DOWNSAMPLE_FACTORS)}, got {factor!r}.")
    height, width = int(size[0]), int(size[1])
    if height % factor or width % factor:
        fits = [f for f in DOWNSAMPLE_FACTORS if not height % f and not width % f]
        raise ValueError(
            f"factor {factor} does not divide the image size {height}x{width} (height x "
            f"width). Use a factor that does ({fits or 'none of ' + str(list(DOWNSAMPLE_FACTORS))}) "
            "or resize or crop the images to a multiple of it."
        )
    return int(factor)


def _check_transform(shape: Sequence[int], transform: str, factor: Any, mask_fraction: Any) -> None:
    """Refuse a transform that cannot apply to images of `shape` (H, W, C)."""
    check_choice(transform, TRANSFORMS, "transform")
    if transform == "downsample":
        _check_factor(factor, shape)
    elif transform == "mask":
        check_probability(mask_fraction, "fraction")
    elif transform == "grey" and shape[-1] != 3:
        raise ValueError(
            "transform='grey' (colourisation) needs colour images (3 channels), got grey "
            "images (1 channel). Use a colour dataset, or another transform."
        )


def _grey_tensor(images: Any) -> Any:
    import tensorflow as tf

    if images.shape[-1] == 1:
        return images
    return tf.reduce_sum(images * tf.constant(GREY_WEIGHTS, images.dtype), axis=-1, keepdims=True)


def _made_inputs(
    targets: Any, transform: str, seed: Any, factor: int, mask_fraction: float,
    value_range: Sequence[float],
) -> Any:
    """The inputs `transform` makes of a batch of checked target images (a float32
    tensor of static height and width), drawing the masks from the stateless `seed`."""
    import tensorflow as tf

    low, high = (float(v) for v in value_range)
    targets = tf.convert_to_tensor(targets, tf.float32)
    if transform == "grey":
        return _grey_tensor(targets)
    if transform == "downsample":
        return tf.nn.avg_pool2d(targets, factor, factor, "VALID")
    if transform == "edges":
        grey = (_grey_tensor(targets) - low) / (high - low)
        gradients = tf.image.sobel_edges(grey)  # (n, H, W, 1, 2)
        magnitude = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1))
        magnitude = tf.where(magnitude < FLAT, 0.0, magnitude)  # rounding in a flat region
        peak = tf.reduce_max(magnitude, axis=[1, 2, 3], keepdims=True)
        return low + (high - low) * tf.math.divide_no_nan(magnitude, peak)
    height, width = int(targets.shape[1]), int(targets.shape[2])
    box_h = max(1, round(height * mask_fraction**0.5))
    box_w = max(1, round(width * mask_fraction**0.5))
    rows = tf.shape(targets)[0]
    top_seed, left_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    top = tf.random.stateless_uniform((rows, 1, 1), top_seed, 0, height - box_h + 1, tf.int32)
    left = tf.random.stateless_uniform((rows, 1, 1), left_seed, 0, width - box_w + 1, tf.int32)
    y = tf.range(height)[None, :, None]
    x = tf.range(width)[None, None, :]
    inside = (y >= top) & (y < top + box_h) & (x >= left) & (x < left + box_w)
    return tf.where(inside[..., None], tf.constant(low, targets.dtype), targets)


def _array_seed(seed: int | None) -> np.ndarray:
    return np.asarray([numpy_rng(seed).integers(0, 2**31 - 1), 0], np.int64)


def edge_outline(images: Any, value_range: Sequence[float] = (0.0, 1.0)) -> np.ndarray:
    """The outline (n, H, W, 1) of images: the Sobel gradient magnitude of their grey
    version, scaled so each image's strongest edge is the high end of `value_range`
    (a flat image gives the low end everywhere)."""
    arr = _check_images(images)
    return np.asarray(_made_inputs(arr, "edges", None, 1, 0.0, value_range), np.float32)


def downsampled(images: Any, factor: int) -> np.ndarray:
    """Images averaged over `factor` x `factor` blocks: (n, H / factor, W / factor, C)."""
    arr = _check_images(images)
    factor = _check_factor(factor, arr.shape[1:3])
    return np.asarray(_made_inputs(arr, "downsample", None, factor, 0.0, (0.0, 1.0)), np.float32)


def masked(
    images: Any,
    fraction: float = DEFAULT_MASK_FRACTION,
    *,
    seed: int | None = 0,
    value_range: Sequence[float] = (0.0, 1.0),
) -> np.ndarray:
    """Images with one random square box per image, about `fraction` of the area, set
    to the low end of `value_range`; `seed` follows the zoo's seed policy."""
    arr = _check_images(images)
    fraction = check_probability(fraction, "fraction")
    return np.asarray(
        _made_inputs(arr, "mask", _array_seed(seed), 1, fraction, value_range), np.float32
    )


def make_pairs(
    images: Any,
    transform: str,
    *,
    factor: int = 2,
    mask_fraction: float = DEFAULT_MASK_FRACTION,
    seed: int | None = 0,
    value_range: Sequence[float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets): each image is a target, its input made by `transform` (one of
    `TRANSFORMS`; see the module docstring). `factor` is the `downsample` factor (2, 3
    or 4), `mask_fraction` the share of the area a `mask` box hides, `seed` places the
    boxes. Images are float32 in `value_range`. `transform_dataset` makes the same
    pairs on the fly, with new masks every pass."""
    check_choice(transform, TRANSFORMS, "transform")
    targets = _check_images(images)
    _check_transform(targets.shape[1:], transform, factor, mask_fraction)
    inputs = _made_inputs(targets, transform, _array_seed(seed), factor, float(mask_fraction), value_range)
    return np.asarray(inputs, np.float32), targets


def load_pairs(
    name: str | os.PathLike,
    transform: str,
    split: str = "train",
    *,
    scale: str = "unit",
    factor: int = 2,
    mask_fraction: float = DEFAULT_MASK_FRACTION,
    seed: int | None = 0,
    **dataset_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """`make_pairs` of one split of a zoo dataset (`load_arrays` of `name`, with its
    options: `data_dir`, `holdout_fraction`, `image_shape` of a folder...)."""
    check_choice(transform, TRANSFORMS, "transform")
    images, _, info = load_arrays(name, split, scale=scale, **dataset_options)
    return make_pairs(
        images, transform, factor=factor, mask_fraction=mask_fraction, seed=seed,
        value_range=info.value_range,
    )


def image_patches(images: Any, size: int | Sequence[int], *, stride: int | None = None) -> np.ndarray:
    """The windows of `size` (a side or (height, width)) of every image (n, H, W, C),
    `stride` pixels apart (default: the window's height and width, no overlap), row by
    row: photographs cut into training images of one size."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"images must be (n, height, width, channels) or one image, got shape {arr.shape}.")
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    height, width = check_positive_int(height, "size"), check_positive_int(width, "size")
    step_h, step_w = (height, width) if stride is None else (check_positive_int(stride, "stride"),) * 2
    if height > arr.shape[1] or width > arr.shape[2]:
        raise ValueError(
            f"Patches of {height}x{width} do not fit in images of {arr.shape[1]}x{arr.shape[2]}."
        )
    tops = range(0, arr.shape[1] - height + 1, step_h)
    lefts = range(0, arr.shape[2] - width + 1, step_w)
    return np.stack([
        image[top : top + height, left : left + width]
        for image in arr for top in tops for left in lefts
    ])


# ------------------------------------------------------------------- pipelines


def _check_crop(crop: Any, target_size: tuple[int, int], factor: int) -> tuple[int, int] | None:
    if crop is None:
        return None
    size = (crop, crop) if isinstance(crop, (int, np.integer)) else tuple(crop)
    if len(size) != 2:
        raise ValueError(f"crop must be a size or (height, width), got {crop!r}.")
    height, width = (check_positive_int(d, "crop") for d in size)
    if height > target_size[0] or width > target_size[1]:
        raise ValueError(
            f"crop {height}x{width} is larger than the targets ({target_size[0]}x{target_size[1]})."
        )
    if height % factor or width % factor:
        raise ValueError(
            f"crop {height}x{width} must be a multiple of {factor}, the size ratio of targets "
            "to inputs, so that the input crop covers the same region."
        )
    return height, width


def _augmented(
    ds: tf.data.Dataset, target_size: Sequence[int], factor: int, window: tuple[int, int] | None,
    flip: bool, seeds: tuple[int, int], recolour_range: Sequence[float] | None = None,
) -> tf.data.Dataset:
    """Pairs (x, y) of `ds` cut to `window` (target pixels; the input, `factor` times
    smaller, at the matching place), mirrored left to right half the time and, with a
    `recolour_range`, recoloured (`_recoloured`), the same on both sides; new draws every
    pass."""
    import tensorflow as tf

    if window is None and not flip and recolour_range is None:
        return ds
    height, width = (int(d) for d in target_size)

    def augment(pair, draw):
        x, y = pair
        keys = tf.random.experimental.stateless_split(tf.stack([draw, draw // 2 + 1]), 3)
        if window is not None:
            top = tf.random.stateless_uniform((), keys[0], 0, (height - window[0]) // factor + 1, tf.int32)
            left = tf.random.stateless_uniform((), keys[1], 0, (width - window[1]) // factor + 1, tf.int32)
            x = tf.ensure_shape(
                x[top : top + window[0] // factor, left : left + window[1] // factor],
                (window[0] // factor, window[1] // factor, x.shape[-1]),
            )
            y = tf.ensure_shape(
                y[top * factor : top * factor + window[0], left * factor : left * factor + window[1]],
                (*window, y.shape[-1]),
            )
        if flip:
            mirror = tf.random.stateless_uniform((), keys[2]) < 0.5
            x = tf.cond(mirror, lambda: tf.reverse(x, [1]), lambda: x)
            y = tf.cond(mirror, lambda: tf.reverse(y, [1]), lambda: y)
        if recolour_range is not None:
            x, y = _recoloured(x, y, tf.stack([draw, draw // 3 + 7]), recolour_range)
        return x, y

    ds = tf.data.Dataset.zip((ds, random_numbers(seeds, fresh_each_pass=True)))
    return ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _recoloured(x: Any, y: Any, key: Any, value_range: Sequence[float]) -> tuple[Any, Any]:
    """x and y with their colour channels in one random order and, half the time, both
    values mirrored in the middle of `value_range` (dark becomes light): new colours for
    a translation that commutes with them, such as super-resolution or inpainting."""
    import tensorflow as tf

    keys = tf.random.experimental.stateless_split(key, 2)
    order = tf.argsort(tf.random.stateless_uniform((x.shape[-1],), keys[0]))
    x, y = tf.gather(x, order, axis=-1), tf.gather(y, order, axis=-1)
    total = float(value_range[0]) + float(value_range[1])
    invert = tf.random.stateless_uniform((), keys[1]) < 0.5
    return tf.where(invert, total - x, x), tf.where(invert, total - y, y)


def pair_dataset(
    inputs: Any,
    targets: Any,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    crop: int | Sequence[int] | None = None,
    flip: bool = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A batched `tf.data.Dataset` of (input, target) pairs for `model.fit`.

    `crop` (target pixels, a size or (height, width)) cuts a random window from each pair
    and `flip` mirrors half the pairs left to right, the same window and flip on both
    sides (an input smaller by a whole factor is cut at the matching place). A new
    draw on every pass; `seed` alone (not TensorFlow's global seed) replays the same
    sequence, as in `load_dataset`.
    """
    import tensorflow as tf

    a, b = np.asarray(inputs, np.float32), np.asarray(targets, np.float32)
    if a.ndim != 4 or b.ndim != 4:
        raise ValueError(
            f"inputs and targets must be images (n, height, width, channels), got shapes "
            f"{a.shape} and {b.shape}."
        )
    if len(a) != len(b):
        raise ValueError(
            f"inputs and targets must pair one to one, got {len(a)} inputs and {len(b)} targets."
        )
    if not len(a):
        raise ValueError("pair_dataset got no pairs (0 images).")
    factor = _check_pair_sizes(a.shape[1:3], b.shape[1:3], "inputs and targets")
    window = _check_crop(crop, b.shape[1:3], factor)
    batch_size = check_positive_int(batch_size, "batch_size")
    seeds = tf_data_seeds(seed)
    ds = tf.data.Dataset.from_tensor_slices((a, b))
    if shuffle:
        ds = seeded_shuffle(ds, len(a), seeds, reshuffle=True)
    ds = _augmented(ds, b.shape[1:3], factor, window, flip, seeds)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def transform_dataset(
    images: Any,
    transform: str,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    crop: int | Sequence[int] | None = None,
    flip: bool = False,
    recolour: bool = False,
    factor: int = 2,
    mask_fraction: float = DEFAULT_MASK_FRACTION,
    value_range: Sequence[float] = (0.0, 1.0),
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """(input, target) batches made on the fly from images (in `value_range`): each
    image, cut to a random `crop` window and mirrored if `flip` draws it, is a target,
    and `transform` (as in `make_pairs`) makes its input from it, with new masks,
    windows and flips on every pass; `seed` alone replays the same sequence.

    `recolour` puts each image's colour channels in a random order and inverts half of
    the images (within `value_range`): colours the images never show, for a transform
    that treats every colour alike (`downsample`, `mask`; not `grey` or `edges`), so a
    small training set generalises to other pictures."""
    import tensorflow as tf

    arr = _check_images(images)
    if not len(arr):
        raise ValueError("transform_dataset got no images (0 images).")
    window = _check_crop(crop, arr.shape[1:3], 1)
    _check_transform((*(window or arr.shape[1:3]), arr.shape[-1]), transform, factor, mask_fraction)
    if recolour and transform not in RECOLOURABLE_TRANSFORMS:
        raise ValueError(
            f"recolour=True changes colours, which the {transform!r} transform does not treat "
            "alike (it would change what the input should be); use it with 'downsample' or 'mask'."
        )
    batch_size = check_positive_int(batch_size, "batch_size")
    seeds = tf_data_seeds(seed)
    ds = tf.data.Dataset.from_tensor_slices(arr)
    if shuffle:
        ds = seeded_shuffle(ds, len(arr), seeds, reshuffle=True)
    ds = _augmented(ds.map(lambda x: (x, x)), arr.shape[1:3], 1, window, flip, seeds,
                    value_range if recolour else None)
    ds = ds.map(lambda x, y: y).batch(batch_size, drop_remainder=drop_remainder)

    def make(targets, draw):
        key = tf.stack([draw, tf.constant(1, tf.int64)])
        inputs = _made_inputs(targets, transform, key, factor, float(mask_fraction), value_range)
        return inputs, targets

    draws = random_numbers(tf_data_seeds(seed + 1), fresh_each_pass=True)
    ds = tf.data.Dataset.zip((ds, draws)).map(make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _resized(images: np.ndarray, image_shape: Sequence[int] | None) -> np.ndarray:
    import tensorflow as tf

    if image_shape is None:
        return images
    height, width, channels = (int(d) for d in image_shape)
    if images.shape[-1] != channels:
        convert = tf.image.rgb_to_grayscale if channels == 1 else tf.image.grayscale_to_rgb
        images = convert(tf.convert_to_tensor(images)).numpy()
    if images.shape[1:3] != (height, width):
        images = tf.image.resize(images, (height, width), antialias=True).numpy()
    return images.astype(np.float32)


def load_unpaired(
    source_a: Any,
    source_b: Any,
    split: str = "train",
    *,
    scale: str = "unit",
    image_shape: Sequence[int] | None = None,
    **dataset_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Images of two domains, each a dataset name or path (read by `load_arrays` with
    `dataset_options`) or an array already in the `scale` range, with their own counts.
    `image_shape` brings both to one (height, width, channels); without it they must
    share one already. A folder of image files of several sizes is read at it."""
    value_range = _value_range(scale)
    pools = []
    for source in (source_a, source_b):
        if isinstance(source, (str, os.PathLike)):
            try:
                images, _, _ = load_arrays(source, split, scale=scale, **dataset_options)
            except DataFormatError:
                if image_shape is None:
                    raise
                # a folder of image files of several sizes: read it at the shape asked for
                images, _, _ = load_arrays(
                    source, split, scale=scale, image_shape=tuple(image_shape), **dataset_options
                )
        else:
            images = _check_images(source)
            low, high = value_range
            if images.size and (images.min() < low - 1e-6 or images.max() > high + 1e-6):
                raise ValueError(
                    f"Images given as arrays must lie in the {scale} range [{low}, {high}], got "
                    f"values in [{images.min():.3g}, {images.max():.3g}]."
                )
        pools.append(_resized(images, image_shape))
    a, b = pools
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"The two domains have different image shapes: {a.shape[1:]} and {b.shape[1:]}. "
            "Pass image_shape=(height, width, channels) to bring both to one."
        )
    return a, b


def unpaired_dataset(
    images_a: Any,
    images_b: Any,
    *,
    batch_size: int = 32,
    seed: int = 0,
) -> tf.data.Dataset:
    """A batched dataset of `(a, b)`: unrelated images of the two domains, each pool
    shuffled on its own every pass. A pass lasts as long as the larger pool; the smaller
    one repeats (reshuffled) to keep up."""
    import tensorflow as tf

    a, b = np.asarray(images_a, np.float32), np.asarray(images_b, np.float32)
    if a.ndim != 4 or a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"Both domains must hold images of one shape (n, height, width, channels), got "
            f"{a.shape} and {b.shape}; load_unpaired(..., image_shape=...) resizes them."
        )
    if not len(a) or not len(b):
        raise ValueError(f"Each domain needs images, got {len(a)} and {len(b)}.")
    batch_size = check_positive_int(batch_size, "batch_size")
    longest = max(len(a), len(b))

    def pool(images: np.ndarray, offset: int) -> tf.data.Dataset:
        ds = tf.data.Dataset.from_tensor_slices(images)
        ds = seeded_shuffle(ds, len(images), tf_data_seeds(seed + offset), reshuffle=True)
        return ds.repeat().take(longest)

    ds = tf.data.Dataset.zip((pool(a, 0), pool(b, 1)))
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


__all__ = [
    "DOWNSAMPLE_FACTORS",
    "TRANSFORMS",
    "downsampled",
    "edge_outline",
    "image_patches",
    "load_folder_pairs",
    "load_pairs",
    "load_side_by_side",
    "load_unpaired",
    "make_pairs",
    "masked",
    "pair_dataset",
    "transform_dataset",
    "unpaired_dataset",
]
