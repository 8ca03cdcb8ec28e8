"""Bytes from code grids and back: range coding with the prior's conditionals.

One image is one self-describing byte string:

    magic "VQ" (2 bytes) | format version (1) | grid height (1) | grid width (1)
    | codebook size (2, big-endian) | class label (1; 255 for none)
    | CRC-32 of the header's first 8 bytes and the codes (4) | range-coded codes

The codes are coded in raster order with `constriction`'s range coder, each with the
categorical distribution the prior gives it from the codes before it. The CRC covers
the decoded codes, so a corrupted or truncated string, or one decoded by a different
model, raises `CorruptDataError` instead of giving wrong images.

The prior is evaluated by the same function, on the same batch shape, when coding and
when decoding (`step_probabilities` below), so both sides see the same probabilities.
"""

from __future__ import annotations

import struct
import zlib
from typing import Callable, Sequence

import constriction
import numpy as np

MAGIC = b"VQ"
VERSION = 1
NO_LABEL = 255
_HEADER = struct.Struct(">2sBBBHBI")
HEADER_BYTES = _HEADER.size
#: Rows of every batch the prior is evaluated on while coding; smaller batches are padded.
CODING_BATCH = 32

#: (codes (CODING_BATCH, h, w) int32, labels (CODING_BATCH,) int32 or None, step) ->
#: probabilities (CODING_BATCH, num_codes) of the code at raster position `step`, given
#: the codes before it (codes at and after `step` are ignored).
StepProbabilities = Callable[[np.ndarray, "np.ndarray | None", int], np.ndarray]


class CorruptDataError(ValueError):
    """A byte string that is not a valid compressed image for this model."""


def _family() -> object:
    return constriction.stream.model.Categorical(perfect=False)


def _padded(array: np.ndarray | None, rows: int) -> np.ndarray | None:
    if array is None:
        return None
    pad = np.zeros((rows - len(array), *array.shape[1:]), array.dtype)
    return np.concatenate([array, pad])


def _checksum(prefix: bytes, codes: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(codes, ">u2").tobytes(), zlib.crc32(prefix))


def encode_codes(
    codes: np.ndarray,
    labels: np.ndarray | None,
    num_codes: int,
    step_probabilities: StepProbabilities,
) -> list[bytes]:
    """One byte string per code grid of `codes` (n, h, w), labels (n,) or None."""
    codes = np.asarray(codes, np.int32)
    n, height, width = codes.shape
    if max(height, width) > 255 or num_codes > 65535:
        raise ValueError(f"The format stores grids up to 255 x 255 and 65535 codes, got {codes.shape[1:]}.")
    if labels is not None and len(labels) and int(np.max(labels)) >= NO_LABEL:
        raise ValueError(f"The format stores class labels up to {NO_LABEL - 1}, got {int(np.max(labels))}.")
    steps = height * width
    out = []
    for start in range(0, n, CODING_BATCH):
        chunk = codes[start : start + CODING_BATCH]
        rows = len(chunk)
        chunk_labels = None if labels is None else labels[start : start + CODING_BATCH]
        batch = _padded(chunk, CODING_BATCH)
        batch_labels = _padded(chunk_labels, CODING_BATCH)
        probs = np.stack([step_probabilities(batch, batch_labels, t)[:rows] for t in range(steps)], 1)
        flat = chunk.reshape(rows, steps)
        for i in range(rows):
            label = NO_LABEL if chunk_labels is None else int(chunk_labels[i])
            prefix = _HEADER.pack(MAGIC, VERSION, height, width, num_codes, label, 0)[:-4]
            encoder = constriction.stream.queue.RangeEncoder()
            encoder.encode(flat[i], _family(), probs[i])
            payload = encoder.get_compressed().astype(">u4").tobytes()
            out.append(prefix + struct.pack(">I", _checksum(prefix, flat[i])) + payload)
    return out


