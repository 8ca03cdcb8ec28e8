"""What every zoo model shares: its image contract, input checks before training, compile
defaults, the gradient step and the saving of seed states."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_genzoo.core.blocks import check_input_shape
from keras_genzoo.core.checks import (
    check_finite,
    empty_data_error,
    finite_checked,
    nonfinite_raised,
)
from keras_genzoo.core.conditioning import first_batch, split_batch
from keras_genzoo.core.notices import warn
from keras_genzoo.core.optimizers import optimizer_from_spec
from keras_genzoo.core.precision import with_replica_safe_loss_scaling


def _tuples_as_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _tuples_as_lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tuples_as_lists(item) for item in value]
    return value


def serialize_submodel(model: keras.Model) -> dict[str, Any]:
    """A sub-model's config with tuples as lists, as it reads back from a `.keras` file.

    Keeps `get_config()` of a reloaded model equal to the original's.
    """
    return _tuples_as_lists(keras.saving.serialize_keras_object(model))


def _known_length(x: Any) -> int | None:
    """The number of batches of a dataset that knows it, else None. Keras' progress bar
    counts whole executions, so a 23-batch epoch at 32 steps per execution shows
    "32/23" unless the executions divide the epoch."""
    if not isinstance(x, tf.data.Dataset):
        return None
    length = int(x.cardinality())
    return length if length > 0 else None


def _whole_array(x: Any) -> np.ndarray | None:
    """`x` as one NumPy array when it is an array or tensor (checked whole, cheaply)."""
    if isinstance(x, (np.ndarray, tf.Tensor)) or hasattr(x, "__array__"):
        return np.asarray(x)
    return None


def gradient_step(
    model: keras.Model,
    objective: Callable[[], Any],
    variables: Sequence[Any],
    optimizer: keras.optimizers.Optimizer | None = None,
) -> Any:
    """One optimizer step down the gradient of `objective()` for `variables`, in a custom
    `train_step` of `model`.

    `objective` returns the loss, or a tuple whose first element is the loss, and is run
    under the gradient tape; what it returns is returned. The optimizer (`model`'s compiled
    one by default) sums gradients over replicas, so the loss is divided by their number,
    then scaled for float16 loss scaling (`scale_loss`).
    """
    optimizer = model.optimizer if optimizer is None else optimizer
    with tf.GradientTape() as tape:
        result = objective()
        loss = result[0] if isinstance(result, tuple) else result
        replica_loss = loss / model.distribute_strategy.num_replicas_in_sync
        scaled_loss = optimizer.scale_loss(replica_loss)
    gradients = tape.gradient(scaled_loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return result


def settle_compiled_optimizer(model: keras.Model) -> None:
    """What a custom `compile` does after Keras' own: float16 loss scaling that stays
    correct under several replicas (`with_replica_safe_loss_scaling`), and the optimizer
    built under the model's strategy, so its variables exist before an XLA-compiled step."""
    model.optimizer = with_replica_safe_loss_scaling(model.optimizer)
    if model.built and model.optimizer is not None and not model.optimizer.built:
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)


