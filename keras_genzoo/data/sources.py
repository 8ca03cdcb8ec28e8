"""Where images come from: scikit-learn's digits, IDX folders, npz archives, TFDS and
folders of image files.

Every source returns a `RawData`: the splits it holds ('train' and 'test' when the
source has both official splits, or a single pool called 'all'), with images as they
are stored (channels last; uint8 0..255, digits' 0..16, or floats in [0, 1]) and integer
labels. Scaling, carving held-out splits and the `tf.data` pipeline live elsewhere.
"""

from __future__ import annotations

import difflib
import glob
import gzip
import json
import os
import socket
import struct
import threading
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, replace

import numpy as np

from keras_genzoo.data.errors import DataFormatError, DataNotFoundError
from keras_genzoo.data.folders import IMAGE_EXTENSIONS, ImageOptions, load_image_folder


@dataclass(frozen=True)
class RawSplit:
    """Images as stored (NHWC), labels (None when unlabelled), the stored value of white."""

    images: np.ndarray
    labels: np.ndarray | None
    max_value: float


@dataclass(frozen=True)
class RawData:
    """The splits one source holds, where they came from, its number of classes (0: none).

    Folders of image files also name their classes and the files they skipped; with class
    subfolders they ask for a held-out split `stratified` by class (every class promises a
    training and a held-out image). Other pools are split by one permutation.
    """

    splits: dict[str, RawSplit]
    source: str
    num_classes: int
    class_names: tuple[str, ...] = ()
    skipped_files: tuple[str, ...] = ()
    stratified: bool = False


@dataclass(frozen=True)
class NamedDataset:
    """A dataset known by name: its TFDS name, whether it ships as IDX files, its classes."""

    tfds_name: str | None
    idx_files: bool
    num_classes: int


NAMED_DATASETS = {
    "digits": NamedDataset(tfds_name=None, idx_files=False, num_classes=10),
    "mnist": NamedDataset(tfds_name="mnist", idx_files=True, num_classes=10),
    "fashion_mnist": NamedDataset(tfds_name="fashion_mnist", idx_files=True, num_classes=10),
    "cifar10": NamedDataset(tfds_name="cifar10", idx_files=False, num_classes=10),
}

IDX_PREFIXES = {"train": "train", "test": "t10k"}
IDX_NAMES = (
    "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"
)
NPZ_LAYOUT = (
    "keys x_train/y_train and/or x_test/y_test (official splits), "
    "or x with optional y (one pool)"
)
REACHABILITY_TIMEOUT_S = 3.0


# ------------------------------------------------------------------------------ digits


def load_digits() -> RawData:
    """scikit-learn's bundled 8x8 digits: 1,797 images with values 0..16, one pool."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = bunch.images.astype(np.float32)[..., None]
    split = RawSplit(images, bunch.target.astype(np.int64), 16.0)
    return RawData({"all": split}, "scikit-learn's bundled digits", 10)


# --------------------------------------------------------------------------------- IDX


def read_idx(path: str) -> np.ndarray:
    """An unsigned-byte IDX array (optionally gzipped), checked against its header."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataFormatError(
            f"Could not read IDX file {path}: {err}. The file is truncated or corrupt; "
            "download it again."
        ) from err
    if len(raw) < 4:
        raise DataFormatError(f"{path} holds {len(raw)} bytes: too short to be an IDX file.")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or ndim == 0:
        raise DataFormatError(
            f"{path} is not an unsigned-byte IDX file: its magic number is {raw[:4].hex()}, "
            "expected 000008 followed by the number of dimensions."
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataFormatError(f"{path} is truncated: its header promises {ndim} dimensions.")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header_size])
    expected = int(np.prod(dims))
    if len(raw) - header_size != expected:
        raise DataFormatError(
            f"{path} is truncated or corrupt: its header promises {expected} values "
            f"(shape {dims}), the file holds {len(raw) - header_size}. Download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


def _idx_path(folder: str, prefix: str, kind: str) -> str | None:
    ndim = 3 if kind == "images" else 1
    for sep in ("-", "."):
        for suffix in (".gz", ""):
            path = os.path.join(folder, f"{prefix}-{kind}{sep}idx{ndim}-ubyte{suffix}")
            if os.path.isfile(path):
                return path
    return None


def load_idx_folder(folder: str) -> RawData | None:
    """The official splits of an MNIST-style IDX folder, or None when it holds no IDX files."""
    splits = {}
    for split, prefix in IDX_PREFIXES.items():
        images_path = _idx_path(folder, prefix, "images")
        labels_path = _idx_path(folder, prefix, "labels")
        if images_path is None and labels_path is None:
            continue
        if images_path is None or labels_path is None:
            present, missing = (
                (images_path, f"{prefix}-labels-idx1-ubyte[.gz]")
                if labels_path is None
                else (labels_path, f"{prefix}-images-idx3-ubyte[.gz]")
            )
            raise DataNotFoundError(
                f"{folder} holds {os.path.basename(present)} but not {missing}: an IDX split "
                "needs both its images file and its labels file."
            )
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim not in (3, 4) or labels.ndim != 1:
            raise DataFormatError(
                f"{images_path} has shape {images.shape} and {labels_path} shape "
                f"{labels.shape}; expected images (N, H, W) and labels (N,)."
            )
        if len(images) != len(labels):
            raise DataFormatError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels."
            )
        images = images[..., None] if images.ndim == 3 else images
        splits[split] = RawSplit(images, labels.astype(np.int64), 255.0)
    if not splits:
        return None
    return RawData(splits, f"IDX files in {folder}", _count_classes(splits))


