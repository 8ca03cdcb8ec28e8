"""What a model can do, one signature per capability: `Generator`, `Encoder`, `DensityModel`,
`Translator`.

Each capability is a mixin of `ZooModel` subclasses (listed before `ZooModel` among
the bases). The mixin owns the public method and its argument handling (counts,
labels, seeds, batching, image checks); a family implements only the small hook named
in the mixin's docstring. Callers test `isinstance(model, Generator)` and so on.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
from keras import ops

from keras_genzoo.core.checks import check_choice, check_count, check_positive_int
from keras_genzoo.core.conditioning import model_labels, one_hot
from keras_genzoo.core.randomness import resolve_seed

#: What `DensityModel.log_likelihood` returns: the exact log p(x), a lower bound on it,
#: or an estimate of it (e.g. from an estimated normalising constant).
LIKELIHOOD_KINDS = ("exact", "bound", "estimate")


def batch_slices(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most `size` rows covering `range(n)`."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def map_batches(
    fn: Callable[[np.ndarray, np.ndarray | None], Any],
    inputs: np.ndarray,
    conditions: np.ndarray | None,
    batch_size: int,
) -> np.ndarray:
    """float32 results of `fn(inputs[rows], conditions[rows])` over batches, concatenated."""
    batch_size = check_positive_int(batch_size, "batch_size")
    parts = [
        ops.convert_to_numpy(fn(inputs[rows], None if conditions is None else conditions[rows]))
        for rows in batch_slices(len(inputs), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32, copy=False)


class Generator:
    """A model that samples new images.

    Hook: `_generate(n, labels, seed, batch_size, **options)` returns `n` (>= 1) images
    for checked int32 `labels` (None if unconditional), an integer `seed` and a batch
    size, in the model's `value_range`.
    """

    #: Images per pass of `generate` when its `batch_size` is None (None: one pass).
    generate_batch_size: int | None = 256

    def generate(
        self,
        n: int,
        *,
        labels: Any = None,
        seed: int | None = None,
        batch_size: int | None = None,
        **options: Any,
    ) -> np.ndarray:
        """`n` new images, float32 of shape (n, *image_shape) in `value_range`.

        `n` is an integer >= 0 (0 gives an empty array). Conditional models draw class
        `labels[i]` for image i (one class id applies to all; None cycles through the
        classes: 0, 1, ..., 0, 1, ...); unconditional models take no labels. `seed`
        follows the zoo's seed policy (`keras_genzoo.core.randomness`): the same integer
        gives the same images, None a fresh draw from Keras' global random state.
        `batch_size` images are sampled per pass (default: the family's). Family options
        are keyword arguments (e.g. `gibbs_steps=` of an RBM, `cached=` of a PixelCNN).
        """
        n, labels, seed, batch_size = self.generation_request(n, labels, seed, batch_size)
        if n == 0:
            return np.zeros((0, *self.image_shape), np.float32)
        images = self._generate(n, labels, seed, batch_size, **options)
        return np.asarray(images, dtype=np.float32)

    def generation_request(
        self, n: Any, labels: Any, seed: Any, batch_size: Any
    ) -> tuple[int, np.ndarray | None, int, int]:
        """The checked (n, labels, seed, batch_size) of a sampling call, as `generate`
        interprets its arguments."""
        n = check_count(n, "n")
        labels = model_labels(self, labels, n, cycle=True)
        seed = resolve_seed(seed)
        if batch_size is None:
            batch_size = self.generate_batch_size or max(n, 1)
        return n, labels, seed, check_positive_int(batch_size, "batch_size")

    def _generate(
        self, n: int, labels: np.ndarray | None, seed: int, batch_size: int, **options: Any
    ) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _generate.")


class Encoder:
    """A model that maps images to latent codes and codes back to images.

    Hooks: `code_shape` (one code's shape), `_encode_batch(images, one_hot)` and
    `_decode_batch(codes, one_hot)`, where `one_hot` holds float32 class weights
    (n, num_classes) of a conditional model and is None otherwise. Override
    `_reconstruct_batch` when the model reconstructs in one pass.
    """

    code_shape: tuple[int, ...]

    def encode(self, x: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """Latent codes (n, *code_shape) of images x; a VAE gives its posterior means.
        Conditional models take the images' `labels`."""
        images, conditions = self._encoder_inputs(x, labels)
        return map_batches(self._encode_batch, images, conditions, batch_size)

    def decode(self, z: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """Images (n, *image_shape) in `value_range` decoded from latent codes z."""
        z = np.asarray(z, np.float32)
        if z.ndim != 1 + len(self.code_shape) or tuple(z.shape[1:]) != tuple(self.code_shape):
            dims = ", ".join(map(str, self.code_shape))
            raise ValueError(
                f"decode expects latent codes of shape (n, {dims}), got {z.shape}. Get "
                "codes from encode()."
            )
        conditions = one_hot(model_labels(self, labels, len(z)), self.num_classes)
        if not len(z):
            return np.zeros((0, *self.image_shape), np.float32)
        return map_batches(self._decode_batch, z, conditions, batch_size)

    def reconstruct(self, x: Any, *, labels: Any = None, batch_size: int = 256) -> np.ndarray:
        """The model's reconstructions of images x (a denoising model cleans them)."""
        images, conditions = self._encoder_inputs(x, labels)
        return map_batches(self._reconstruct_batch, images, conditions, batch_size)

    def interpolate(
        self,
        x_a: Any,
        x_b: Any,
        *,
        steps: int = 8,
        labels: tuple[Any, Any] | None = None,
        batch_size: int = 256,
    ) -> np.ndarray:
        """Images decoded along the straight line between the codes of x_a and x_b.

        x_a and x_b are single images (H, W, C) or equal-sized batches; the result is
        (steps, H, W, C), or (n, steps, H, W, C) for batches, from the reconstruction
        of x_a to that of x_b. Conditional models take `labels=(labels_a, labels_b)` and
        blend the one-hot labels along the same line.
        """
        steps = check_positive_int(steps, "steps")
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (both end points), got {steps}.")
        a, b = np.asarray(x_a, np.float32), np.asarray(x_b, np.float32)
        single = a.ndim == len(self.image_shape)
        if single:
            a, b = a[None], b[None]
        if a.shape != b.shape:
            raise ValueError(f"x_a and x_b must have the same shape, got {a.shape} and {b.shape}.")
        conditional = self.is_conditional
        if conditional and (labels is None or len(labels) != 2):
            raise ValueError(
                f"{self.name} is class-conditional: pass labels=(labels_a, labels_b), the "
                "labels of x_a and of x_b."
            )
        ends = []
        for images, end, what in ((a, 0, "labels_a"), (b, 1, "labels_b")):
            given = labels[end] if conditional else labels
            end_labels = model_labels(self, given, len(images), what=what)
            codes = self.encode(images, labels=end_labels, batch_size=batch_size)
            ends.append((codes, one_hot(end_labels, self.num_classes)))
        (z_a, hot_a), (z_b, hot_b) = ends
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
        t = t.reshape(1, steps, *[1] * len(self.code_shape))
        z = ((1 - t) * z_a[:, None] + t * z_b[:, None]).reshape(-1, *self.code_shape)
        conditions = None
        if conditional:
            t = t.reshape(1, steps, 1)
            conditions = ((1 - t) * hot_a[:, None] + t * hot_b[:, None]).reshape(len(z), -1)
        images = map_batches(self._decode_batch, z, conditions, batch_size)
        images = images.reshape(len(a), steps, *self.image_shape)
        return images[0] if single else images

    def _encoder_inputs(self, x: Any, labels: Any) -> tuple[np.ndarray, np.ndarray | None]:
        images = self.as_images(x)
        labels = model_labels(self, labels, len(images))
        return images, one_hot(labels, self.num_classes)

    def _encode_batch(self, images: np.ndarray, one_hot: np.ndarray | None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _encode_batch.")

    def _decode_batch(self, codes: np.ndarray, one_hot: np.ndarray | None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _decode_batch.")

    def _reconstruct_batch(self, images: np.ndarray, one_hot: np.ndarray | None) -> Any:
        return self._decode_batch(self._encode_batch(images, one_hot), one_hot)


class DensityModel:
    """A model that scores images by their log-likelihood.

    Hook: `_log_likelihood(images, labels, **options)` returns log p(x) (n,) in nats
    for checked float32 images and int32 labels (None if unconditional).
    `likelihood_kind` (one of `LIKELIHOOD_KINDS`) says what the number is.
    """

    likelihood_kind: str

    def log_likelihood(self, x: Any, *, labels: Any = None, **options: Any) -> np.ndarray:
        """log p(x) (log p(x | label) if conditional) in nats, one float64 per image.

        `likelihood_kind` says whether it is exact, a lower bound or an estimate;
        options are the family's (e.g. `num_samples=` of a VAE's bound).
        """
        images = self.as_images(x)
        labels = model_labels(self, labels, len(images))
        return np.asarray(self._log_likelihood(images, labels, **options), np.float64)

    def _log_likelihood(
        self, images: np.ndarray, labels: np.ndarray | None, **options: Any
    ) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _log_likelihood.")


class Translator:
    """A model that translates images of one kind into images of another (a sketch into
    a picture, a small image into a large one, one domain into another).

    Hooks: `directions` (the directions it translates, the first the default),
    `translation_shapes(direction)` ((input shape, output shape) of one image), and
    `_translate_batch(images, seed, direction)`, which returns the translations of
    checked float32 images for a stateless seed (2,) int32 of that batch.
    """

    directions: tuple[str, ...] = ("a_to_b",)
    #: Images per pass of `translate` when its `batch_size` is None.
    translate_batch_size: int = 256

    def translate(
        self,
        images: Any,
        *,
        seed: int | None = None,
        direction: str | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """The translations of `images`, float32 (n, *output shape) in `value_range`.

        `images` (n, *input shape) lie in the model's value range; n = 0 gives an empty
        array. `direction` is one of `directions` (default: the first). A model whose
        translation draws noise (pix2pix's dropout) draws it from `seed` under the zoo's
        seed policy (`keras_genzoo.core.randomness`): the same integer and `batch_size`
        give the same images; deterministic models ignore it.
        """
        direction = self.directions[0] if direction is None else direction
        check_choice(direction, self.directions, "direction")
        source, target = self.translation_shapes(direction)
        arr = np.asarray(images)
        seed = resolve_seed(seed)
        batch_size = check_positive_int(
            self.translate_batch_size if batch_size is None else batch_size, "batch_size"
        )
        if arr.ndim == 1 + len(source) and not len(arr) and tuple(arr.shape[1:]) == tuple(source):
            return np.zeros((0, *target), np.float32)
        self.check_images(arr, "images to translate", shape=source)
        arr = arr.astype(np.float32, copy=False)
        parts = []
        for index, rows in enumerate(batch_slices(len(arr), batch_size)):
            batch_seed = np.asarray([seed % 2**31, index], np.int32)
            parts.append(ops.convert_to_numpy(self._translate_batch(arr[rows], batch_seed, direction)))
        low, high = self.value_range
        return np.clip(np.concatenate(parts).astype(np.float32), low, high)

    def translation_shapes(self, direction: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        raise NotImplementedError(f"{type(self).__name__} must implement translation_shapes.")

    def _translate_batch(self, images: np.ndarray, seed: np.ndarray, direction: str) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _translate_batch.")