class ZooModel(keras.Model):
    """Base class of the zoo's models: an image shape, a value range, input checks.

    `image_shape` is (height, width, channels), or `(d,)` for vectors of `d` features
    (tabular data, dense builders only), and `value_range` the (low, high) range of the
    pixels or features the model is trained on and produces. Conditional models set
    `is_conditional = True` and carry `num_classes`; they train on `(images, labels)`.
    """

    is_conditional: bool = False
    num_classes: int | None = None
    #: Seed-generator attributes whose state is saved with the weights, mapped to their
    #: key in the saved file. Keras leaves these states out of `.keras` files; keeping
    #: them makes training resumed from a file draw the same noise.
    saved_seed_states: dict[str, str] = {}
    #: Attributes holding sub-models that `get_config` serialises and `from_config`
    #: rebuilds; each is also a constructor argument of the same name.
    submodels: tuple[str, ...] = ()
    #: Training steps per call of the compiled function, the `compile` default on a
    #: machine without a GPU: one call per step costs Python, callbacks and the
    #: iterator's hand-over every step, which dominates small models on a CPU
    #: (measured by benchmarks/overhead.py). With a GPU, Keras' default of 1 stays,
    #: since no GPU measurement says otherwise.
    cpu_steps_per_execution: int = 32
    #: Fewer optimizer steps than this in a whole run cannot train the model to
    #: anything usable (a rule of thumb per family, not a guarantee); the run layer
    #: warns below it.
    min_training_steps: int = 200

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        value_range: Sequence[float] = (0.0, 1.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_shape = check_input_shape(image_shape)
        low, high = (float(v) for v in value_range)
        if high <= low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
        self.value_range = (low, high)

    def check_images(
        self, images: Any, what: str = "inputs", shape: Sequence[int] | None = None
    ) -> None:
        """Raise a ValueError saying how to fix images of the wrong shape, dtype or range,
        with NaN or infinite pixels, or no images at all. `shape` (default: the model's
        `image_shape`) is the shape of one image, for models that take images of another
        shape than they make (a translator's inputs)."""
        arr = np.asarray(images)
        expected = self.image_shape if shape is None else tuple(int(d) for d in shape)
        rank = 1 + len(expected)
        if arr.size == 0 and arr.ndim in (1, rank) and tuple(arr.shape[1:]) in ((), expected):
            raise empty_data_error(self.name, what)
        if arr.ndim != rank or tuple(arr.shape[1:]) != expected:
            hint = ""
            if arr.ndim == 3 and tuple(arr.shape[1:]) == expected[:2]:
                hint = " Add a channel axis: images[..., None]."
            elif rank == 4 and arr.ndim == 2 and arr.shape[1] == int(np.prod(expected)):
                hint = f" Reshape flat rows with images.reshape(-1, {', '.join(map(str, expected))})."
            raise ValueError(
                f"{self.name} expects {what} of shape (batch, {', '.join(map(str, expected))}), "
                f"got {tuple(arr.shape)}.{hint} Build the model with image_shape matching your "
                "data, e.g. image_shape=info.image_shape from keras_genzoo.data.load_dataset."
            )
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(
                f"{self.name} expects floating-point {what}, got dtype {arr.dtype}. Convert "
                f"and scale them to {list(self.value_range)}, e.g. "
                "x.astype('float32') / 255 for 8-bit images."
            )
        check_finite(arr, self.name, what)
        low, high = self.value_range
        lo, hi = float(arr.min()), float(arr.max())
        tol = 1e-3 * (high - low)
        if lo < low - tol or hi > high + tol:
            raise ValueError(
                f"{self.name} expects {what} in [{low:g}, {high:g}], got values in "
                f"[{lo:g}, {hi:g}]. Rescale your data (load_dataset(..., scale='unit' or "
                "'symmetric')) or build the model with a matching value_range."
            )

    @property
    def call_input_shape(self) -> tuple[int, ...]:
        """The shape of one image that calling the model (and `predict`) takes: its
        `image_shape`, unless it maps images of another shape (a translator's inputs)."""
        return self.image_shape

    def as_images(self, x: Any, what: str = "images") -> np.ndarray:
        """`x` as float32 images after `check_images` (subclasses add their own checks)."""
        arr = np.asarray(x)
        self.check_images(arr, what)
        return arr.astype(np.float32, copy=False)

    def gradient_step(
        self,
        objective: Callable[[], Any],
        variables: Sequence[Any],
        optimizer: keras.optimizers.Optimizer | None = None,
    ) -> Any:
        """One optimizer step down the gradient of `objective()` for `variables` (the
        compiled optimizer by default): see the module function `gradient_step`."""
        return gradient_step(self, objective, variables, optimizer)

    def check_training_data(self, x: Any, y: Any = None) -> None:
        """Check the first batch of training data; subclasses add checks on the second element.

        Whole arrays and datasets are checked for NaN and inf by `fit` and `evaluate`.
        """
        images, _ = first_batch(x, y)
        if images is not None:
            self.check_images(images)
            self.warn_unused_range(images)

    def warn_unused_range(self, images: Any) -> None:
        """Warn when checked images never reach the lower half of the model's value range:
        the data is most likely in another range ([0, 1] data for a [-1, 1] model)."""
        low, high = self.value_range
        lowest = float(np.min(images))
        if lowest >= (low + high) / 2:
            scale = "symmetric" if (low, high) == (-1.0, 1.0) else "unit"
            warn(
                f"{self.name} works on pixels in [{low:g}, {high:g}], but the first training "
                f"batch never goes below {lowest:g}: the data looks scaled for another range. "
                f"Load it with load_dataset(..., scale={scale!r}), or build the model with "
                "value_range matching the data (create_model(name, dataset_info=info)).",
                stacklevel=4,
            )

    def _checked(self, x: Any, y: Any, what: str = "inputs", first_batch: bool = True) -> Any:
        """Run `check_training_data` (unless not `first_batch`), check arrays whole for
        NaN and inf, and return `x`, a dataset wrapped in the per-batch finiteness check
        (`finite_checked`).

        The dataset passed last (per `what`) is remembered with its wrapped pipeline: fitting
        on it again checks every batch as before but skips reading its first batch and
        building the wrapper anew, a fixed cost per call that a loop of one-epoch `fit`
        calls would otherwise pay every epoch. Only the last one is kept, so memory stays
        bounded.
        """
        if isinstance(x, tf.data.Dataset):
            remembered = self.__dict__.setdefault("_last_checked_datasets", {})
            last = remembered.get(what)
            if last is not None and last[0] is x:
                return last[1]
            if first_batch:
                self.check_training_data(x, y)
            wrapped = finite_checked(x, self.name, what)
            remembered[what] = (x, wrapped)
            return wrapped
        if first_batch:
            self.check_training_data(x, y)
        for value, part in ((x, what), (y, "targets")):
            whole = None if value is None else _whole_array(value)
            if whole is not None:
                check_finite(whole, self.name, part)
        return x

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Keras `compile`, with measured fast defaults and replica-safe loss scaling.

        `steps_per_execution` defaults to `default_steps_per_execution()` and
        `jit_compile` to Keras' "auto" (off on a CPU, where XLA measured slower, and on
        with one GPU); float16 loss scaling stays correct under several replicas. The
        optimizer is built here, so its variables exist before an XLA-compiled step.
        """
        if len(args) < 7:  # not passed positionally
            kwargs.setdefault("steps_per_execution", self.default_steps_per_execution())
        super().compile(*args, **kwargs)
        settle_compiled_optimizer(self)
        # plain attributes, not tracked state: compiled functions per steps per execution
        self.__dict__["_compiled_functions"] = {}
        self.__dict__["_configured_steps_per_execution"] = self.steps_per_execution

    def adapt_to_training_set(self, num_examples: int | None) -> None:
        """Settle what depends on the size of the training set before the first step
        (nothing by default; a GAN's `augment="auto"`). The run layer calls it with the
        number of training images."""

    def settled_arguments(self) -> dict[str, Any]:
        """Builder arguments the model settled while training that its weights depend on
        (nothing by default; a GAN's `augment` once "auto" became the adaptive policy, which
        adds a variable). Presets record them, so their weights load into the model their
        config builds."""
        return {}

    def prepare_for_training(self, x: Any, y: Any = None) -> None:
        """Measure what the model needs from its training data before the first step
        (nothing by default; a Gaussian RBM its pixel statistics). `fit` and the
        multi-worker driver call it."""

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """Every optimizer the model trains with (one; a GAN has two)."""
        return [self.optimizer] if isinstance(self.optimizer, keras.optimizers.Optimizer) else []

    def recompile_with_optimizer(
        self, spec: dict[str, Any], learning_rate: float | None = None
    ) -> None:
        """Compile again with a fresh optimizer made from `spec` (see
        `core.optimizers.optimizer_from_spec`), keeping the other compile settings."""
        settings = dict(self._compile_config.config)
        settings["optimizer"] = optimizer_from_spec(spec, learning_rate)
        self.compile(**settings)

    def default_steps_per_execution(self) -> int:
        """`cpu_steps_per_execution` without a GPU or a tf.distribute strategy, else
        Keras' default of 1 (Keras' multi-step loop fails under MirroredStrategy)."""
        distributed = self._distribute_strategy is not None or tf.distribute.has_strategy()
        if distributed or tf.config.list_logical_devices("GPU"):
            return 1
        return self.cpu_steps_per_execution

    def _steps_per_execution_for(self, *step_counts: int | None) -> None:
        """Run whole executions only: with a step count (`steps_per_epoch`, `steps`, or
        the length of a dataset that knows it), Keras runs every execution to its full
        length and overshoots the count, so use the largest number of steps per
        execution, up to the compiled one, that divides every given count. The compiled
        functions of each value are kept for reuse.
        """
        configured = self.__dict__.setdefault(
            "_configured_steps_per_execution", self.steps_per_execution
        )
        wanted = configured
        counts = [int(c) for c in step_counts if c is not None]
        if counts:
            common = math.gcd(*counts)
            wanted = max(d for d in range(1, configured + 1) if common % d == 0)
        if wanted == self.steps_per_execution:
            return
        cache = self.__dict__.setdefault("_compiled_functions", {})
        cache[self.steps_per_execution] = (self.train_function, self.test_function)
        self.steps_per_execution = wanted
        self.train_function, self.test_function = cache.get(wanted, (None, None))

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Recompile from a saved compile config when a `.keras` file is loaded.

        Keras skips this for models that override `compile`, as ZooModel does.
        """
        self.compile(**keras.saving.deserialize_keras_object(config))  # builds the optimizer

    def fit(
        self, x: Any = None, y: Any = None, *args: Any, check_first_batch: bool = True,
        **kwargs: Any,
    ):
        """Keras `fit`, after checking the data (`check_training_data`); NaN or inf in
        any batch stops it with a clear error. `check_first_batch=False` skips reading
        the first batch for the checks, for data checked already (the run layer does it
        so that a resumed run reads its data exactly as an uninterrupted one).

        A `tf.data.Dataset` is shuffled by its own pipeline: `shuffle` defaults to False
        for one (Keras' default, True, would only warn that it is ignored)."""
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)
        epoch_steps = kwargs.get("steps_per_epoch") or _known_length(x)
        x = self._checked(x, y, first_batch=check_first_batch)
        validation = kwargs.get("validation_data")
        if isinstance(validation, (tuple, list)) and validation:
            x_val, y_val, _ = keras.utils.unpack_x_y_sample_weight(tuple(validation))
            self._checked(x_val, y_val, what="validation data")
        elif validation is not None:
            kwargs["validation_data"] = self._checked(validation, None, "validation data")
        self._steps_per_execution_for(epoch_steps, kwargs.get("validation_steps"))
        with nonfinite_raised(self.name, "fit()"):
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any):
        if kwargs.get("_use_cached_eval_dataset"):  # fit's validation, checked by fit
            return super().evaluate(x, y, *args, **kwargs)
        steps = kwargs.get("steps") or _known_length(x)
        x = self._checked(x, y)
        self._steps_per_execution_for(steps)
        with nonfinite_raised(self.name, "evaluate()"):
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x: Any, *args: Any, **kwargs: Any):
        """Keras `predict` on images (or `(images, labels)`), checked like `fit`'s inputs.

        One batch per execution: Keras unrolls `steps_per_execution` predict steps into
        one graph, which costs tracing time and gains nothing here."""
        if isinstance(x, tf.data.Dataset):
            self.check_images(first_batch(x, None)[0], shape=self.call_input_shape)
            x = finite_checked(x, self.name, "inputs")
        else:
            images, _ = split_batch(x)
            if _whole_array(images) is not None:
                self.check_images(images, shape=self.call_input_shape)
        self._steps_per_execution_for(1)
        try:
            with nonfinite_raised(self.name, "predict()"):
                return super().predict(x, *args, **kwargs)
        finally:
            self._steps_per_execution_for()

    def save_own_variables(self, store: Any) -> None:
        super().save_own_variables(store)
        for attribute, key in self.saved_seed_states.items():
            store[key] = np.asarray(getattr(self, attribute).state)

    def load_own_variables(self, store: Any) -> None:
        keys = set(self.saved_seed_states.values())
        super().load_own_variables({k: store[k] for k in store.keys() if k not in keys})
        for attribute, key in self.saved_seed_states.items():
            if key in store.keys():
                getattr(self, attribute).state.assign(store[key])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), value_range=list(self.value_range))
        config.update({name: serialize_submodel(getattr(self, name)) for name in self.submodels})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ZooModel":
        config = dict(config)
        for name in cls.submodels:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