# --------------------------------------------------------------------------------- npz


def _check_images(images: np.ndarray, where: str) -> tuple[np.ndarray, float]:
    """Images as NHWC with the value of a white pixel, or a DataFormatError saying what is wrong."""
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or len(images) == 0:
        hint = " Flat rows must be reshaped to (N, H, W) first." if images.ndim == 2 else ""
        raise DataFormatError(
            f"{where}: expected a non-empty image array shaped (N, H, W) or channels-last "
            f"(N, H, W, C) with C in 1, 3 or 4, got shape {images.shape}.{hint}"
        )
    if images.dtype == np.uint8:
        return images, 255.0
    if images.dtype == np.bool_:
        return images.astype(np.uint8), 1.0
    if np.issubdtype(images.dtype, np.integer):
        lo, hi = int(images.min()), int(images.max())
        if lo < 0 or hi > 255:
            raise DataFormatError(
                f"{where}: integer images must be 8-bit intensities 0..255, got values in "
                f"[{lo}, {hi}]."
            )
        return images.astype(np.uint8), 255.0
    if np.issubdtype(images.dtype, np.floating):
        lo, hi = float(np.min(images)), float(np.max(images))
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 1.0:
            raise DataFormatError(
                f"{where}: floating-point images must lie in [0, 1], got values in "
                f"[{lo:g}, {hi:g}]. Store 8-bit images as uint8, or scale floats to [0, 1]."
            )
        return images.astype(np.float32), 1.0
    raise DataFormatError(
        f"{where}: unsupported image dtype {images.dtype}; use uint8 or floats in [0, 1]."
    )


def _check_labels(labels: np.ndarray, count: int, where: str) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != count:
        raise DataFormatError(
            f"{where}: expected {count} labels shaped ({count},), got shape {labels.shape}."
        )
    integral = np.issubdtype(labels.dtype, np.integer) or (
        np.issubdtype(labels.dtype, np.floating) and np.all(np.mod(labels, 1) == 0)
    )
    if not integral or (count and labels.min() < 0):
        raise DataFormatError(f"{where}: labels must be non-negative integers (class indices).")
    return labels.astype(np.int64)


def load_npz(path: str) -> RawData:
    """Images and labels from an npz archive laid out as `NPZ_LAYOUT` says."""
    how_to_fix = (
        "It is truncated or corrupt; write it again, e.g. numpy.savez_compressed(path, "
        "x_train=..., y_train=..., x_test=..., y_test=...)."
    )
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise DataNotFoundError(f"No npz archive at {path}.") from err
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataFormatError(f"Could not read npz archive {path}: {err}. {how_to_fix}") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFormatError(
            f"{path} holds a single .npy array, not an npz archive ({NPZ_LAYOUT})."
        )
    try:
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise DataFormatError(f"Could not read npz archive {path}: {err}. {how_to_fix}") from err
    if "x_train" in arrays or "x_test" in arrays:
        keys = {split: (f"x_{split}", f"y_{split}") for split in ("train", "test")}
    elif "x" in arrays:
        keys = {"all": ("x", "y")}
    else:
        raise DataFormatError(
            f"{path} holds arrays {sorted(arrays)}; expected {NPZ_LAYOUT}."
        )
    splits = {}
    for split, (x_key, y_key) in keys.items():
        if x_key not in arrays:
            continue
        where = f"{path} [{x_key}]"
        images, max_value = _check_images(arrays[x_key], where)
        labels = arrays.get(y_key)
        if labels is not None:
            labels = _check_labels(labels, len(images), f"{path} [{y_key}]")
        splits[split] = RawSplit(images, labels, max_value)
    if len({s.labels is None for s in splits.values()}) > 1:
        raise DataFormatError(f"{path}: either every split has labels (y_*) or none does.")
    return RawData(splits, f"npz archive {path}", _count_classes(splits))


