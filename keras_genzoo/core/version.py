"""The package version, in one place (read by pyproject.toml and `keras_genzoo.__version__`)."""

VERSION = "0.1.0"
