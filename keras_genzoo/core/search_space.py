"""What a family declares for tuning: search dimensions and held-out objectives.

A family's folder registers its table once (`register_family_search`): the builder
arguments it tunes (`Int`, `Float`, `Around`, `Choice`, `Boolean`, `Widths`), which
hyperparameters only matter for some values of another (`conditions`) and the
objectives a search may optimise (`Objective`: a held-out measurement of
`keras_genzoo.evaluation.heldout` under a tuning name). The tuning layer reads these
tables through `dimensions_for`, `conditions_for` and `objectives_for`; nothing here
imports keras-tuner (`declare` takes its `HyperParameters` as an argument).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

from keras_genzoo.core.registry import builder_parameters, get_entry


@dataclasses.dataclass(frozen=True)
class Int:
    """An integer in [min_value, max_value]; `sampling="log"` for scale-like sizes."""

    min_value: int
    max_value: int
    step: int | None = None
    sampling: str = "linear"

    def declare(self, hp: Any, name: str, default: Any) -> Any:
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

    def declare(self, hp: Any, name: str, default: Any) -> Any:
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

    def declare(self, hp: Any, name: str, default: Any) -> Any:
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

    def declare(self, hp: Any, name: str, default: Any) -> Any:
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

#: Dimensions every family tunes (and the whole space of a builder of unknown family).
COMMON: dict[str, Dimension] = {
    "learning_rate": Around(10.0),
    "batch_size": Choice((16, 32, 64, 128, 256)),
}


def _always(params: Mapping[str, Any]) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Objective:
    """A tuning objective: the held-out measurement `measurement` (a name of
    `keras_genzoo.evaluation.heldout.MEASUREMENTS`), its output `key` (default: the
    measurement's name) and the options a search uses unless it is given others.
    Its direction is the measurement's. `applies(builder parameters)` says whether a
    builder produces it."""

    name: str
    measurement: str
    description: str
    key: str | None = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    applies: Callable[[Mapping[str, Any]], bool] = _always

    @property
    def output(self) -> str:
        return self.key or self.measurement


@dataclasses.dataclass
class FamilySearch:
    """A family's tuning table: dimensions, conditions, objectives."""

    dimensions: dict[str, Dimension]
    conditions: dict[str, tuple[str, tuple]]
    objectives: list[Objective]


_FAMILIES: dict[str, FamilySearch] = {}
_MODEL_SPACES: dict[str, dict[str, Dimension]] = {}


def register_family_search(
    family: str,
    dimensions: Mapping[str, Dimension],
    objectives: Sequence[Objective] = (),
    *,
    conditions: Mapping[str, tuple[str, tuple]] | None = None,
) -> None:
    """Declare the search table of `family` (a folder of `keras_genzoo.models`, the
    family its builders are registered under).

    `conditions` maps a hyperparameter to `(parent, values)`: it is only active while
    its parent takes one of those values. Declaring a family again replaces its table.
    """
    _FAMILIES[family] = FamilySearch(dict(dimensions), dict(conditions or {}), list(objectives))


def declared_families() -> list[str]:
    """Families with a search table, sorted."""
    return sorted(_FAMILIES)


def family_search(family: str) -> FamilySearch | None:
    """The search table of a family; None when undeclared."""
    return _FAMILIES.get(family)


def register_space(
    name_or_family: str, dimensions: Mapping[str, Dimension], *, replace: bool = False
) -> None:
    """Add (or with `replace=True`, set) the dimensions tuned for a model or a family.

    A builder registered under a known family already gets that family's dimensions for
    the arguments it accepts; this adds dimensions for its own arguments::

        register_space("my_ae", {"dropout": tuning.Float(0.0, 0.5)})
    """
    table = family_search(name_or_family)
    if table is not None:
        table.dimensions = {**({} if replace else table.dimensions), **dict(dimensions)}
        return
    base = {} if replace else _MODEL_SPACES.get(name_or_family, {})
    _MODEL_SPACES[name_or_family] = {**base, **dict(dimensions)}


def register_objective(family: str, objective: Objective) -> None:
    """Add an objective to a family; an undeclared family gets a table of its own."""
    table = family_search(family)
    if table is None:
        register_family_search(family, COMMON, [objective])
    else:
        table.objectives.append(objective)


def _table_of(name: str) -> FamilySearch | None:
    return family_search(get_entry(name).family)


def dimensions_for(name: str) -> dict[str, Dimension]:
    """Every dimension that could apply to the builder `name` (family's, then its own)."""
    table = _table_of(name)
    family = COMMON if table is None else table.dimensions
    return {**family, **_MODEL_SPACES.get(name, {})}


def conditions_for(name: str) -> dict[str, tuple[str, tuple]]:
    """The conditional hyperparameters of the builder `name`'s family."""
    table = _table_of(name)
    return {} if table is None else dict(table.conditions)


def objectives_for(name: str) -> list[Objective]:
    """The objectives the builder `name` produces; the first is its default."""
    table = _table_of(name)
    params = builder_parameters(name)
    return [] if table is None else [o for o in table.objectives if o.applies(params)]
