"""Hyperparameter tuning with keras-tuner for every family of the zoo.

- `ZooHyperModel(name, image_shape, ...)`: a ready `keras_tuner.HyperModel` for any
  registered builder; its family gives the search space (`SearchSpace`) and the
  held-out objectives (`objectives_for`), each an explicit `keras_tuner.Objective`.
  Families declare both beside their model (`keras_genzoo/models/<family>/space.py`);
  objectives are measurements of the held-out table the run layer records
  (`keras_genzoo.evaluation.heldout`).
- `tune(name, dataset, tuner="random" | "hyperband" | "bayesian", ...)`: a search built
  on the run layer, resumable, under a distribution strategy or as a chief and workers;
  trials train without the validation split and are chosen on it, the best model is
  scored once on the test split. It returns the results table, the best hyperparameters
  as a run config (trained for the recipe's length) and the best model as it was scored
  (its weights and optimizer state at its best epoch).
- `register_space` / `register_objective` / `register_family_search`: give your own
  builder or family a space and objectives.
"""

from keras_genzoo.core.search_space import (
    Around,
    Boolean,
    Choice,
    Float,
    Int,
    Objective,
    Widths,
    register_family_search,
    register_objective,
    register_space,
)
from keras_genzoo.evaluation.heldout import HeldOut
from keras_genzoo.tuning.hypermodel import DEFAULT_MAX_PARAMS, TrialSkipped, ZooHyperModel
from keras_genzoo.tuning.objectives import (
    HeldOutObjective,
    ObjectiveSpec,
    objectives_for,
    resolve_objective,
)
from keras_genzoo.tuning.progress import SearchProgress
from keras_genzoo.tuning.search import (
    BEST_CONFIG_FILE,
    RESULTS_FILE,
    TUNERS,
    SearchInterrupted,
    TrialRow,
    TuningResult,
    ZooHyperband,
    ZooTuner,
    format_table,
    read_trial_log,
    tune,
)
from keras_genzoo.tuning.space import SearchSpace, TuningError, max_width

__all__ = [
    "Around",
    "BEST_CONFIG_FILE",
    "Boolean",
    "DEFAULT_MAX_PARAMS",
    "Choice",
    "Float",
    "HeldOut",
    "HeldOutObjective",
    "Int",
    "Objective",
    "ObjectiveSpec",
    "RESULTS_FILE",
    "SearchInterrupted",
    "SearchProgress",
    "SearchSpace",
    "TUNERS",
    "TrialRow",
    "TrialSkipped",
    "TuningError",
    "TuningResult",
    "Widths",
    "ZooHyperModel",
    "ZooHyperband",
    "ZooTuner",
    "format_table",
    "max_width",
    "objectives_for",
    "read_trial_log",
    "register_family_search",
    "register_objective",
    "register_space",
    "resolve_objective",
    "tune",
]