# -------------------------------------------------------------------------------- TFDS


def default_tfds_root() -> str:
    """Where TFDS keeps prepared datasets unless told otherwise (TFDS_DATA_DIR or its default)."""
    from tensorflow_datasets.core import constants

    return os.fspath(constants.DATA_DIR)


def _version_key(name: str) -> tuple[int, ...] | None:
    parts = name.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def _prepared_version_dirs(folder: str) -> list[str]:
    """Prepared TFDS version folders (with dataset_info.json): folder or children, newest first."""
    if os.path.isfile(os.path.join(folder, "dataset_info.json")):
        return [folder]
    if not os.path.isdir(folder):
        return []
    versions = []
    for entry in os.listdir(folder):
        key = _version_key(entry)
        if key is not None and os.path.isfile(os.path.join(folder, entry, "dataset_info.json")):
            versions.append((key, os.path.join(folder, entry)))
    return [path for _, path in sorted(versions, reverse=True)]


def _tfds_name_of(version_dir: str) -> str | None:
    try:
        with open(os.path.join(version_dir, "dataset_info.json")) as f:
            return json.load(f).get("name")
    except (OSError, ValueError):
        return None


def find_prepared_tfds(root: str, name: str) -> str | None:
    """The newest prepared version of TFDS dataset `name` under root/name/, root/ or root itself."""
    for folder in (os.path.join(root, name), root):
        for version_dir in _prepared_version_dirs(folder):
            if _tfds_name_of(version_dir) == name:
                return version_dir
    return None


def load_tfds_dir(version_dir: str) -> RawData:
    """The train/test splits of a prepared TFDS dataset folder, read without any network access."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder_from_directory(version_dir)
    except Exception as err:  # TFDS raises many types for a damaged folder
        raise DataFormatError(
            f"{version_dir} is not a readable prepared TFDS dataset: {err}. Prepare it again."
        ) from err
    features = builder.info.features
    image_key = next((k for k, f in features.items() if isinstance(f, tfds.features.Image)), None)
    label_key = next(
        (k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)), None
    )
    if image_key is None:
        raise DataFormatError(f"The TFDS dataset in {version_dir} has no image feature.")
    present = [s for s in ("train", "test") if s in builder.info.splits]
    if not present:
        raise DataFormatError(
            f"The TFDS dataset in {version_dir} has splits {sorted(builder.info.splits)}; "
            "expected 'train' and/or 'test'."
        )
    splits = {}
    for split in present:
        try:
            arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        except (tf.errors.OpError, OSError, ValueError) as err:
            raise DataFormatError(
                f"Could not read the {split!r} split of the TFDS dataset in {version_dir}: "
                f"{err}. Its files are damaged; prepare it again."
            ) from err
        images, max_value = _check_images(np.asarray(arrays[image_key]), f"{version_dir} [{split}]")
        labels = None if label_key is None else np.asarray(arrays[label_key]).astype(np.int64)
        splits[split] = RawSplit(images, labels, max_value)
    num_classes = features[label_key].num_classes if label_key else 0
    return RawData(splits, f"prepared TFDS dataset {version_dir}", num_classes)


def _unreachable(urls: list[str], timeout: float = REACHABILITY_TIMEOUT_S) -> str | None:
    """A description of the first download host (or proxy) that cannot be reached, else None."""
    proxies = urllib.request.getproxies()
    targets = set()
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        proxy = proxies.get(parts.scheme)
        if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
            parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        default_port = 443 if parts.scheme == "https" else 80
        targets.add((parts.hostname, parts.port or default_port))
    for host, port in sorted(targets):
        error = _connection_error(host, port, timeout)
        if error:
            return f"{host}:{port} ({error})"
    return None


def _connection_error(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to host:port fails within about `timeout` seconds, or None."""
    outcome: dict[str, OSError] = {}

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as err:
            outcome["error"] = err

    # Name resolution ignores socket timeouts, so a thread bounds the whole attempt.
    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(timeout + 1.0)
    if attempt.is_alive():
        return f"no answer within {timeout:g} s"
    return str(outcome["error"]) if "error" in outcome else None


