"""Every family trains on a folder of colour image files at 32x32x3 and 64x64x3, then
generates or reconstructs images of that shape in its value range."""

import numpy as np
import pytest
from image_folders import colour_digits, write_images

import keras_genzoo
from keras_genzoo.data import load_dataset

# Tiny widths: these prove shapes and the data path, not sample quality.
FAMILIES = {
    "ae_dense": dict(latent_dim=4, units=[16]),
    "ae_conv": dict(latent_dim=4, filters=[4, 8]),
    "dae_conv": dict(latent_dim=4, filters=[4, 8]),
    "vae_dense": dict(latent_dim=4, units=[16]),
    "vae_conv": dict(latent_dim=4, filters=[4, 8]),
    "cvae_conv": dict(latent_dim=4, filters=[4, 8]),
    "dcgan": dict(latent_dim=8, generator_filters=[8, 4], discriminator_filters=[4, 8]),
    "cgan": dict(latent_dim=8, generator_filters=[8, 4], discriminator_filters=[4, 8]),
    "wgan_gp": dict(latent_dim=8, generator_filters=[8, 4], critic_filters=[4, 8], critic_steps=2),
    "rbm_bernoulli": dict(hidden_units=16),
    "rbm_gaussian": dict(hidden_units=16),
    "pixelcnn": dict(likelihood="categorical", filters=6, num_layers=2, head_filters=6),
}
# The default run trains one model per family at one of the two sizes (the PixelCNN,
# whose sampling takes one step per pixel and channel, only in the slow run); the slow
# run trains every model at both, and at a size that is neither square nor a power of two.
DEFAULT_RUN = {
    "ae_conv": (64, 64, 3),
    "dae_conv": (32, 32, 3),
    "vae_conv": (64, 64, 3),
    "cvae_conv": (32, 32, 3),
    "dcgan": (64, 64, 3),
    "cgan": (32, 32, 3),
    "wgan_gp": (32, 32, 3),
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
    model = keras_genzoo.create_model(name, image_shape=shape, **FAMILIES[name])
    conditional = getattr(model, "is_conditional", False)
    if conditional:  # built for the digits' 10 classes by default; the folder has 3
        model = keras_genzoo.create_model(name, image_shape=shape, num_classes=3, **FAMILIES[name])
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
@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_trains_on_a_colour_folder_at_every_size(name, shape, colour_classes):
    _fit_and_generate(name, shape, colour_classes)
