"""The run layer: a run config in, a trained model and its run directory out.

- `RunConfig` / `load_run_config`: the config schema (`zoo_configs/*.json`), checked
  once where a config enters (`RunConfig.from_dict`, a file); mistakes raise `RunError`.
  Everything below takes a `RunConfig`; `train_run` also accepts its JSON form.
- `train_run(config, out_dir)`: builds the model (`build_model`), loads its data
  (`load_run_data`), trains with the run's callbacks (`run_callbacks`, `fit_model`),
  measures the held-out split (`held_out_metrics`) and writes the run directory
  (`write_run`): `model.keras`, `metrics.json`, `config.json`, `logs/` (TensorBoard,
  with `ImageSummaries`), `checkpoints/last.keras`, `reconstructions.png` / `samples.png`
  (a translator's `translations.png`).
- `evaluate_run(run_dir_or_preset)`: recomputes the held-out metrics recorded for a run
  directory or a preset (`recorded_metrics` reads them); the metrics are the held-out
  measurements of `keras_genzoo.evaluation.heldout`, shared with tuning.
- `build_presets(pattern)`: trains the presets the families declare from their zoo
  configs and publishes them into `pretrained/<model>/<tag>/`.
"""

from keras_genzoo.io.images import write_png
from keras_genzoo.io.jsonfiles import jsonable, write_json
from keras_genzoo.training.artifacts import (
    BACKUP_DIR,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    LOGS_DIR,
    METRICS_FILE,
    ImageSummaries,
    preview_grids,
    run_preview_grids,
    save_model,
)
from keras_genzoo.training.build import (
    DEFAULT_RUNS_DIR,
    QUICK_METRICS,
    PresetBuild,
    build_presets,
    plan_builds,
)
from keras_genzoo.training.config import (
    CONFIG_KEYS,
    DEFAULT_DATASET,
    DatasetConfig,
    RunConfig,
    as_run_config,
    dataset_options,
    load_run_config,
    make_optimizer,
    metric_options,
    parse_overrides,
)
from keras_genzoo.training.data import (
    RunData,
    collect,
    held_out_fingerprint,
    load_run_data,
    probe_dataset,
)
from keras_genzoo.training.errors import RunError, reraised_as
from keras_genzoo.training.evaluate import (
    evaluate_run,
    held_out_metrics,
    held_out_split,
    is_run_dir,
    read_run_config,
    reconstruction_report,
    recorded_metrics,
    reproduction_verdict,
    score_metrics,
)
from keras_genzoo.training.train import (
    build_model,
    builder_arguments,
    fit_model,
    run_callbacks,
    train_run,
    write_run,
)

__all__ = [
    "BACKUP_DIR",
    "CHECKPOINTS_DIR",
    "CONFIG_FILE",
    "CONFIG_KEYS",
    "DEFAULT_DATASET",
    "DEFAULT_RUNS_DIR",
    "DatasetConfig",
    "ImageSummaries",
    "LOGS_DIR",
    "METRICS_FILE",
    "PresetBuild",
    "QUICK_METRICS",
    "RunConfig",
    "RunData",
    "RunError",
    "as_run_config",
    "build_model",
    "build_presets",
    "builder_arguments",
    "collect",
    "dataset_options",
    "evaluate_run",
    "fit_model",
    "held_out_fingerprint",
    "held_out_metrics",
    "held_out_split",
    "is_run_dir",
    "jsonable",
    "load_run_config",
    "load_run_data",
    "make_optimizer",
    "metric_options",
    "parse_overrides",
    "plan_builds",
    "preview_grids",
    "probe_dataset",
    "read_run_config",
    "reconstruction_report",
    "recorded_metrics",
    "reproduction_verdict",
    "reraised_as",
    "run_callbacks",
    "run_preview_grids",
    "save_model",
    "score_metrics",
    "train_run",
    "write_json",
    "write_png",
    "write_run",
]
