"""Run configs: the JSON recipes in `zoo_configs/`, their defaults and their validation.

A run config is a `RunConfig`: `model` (a registered name), builder `overrides`,
`dataset` (a `DatasetConfig`: a name and `load_dataset` options), `epochs`,
`steps` (optional: the number of optimizer steps to train, in whole epochs rounded up;
it replaces `epochs`, so a run means the same on 200 images as on 60,000),
`batch_size`, `learning_rate`, `seed`, `strategy` and an optional `description`, plus:

- translation data, for the translation models (`dataset` keys beside the name; see
  `PAIRING_KEYS`): `"pairs"` names the transform that makes each image's input on the
  fly (`"downsample"` with its `"factor"`, `"edges"`, `"mask"` with its
  `"mask_fraction"`, `"grey"`), or `"folder"`: the dataset is a folder of `A/` inputs
  and `B/` targets with matching names; `"side_by_side": true` reads a folder of images
  holding input and target side by side (`"input_side"`: "left" or "right"); `"flip"`
  mirrors random pairs, both sides alike; `"recolour"` gives made pairs of `"downsample"`
  or `"mask"` random channel orders and inversions; `"unpaired"` names the second domain of a
  CycleGAN (a dataset name or path, or `{"name": ..., <options>}`).

- ratings data, for the recommenders (`autorec`, `rbm_cf`, `multvae`): the dataset's
  `"ratings"` object (see `RATINGS_KEYS`) names a ratings file (`"path"`, with the
  `read_ratings` options `"format"`, `"columns"`, `"scale"`) or the generated data
  (`"synthetic": {<synthetic_ratings arguments>}`), and the split: `"split": "ratings"`
  holds out `"test_fraction"` of the ratings (explicit ratings: `autorec`, `rbm_cf`),
  `"leave_out"` a `"fraction"` of each user's items (users with `"min_items"`;
  implicit feedback: `multvae`, of the pairs rated at least `"implicit_threshold"`),
  both seeded by `"seed"`. The dataset's name is a label (e.g. `"synthetic_ratings"`).

- `optimizer`: the optimizer to train with, as Keras serialises one
  (`{"class_name": "Adam", "config": {"beta_1": 0.5}}`, or just `"Adam"`); the run's
  `learning_rate` is put into its config. Without it the builder's own optimizer is used.
- `metrics`: held-out metrics to measure beyond the model's compiled ones, each with
  its options (see `metric_options`): the measurements of
  `keras_genzoo.evaluation.heldout` recorded under `scores`: `iw_nll`
  (importance-weighted negative log-likelihood in nats), `neg_elbo`, `nll` (exact
  negative log-likelihood in nats and bits per dimension, for autoregressive models),
  `generator` (FID, KID, class coverage and conditional accuracy of samples, with the
  shipped feature classifier of the dataset), `pseudo_likelihood` and `ais` (AIS log Z,
  then the average log-likelihood).

A config is checked and given its defaults once, where it enters: `RunConfig.from_dict`
(a JSON object, e.g. a file's: `load_run_config`), or the `RunConfig(...)` constructor.
It is frozen; `config.replace(epochs=5)` makes a checked copy, and `to_dict()` gives the
JSON layout that run directories, `best_config.json` and preset metadata record.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import os
from typing import Any, Mapping, Sequence

from keras_genzoo.core.capabilities import Translator
from keras_genzoo.core.optimizers import optimizer_from_spec
from keras_genzoo.core.registry import UnknownModelError, builder_parameters, get_entry
from keras_genzoo.core.variants import example, type_problem
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.data.pairs import (
    DEFAULT_MASK_FRACTION,
    DOWNSAMPLE_FACTORS,
    RECOLOURABLE_TRANSFORMS,
    TRANSFORMS,
)
from keras_genzoo.data.ratings import FORMATS, synthetic_ratings
from keras_genzoo.evaluation.heldout import MEASUREMENTS
from keras_genzoo.models.ratings import RatingsModel
from keras_genzoo.models.translation import CycleGAN
from keras_genzoo.training.distribute import STRATEGIES
from keras_genzoo.training.errors import RunError, reraised_as

DEFAULT_DATASET = "digits"
# load_dataset arguments the trainer sets itself; a config cannot override them.
TRAINER_DATA_ARGS = ("name", "split", "batch_size", "scale", "labels", "shuffle")


class ReadOnlyDict(dict):
    """A dict that refuses changes: the mappings held by a frozen `RunConfig`."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("A run config is frozen; make a changed copy with config.replace(...).")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple:  # copy, deepcopy and pickle build a new one
        return (ReadOnlyDict, (dict(self),))


