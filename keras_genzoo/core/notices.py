"""Warnings a user should act on, kept visible when library noise is hidden.

`ZooWarning` marks the package's own warnings that name something to fix (skipped image
files, data in the wrong value range, training far too short). The quiet command line
hides every other Python warning but shows these, one line each.
"""

from __future__ import annotations

import warnings


class ZooWarning(UserWarning):
    """A warning of keras_genzoo that names what to fix."""


def warn(message: str, stacklevel: int = 2) -> None:
    """Issue `message` as a `ZooWarning` (`stacklevel` counts from the caller)."""
    warnings.warn(message, ZooWarning, stacklevel=stacklevel + 1)
