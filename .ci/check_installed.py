"""The installed package (not the source tree) loads a shipped preset offline and generates.

Run by .ci/run from a temporary folder, after a non-editable install."""

import socket
import sysconfig
from pathlib import Path


def offline(*args, **kwargs):
    raise OSError("the installed-package check must work without the network")


socket.socket.connect = offline
socket.create_connection = offline

import keras_genzoo  # noqa: E402

location = Path(keras_genzoo.__file__).resolve()
installed = Path(sysconfig.get_paths()["purelib"]).resolve()
assert installed in location.parents, f"keras_genzoo imported from {location}, not from {installed}"
model = keras_genzoo.load("vae_conv.mnist_t10k")
images = model.generate(4, seed=0)
low, high = model.value_range
assert images.shape == (4, 28, 28, 1), images.shape
assert low <= images.min() and images.max() <= high, (images.min(), images.max())
print(f"installed package ({location.parent}): vae_conv.mnist_t10k generated {images.shape}")
