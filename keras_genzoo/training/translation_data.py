"""The data of a translator's run: pairs or two unpaired domains, as its config describes.

A translation config's dataset (`DatasetConfig.pairing`, checked by `RunConfig`) says
where the pairs come from; everything here reads them with `keras_genzoo.data.pairs`:

- `"pairs": <transform>`: the dataset's images are the targets and the transform makes
  each one's input, on the fly while training (`transform_dataset`: new masks, flips
  every pass) and once, seeded by the run's seed, for the held-out split (`make_pairs`);
- `"pairs": "folder"` (`load_folder_pairs`) and `"side_by_side": true`
  (`load_side_by_side`): a folder of pairs, split into training and held-out pairs by
  the dataset's `holdout_fraction` and `split_seed` as a folder of images is;
- `"unpaired": <second domain>` (`load_unpaired`, `unpaired_dataset`): the dataset is
  domain A, the second source domain B, both brought to the model's image shape. The
  held-out split is domain A's held-out images, whose round trip A -> B -> A should
  give them back; the held-out losses pair them with domain B's held-out images in
  order.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from typing import Any, Mapping

import numpy as np

from keras_genzoo.core.model import ZooModel
from keras_genzoo.core.registry import builder_parameters
from keras_genzoo.data import DatasetInfo, load_arrays
from keras_genzoo.data.datasets import SCALES, holdout_indices
from keras_genzoo.data.pairs import (
    DEFAULT_MASK_FRACTION,
    TRANSFORMS,
    load_folder_pairs,
    load_side_by_side,
    load_unpaired,
    make_pairs,
    pair_dataset,
    transform_dataset,
    unpaired_dataset,
)
from keras_genzoo.training.config import RunConfig, downsample_factor, translator_kind
from keras_genzoo.training.errors import RunError

#: Transforms whose inputs have one channel whatever the images have.
ONE_CHANNEL_TRANSFORMS = ("edges", "grey")
#: The split a `validation_fraction` is carved from the training pairs with, as the data
#: layer carves it from a pool of images.
VALIDATION_STREAM = 1


@dataclasses.dataclass
class TranslationData:
    """A translator's training and held-out pipelines, and the held-out split as arrays:
    `test_inputs` are what the model translates, `test_targets` what it should give
    (for a CycleGAN, its domain-A inputs: the round trip's target), `train_images` the
    training targets (domain A's images for a CycleGAN, whose `train_info` counts the
    (a, b) pairs of one pass: as many as the larger domain holds)."""

    train: Any
    test: Any
    train_info: DatasetInfo
    test_info: DatasetInfo
    test_inputs: np.ndarray
    test_targets: np.ndarray
    train_images: np.ndarray


def translation_arguments(config: RunConfig) -> dict[str, Any]:
    """The builder arguments a translator's pairs fix: one input channel for an outline
    or a grey image (`edges`, `grey`), where the builder takes `input_channels` and the
    config does not set it."""
    params = builder_parameters(config.model)
    pairs = config.dataset.pairing.get("pairs")
    takes_channels = "input_channels" in params and "input_channels" not in config.overrides
    if takes_channels and pairs in ONE_CHANNEL_TRANSFORMS:
        return {"input_channels": 1}
    return {}


def _array_options(options: Mapping[str, Any], *drop: str) -> dict[str, Any]:
    accepted = inspect.signature(load_arrays).parameters
    return {k: v for k, v in options.items() if k in accepted and k not in ("scale", *drop)}


def _folder_info(
    config: RunConfig, split: str, targets: np.ndarray, scale: str, source: str
) -> DatasetInfo:
    return DatasetInfo(
        name=config.dataset.name, split=split, image_shape=tuple(int(d) for d in targets.shape[1:]),
        value_range=SCALES[scale], num_classes=0, num_examples=len(targets), source=source,
    )


def _read_folder(
    config: RunConfig, options: Mapping[str, Any], scale: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Every pair of a paired folder or of side-by-side images: (inputs, targets, source)."""
    folder = config.dataset.name
    if options.get("data_dir") is not None:
        raise RunError(
            f"data_dir is for named datasets; the pairs are read from the folder {folder!r} "
            "itself. Drop data_dir, or give the folder's full path as the dataset name."
        )
    if not os.path.isdir(folder):
        raise RunError(f"The paired dataset {folder!r} is not a folder.")
    shape = options.get("image_shape")
    resize_mode = options.get("resize_mode", "resize")
    if config.dataset.pairing.get("side_by_side"):
        inputs, targets = load_side_by_side(
            folder, scale=scale, image_shape=shape, resize_mode=resize_mode,
            input_side=config.dataset.pairing.get("input_side", "left"),
        )
        return inputs, targets, f"side-by-side pairs in {folder}"
    inputs, targets, _ = load_folder_pairs(folder, scale=scale, target_shape=shape, resize_mode=resize_mode)
    return inputs, targets, f"A/ and B/ pairs in {folder}"


def _folder_split(count: int, split: str, options: Mapping[str, Any]) -> np.ndarray:
    """The indices of `split` among `count` pairs: `holdout_fraction` of them held out
    ("test") by `split_seed`, and `validation_fraction` of the rest ("validation")."""
    fraction = options.get("holdout_fraction", 0.2)
    seed = options.get("split_seed", 0)
    validation = options.get("validation_fraction", 0.0)
    checks = (("holdout_fraction", fraction, False), ("validation_fraction", validation, True))
    for name, value, zero in checks:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not (0 <= value < 1 if zero else 0 < value < 1):
            bounds = "[0, 1)" if zero else "(0, 1)"
            raise RunError(f"dataset {name} must be a number in {bounds}, got {value!r}.")
    if split == "test":
        return holdout_indices(count, "test", fraction, seed)
    rest = holdout_indices(count, "train", fraction, seed)
    if split == "validation" and not validation:
        raise RunError("There is no validation split: set the dataset's validation_fraction above 0.")
    if not validation:
        return rest
    part = "test" if split == "validation" else "train"
    return rest[holdout_indices(len(rest), part, validation, [seed, VALIDATION_STREAM])]


def _unpaired_source(config: RunConfig) -> tuple[str, dict[str, Any]]:
    source = config.dataset.pairing["unpaired"]
    if isinstance(source, str):
        return source, {}
    return source["name"], {k: v for k, v in source.items() if k != "name"}


def _unpaired_shape(config: RunConfig, options: Mapping[str, Any], scale: str) -> tuple[int, ...]:
    """The image shape both domains are brought to: the configured one, else domain A's."""
    if options.get("image_shape") is not None:
        return tuple(int(d) for d in options["image_shape"])
    arrays = _array_options(options, "image_shape")
    _, _, info = load_arrays(config.dataset.name, "train", scale=scale, **arrays)
    return tuple(info.image_shape)


def _unpaired_split(
    config: RunConfig, options: Mapping[str, Any], scale: str, split: str, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    name_b, options_b = _unpaired_source(config)
    images_b, _, _ = load_arrays(name_b, split, scale=scale, **options_b)
    return load_unpaired(
        config.dataset.name, images_b, split, scale=scale, image_shape=shape,
        **_array_options(options, "image_shape"),
    )


def probe_translation(
    config: RunConfig, options: Mapping[str, Any], scale: str = "symmetric"
) -> DatasetInfo:
    """The `DatasetInfo` of a translator's training targets (domain A for a CycleGAN):
    the image shape its model is built for."""
    pairing = config.dataset.pairing
    if translator_kind(config.model) == "unpaired":
        arrays = _array_options(options, "image_shape")
        _, _, info = load_arrays(config.dataset.name, "train", scale=scale, **arrays)
        shape = options.get("image_shape") or info.image_shape
        return dataclasses.replace(info, image_shape=tuple(int(d) for d in shape))
    if pairing.get("pairs") in TRANSFORMS:
        _, _, info = load_arrays(config.dataset.name, "train", scale=scale, **_array_options(options))
        return info
    _, targets, source = _read_folder(config, options, scale)
    train = targets[_folder_split(len(targets), "train", options)]
    return _folder_info(config, "train", train, scale, source)


def _check_shapes(model: ZooModel, config: RunConfig, inputs: np.ndarray, targets: np.ndarray) -> None:
    expected = model.translation_shapes(model.directions[0])
    found = (tuple(inputs.shape[1:]), tuple(targets.shape[1:]))
    if found != tuple(tuple(int(d) for d in shape) for shape in expected):
        raise RunError(
            f"The data pairs {found[0]} inputs with {found[1]} targets (height, width, channels), "
            f"but model {config.model!r} translates {tuple(expected[0])} into {tuple(expected[1])}. "
            "Set the model's overrides (image_shape, input_channels, scale) to match the data, "
            "or the dataset's image_shape to resize it."
        )


def load_translation_data(
    config: RunConfig, model: ZooModel, options: Mapping[str, Any], scale: str, held_out: str = "test"
) -> TranslationData:
    """The training and `held_out` data of a translator's run (see the module's documentation),
    scaled to `scale`, checked against the model's input and output shapes."""
    pairing = config.dataset.pairing
    seed, batch_size = config.seed, config.batch_size
    value_range = SCALES[scale]
    if translator_kind(config.model) == "unpaired":
        shape = _unpaired_shape(config, options, scale)
        train_a, train_b = _unpaired_split(config, options, scale, "train", shape)
        test_a, test_b = _unpaired_split(config, options, scale, held_out, shape)
        _check_shapes(model, config, test_a, test_a)
        common = min(len(test_a), len(test_b))
        source = f"{config.dataset.name} (domain A) and {_unpaired_source(config)[0]} (domain B), unpaired"
        train_info = _folder_info(config, "train", train_a, scale, source)
        return TranslationData(
            unpaired_dataset(train_a, train_b, batch_size=batch_size, seed=seed),
            pair_dataset(test_a[:common], test_b[:common], batch_size=batch_size, shuffle=False),
            dataclasses.replace(train_info, num_examples=max(len(train_a), len(train_b))),
            _folder_info(config, held_out, test_a, scale, source),
            test_a, test_a, train_a,
        )
    flip = bool(pairing.get("flip", False))
    transform = pairing.get("pairs")
    if transform in TRANSFORMS:
        arrays = _array_options(options)
        train_images, _, train_info = load_arrays(config.dataset.name, "train", scale=scale, **arrays)
        test_images, _, test_info = load_arrays(config.dataset.name, held_out, scale=scale, **arrays)
        made = dict(
            factor=downsample_factor(config), value_range=value_range,
            mask_fraction=pairing.get("mask_fraction", DEFAULT_MASK_FRACTION),
        )
        test_inputs, test_targets = make_pairs(test_images, transform, seed=seed, **made)
        _check_shapes(model, config, test_inputs, test_targets)
        train = transform_dataset(
            train_images, transform, batch_size=batch_size, seed=seed, flip=flip,
            recolour=bool(pairing.get("recolour", False)), **made
        )
        test = pair_dataset(test_inputs, test_targets, batch_size=batch_size, shuffle=False)
        return TranslationData(
            train, test, train_info, test_info, test_inputs, test_targets, train_images
        )
    inputs, targets, source = _read_folder(config, options, scale)
    _check_shapes(model, config, inputs, targets)
    train_index = _folder_split(len(targets), "train", options)
    test_index = _folder_split(len(targets), held_out, options)
    if not len(train_index) or not len(test_index):
        raise RunError(
            f"{config.dataset.name!r} holds {len(targets)} pairs: too few to hold out "
            f"{options.get('holdout_fraction', 0.2)} of them and train on the rest. Add pairs or "
            "change holdout_fraction."
        )
    train = pair_dataset(
        inputs[train_index], targets[train_index], batch_size=batch_size, seed=seed, flip=flip
    )
    test_inputs, test_targets = inputs[test_index], targets[test_index]
    return TranslationData(
        train, pair_dataset(test_inputs, test_targets, batch_size=batch_size, shuffle=False),
        _folder_info(config, "train", targets[train_index], scale, source),
        _folder_info(config, held_out, test_targets, scale, source),
        test_inputs, test_targets, targets[train_index],
    )
