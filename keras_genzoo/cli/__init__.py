"""The `keras-genzoo` command line: argument parsing that calls the library."""

from keras_genzoo.cli.main import main

__all__ = ["main"]
