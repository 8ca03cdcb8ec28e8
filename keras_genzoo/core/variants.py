"""Registered builders made from a family's variant table.

A family writes one build function and declares its builders' keyword arguments once,
as a table of `Argument`s (name, type, default, and which variants take it). Each
registered builder is then one row, `BuilderTable.variant(name, doc, **settings)`: a
keyword-only function whose signature lists exactly the arguments its settings select,
in the table's order, and which calls the build function with its settings and
arguments. `inspect.signature`, `help()` and the registry see an ordinary function.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Mapping, Sequence

from keras_genzoo.core.registry import Builder, register_model


@dataclasses.dataclass(frozen=True)
class Argument:
    """A keyword argument of a family's builders: its name, type and default.

    `only` gives the settings a variant must have to take it, e.g.
    `only={"conditional": True}`; by default every variant takes it.
    """

    name: str
    annotation: Any
    default: Any
    only: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def taken_with(self, settings: Mapping[str, Any]) -> bool:
        """Whether a variant with these settings takes this argument."""
        return all(key in settings and settings[key] == value for key, value in self.only.items())


class BuilderTable:
    """A family's builder arguments and build function; `variant` makes one builder.

    The builders call `build(**settings, **arguments)`, with `name=` the registered name
    added when `passes_name` (the family names its models after their builder).
    `module` is the module that assigns the builders to their names (the builders'
    `__module__`, so they pickle by reference and a reloaded module re-registers them).
    """

    def __init__(
        self,
        family: str,
        arguments: Sequence[Argument],
        build: Callable[..., Any],
        *,
        module: str,
        returns: Any,
        passes_name: bool = True,
    ) -> None:
        names = [argument.name for argument in arguments]
        if len(set(names)) != len(names):
            raise ValueError(f"The arguments of the {family!r} builders repeat a name: {names}.")
        self.family = family
        self.arguments = tuple(arguments)
        self.build = build
        self.module = module
        self.returns = returns
        self.passes_name = passes_name
        self._settings = sorted({key for argument in arguments for key in argument.only})

    def _signature(
        self, settings: Mapping[str, Any], defaults: Mapping[str, Any], returns: Any
    ) -> inspect.Signature:
        taken = [argument for argument in self.arguments if argument.taken_with(settings)]
        unknown = set(defaults) - {argument.name for argument in taken}
        if unknown:
            raise ValueError(f"Defaults given for arguments the variant does not take: {sorted(unknown)}.")
        return inspect.Signature(
            [
                inspect.Parameter(
                    argument.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=defaults.get(argument.name, argument.default),
                    annotation=argument.annotation,
                )
                for argument in taken
            ],
            return_annotation=returns,
        )

    def variant(
        self,
        name: str,
        doc: str,
        *,
        defaults: Mapping[str, Any] | None = None,
        returns: Any = None,
        **settings: Any,
    ) -> Builder:
        """Register the builder `name` (docstring `doc`) with these settings.

        `defaults` replaces the table's default of some of its arguments; `returns`
        (default: the table's) is its return annotation. Assign the result to `name`
        in the table's module.
        """
        missing = [key for key in self._settings if key not in settings]
        if missing:
            raise ValueError(f"Variant {name!r} must set {missing} (the table's arguments depend on them).")
        signature = self._signature(settings, defaults or {}, self.returns if returns is None else returns)
        clashes = set(settings) & set(signature.parameters)
        if clashes:
            raise ValueError(f"Variant {name!r}: settings {sorted(clashes)} are also arguments.")
        fixed = {**settings, "name": name} if self.passes_name else dict(settings)
        build = self.build

        def builder(**arguments: Any) -> Any:
            try:
                bound = signature.bind(**arguments)
            except TypeError as err:
                raise TypeError(f"{name}() {err}") from None
            bound.apply_defaults()
            return build(**fixed, **bound.arguments)

        builder.__name__ = builder.__qualname__ = name
        builder.__module__ = self.module
        builder.__doc__ = doc
        builder.__signature__ = signature
        builder.__annotations__ = {
            **{key: p.annotation for key, p in signature.parameters.items()},
            "return": signature.return_annotation,
        }
        return register_model(name, family=self.family)(builder)
