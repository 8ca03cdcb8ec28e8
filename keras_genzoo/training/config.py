"""Run configs: the JSON recipes in `zoo_configs/`, their defaults and their validation.

A run config is a dict with `model` (a registered name), builder `overrides`, `dataset`
(a name or `{"name": ..., <load_dataset options>}`), `epochs`, `batch_size`,
`learning_rate`, `seed`, `strategy` and an optional `description`, plus:

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
"""

from __future__ import annotations

import difflib
import inspect
import json
from typing import Any, Sequence

from keras_genzoo.core.optimizers import optimizer_from_spec
from keras_genzoo.core.registry import UnknownModelError, builder_parameters
from keras_genzoo.data import load_dataset
from keras_genzoo.evaluation.heldout import MEASUREMENTS
from keras_genzoo.training.distribute import STRATEGIES
from keras_genzoo.training.errors import RunError, reraised_as

RUN_DEFAULTS: dict[str, Any] = {
    "model": None,
    "overrides": {},
    "dataset": {"name": "digits"},
    "epochs": 10,
    "batch_size": 64,
    "learning_rate": None,
    "seed": 0,
    "strategy": "auto",
    "optimizer": None,
    "metrics": {},
}
CONFIG_KEYS = (*RUN_DEFAULTS, "description")
# load_dataset arguments the trainer sets itself; a config cannot override them.
TRAINER_DATA_ARGS = ("name", "split", "batch_size", "scale", "labels", "shuffle")


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


def _check_positive_int(config: dict[str, Any], key: str) -> None:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunError(f"{key} must be a positive integer, got {value!r}.")


def dataset_options() -> list[str]:
    """Dataset options a run config may set (`load_dataset` arguments besides the trainer's)."""
    return [p for p in inspect.signature(load_dataset).parameters if p not in TRAINER_DATA_ARGS]


def normalize_run_config(config: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults into a run config and check its keys, types and names (`RunError`)."""
    if not isinstance(config, dict):
        raise RunError(f"A run config is a JSON object, got {type(config).__name__}.")
    check_known_keys(list(config), CONFIG_KEYS, "run config key")
    merged = {**RUN_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    if not isinstance(merged["model"], str) or not merged["model"]:
        raise RunError(
            "No model given: name one (e.g. `keras-genzoo train ae_conv`) or set \"model\" "
            "in the --config file. See `keras-genzoo list`."
        )
    with reraised_as(RunError, UnknownModelError):
        params = builder_parameters(merged["model"])
    overrides = merged["overrides"]
    if not isinstance(overrides, dict):
        raise RunError(f"overrides must be a JSON object of builder arguments, got {overrides!r}.")
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes_any:
        check_known_keys(list(overrides), list(params), f"argument of model {merged['model']!r}:")
    merged["overrides"] = dict(overrides)
    dataset = merged["dataset"]
    dataset = {"name": dataset} if isinstance(dataset, str) else dataset
    if not isinstance(dataset, dict) or not isinstance(dataset.get("name"), str):
        raise RunError(f"dataset must be a name or an object with a \"name\", got {dataset!r}.")
    check_known_keys([k for k in dataset if k != "name"], dataset_options(), "dataset option")
    merged["dataset"] = dict(dataset)
    _check_positive_int(merged, "epochs")
    _check_positive_int(merged, "batch_size")
    rate = merged["learning_rate"]
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise RunError(f"learning_rate must be a positive number, got {rate!r}.")
        if "learning_rate" not in params and not takes_any:
            raise RunError(f"Model {merged['model']!r} has no learning_rate argument.")
    if isinstance(merged["seed"], bool) or not isinstance(merged["seed"], int):
        raise RunError(f"seed must be an integer, got {merged['seed']!r}.")
    if merged["strategy"] not in STRATEGIES:
        check_known_keys([str(merged["strategy"])], STRATEGIES, "strategy")
    merged["optimizer"] = _check_optimizer(merged["optimizer"])
    merged["metrics"] = _check_metrics(merged["metrics"])
    return merged


def _check_optimizer(spec: Any) -> dict[str, Any] | None:
    """A Keras optimizer spec as `{"class_name": ..., "config": {...}}`, or None."""
    if spec is None:
        return None
    spec = {"class_name": spec} if isinstance(spec, str) else spec
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise RunError(
            "optimizer must be a Keras optimizer name or {\"class_name\": ..., \"config\": "
            f"{{...}}}}, got {spec!r}."
        )
    check_known_keys(list(spec), ["class_name", "config"], "optimizer key")
    spec = {"class_name": spec["class_name"], "config": dict(spec.get("config") or {})}
    make_optimizer(spec)  # unknown classes or arguments fail here, before training
    return spec


def make_optimizer(spec: dict[str, Any], learning_rate: float | None = None, name: str | None = None):
    """A fresh Keras optimizer from a normalised spec, with `learning_rate` if given."""
    try:
        return optimizer_from_spec(spec, learning_rate, name)
    except ValueError as err:
        raise RunError(str(err)) from err


def metric_options() -> dict[str, dict[str, Any]]:
    """The metrics a config may ask for (`scores` measurements of the held-out table),
    with their options and defaults."""
    return {name: dict(m.options) for name, m in MEASUREMENTS.items() if m.section == "scores"}


def _check_metrics(metrics: Any) -> dict[str, dict[str, Any]]:
    if isinstance(metrics, (list, tuple)):
        metrics = {name: {} for name in metrics}
    if not isinstance(metrics, dict):
        raise RunError(f"metrics must be an object of metric names and options, got {metrics!r}.")
    allowed = metric_options()
    check_known_keys(list(metrics), list(allowed), "metric")
    checked = {}
    for name, options in metrics.items():
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise RunError(f"The options of metric {name!r} must be an object, got {options!r}.")
        check_known_keys(list(options), list(allowed[name]), f"option of metric {name!r}:")
        checked[name] = {**allowed[name], **options}
    return checked


def load_run_config(path: str) -> dict[str, Any]:
    """Read and normalise a JSON run config file; every problem raises `RunError`."""
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
        return normalize_run_config(config)
    except RunError as err:
        raise RunError(f"{path}: {err}") from None
