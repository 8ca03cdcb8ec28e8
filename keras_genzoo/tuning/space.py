"""Search spaces: which builder arguments a builder tunes, their ranges, and their defaults.

Each family declares its table beside its model (`keras_genzoo/models/<family>/space.py`,
with the dimension types of `keras_genzoo.core.search_space`); `SearchSpace(name, ...)`
keeps the entries the builder accepts and takes every default from the builder's
signature (or from a run config's values), so an empty `HyperParameters` builds exactly
the model `create_model(name)` builds. Arguments that are lists of layer widths
(`units`, `filters`, ...) become two hyperparameters, `<arg>_depth` and `<arg>_width`
(the first layer's width; later layers keep the default's ratio between layers).
Both are bounded by the image: a convolution stack has no more stride-2 levels than the
image can be halved, and a first width is at most `max_width(image_shape)`, four per
value of an image (64 at least, 1024 at most), unless the default is wider.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
from typing import Any, Mapping, Sequence

import keras_tuner as kt

from keras_genzoo.core.registry import builder_parameters
from keras_genzoo.core.search_space import (
    Around,
    Boolean,
    Choice,
    Float,
    Int,
    Widths,
    conditions_for,
    dimensions_for,
)
from keras_genzoo.training import RunConfig, RunError

POWERS_OF_TWO = tuple(2**k for k in range(3, 11))  # 8 ... 1024
FIT_ARGUMENTS = ("batch_size",)  # hyperparameters that HyperModel.fit uses, not the builder


class TuningError(RunError):
    """A mistake in a search (space, overrides, objective, tuner), found before any trial."""


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


def max_width(image_shape: Sequence[int]) -> int:
    """The widest first layer a search draws for images of `image_shape`: the largest
    power of two up to four per image value, within [64, 1024] (256 for 8x8 digits)."""
    values = 4 * math.prod(int(d) for d in image_shape)
    return max(64, min(POWERS_OF_TWO[-1], 2 ** int(math.floor(math.log2(values)))))


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
    cap = max_width(image_shape)
    widths = tuple(sorted({*(w for w in POWERS_OF_TWO if w <= cap), default[0]}))
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
        chosen = {**signature_defaults, "batch_size": RunConfig.batch_size, **given}  # its default
        self.hyperparameters: dict[str, Hyperparameter] = {}
        self.widths: dict[str, tuple[float, str, str]] = {}  # arg -> (ratio, depth, width)
        conditions = conditions_for(name)
        for arg, dimension in dimensions_for(name).items():
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
                condition = conditions.get(arg)
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
