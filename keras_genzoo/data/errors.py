"""Errors the data layer raises when data is missing or unreadable."""

from __future__ import annotations


class DataNotFoundError(FileNotFoundError):
    """The data is not where it was looked for; the message says where, and how to provide it."""


class DataFormatError(ValueError):
    """A data file exists but is corrupt, truncated or not in a supported layout."""
