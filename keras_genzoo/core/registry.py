"""The model zoo: a registry of builder functions, looked up by name."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import keras

Builder = Callable[..., keras.Model]


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder with the facts `list_models` and the CLI show."""

    name: str
    builder: Builder
    family: str
    summary: str


@dataclass(frozen=True)
class BuilderCall:
    """How a model was built: its registered name, builder arguments and optimizer spec.

    `create_model` leaves one on every model as `model.zoo_builder`, so the model can be
    published as a preset without repeating its arguments.
    """

    name: str
    arguments: dict[str, Any]
    optimizer: dict[str, Any] | None = None


_REGISTRY: dict[str, ModelEntry] = {}


class UnknownModelError(ValueError):
    """Raised for a model name that is not registered."""


def _summary(fn: Callable) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.splitlines()[0] if doc else ""


def _same_definition(old: Callable, new: Callable) -> bool:
    """True for one builder defined again (a reloaded module or a re-run notebook cell)."""
    return old is new or (
        getattr(old, "__module__", None) == getattr(new, "__module__", None)
        and getattr(old, "__qualname__", None) == getattr(new, "__qualname__", None)
    )


def register_model(
    name: str, *, family: str = "custom", overwrite: bool = False
) -> Callable[[Builder], Builder]:
    """Register `builder(**overrides) -> keras.Model` under `name`.

    Use as a decorator where the builder is defined::

        @keras_genzoo.register_model("my_ae", family="autoencoders")
        def my_ae(latent_dim: int = 8) -> keras.Model: ...
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Model names must be non-empty strings, got {name!r}.")

    def decorator(builder: Builder) -> Builder:
        if not callable(builder):
            raise TypeError(f"register_model({name!r}) decorates a callable, got {builder!r}.")
        if name in _REGISTRY and not overwrite and not _same_definition(_REGISTRY[name].builder, builder):
            raise ValueError(
                f"A model named {name!r} is already registered "
                f"(by {_REGISTRY[name].builder.__module__}). Pick another name "
                "or pass overwrite=True to replace it."
            )
        _REGISTRY[name] = ModelEntry(name, builder, family, _summary(builder))
        return builder

    return decorator


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted, optionally filtered by a shell-style pattern."""
    names = sorted(_REGISTRY)
    if pattern is None:
        return names
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def get_entry(name: str) -> ModelEntry:
    """The registry entry for `name`; unknown names suggest the closest matches."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"Unknown model {name!r}.{hint} "
            f"Registered models: {', '.join(sorted(_REGISTRY)) or 'none'}."
        ) from None


def builder_parameters(name: str) -> dict[str, inspect.Parameter]:
    """The keyword arguments the builder of `name` accepts."""
    sig = inspect.signature(get_entry(name).builder)
    return dict(sig.parameters)


def dataset_arguments(name: str, info: Any, *, value_range: bool = True) -> dict[str, Any]:
    """The builder arguments of `name` that a dataset fixes, from its `DatasetInfo`.

    Each is given only where the builder takes it: `image_shape`, `num_classes`,
    `num_levels` (where the builder's default is None) and, with `value_range`, the
    range `load_dataset` scaled the images to. The run layer builds its models with
    these (without `value_range`: it scales the data to the model instead).
    """
    params = builder_parameters(name)
    arguments: dict[str, Any] = {}
    if "image_shape" in params:
        arguments["image_shape"] = tuple(info.image_shape)
    if "num_classes" in params:
        arguments["num_classes"] = info.num_classes
    if "num_levels" in params and params["num_levels"].default is None and info.num_levels:
        arguments["num_levels"] = info.num_levels
    if value_range and "value_range" in params:
        arguments["value_range"] = tuple(info.value_range)
    return arguments


def create_model(name: str, *, dataset_info: Any = None, **overrides: Any) -> keras.Model:
    """Build a fresh (untrained) model from the builder registered as `name`.

    With `dataset_info` (the `DatasetInfo` of `load_dataset` or `load_arrays`) the
    model is built for that data: its image shape, classes and value range fill the
    builder arguments not given in `overrides` (`dataset_arguments`), and a model whose
    value range still differs from the data's is refused with the fix.
    """
    if dataset_info is not None:
        overrides = {**dataset_arguments(name, dataset_info), **overrides}
    entry = get_entry(name)
    params = builder_parameters(name)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes_any:
        unknown = sorted(set(overrides) - set(params))
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, params, n=1, cutoff=0.5)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(
                f"Model {name!r} does not accept {', '.join(hints)}. "
                f"Accepted overrides: {', '.join(params) or 'none'}."
            )
    model = entry.builder(**overrides)
    if isinstance(model, keras.Model):
        model.zoo_builder = BuilderCall(name, dict(overrides))
    model_range = getattr(model, "value_range", None)
    if dataset_info is not None and model_range is not None:
        data_range = tuple(float(v) for v in dataset_info.value_range)
        if tuple(model_range) != data_range:
            scale = {(0.0, 1.0): "unit", (-1.0, 1.0): "symmetric"}.get(tuple(model_range))
            fix = f"load_dataset(..., scale={scale!r})" if scale else "data in that range"
            raise ValueError(
                f"{name} works on pixels in {list(model_range)}, but dataset_info says the "
                f"data is in {list(data_range)}. Load the data with {fix}."
            )
    return model
