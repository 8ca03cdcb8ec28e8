"""Distributed and fault-tolerant training of zoo models with tf.distribute.

- `get_strategy(name)`: a strategy by name (`auto`, `default`, `onedevice`, `mirrored`,
  `multiworker`); `split_cpu(n)` gives a GPU-less machine `n` logical devices.
- `train(model, data, epochs=..., backup_dir=...)`: runs the model's own `train_step`
  under its strategy, multi-worker included, and resumes from a backup after a crash.
- `LossScaleOptimizer`: float16 loss scaling whose skip decision every replica agrees
  on (zoo models use it automatically under `mixed_float16`).
"""

from keras_genzoo.core.precision import LossScaleOptimizer
from keras_genzoo.training.distribute.driver import (
    TrainingBackup,
    TrainingLog,
    evaluate,
    train,
)
from keras_genzoo.training.distribute.strategies import (
    STRATEGIES,
    get_strategy,
    is_chief,
    read_cluster,
    split_cpu,
    task_name,
)

__all__ = [
    "LossScaleOptimizer",
    "STRATEGIES",
    "TrainingBackup",
    "TrainingLog",
    "evaluate",
    "get_strategy",
    "is_chief",
    "read_cluster",
    "split_cpu",
    "task_name",
    "train",
]
