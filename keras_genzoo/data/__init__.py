"""Data layer: real image datasets as `tf.data` pipelines ready for `model.fit`."""

from keras_genzoo.data.datasets import (
    DatasetInfo,
    DataNotFoundError,
    list_datasets,
    load_arrays,
    load_dataset,
)

__all__ = ["DatasetInfo", "DataNotFoundError", "list_datasets", "load_arrays", "load_dataset"]
