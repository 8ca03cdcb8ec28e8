"""Search spaces: which builder arguments a family tunes, their ranges, and their defaults.

A family's table maps builder argument names to a `Dimension`; `search_space(name, ...)`
keeps the entries the builder accepts and takes every default from the builder's
signature (or from a run config's values), so an empty `HyperParameters` builds exactly
the model `create_model(name)` builds. Arguments that are lists of layer widths
(`units`, `filters`, ...) become two hyperparameters, `<arg>_depth` and `<arg>_width`
(the first layer's width; later layers keep the default's ratio between layers).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
from typing import Any, Mapping, Sequence

import keras_tuner as kt

from keras_genzoo.core.registry import builder_parameters, get_entry
from keras_genzoo.training import RUN_DEFAULTS, RunError

POWERS_OF_TWO = tuple(2**k for k in range(3, 11))  # 8 ... 1024
FIT_ARGUMENTS = ("batch_size",)  # hyperparameters that HyperModel.fit uses, not the builder


class TuningError(RunError):
    """A mistake in a search (space, overrides, objective, tuner), found before any trial."""


@dataclasses.dataclass(frozen=True)
class Int:
    """An integer in [min_value, max_value]; `sampling="log"` for scale-like sizes."""

    min_value: int
    max_value: int
    step: int | None = None
    sampling: str = "linear"

    def declare(self, hp: kt.HyperParameters, name: str, default: Any) -> Any:
        return hp.Int(name, self.min_value, self.max_value, step=self.step,
                      sampling=self.sampling, default=int(default))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        on_grid = self.step is None or (value - self.min_value) % self.step == 0
        return self.min_value <= value <= self.max_value and on_grid

    def describe(self) -> str:
        step = f" in steps of {self.step}" if self.step else ""
        return f"an integer in [{self.min_value}, {self.max_value}]{step}"


@dataclasses.dataclass(frozen=True)
class Float:
    """A float in [min_value, max_value]."""

    min_value: float
    max_value: float
    sampling: str = "linear"

    def declare(self, hp: kt.HyperParameters, name: str, default: Any) -> Any:
        return hp.Float(name, self.min_value, self.max_value, sampling=self.sampling,
                        default=float(default))

    def contains(self, value: Any) -> bool:
        return (not isinstance(value, bool) and isinstance(value, (int, float))
                and self.min_value <= value <= self.max_value)

    def describe(self) -> str:
        return f"a number in [{self.min_value:g}, {self.max_value:g}]"


@dataclasses.dataclass(frozen=True)
class Around:
    """A positive float sampled log-uniformly within `factor` of its default (rates)."""

    factor: float = 10.0

    def bounds(self, default: float) -> Float:
        return Float(default / self.factor, default * self.factor, sampling="log")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of `values`."""

    values: tuple

    def declare(self, hp: kt.HyperParameters, name: str, default: Any) -> Any:
        return hp.Choice(name, list(self.values), default=default)

    def contains(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values) or (
            isinstance(value, int) and not isinstance(value, bool) and value in self.values
        )

    def describe(self) -> str:
        return f"one of {list(self.values)}"