def read_header(data: bytes) -> tuple[int, int, int, int | None]:
    """(grid height, grid width, codebook size, label or None) of a compressed image."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"A compressed image is a bytes object, got {type(data).__name__}.")
    data = bytes(data)
    if len(data) < HEADER_BYTES:
        raise CorruptDataError(
            f"Compressed image too short: {len(data)} bytes, the header alone has {HEADER_BYTES}."
        )
    magic, version, height, width, num_codes, label, _ = _HEADER.unpack(data[:HEADER_BYTES])
    if magic != MAGIC:
        raise CorruptDataError(
            f"Not a compressed image of this format (starts with {magic!r}, not {MAGIC!r})."
        )
    if version != VERSION:
        raise CorruptDataError(f"Compressed image of format version {version}; this version reads {VERSION}.")
    if (len(data) - HEADER_BYTES) % 4 or len(data) == HEADER_BYTES:
        raise CorruptDataError(
            f"Compressed image truncated or padded: its {len(data) - HEADER_BYTES} payload bytes "
            "are not a whole, non-zero number of 32-bit words."
        )
    return height, width, num_codes, None if label == NO_LABEL else label


def decode_codes(
    data: Sequence[bytes],
    grid_shape: tuple[int, int],
    num_codes: int,
    num_classes: int | None,
    step_probabilities: StepProbabilities,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(codes (n, h, w), labels (n,) or None) of byte strings made by `encode_codes` with
    the same prior; raises `CorruptDataError` for anything else."""
    height, width = grid_shape
    headers = [read_header(d) for d in data]
    labels = []
    for index, (h, w, k, label) in enumerate(headers):
        if (h, w, k) != (height, width, num_codes):
            raise CorruptDataError(
                f"Compressed image {index} holds a {h} x {w} grid of {k} codes; this model codes "
                f"{height} x {width} grids of {num_codes} codes."
            )
        if (label is None) != (num_classes is None) or (label is not None and label >= num_classes):
            expected = "no label" if num_classes is None else f"a label in [0, {num_classes - 1}]"
            raise CorruptDataError(
                f"Compressed image {index} has label {label}; this model expects {expected}."
            )
        labels.append(label)
    steps = height * width
    codes = np.zeros((len(data), height, width), np.int32)
    for start in range(0, len(data), CODING_BATCH):
        chunk = data[start : start + CODING_BATCH]
        rows = len(chunk)
        decoders = [
            constriction.stream.queue.RangeDecoder(
                np.frombuffer(bytes(d)[HEADER_BYTES:], ">u4").astype(np.uint32)
            )
            for d in chunk
        ]
        batch = np.zeros((CODING_BATCH, height, width), np.int32)
        batch_labels = None
        if num_classes is not None:
            batch_labels = _padded(np.asarray(labels[start : start + rows], np.int32), CODING_BATCH)
        for t in range(steps):
            probs = step_probabilities(batch, batch_labels, t)
            for i, decoder in enumerate(decoders):
                try:
                    symbol = int(decoder.decode(_family(), probs[i : i + 1])[0])
                except (ValueError, RuntimeError, AssertionError) as err:
                    raise CorruptDataError(f"Compressed image {start + i} is corrupted: {err}") from err
                batch[i, t // width, t % width] = symbol
        codes[start : start + rows] = batch[:rows]
    for index, d in enumerate(data):
        stored = struct.unpack(">I", bytes(d)[HEADER_BYTES - 4 : HEADER_BYTES])[0]
        if _checksum(bytes(d)[: HEADER_BYTES - 4], codes[index].reshape(-1)) != stored:
            raise CorruptDataError(
                f"Compressed image {index} failed its checksum: the bytes are corrupted or "
                "truncated, or were made by a different model."
            )
    return codes, (None if num_classes is None else np.asarray(labels, np.int32))


def ideal_bits(log_probs_of_codes: np.ndarray) -> np.ndarray:
    """The ideal code length in bits, -sum log2 p, from natural-log probabilities (n, ...)."""
    flat = np.asarray(log_probs_of_codes, np.float64).reshape(len(log_probs_of_codes), -1)
    return -flat.sum(axis=1) / np.log(2.0)
