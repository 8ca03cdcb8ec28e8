"""Hyperparameter tuning with keras-tuner for every family of the zoo.

- `ZooHyperModel(name, image_shape, ...)`: a ready `keras_tuner.HyperModel` for any
  registered builder; its family gives the search space (`search_space`) and the
  held-out objectives (`objectives_for`), each an explicit `keras_tuner.Objective`.
- `tune(name, dataset, tuner="random" | "hyperband" | "bayesian", ...)`: a search built
  on the run layer, resumable, under a distribution strategy or as a chief and workers;
  it returns the results table, the best hyperparameters as a run config and the best
  model with its trained weights.
- `register_space` / `register_objective`: give your own builder or family a space.
"""

from keras_genzoo.tuning.hypermodel import ZooHyperModel
from keras_genzoo.tuning.objectives import (
    FAMILY_OBJECTIVES,
    HeldOut,
    HeldOutObjective,
    ObjectiveSpec,
    objectives_for,
    register_objective,
    resolve_objective,
)
from keras_genzoo.tuning.search import (
    BEST_CONFIG_FILE,
    RESULTS_FILE,
    TUNERS,
    TrialRow,
    TuningResult,
    ZooHyperband,
    ZooTuner,
    format_table,
    read_trial_log,
    tune,
)
from keras_genzoo.tuning.space import (
    FAMILY_SPACES,
    Around,
    Boolean,
    Choice,
    Float,
    Int,
    SearchSpace,
    TuningError,
    Widths,
    register_space,
)

__all__ = [
    "Around",
    "BEST_CONFIG_FILE",
    "Boolean",
    "Choice",
    "FAMILY_OBJECTIVES",
    "FAMILY_SPACES",
    "Float",
    "HeldOut",
    "HeldOutObjective",
    "Int",
    "ObjectiveSpec",
    "RESULTS_FILE",
    "SearchSpace",
    "TUNERS",
    "TrialRow",
    "TuningError",
    "TuningResult",
    "Widths",
    "ZooHyperModel",
    "ZooHyperband",
    "ZooTuner",
    "format_table",
    "objectives_for",
    "read_trial_log",
    "register_objective",
    "register_space",
    "resolve_objective",
    "tune",
]
