"""A quiet start for the `keras-genzoo` command line.

TensorFlow writes C++ start-up lines (absl's pre-init warning, the CUDA stub, CPU
feature notes, a failed cuInit on machines without a GPU) straight to the process's
standard error while it loads and probes devices; `TF_CPP_MIN_LOG_LEVEL` does not hide
the first of them. `quiet_startup`, at the top of `keras_genzoo/__init__.py`, imports
TensorFlow and lists its devices with file descriptor 2 pointed at the null device,
then restores it: only when the process is the command line without `--verbose`.
Python errors raised meanwhile still reach the user (they are raised after the
restore). Importing the library from Python changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from typing import Iterator

from keras_genzoo.core.notices import ZooWarning

COMMAND = "keras-genzoo"
MODULES = ("keras_genzoo", "keras_genzoo.cli")
VERBOSE_FLAG = "--verbose"


def running_command_line() -> bool:
    """Whether this process is `keras-genzoo` (console script or `python -m`)."""
    if os.path.basename(sys.argv[0] if sys.argv else "") in (COMMAND, f"{COMMAND}.exe"):
        return True
    arguments = list(getattr(sys, "orig_argv", []))
    if "-m" in arguments[:-1]:
        return arguments[arguments.index("-m") + 1] in MODULES
    return False


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
    """Load TensorFlow silently for the command line, unless `--verbose` is given."""
    if not running_command_line() or VERBOSE_FLAG in sys.argv or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device probing logs here; nothing is initialised


def _one_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{COMMAND}: warning: {message}", file=sys.stderr if file is None else file)


def silence_library_warnings() -> None:
    """Hide Python warnings and TensorFlow/absl log records a user cannot act on; the
    package's own `ZooWarning`s stay, shown as one line each."""
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("always", category=ZooWarning)
    warnings.showwarning = _one_line
    for name in ("tensorflow", "absl", "h5py", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
