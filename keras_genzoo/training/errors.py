"""The error a run raises for a mistake in its config, its data or its model."""

from __future__ import annotations

import contextlib
from typing import Iterator


class RunError(ValueError):
    """A mistake in a run config, its data or its model, found before anything is written.

    The command line reports it as one line and exits with status 2.
    """


@contextlib.contextmanager
def reraised_as(
    error: type[Exception], *kinds: type[BaseException]
) -> Iterator[None]:
    """Re-raise `kinds` of exceptions raised inside as `error(message)`, keeping the cause."""
    try:
        yield
    except error:
        raise
    except kinds as err:
        raise error(str(err)) from err
