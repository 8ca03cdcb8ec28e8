"""Ctrl-C as a clean stop: training ends between steps and keeps its finished epochs.

    with interruptible() as request:
        model.fit(..., callbacks=[StopOnInterrupt(request), ...])

While the block runs, SIGINT does not interrupt whatever Python happens to be doing:
during `fit` it only asks for a stop, and `StopOnInterrupt` raises `TrainingInterrupted`
at the end of the next batch (a whole execution of steps), before the epoch ends, so the
epoch in progress is not recorded as done. Outside `fit`, or on a second Ctrl-C, it
raises `TrainingInterrupted` at once. `TrainingInterrupted` is a `KeyboardInterrupt`,
so code that cleans up on one cleans up on the other.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

import keras


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training; `completed` of `epochs` epochs were done and kept."""

    def __init__(self, message: str = "Stopped by Ctrl-C.", completed: int | None = None,
                 epochs: int | None = None) -> None:
        super().__init__(message)
        self.completed = completed
        self.epochs = epochs


class StopRequest:
    """Whether Ctrl-C asked for a stop, and whether a `fit` is watching for it."""

    def __init__(self) -> None:
        self.requested = False
        self.watched = False


@contextlib.contextmanager
def interruptible() -> Iterator[StopRequest]:
    """Turn SIGINT into a `StopRequest` while the block runs (see the module's
    documentation); outside the main thread nothing changes."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def on_sigint(signum: int, frame: object) -> None:
        if request.requested or not request.watched:
            raise TrainingInterrupted()
        request.requested = True

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


class StopOnInterrupt(keras.callbacks.Callback):
    """Ends `fit` with `TrainingInterrupted` at the first batch end after a stop request."""

    def __init__(self, request: StopRequest) -> None:
        super().__init__()
        self.request = request

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.request.watched = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self.request.watched = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.request.requested:
            self.request.watched = False
            raise TrainingInterrupted()
