"""Image-to-image translation: super-resolution (sub-pixel network, SRGAN), pix2pix and
CycleGAN, all answering `translate(images, *, seed=None, direction=...)`.

Builders registered here: `super_resolution`, `srgan`, `pix2pix`, `unet_translator` (pix2pix's
generator on its pixel loss alone), `cyclegan`.
"""

from keras_genzoo.models.translation import measurements, presets, space  # noqa: F401  (registers measurements, presets, search table)
from keras_genzoo.models.translation.builders import (
    cyclegan,
    pix2pix,
    srgan,
    super_resolution,
    unet_translator,
)
from keras_genzoo.models.translation.files import translate_folder
from keras_genzoo.models.translation.model import AdversarialTranslator, CycleGAN, PairedTranslator
from keras_genzoo.models.translation.networks import (
    RECEPTIVE_FIELDS,
    ClipToRange,
    PixelShuffle,
    SeededDropout,
    build_patch_discriminator,
    build_subpixel_generator,
    build_unet_generator,
)

__all__ = [
    "RECEPTIVE_FIELDS",
    "AdversarialTranslator",
    "ClipToRange",
    "CycleGAN",
    "PairedTranslator",
    "PixelShuffle",
    "SeededDropout",
    "build_patch_discriminator",
    "build_subpixel_generator",
    "build_unet_generator",
    "cyclegan",
    "pix2pix",
    "srgan",
    "super_resolution",
    "translate_folder",
    "unet_translator",
]