def _copy(value: Any) -> Any:
    """`value` with its dicts and lists copied (dicts as plain dicts); other values as they are."""
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _read_only(mapping: Mapping[str, Any]) -> ReadOnlyDict:
    return ReadOnlyDict(_copy(mapping))


def parse_overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    """`["latent_dim=16", "filters=[16,32]"]` -> builder overrides (JSON values, else text)."""
    overrides: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise RunError(
                f"--set expects KEY=VALUE with a builder argument name as KEY, got {pair!r} "
                "(e.g. --set latent_dim=16 or --set filters=[16,32])."
            )
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


def check_known_keys(keys: Sequence[str], allowed: Sequence[str], where: str) -> None:
    """Raise `RunError` naming every key not in `allowed`, with the closest match of each."""
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise RunError(f"Unknown {where} {', '.join(hints)}. Allowed: {', '.join(allowed)}.")


def _check_positive_int(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunError(f"{key} must be a positive integer, got {value!r}.")


def dataset_options() -> list[str]:
    """Dataset options a run config may set (`load_dataset` arguments besides the trainer's)."""
    return [p for p in inspect.signature(load_dataset).parameters if p not in TRAINER_DATA_ARGS]


def _dataset_error(value: Any) -> RunError:
    return RunError(f"dataset must be a name or an object with a \"name\", got {value!r}.")


#: The `dataset` keys that describe a translator's data (see the module's documentation).
PAIRING_KEYS = (
    "pairs", "factor", "mask_fraction", "side_by_side", "input_side", "flip", "recolour", "unpaired",
)
#: `"pairs": "folder"`: the dataset is a folder of A/ inputs and B/ targets.
FOLDER_PAIRS = "folder"
PAIRS_CHOICES = (*TRANSFORMS, FOLDER_PAIRS)
#: `load_dataset` options that make inputs of their own, which pairs replace.
PAIRING_CONFLICTS = ("noise", "noise_level", "binarize")


def _check_flag(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise RunError(f"dataset {key} must be true or false, got {value!r}.")


def _check_unpaired(given: Any) -> str | ReadOnlyDict:
    """The second domain of unpaired data: a name, or `{"name": ..., <load_arrays options>}`."""
    value = {"name": given} if isinstance(given, str) else given
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str) or not value["name"]:
        raise RunError(
            "dataset unpaired must name the second domain: a dataset name or path (e.g. "
            f"\"digits\"), or {{\"name\": ..., <options>}}, got {value!r}."
        )
    allowed = [p for p in inspect.signature(load_arrays).parameters if p not in ("name", "split", "scale")]
    check_known_keys([k for k in value if k != "name"], allowed, "option of dataset unpaired:")
    return given if isinstance(given, str) else _read_only(given)


def _check_pairing(pairing: Mapping[str, Any], options: Mapping[str, Any]) -> ReadOnlyDict:
    """The translation keys of a dataset, checked on their own (what each model needs is
    checked by `RunConfig`)."""
    pairs = pairing.get("pairs")
    if pairs is not None and pairs not in PAIRS_CHOICES:
        check_known_keys([str(pairs)], PAIRS_CHOICES, "dataset pairs")
    for key in ("side_by_side", "flip", "recolour"):
        if key in pairing:
            _check_flag(key, pairing[key])
    if pairing.get("recolour") and pairs not in RECOLOURABLE_TRANSFORMS:
        raise RunError(
            "dataset recolour changes the colours of pairs made by \"downsample\" or \"mask\", "
            f"which treat every colour alike; it cannot apply to pairs={pairs!r}. Drop it."
        )
    side_by_side = pairing.get("side_by_side", False)
    if side_by_side and pairs is not None:
        raise RunError(
            "dataset side_by_side reads pairs from side-by-side images; it cannot be combined "
            f"with pairs={pairs!r}. Drop one of the two."
        )
    if "input_side" in pairing:
        if not side_by_side:
            raise RunError("dataset input_side applies to side-by-side images: set side_by_side to true.")
        if pairing["input_side"] not in ("left", "right"):
            raise RunError(
                f"dataset input_side must be \"left\" or \"right\", got {pairing['input_side']!r}."
            )
    if "factor" in pairing:
        if pairs != "downsample":
            raise RunError(
                f"dataset factor is the downsample factor; it needs pairs=\"downsample\", not {pairs!r}."
            )
        factor = pairing["factor"]
        if isinstance(factor, bool) or factor not in DOWNSAMPLE_FACTORS:
            raise RunError(
                f"dataset factor must be one of {list(DOWNSAMPLE_FACTORS)}, got {factor!r}."
            )
    if "mask_fraction" in pairing:
        if pairs != "mask":
            raise RunError(f"dataset mask_fraction needs pairs=\"mask\", not {pairs!r}.")
        fraction = pairing["mask_fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise RunError(
                f"dataset mask_fraction must be a number in (0, 1) (the default is "
                f"{DEFAULT_MASK_FRACTION}), got {fraction!r}."
            )
    checked = dict(pairing)
    if "unpaired" in pairing:
        if pairs is not None or side_by_side:
            raise RunError(
                "dataset unpaired gives a second domain of unpaired images; it cannot be "
                "combined with pairs or side_by_side. Drop one of them."
            )
        if "flip" in pairing:
            raise RunError("dataset flip applies to pairs (both sides alike); drop it for unpaired data.")
        checked["unpaired"] = _check_unpaired(pairing["unpaired"])
    elif "flip" in pairing and pairs is None and not side_by_side:
        raise RunError("dataset flip mirrors pairs alike on both sides: set pairs or side_by_side too.")
    if checked:
        clashing = [k for k in PAIRING_CONFLICTS if k in options]
        if clashing:
            raise RunError(
                f"dataset {', '.join(clashing)} cannot be combined with translation data "
                f"({', '.join(checked)}): the pairs make the inputs. Drop {', '.join(clashing)}."
            )
    return _read_only(checked)


def translator_kind(model: str) -> str | None:
    """"paired" or "unpaired" (a CycleGAN) for a registered translation model, else None."""
    returns = inspect.signature(get_entry(model).builder).return_annotation
    if not (isinstance(returns, type) and issubclass(returns, Translator)):
        return None
    return "unpaired" if issubclass(returns, CycleGAN) else "paired"


def downsample_factor(config: RunConfig) -> int:
    """The downsample factor of a `"pairs": "downsample"` config: its `factor`, else the
    model's `scale` (super-resolution), else 2."""
    if "factor" in config.dataset.pairing:
        return int(config.dataset.pairing["factor"])
    params = builder_parameters(config.model)
    if "scale" in params:
        return int(config.overrides.get("scale", params["scale"].default))
    return 2


def _check_translation_data(config: RunConfig, params: Mapping[str, inspect.Parameter]) -> None:
    """What the model of `config` needs of its data: pairs for a translator (unpaired
    domains for a CycleGAN), none of it for other models."""
    pairing = config.dataset.pairing
    kind = translator_kind(config.model)
    given = ", ".join(pairing)
    if kind is None:
        if pairing:
            raise RunError(
                f"dataset {given} describe translation data, but model {config.model!r} is not "
                "a translation model (super_resolution, srgan, pix2pix, unet_translator, "
                "cyclegan). Drop them."
            )
        return
    paired = "pairs" in pairing or pairing.get("side_by_side", False)
    if kind == "unpaired":
        if paired:
            raise RunError(
                f"Model {config.model!r} learns from two unpaired domains, not pairs: replace "
                "dataset pairs / side_by_side with \"unpaired\": <the second domain>."
            )
        if "unpaired" not in pairing:
            raise RunError(
                f"Model {config.model!r} needs a second domain: set dataset \"unpaired\" to a "
                "dataset name or folder (e.g. \"unpaired\": \"digits\")."
            )
        return
    if "unpaired" in pairing:
        raise RunError(
            f"Model {config.model!r} learns from (input, target) pairs, not unpaired domains: "
            "use dataset pairs or side_by_side, or train cyclegan."
        )
    if not paired:
        raise RunError(
            f"Model {config.model!r} trains on (input, target) pairs: set dataset \"pairs\" to "
            f"a transform ({', '.join(TRANSFORMS)}) or \"folder\" (A/ and B/ subfolders), or "
            "\"side_by_side\": true."
        )
    pairs = pairing.get("pairs")
    if pairs in TRANSFORMS:
        if "scale" in params and pairs != "downsample":
            raise RunError(
                f"Model {config.model!r} enlarges small images: its pairs must be "
                f"\"downsample\" (or a folder of pairs), not {pairs!r}."
            )
        if "scale" not in params and pairs == "downsample":
            raise RunError(
                f"pairs \"downsample\" makes inputs smaller than their targets; model "
                f"{config.model!r} keeps the size. Use super_resolution or srgan, or another "
                "transform."
            )
    if pairs == "downsample" and "factor" in pairing and "scale" in params:
        scale = config.overrides.get("scale", params["scale"].default)
        if pairing["factor"] != scale:
            raise RunError(
                f"dataset factor {pairing['factor']} differs from the model's scale {scale}: "
                f"set overrides scale={pairing['factor']}, or drop factor (it follows scale)."
            )


#: The keys of a dataset's `"ratings"` object (see the module's documentation).
RATINGS_KEYS = ("path", "format", "columns", "scale", "synthetic", "split", "test_fraction",
                "fraction", "min_items", "implicit_threshold", "seed")
#: The splits of ratings: a random share of the ratings, or a share of each user's items.
RATINGS_SPLITS = ("ratings", "leave_out")
#: Which keys belong to which split, and to a file (not to the generated data).
_SPLIT_KEYS = {"ratings": ("test_fraction",), "leave_out": ("fraction", "min_items", "implicit_threshold")}
_FILE_KEYS = ("format", "columns", "scale")


def _check_fraction(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise RunError(f"dataset ratings {key} must be a number in (0, 1), got {value!r}.")


def _check_ratings(ratings: Any) -> ReadOnlyDict:
    """A dataset's `"ratings"` object, checked on its own (the split a model needs is
    checked by `RunConfig`): one source, known keys, sound values, an existing file."""
    if not isinstance(ratings, Mapping):
        raise RunError(
            "dataset ratings must be an object: {\"path\": <ratings file>} or "
            f"{{\"synthetic\": {{...}}}}, got {ratings!r}."
        )
    check_known_keys(list(ratings), RATINGS_KEYS, "dataset ratings key")
    if ("path" in ratings) == ("synthetic" in ratings):
        raise RunError(
            "dataset ratings needs exactly one source: \"path\" (a MovieLens u.data, ratings.dat "
            "or ratings.csv, or a CSV / Parquet of user, item, rating) or \"synthetic\" (the "
            "arguments of the generated data, e.g. {\"num_users\": 600, \"seed\": 0})."
        )
    if "synthetic" in ratings:
        synthetic = ratings["synthetic"]
        if not isinstance(synthetic, Mapping):
            raise RunError(f"dataset ratings synthetic must be an object of arguments, got {synthetic!r}.")
        allowed = list(inspect.signature(synthetic_ratings).parameters)
        check_known_keys(list(synthetic), allowed, "argument of dataset ratings synthetic:")
        given = [k for k in _FILE_KEYS if k in ratings]
        if given:
            raise RunError(f"dataset ratings {', '.join(given)} describe a ratings file; drop them "
                           "for synthetic ratings.")
    else:
        path = ratings["path"]
        if not isinstance(path, str) or not path:
            raise RunError(f"dataset ratings path must be a file path, got {path!r}.")
        if not os.path.isfile(path):
            raise RunError(
                f"No ratings file at {path!r}. MovieLens cannot be bundled (its licence forbids "
                "redistribution): download it from https://grouplens.org/datasets/movielens/ "
                "and set dataset ratings path to its u.data, ratings.dat or ratings.csv."
            )
        layout = ratings.get("format", "auto")
        if layout != "auto" and layout not in FORMATS:
            check_known_keys([str(layout)], ["auto", *FORMATS], "dataset ratings format")
    split = ratings.get("split")
    if split is not None and split not in RATINGS_SPLITS:
        check_known_keys([str(split)], RATINGS_SPLITS, "dataset ratings split")
    for key in ("test_fraction", "fraction"):
        if key in ratings:
            _check_fraction(key, ratings[key])
    for key, least in (("min_items", 2), ("seed", 0)):
        value = ratings.get(key, least)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise RunError(f"dataset ratings {key} must be an integer >= {least}, got {value!r}.")
    threshold = ratings.get("implicit_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
        raise RunError(f"dataset ratings implicit_threshold must be a number, got {threshold!r}.")
    return _read_only(ratings)


def recommender_class(model: str) -> type[RatingsModel] | None:
    """The recommender class the registered model `model` builds, or None for a model of
    images."""
    returns = inspect.signature(get_entry(model).builder).return_annotation
    return returns if isinstance(returns, type) and issubclass(returns, RatingsModel) else None


def is_recommender(model: str) -> bool:
    """Whether the registered model `model` is a recommender (trains on ratings)."""
    return recommender_class(model) is not None


def natural_split(model: str) -> str:
    """The split a recommender is measured on: "ratings" (held-out ratings) for a model
    that predicts ratings, "leave_out" (held-out items of each user) for one that ranks."""
    return "ratings" if recommender_class(model).predicts_ratings else "leave_out"


def ratings_split(config: RunConfig) -> str:
    """The split of a recommender's ratings: the configured one, else its `natural_split`."""
    return config.dataset.ratings.get("split") or natural_split(config.model)


def _check_ratings_data(config: RunConfig) -> None:
    """What the model of `config` needs of its data: ratings for a recommender (with the
    split its kind measures), images for every other model."""
    dataset = config.dataset
    if not is_recommender(config.model):
        if dataset.ratings is not None:
            raise RunError(
                f"dataset ratings describe ratings data, but model {config.model!r} trains on "
                "images. Drop them, or train a recommender (autorec, rbm_cf, multvae)."
            )
        return
    if dataset.ratings is None:
        raise RunError(
            f"Model {config.model!r} is a recommender and trains on ratings, not on the image "
            f"dataset {dataset.name!r}: set dataset \"ratings\" to {{\"path\": <ratings file>}} or "
            "{\"synthetic\": {...}} (see zoo_configs/autorec_synthetic.json)."
        )
    image_keys = [*dataset.options, *dataset.pairing]
    if image_keys:
        raise RunError(
            f"dataset {', '.join(image_keys)} are options of image datasets; a recommender's "
            "data is described by dataset ratings alone. Drop them."
        )
    split, wanted = ratings_split(config), natural_split(config.model)
    if split != wanted:
        raise RunError(
            f"Model {config.model!r} is measured on a {wanted!r} split "
            f"({'per-user held-out items' if wanted == 'leave_out' else 'held-out ratings'}), "
            f"not {split!r}: set dataset ratings split to {wanted!r}."
        )
    misplaced = [k for other, keys in _SPLIT_KEYS.items() if other != split
                 for k in keys if k in dataset.ratings]
    if misplaced:
        raise RunError(f"dataset ratings {', '.join(misplaced)} belong to another split than "
                       f"{split!r}; drop them.")


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
    """The data of a run: a dataset `name` (or a folder or archive path), its
    `load_dataset` options (`holdout_fraction`, `binarize`, `data_dir`, ...) and, for a
    translator, its `pairing` (the `PAIRING_KEYS` given: where its pairs or its second
    domain come from). A config's JSON writes all of them beside the name."""

    name: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=ReadOnlyDict)
    #: The translation keys (`PAIRING_KEYS`) a translator's data is described by.
    pairing: Mapping[str, Any] = dataclasses.field(default_factory=ReadOnlyDict)
    #: A recommender's ratings (`RATINGS_KEYS`: a file or the generated data, the split).
    ratings: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise _dataset_error(self.name)
        for what, value in (("options", self.options), ("pairing", self.pairing)):
            if not isinstance(value, Mapping):
                raise RunError(f"dataset {what} must be an object, got {value!r}.")
        check_known_keys(list(self.options), dataset_options(), "dataset option")
        check_known_keys(list(self.pairing), PAIRING_KEYS, "dataset pairing key")
        object.__setattr__(self, "options", _read_only(self.options))
        object.__setattr__(self, "pairing", _check_pairing(self.pairing, self.options))
        if self.ratings is not None:
            object.__setattr__(self, "ratings", _check_ratings(self.ratings))

    @classmethod
    def from_value(cls, value: str | Mapping[str, Any] | DatasetConfig) -> DatasetConfig:
        """The dataset of a config's `"dataset"` value: a name, or `{"name": ..., <options>}`."""
        if isinstance(value, DatasetConfig):
            return value
        value = {"name": value} if isinstance(value, str) else value
        if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
            raise _dataset_error(value)
        options = {k: v for k, v in value.items() if k not in ("name", "ratings", *PAIRING_KEYS)}
        pairing = {k: v for k, v in value.items() if k in PAIRING_KEYS}
        return cls(value["name"], options, pairing, value.get("ratings"))

    def to_dict(self) -> dict[str, Any]:
        """`{"name": ..., <options>, <pairing>, "ratings": ...}`, as a run config records it."""
        ratings = {} if self.ratings is None else {"ratings": _copy(self.ratings)}
        return {"name": self.name, **_copy(self.options), **_copy(self.pairing), **ratings}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A checked run config with its defaults filled in (see the module's documentation).

    Build one with `RunConfig.from_dict(mapping)` (JSON data: unknown keys are refused and
    None means the default) or `load_run_config(path)`; the constructor also accepts the
    JSON forms of `dataset`, `optimizer` and `metrics`. Every mistake raises `RunError`.
    """

    model: str
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=ReadOnlyDict)
    dataset: DatasetConfig = dataclasses.field(
        default_factory=lambda: DatasetConfig(DEFAULT_DATASET)
    )
    epochs: int = 10
    steps: int | None = None
    batch_size: int = 64
    learning_rate: float | None = None
    seed: int = 0
    strategy: str = "auto"
    optimizer: Mapping[str, Any] | None = None
    metrics: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=ReadOnlyDict)
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise RunError(
                "No model given: name one (e.g. `keras-genzoo train ae_conv`) or set \"model\" "
                "in the --config file. See `keras-genzoo list`."
            )
        with reraised_as(RunError, UnknownModelError):
            params = builder_parameters(self.model)
        if not isinstance(self.overrides, Mapping):
            raise RunError(
                f"overrides must be a JSON object of builder arguments, got {self.overrides!r}."
            )
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if not takes_any:
            check_known_keys(list(self.overrides), list(params), f"argument of model {self.model!r}:")
        for key, value in self.overrides.items():
            problem = key in params and type_problem(params[key], value)
            if problem:
                sample = example(params[key].annotation, params[key].default)
                raise RunError(
                    f"Builder argument of model {self.model!r}: {problem}. On the command "
                    f"line: --set {key}={sample} (the value is JSON)."
                )
        object.__setattr__(self, "overrides", _read_only(self.overrides))
        object.__setattr__(self, "dataset", DatasetConfig.from_value(self.dataset))
        _check_translation_data(self, params)
        _check_ratings_data(self)
        _check_positive_int("epochs", self.epochs)
        if self.steps is not None:
            _check_positive_int("steps", self.steps)
        _check_positive_int("batch_size", self.batch_size)
        rate = self.learning_rate
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
                raise RunError(f"learning_rate must be a positive number, got {rate!r}.")
            if "learning_rate" not in params and not takes_any:
                raise RunError(f"Model {self.model!r} has no learning_rate argument.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise RunError(f"seed must be an integer, got {self.seed!r}.")
        if self.strategy not in STRATEGIES:
            check_known_keys([str(self.strategy)], STRATEGIES, "strategy")
        object.__setattr__(self, "optimizer", _check_optimizer(self.optimizer))
        object.__setattr__(self, "metrics", _check_metrics(self.metrics))

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> RunConfig:
        """The config of JSON data (a config file, `config.json`, `best_config.json`, a
        preset's recorded config): keys are checked, missing or null ones get defaults."""
        if not isinstance(config, Mapping):
            raise RunError(f"A run config is a JSON object, got {type(config).__name__}.")
        check_known_keys(list(config), CONFIG_KEYS, "run config key")
        given = {key: value for key, value in config.items() if value is not None}
        return cls(model=given.pop("model", None), **given)

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON data (new dicts and lists): the layout `from_dict` reads back
        and run directories, `best_config.json` and preset metadata record."""
        data = {key: _copy(getattr(self, key)) for key in CONFIG_KEYS}
        data["dataset"] = self.dataset.to_dict()
        for optional in ("steps", "description"):
            if data[optional] is None:
                del data[optional]
        return data

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with `changes` (values as a config file spells them), checked again."""
        return RunConfig.from_dict({**self.to_dict(), **changes})


CONFIG_KEYS = tuple(field.name for field in dataclasses.fields(RunConfig))


def as_run_config(config: RunConfig | Mapping[str, Any]) -> RunConfig:
    """`config` itself, or the `RunConfig` of JSON data (`RunConfig.from_dict`)."""
    return config if isinstance(config, RunConfig) else RunConfig.from_dict(config)


def _check_optimizer(spec: Any) -> ReadOnlyDict | None:
    """A Keras optimizer spec as `{"class_name": ..., "config": {...}}`, or None."""
    if spec is None:
        return None
    spec = {"class_name": spec} if isinstance(spec, str) else spec
    if not isinstance(spec, Mapping) or not isinstance(spec.get("class_name"), str):
        raise RunError(
            "optimizer must be a Keras optimizer name or {\"class_name\": ..., \"config\": "
            f"{{...}}}}, got {spec!r}."
        )
    check_known_keys(list(spec), ["class_name", "config"], "optimizer key")
    spec = ReadOnlyDict(
        class_name=spec["class_name"], config=_read_only(spec.get("config") or {})
    )
    make_optimizer(spec)  # unknown classes or arguments fail here, before training
    return spec


def make_optimizer(
    spec: Mapping[str, Any], learning_rate: float | None = None, name: str | None = None
):
    """A fresh Keras optimizer from a normalised spec, with `learning_rate` if given."""
    try:
        return optimizer_from_spec(spec, learning_rate, name)
    except ValueError as err:
        raise RunError(str(err)) from err


def metric_options() -> dict[str, dict[str, Any]]:
    """The metrics a config may ask for (`scores` measurements of the held-out table),
    with their options and defaults."""
    return {name: dict(m.options) for name, m in MEASUREMENTS.items() if m.section == "scores"}


def _check_metrics(metrics: Any) -> ReadOnlyDict:
    if isinstance(metrics, (list, tuple)):
        metrics = {name: {} for name in metrics}
    if not isinstance(metrics, Mapping):
        raise RunError(f"metrics must be an object of metric names and options, got {metrics!r}.")
    allowed = metric_options()
    check_known_keys(list(metrics), list(allowed), "metric")
    checked = {}
    for name, options in metrics.items():
        options = {} if options is None else options
        if not isinstance(options, Mapping):
            raise RunError(f"The options of metric {name!r} must be an object, got {options!r}.")
        check_known_keys(list(options), list(allowed[name]), f"option of metric {name!r}:")
        checked[name] = _read_only({**allowed[name], **options})
    return ReadOnlyDict(checked)


def load_run_config(path: str) -> RunConfig:
    """Read a JSON run config file as a `RunConfig`; every problem raises `RunError`."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        raise RunError(f"Config file {path!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RunError(f"Could not read config file {path!r}: {err}.") from None
    except json.JSONDecodeError as err:
        raise RunError(f"Config file {path!r} is not valid JSON: {err}.") from None
    try:
        return RunConfig.from_dict(config)
    except RunError as err:
        raise RunError(f"{path}: {err}") from None
