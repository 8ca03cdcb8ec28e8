"""VQ-VAE: a vector-quantised autoencoder, a Gated PixelCNN prior over its codes, and
image compression to bytes with the prior as the entropy model.

Registered builders: `vqvae`, `vqvae_conditional`.
"""

from keras_genzoo.models.vqvae import measurements, presets, space  # noqa: F401  (registers its tables)
from keras_genzoo.models.vqvae.builders import vqvae, vqvae_conditional
from keras_genzoo.models.vqvae.codec import HEADER_BYTES, CorruptDataError, read_header
from keras_genzoo.models.vqvae.files import SUFFIX, compress_folder, decompress_folder
from keras_genzoo.models.vqvae.measurements import psnr
from keras_genzoo.models.vqvae.model import VQVAE, bits_per_image
from keras_genzoo.models.vqvae.prior import CodeGate, build_code_prior
from keras_genzoo.models.vqvae.quantizer import VectorQuantizer

__all__ = [
    "HEADER_BYTES",
    "SUFFIX",
    "VQVAE",
    "CodeGate",
    "CorruptDataError",
    "VectorQuantizer",
    "bits_per_image",
    "compress_folder",
    "decompress_folder",
    "build_code_prior",
    "psnr",
    "read_header",
    "vqvae",
    "vqvae_conditional",
]