@dataclasses.dataclass(frozen=True)
class Boolean:
    """True or False."""

    def declare(self, hp: kt.HyperParameters, name: str, default: Any) -> Any:
        return hp.Boolean(name, default=bool(default))

    def contains(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "True or False"


@dataclasses.dataclass(frozen=True)
class Widths:
    """A list of layer widths: tuned as its depth and its first width.

    `halvings=True` for convolution stacks, whose depth is limited by how often the
    image size can be halved.
    """

    max_depth: int = 3
    halvings: bool = False


Dimension = Int | Float | Around | Choice | Boolean | Widths

# ------------------------------------------------------------------- family tables

COMMON: dict[str, Dimension] = {
    "learning_rate": Around(10.0),
    "batch_size": Choice((16, 32, 64, 128, 256)),
}
FAMILY_SPACES: dict[str, dict[str, Dimension]] = {
    "autoencoder": {
        "latent_dim": Int(2, 128, sampling="log"),
        "units": Widths(),
        "filters": Widths(halvings=True),
        "noise": Choice(("gaussian", "masking")),
        "noise_level": Float(0.05, 0.5),
        **COMMON,
    },
    "vae": {
        "latent_dim": Int(2, 128, sampling="log"),
        "units": Widths(),
        "filters": Widths(halvings=True),
        "beta": Float(0.25, 4.0, sampling="log"),
        "kl_warmup_steps": Int(0, 2000, step=250),
        **COMMON,
    },
    "gan": {
        "latent_dim": Int(2, 256, sampling="log"),
        "generator_filters": Widths(halvings=True),
        "discriminator_filters": Widths(halvings=True),
        "critic_filters": Widths(halvings=True),
        "loss": Choice(("non_saturating", "minimax", "least_squares", "hinge")),
        "label_smoothing": Float(0.0, 0.3),
        "instance_noise": Float(0.0, 0.3),
        "critic_steps": Int(1, 8),
        "gradient_penalty_weight": Float(1.0, 30.0, sampling="log"),
        "beta_1": Float(0.0, 0.9),
        **COMMON,
    },
    "autoregressive": {
        "filters": Int(16, 256, sampling="log"),
        "num_layers": Int(2, 15),
        "kernel_size": Choice((3, 5)),
        **COMMON,
    },
    "rbm": {
        "hidden_units": Int(16, 1024, sampling="log"),
        "cd_steps": Int(1, 10),
        "persistent": Boolean(),
        "num_chains": Int(10, 500, sampling="log"),
        "momentum": Float(0.0, 0.9),
        **COMMON,
    },
}
# Hyperparameters that only matter for some values of another: (parent, values).
CONDITIONS: dict[str, tuple[str, tuple]] = {
    "label_smoothing": ("loss", ("non_saturating", "minimax", "least_squares")),
    "num_chains": ("persistent", (True,)),
}
_MODEL_SPACES: dict[str, dict[str, Dimension]] = {}


def register_space(
    name_or_family: str, dimensions: Mapping[str, Dimension], *, replace: bool = False
) -> None:
    """Add (or with `replace=True`, set) the dimensions tuned for a model or a family.

    A builder registered under a known family already gets that family's dimensions for
    the arguments it accepts; this adds dimensions for its own arguments::

        register_space("my_ae", {"dropout": tuning.Float(0.0, 0.5)})
    """
    table = FAMILY_SPACES if name_or_family in FAMILY_SPACES else _MODEL_SPACES
    base = {} if replace else dict(table.get(name_or_family, {}))
    table[name_or_family] = {**base, **dict(dimensions)}


def family_dimensions(name: str) -> dict[str, Dimension]:
    """Every dimension that could apply to the builder `name` (family's, then its own)."""
    entry = get_entry(name)
    return {**FAMILY_SPACES.get(entry.family, COMMON), **_MODEL_SPACES.get(name, {})}


# ------------------------------------------------------------------------ the space


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of a space: its name, range and default."""

    name: str
    dimension: Int | Float | Choice | Boolean
    default: Any
    condition: tuple[str, tuple] | None = None

    def declare(self, hp: kt.HyperParameters) -> Any:
        """Declare on `hp`; None when its condition's parent has another value."""
        if self.condition is None:
            return self.dimension.declare(hp, self.name, self.default)
        parent, values = self.condition
        with hp.conditional_scope(parent, list(values)):
            return self.dimension.declare(hp, self.name, self.default)


def _max_halvings(image_shape: Sequence[int]) -> int:
    return max(1, int(math.floor(math.log2(max(1, min(image_shape[:2]))))))


def _widths_hyperparameters(
    arg: str, dimension: Widths, default: Sequence[int], image_shape: Sequence[int]
) -> tuple[list[Hyperparameter], float] | None:
    default = tuple(int(w) for w in default)
    if not default:
        return None
    ratio = default[1] / default[0] if len(default) > 1 else 1.0
    if any(default[i + 1] != round(default[i] * ratio) for i in range(len(default) - 1)):
        return None  # not a geometric stack: the builder's list is kept as it is
    max_depth = dimension.max_depth
    if dimension.halvings:
        max_depth = min(max_depth, _max_halvings(image_shape))
    max_depth = max(max_depth, len(default))
    widths = tuple(sorted({*POWERS_OF_TWO, default[0]}))
    return [
        Hyperparameter(f"{arg}_depth", Int(1, max_depth), len(default)),
        Hyperparameter(f"{arg}_width", Choice(widths), default[0]),
    ], ratio


class SearchSpace:
    """The hyperparameters of one builder for one data shape, with their defaults.

    `defaults` (builder arguments, plus `batch_size`) replace the builder's own
    defaults, e.g. the values of a zoo config.
    """

    def __init__(
        self, name: str, image_shape: Sequence[int], defaults: Mapping[str, Any] | None = None
    ) -> None:
        self.name = name
        self.image_shape = tuple(int(d) for d in image_shape)
        params = builder_parameters(name)
        signature_defaults = {
            k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty
        }
        given = dict(defaults or {})
        chosen = {**signature_defaults, "batch_size": RUN_DEFAULTS["batch_size"], **given}
        self.hyperparameters: dict[str, Hyperparameter] = {}
        self.widths: dict[str, tuple[float, str, str]] = {}  # arg -> (ratio, depth, width)
        for arg, dimension in family_dimensions(name).items():
            if arg not in params and arg not in FIT_ARGUMENTS:
                continue
            default = chosen.get(arg)
            if default is None:
                continue
            if isinstance(dimension, Widths):
                made = _widths_hyperparameters(arg, dimension, default, self.image_shape)
                if made is None:
                    continue
                found, ratio = made
                self.widths[arg] = (ratio, found[0].name, found[1].name)
            else:
                if isinstance(dimension, Around):
                    dimension = dimension.bounds(float(default))
                condition = CONDITIONS.get(arg)
                if condition is not None and condition[0] not in self.hyperparameters:
                    condition = None
                found = [Hyperparameter(arg, dimension, default, condition)]
            for hyperparameter in found:
                if not hyperparameter.dimension.contains(hyperparameter.default):
                    raise TuningError(
                        f"The default {hyperparameter.name}={hyperparameter.default!r} of "
                        f"{name!r} is outside its search range "
                        f"({hyperparameter.dimension.describe()})."
                    )
                self.hyperparameters[hyperparameter.name] = hyperparameter

    @property
    def names(self) -> list[str]:
        return list(self.hyperparameters)

    def defaults(self) -> dict[str, Any]:
        """The default value of every hyperparameter."""
        return {name: h.default for name, h in self.hyperparameters.items()}

    def declare(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Declare every hyperparameter on `hp`; returns the values it holds (pinned or not)."""
        return {name: h.declare(hp) for name, h in self.hyperparameters.items()}

    def builder_arguments(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Builder arguments of hyperparameter values (widths rebuilt, fit-time ones left out)."""
        arguments = {k: v for k, v in values.items()
                     if k not in FIT_ARGUMENTS and v is not None}
        for arg, (ratio, depth_name, width_name) in self.widths.items():
            depth, width = arguments.pop(depth_name), arguments.pop(width_name)
            arguments[arg] = [max(1, int(round(width * ratio**i))) for i in range(depth)]
        return arguments

    def check_value(self, name: str, value: Any) -> None:
        """Raise `TuningError` unless `name` is a hyperparameter and `value` lies in its range."""
        if name not in self.hyperparameters:
            close = difflib.get_close_matches(name, self.names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TuningError(
                f"{self.name!r} has no hyperparameter {name!r}{hint}. "
                f"Its hyperparameters: {', '.join(self.names)}."
            )
        dimension = self.hyperparameters[name].dimension
        if not dimension.contains(value):
            raise TuningError(
                f"Fixed value {name}={value!r} is outside the search space of {self.name!r}: "
                f"{name} is {dimension.describe()}."
            )

    def covered_argument(self, arg: str) -> list[str]:
        """The hyperparameters that set builder argument `arg` (empty if it is not tuned)."""
        if arg in self.widths:
            return list(self.widths[arg][1:])
        return [arg] if arg in self.hyperparameters else []
