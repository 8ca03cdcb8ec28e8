"""Every family trains on a folder of colour image files at 32x32x3 and 64x64x3, then
generates or reconstructs images of that shape in its value range."""

import numpy as np
import pytest
import tiny_models
from image_folders import colour_digits, write_images

from keras_genzoo.data import load_dataset

# Tiny models (tests/tiny_models.py): these prove shapes and the data path, not sample
# quality. The folders hold 8-bit colour images, which a PixelCNN models as 256 levels.
FAMILIES = (
    "ae_dense", "ae_conv", "dae_conv", "vae_dense", "vae_conv", "cvae_conv", "dcgan", "cgan",
    "wgan_gp", "rbm_bernoulli", "rbm_gaussian", "pixelcnn",
)
DATA_ARGUMENTS = {"pixelcnn": {"likelihood": "categorical"}}
# The default run trains most models at one of the two sizes (the PixelCNN, whose sampling
# takes one step per pixel and channel, and the WGAN-GP, whose critic takes several steps per
# generator step, only in the slow run); the slow run trains every model at both, and at a
# size that is neither square nor a power of two.
DEFAULT_RUN = {
    "ae_conv": (64, 64, 3),
    "dae_conv": (32, 32, 3),
    "vae_conv": (64, 64, 3),
    "cvae_conv": (32, 32, 3),
    "dcgan": (64, 64, 3),
    "cgan": (32, 32, 3),
    "rbm_bernoulli": (64, 64, 3),
}
SCALE_OF_RANGE = {(0.0, 1.0): "unit", (-1.0, 1.0): "symmetric"}


@pytest.fixture(scope="module")
def colour_classes(tmp_path_factory):
    """20 colour digit pictures of 40x40 pixels (so every test size is a resize), by class."""
    folder = tmp_path_factory.mktemp("colour_classes")
    images, labels = colour_digits(20, (40, 40), seed=2)
    write_images(folder, images, labels % 3)
    return folder


def _fit_and_generate(name: str, shape: tuple[int, int, int], folder) -> None:
    conditional = tiny_models.tiny(name).conditional
    classes = {"num_classes": 3} if conditional else {}  # the folder has 3 classes
    model = tiny_models.build(name, image_shape=shape, **classes, **DATA_ARGUMENTS.get(name, {}))
    low, high = model.value_range
    ds, info = load_dataset(
        folder, image_shape=shape, scale=SCALE_OF_RANGE[(low, high)], labels=conditional,
        batch_size=8,
    )
    assert info.image_shape == shape and info.class_names == ("0", "1", "2")
    history = model.fit(ds, epochs=1, verbose=0).history
    assert history and all(np.isfinite(v).all() for v in history.values()), history
    if hasattr(model, "generate"):
        extra = {"gibbs_steps": 5} if name.startswith("rbm") else {}
        labels = [0, 1, 2, 0] if conditional else None
        out = np.asarray(model.generate(4, labels=labels, seed=0, **extra))
    else:
        images = next(iter(ds))[:4]
        out = np.asarray(model.reconstruct(images))
    assert out.shape == (4, *shape)
    assert np.isfinite(out).all() and out.min() >= low - 1e-6 and out.max() <= high + 1e-6


@pytest.mark.parametrize("name, shape", list(DEFAULT_RUN.items()))
def test_family_trains_on_a_colour_folder(name, shape, colour_classes):
    _fit_and_generate(name, shape, colour_classes)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 3), (48, 20, 3)])
@pytest.mark.parametrize("name", FAMILIES)
def test_family_trains_on_a_colour_folder_at_every_size(name, shape, colour_classes):
    _fit_and_generate(name, shape, colour_classes)
