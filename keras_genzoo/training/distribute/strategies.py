"""Choosing a tf.distribute strategy by name, and reading the cluster from `TF_CONFIG`."""

from __future__ import annotations

import difflib
import json
import os
from typing import Sequence

import tensorflow as tf

STRATEGIES = ("auto", "default", "onedevice", "mirrored", "multiworker")


def get_strategy(
    name: str = "auto", devices: Sequence[str] | None = None
) -> tf.distribute.Strategy:
    """A strategy by name.

    - `auto`: MirroredStrategy over all GPUs when there are several, OneDeviceStrategy on
      a single GPU, and the default strategy on CPU.
    - `default`: the default (no-op) strategy, whatever the devices.
    - `onedevice`: the first GPU, or the first CPU when there is no GPU.
    - `mirrored`: synchronous data parallelism over `devices`; by default every GPU, or
      every logical CPU when there is no GPU (one replica unless the CPU was split with
      `split_cpu`).
    - `multiworker`: MultiWorkerMirroredStrategy over the cluster in `TF_CONFIG`. Create it
      at program start, before any other TensorFlow work, and train with
      `keras_genzoo.training.distribute.train` (Keras 3 `fit` does not run under it).
    """
    if name not in STRATEGIES:
        close = difflib.get_close_matches(str(name), STRATEGIES, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown strategy {name!r}.{hint} Choose one of: {', '.join(STRATEGIES)}."
        )
    if devices is not None and name != "mirrored":
        raise ValueError(f"devices= only applies to the 'mirrored' strategy, not {name!r}.")
    if name == "multiworker":
        read_cluster()  # fail early, with a readable message, on a malformed TF_CONFIG
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as err:
            raise RuntimeError(
                f"{err}. Create the multiworker strategy at the start of the program, "
                "before TensorFlow runs any operation or lists its devices."
            ) from err
    if name == "default":
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        if len(gpus) == 1:
            return tf.distribute.OneDeviceStrategy(gpus[0].name)
        return tf.distribute.get_strategy()
    if name == "onedevice":
        device = gpus[0].name if gpus else tf.config.list_logical_devices("CPU")[0].name
        return tf.distribute.OneDeviceStrategy(device)
    if devices is None:  # mirrored
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(list(devices))


def split_cpu(num_devices: int) -> list[str]:
    """Split the physical CPU into `num_devices` logical devices and return their names.

    Lets MirroredStrategy run several replicas on a machine without GPUs (for tests and
    trying out distributed code). Call it before TensorFlow has used any device.
    """
    if int(num_devices) < 1:
        raise ValueError(f"num_devices must be at least 1, got {num_devices}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    config = [tf.config.LogicalDeviceConfiguration() for _ in range(int(num_devices))]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == len(config):
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    try:
        tf.config.set_logical_device_configuration(cpu, config)
    except RuntimeError as err:
        raise RuntimeError(
            "split_cpu() must run before TensorFlow initialises its devices: call it at "
            "the start of the program, before building models or running any op."
        ) from err
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def read_cluster() -> dict:
    """The parsed `TF_CONFIG` (empty dict when unset), with a clear error when malformed."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON ({err}): {raw[:200]!r}.") from None
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(
            'TF_CONFIG needs "cluster" and "task" entries, e.g. {"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}; '
            f"got {raw[:200]!r}."
        )
    kind, index = task.get("type"), task.get("index")
    members = cluster.get(kind)
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise ValueError(
            f"TF_CONFIG task {task!r} does not name a member of the cluster {cluster!r}: "
            "task.type must be a key of cluster and task.index a position in its list."
        )
    return config


def is_chief() -> bool:
    """Whether this process writes shared outputs (backups, logs): worker 0 or the chief."""
    config = read_cluster()
    if not config:
        return True
    task = config["task"]
    if task["type"] == "chief":
        return True
    has_chief = "chief" in config["cluster"]
    return task["type"] == "worker" and task["index"] == 0 and not has_chief


def task_name() -> str:
    """This process's role in the cluster, e.g. `worker-1` (`worker-0` without a cluster)."""
    config = read_cluster()
    if not config:
        return "worker-0"
    return f"{config['task']['type']}-{config['task']['index']}"
