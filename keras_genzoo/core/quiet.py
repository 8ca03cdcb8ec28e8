"""A quiet start, and one meaning of verbosity for the library and the command line.

TensorFlow writes C++ start-up lines (absl's pre-init warning, the CUDA stub, oneDNN
and CPU feature notes, a failed cuInit on machines without a GPU) straight to the
process's standard error while it loads and probes devices; `TF_CPP_MIN_LOG_LEVEL` does
not hide the first of them. `quiet_startup`, at the top of `keras_genzoo/__init__.py`,
imports TensorFlow and lists its devices with file descriptor 2 pointed at the null
device, then restores it. Python errors raised meanwhile still reach the user (they are
raised after the restore). Nothing is hidden if TensorFlow was imported first.

Verbosity levels, the same for the `-v`/`--verbose` flag of every command and for the
`KERAS_GENZOO_VERBOSE` environment variable of Python programs:

- 0: the package's own progress and the warnings that matter (`ZooWarning`) only;
- 1: also Keras' progress bars and the libraries' Python warnings and log records;
- 2: also TensorFlow's own start-up and C++ log lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from typing import Iterator, Sequence

from keras_genzoo.core.notices import ZooWarning

COMMAND = "keras-genzoo"
MODULES = ("keras_genzoo", "keras_genzoo.cli")
VERBOSITY_ENV = "KERAS_GENZOO_VERBOSE"
SHOW_TENSORFLOW_LOGS = 2
_FLAG = re.compile(r"^(?:-(v+)|--verbose(?:=(\d+))?)$")


def running_command_line() -> bool:
    """Whether this process is `keras-genzoo` (console script or `python -m`)."""
    if os.path.basename(sys.argv[0] if sys.argv else "") in (COMMAND, f"{COMMAND}.exe"):
        return True
    arguments = list(getattr(sys, "orig_argv", []))
    if "-m" in arguments[:-1]:
        return arguments[arguments.index("-m") + 1] in MODULES
    return False


def verbosity_from_arguments(arguments: Sequence[str]) -> int:
    """The level that `-v`, `-vv`, `--verbose` (each repeatable), `--verbose=N` and
    `--verbose N` give on a command line; 0 without them."""
    level = 0
    for index, argument in enumerate(arguments):
        if argument == "--":
            break
        match = _FLAG.match(argument)
        if match is None:
            continue
        if match.group(1):
            level += len(match.group(1))
        elif match.group(2):
            level += int(match.group(2))
        elif index + 1 < len(arguments) and arguments[index + 1].isdigit():
            level += int(arguments[index + 1])
        else:
            level += 1
    return level


def startup_verbosity() -> int:
    """The command line's `--verbose` level, or else `KERAS_GENZOO_VERBOSE` (default 0)."""
    if running_command_line():
        return verbosity_from_arguments(sys.argv[1:])
    text = os.environ.get(VERBOSITY_ENV, "").strip()
    return int(text) if text.isdigit() else 0


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 (where C++ libraries log) at the null device meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def quiet_startup() -> None:
    """Load TensorFlow without its start-up lines, below verbosity 2.

    The quiet command line (verbosity 0) also sets `TF_CPP_MIN_LOG_LEVEL=3` (unless set),
    so TensorFlow's later C++ log lines stay hidden too; a Python program keeps
    TensorFlow's own default for those.
    """
    level = startup_verbosity()
    if level >= SHOW_TENSORFLOW_LOGS or "tensorflow" in sys.modules:
        return
    if level == 0 and running_command_line():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device probing logs here; nothing is initialised


def apply_verbosity(level: int) -> None:
    """Below verbosity 1, hide the libraries' Python warnings and TensorFlow/absl log
    records, keeping every `ZooWarning`."""
    if level >= 1:
        return
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", category=ZooWarning)
    for name in ("tensorflow", "absl", "h5py", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
