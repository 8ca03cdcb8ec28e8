"""One process of a distributed search: `python -m keras_genzoo.tuning.worker SPEC`,
started by `keras_genzoo.tuning.distributed.run_distributed` for the chief and each worker."""

from __future__ import annotations

import json
import os
import sys

from keras_genzoo.tuning.distributed import CHIEF_ID
from keras_genzoo.tuning.search import tune


def run_process(spec_path: str) -> None:
    """The chief's or a worker's part of a search (its role from KERASTUNER_TUNER_ID)."""
    with open(spec_path, encoding="utf-8") as f:
        search = json.load(f)
    is_chief = os.environ.get("KERASTUNER_TUNER_ID", "").startswith(CHIEF_ID)
    tune(
        config=search["config"], tuner=search["tuner"], max_trials=search["max_trials"],
        objective=search["objective"], directory=search["directory"],
        project_name=search["project_name"], overrides=search["overrides"],
        objective_options=search["objective_options"],
        hyperband_factor=search["hyperband_factor"],
        validation_fraction=search["validation_fraction"], max_params=search["max_params"],
        max_consecutive_failed_trials=search["max_consecutive_failed_trials"],
        overwrite=bool(search["overwrite"]) and is_chief, verbose=search["verbose"],
    )


if __name__ == "__main__":
    run_process(sys.argv[1])