def download_tfds(tfds_name: str, data_dir: str | None, root: str, looked: list[str]) -> RawData:
    """Download and prepare a TFDS dataset into root; fail fast when its hosts are unreachable."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(tfds_name, data_dir=root)
    problem = _unreachable(sorted((type(builder).url_infos or {}).keys()))
    if problem:
        raise DataNotFoundError(
            f"No data for {tfds_name!r} found, and it cannot be downloaded: could not reach "
            f"{problem}; this machine looks offline. Looked for " + "; ".join(looked) + ". "
            + _how_to_provide(tfds_name, data_dir, root, online_hint=False)
        )
    try:
        builder.download_and_prepare()
    except Exception as err:  # network and extraction failures come in many types
        raise DataNotFoundError(
            f"Downloading {tfds_name!r} with TFDS into {root} failed: {err}. "
            + _how_to_provide(tfds_name, data_dir, root, online_hint=False)
        ) from err
    return load_tfds_dir(os.fspath(builder.data_dir))


def _how_to_provide(name: str, data_dir: str | None, root: str, online_hint: bool = True) -> str:
    idx = f"the MNIST-style IDX files ({IDX_NAMES}), " if NAMED_DATASETS[name].idx_files else ""
    local = f"{idx}an npz archive {name}.npz ({NPZ_LAYOUT}) or a prepared TFDS dataset"
    where = (
        f"put {local} in {data_dir}"
        if data_dir is not None
        else f"pass data_dir=<a folder holding {local}> (on the command line: --data-dir DIR), "
        f"or put a prepared TFDS dataset in {root}"
    )
    tail = (
        ", or call again with download=True when online (in a run config: the dataset "
        'option "download": true)' if online_hint else ""
    )
    return (
        f"To provide it, {where} (prepare one on a machine with internet access with "
        f"tfds.load({name!r}, data_dir=...) and copy the folder){tail}."
    )


# ---------------------------------------------------------------------- name -> source


def _count_classes(splits: dict[str, RawSplit]) -> int:
    labelled = [s.labels for s in splits.values() if s.labels is not None and len(s.labels)]
    return int(max(int(labels.max()) for labels in labelled)) + 1 if labelled else 0


def _looks_like_path(name: str) -> bool:
    seps = [os.sep] + ([os.altsep] if os.altsep else [])
    return any(s in name for s in seps) or name.startswith(("~", ".")) or name.endswith(".npz")


def _load_named(name: str, data_dir: str | None, download: bool) -> RawData:
    raw = _find_named(name, data_dir, download)
    if raw.num_classes:  # a subset may miss classes; the dataset's classes are known
        raw = replace(raw, num_classes=max(raw.num_classes, NAMED_DATASETS[name].num_classes))
    return raw


def _find_named(name: str, data_dir: str | None, download: bool) -> RawData:
    spec = NAMED_DATASETS[name]
    looked = []
    if data_dir is not None:
        if os.path.isfile(data_dir):
            if data_dir.endswith(".npz"):
                return load_npz(data_dir)
            raise DataFormatError(
                f"data_dir={data_dir!r} is a file but not an .npz archive; pass a folder or an "
                ".npz file."
            )
        if not os.path.isdir(data_dir):
            raise DataNotFoundError(
                f"data_dir {data_dir!r} does not exist. "
                + _how_to_provide(name, data_dir, data_dir)
            )
        if spec.idx_files:
            raw = load_idx_folder(data_dir)
            if raw is not None:
                return raw
            looked.append(f"MNIST-style IDX files in {data_dir}")
        npz_path = os.path.join(data_dir, f"{name}.npz")
        if os.path.isfile(npz_path):
            return load_npz(npz_path)
        looked.append(f"an npz archive {npz_path}")
    root = data_dir if data_dir is not None else default_tfds_root()
    version_dir = find_prepared_tfds(root, spec.tfds_name)
    if version_dir is not None:
        return load_tfds_dir(version_dir)
    looked.append(f"a prepared TFDS dataset in {os.path.join(root, spec.tfds_name)}/<version>/")
    if not download:
        raise DataNotFoundError(
            f"No data for {name!r} found (download=False). Looked for "
            + "; ".join(looked) + ". " + _how_to_provide(name, data_dir, root)
        )
    return download_tfds(spec.tfds_name, data_dir, root, looked)


def load_images(folder: str, options: ImageOptions) -> RawData:
    """A folder of image files (see `keras_genzoo.data.folders`) as one labelled or unlabelled pool."""
    found = load_image_folder(folder, options)
    count = len(found.images)
    classes = f", {len(found.class_names)} class folders" if found.class_names else ""
    skipped = f", {len(found.skipped)} unusable files skipped" if found.skipped else ""
    return RawData(
        {"all": RawSplit(found.images, found.labels, 255.0)},
        f"image folder {folder} ({count} images{classes}{skipped})",
        len(found.class_names),
        class_names=found.class_names,
        skipped_files=tuple(name for name, _ in found.skipped),
        stratified=found.labels is not None,
    )


def _load_path(path: str, images: ImageOptions) -> RawData:
    if os.path.isfile(path):
        if path.endswith(".npz"):
            return load_npz(path)
        raise DataFormatError(
            f"{path} is neither an .npz archive nor a folder; pass an .npz file or a folder "
            "holding image files, IDX files, an .npz archive or a prepared TFDS dataset."
        )
    if not os.path.isdir(path):
        raise DataNotFoundError(
            f"No file or folder at {path!r}. Pass an existing .npz file or a folder holding "
            f"image files, MNIST-style IDX files, one .npz archive or a prepared TFDS dataset, "
            f"or one of the dataset names {sorted(NAMED_DATASETS)}."
        )
    raw = load_idx_folder(path)
    if raw is not None:
        return raw
    archives = sorted(glob.glob(os.path.join(path, "*.npz")))
    if len(archives) == 1:
        return load_npz(archives[0])
    if len(archives) > 1:
        raise DataFormatError(
            f"{path} holds several npz archives ({', '.join(map(os.path.basename, archives))}); "
            "pass the one you mean as the dataset path."
        )
    version_dirs = _prepared_version_dirs(path)
    if version_dirs:
        return load_tfds_dir(version_dirs[0])
    try:
        return load_images(path, images)
    except DataNotFoundError as err:
        raise DataNotFoundError(
            f"{err} Other layouts looked for: MNIST-style IDX files ({IDX_NAMES}), an .npz "
            f"archive ({NPZ_LAYOUT}) and a prepared TFDS dataset (dataset_info.json in the "
            "folder or in a version subfolder)."
        ) from None


def resolve(
    name: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    images: ImageOptions = ImageOptions(),
) -> RawData:
    """Load the source behind a dataset name or a local path (an npz file or a folder).

    `images` says how a folder of image files is brought to one shape.
    """
    name = os.fspath(name)
    if name in NAMED_DATASETS:
        if name == "digits":
            if data_dir is not None:
                raise ValueError(
                    "'digits' is bundled with scikit-learn and reads no data_dir; drop "
                    "data_dir, or pass the folder or .npz file itself as the dataset name."
                )
            return load_digits()
        folder = None if data_dir is None else os.path.expanduser(os.fspath(data_dir))
        return _load_named(name, folder, download)
    path = os.path.expanduser(os.fspath(name))
    if _looks_like_path(name) or os.path.exists(path):
        if data_dir is not None:
            raise ValueError(
                f"{name!r} is a path; data_dir is only for named datasets "
                f"({sorted(NAMED_DATASETS)}). Drop one of the two."
            )
        return _load_path(path, images)
    close = difflib.get_close_matches(name, list(NAMED_DATASETS), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"Unknown dataset {name!r}.{hint} Known datasets: {sorted(NAMED_DATASETS)}; or pass "
        "the path of an .npz archive or of a folder holding image files "
        f"({', '.join(IMAGE_EXTENSIONS)}) or MNIST-style IDX files."
    )
