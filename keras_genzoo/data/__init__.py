"""Data layer: real image datasets as arrays and `tf.data` pipelines ready for `model.fit`."""

from keras_genzoo.data.datasets import (
    DataFormatError,
    DataNotFoundError,
    DatasetInfo,
    list_datasets,
    load_arrays,
    load_dataset,
)

__all__ = [
    "DataFormatError",
    "DataNotFoundError",
    "DatasetInfo",
    "list_datasets",
    "load_arrays",
    "load_dataset",
]
