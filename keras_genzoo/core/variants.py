"""Registered builders made from a family's variant table.

A family writes one build function and declares its builders' keyword arguments once,
as a table of `Argument`s (name, type, default, and which variants take it). Each
registered builder is then one row, `BuilderTable.variant(name, doc, **settings)`: a
keyword-only function whose signature lists exactly the arguments its settings select,
in the table's order, and which calls the build function with its settings and
arguments. `inspect.signature`, `help()` and the registry see an ordinary function. A value of the
wrong type (`beta="two"`) is refused before the build runs (`BuilderArgumentError`),
with the argument, the type it takes and an example; `type_problem` says the same to a
caller that checks arguments before building (the run config's overrides).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import json
import numbers
import types
import typing
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from keras_genzoo.core.registry import Builder, register_model

_SINGULAR = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             type(None): "None (null in JSON)"}
_PLURAL = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}
_EXAMPLES = {int: 16, float: 0.5, str: "name", bool: True}


class BuilderArgumentError(TypeError, ValueError):
    """A builder argument of the wrong type (a TypeError, and a ValueError for callers
    that catch bad values)."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def accepts(annotation: Any, value: Any) -> bool:
    """Whether `value` fits `annotation` (int, float, str, bool, None, unions and
    `Sequence[...]`; an int is a number; any other annotation accepts everything)."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return any(accepts(option, value) for option in typing.get_args(annotation))
    if origin in (collections.abc.Sequence, list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (collections.abc.Sequence, np.ndarray)):
            return False
        items = typing.get_args(annotation)
        return not items or all(accepts(items[0], item) for item in value)
    if annotation is bool:
        return _is_bool(value)
    if annotation is int:
        return isinstance(value, numbers.Integral) and not _is_bool(value)
    if annotation is float:
        return isinstance(value, numbers.Real) and not _is_bool(value)
    if annotation is str:
        return isinstance(value, str)
    if annotation is type(None):
        return value is None
    return True


def describe(annotation: Any) -> str:
    """What an annotation asks for, in words: "an integer", "a list of integers"."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(describe(option) for option in typing.get_args(annotation))
    if origin in (collections.abc.Sequence, list, tuple):
        items = typing.get_args(annotation)
        return f"a list of {_PLURAL.get(items[0], 'values')}" if items else "a list"
    return _SINGULAR.get(annotation, str(annotation))


def example(annotation: Any, default: Any) -> str:
    """A value of `annotation` as JSON: the default when it has the type, else a typical one."""
    if default is not None and default is not inspect.Parameter.empty and accepts(annotation, default):
        return json.dumps(list(default) if isinstance(default, tuple) else default)
    origin = typing.get_origin(annotation)
    options = typing.get_args(annotation) if origin in (types.UnionType, typing.Union) else (annotation,)
    for option in options:
        if typing.get_origin(option) in (collections.abc.Sequence, list, tuple):
            return json.dumps([_EXAMPLES.get(typing.get_args(option)[0], 1)] * 2)
        if option in _EXAMPLES:
            return json.dumps(_EXAMPLES[option])
    return "null"


def type_problem(parameter: inspect.Parameter, value: Any) -> str | None:
    """None when `value` fits the parameter's annotation; else what it takes, with an
    example: "latent_dim takes an integer, e.g. latent_dim=16; got 'eight' (a str)"."""
    if accepts(parameter.annotation, value):
        return None
    name = parameter.name
    return (
        f"{name} takes {describe(parameter.annotation)}, e.g. "
        f"{name}={example(parameter.annotation, parameter.default)}; got {value!r} "
        f"(a {type(value).__name__})"
    )


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
            for key, value in bound.arguments.items():
                problem = type_problem(signature.parameters[key], value)
                if problem:
                    raise BuilderArgumentError(f"{name}(): {problem}.")
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
