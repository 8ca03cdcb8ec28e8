"""Recommenders trained on sparse ratings: I-AutoRec, the RBM of Salakhutdinov, Mnih and
Hinton (2007) with softmax visible units, and Mult-VAE.

Each is a Keras model that trains on a `RatingsData` (its `fit` turns the sparse matrix
into dense batches of rows) and keeps the ratings it was fitted on: they are the input it
predicts from, and they are saved with the model in the `.keras` file, so a loaded model
recommends without its training data. Users and items with no training ratings get the
training mean (`predict_pairs`), the explicit answer for a cold start.
"""

from __future__ import annotations

import io
import math
import os
from typing import Any, Sequence

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from keras import layers, ops

from keras_genzoo.core.checks import check_positive_int
from keras_genzoo.core.model import gradient_step, settle_compiled_optimizer
from keras_genzoo.core.optimizers import optimizer_from_spec
from keras_genzoo.core.randomness import ReplicaSeedGenerator
from keras_genzoo.data.ratings import RatingsData
from keras_genzoo.evaluation.ratings import rating_metrics

#: The file holding the known ratings, in a saved `.keras` archive and in a preset folder.
KNOWN_RATINGS_FILE = "known_ratings.npz"


class _RowBatches(keras.utils.PyDataset):
    """Dense batches of the rows of a sparse matrix, epochs `first_epoch` to `epochs` - 1 in
    one stream: batch `i` is batch `i % per_epoch` of epoch `first_epoch + i // per_epoch`.

    Each epoch's order is drawn from the seed and the epoch number alone, so it does not
    depend on when Keras asks for a batch (it reads ahead) or on where training started:
    a fit resumed at epoch k sees the batches of an uninterrupted one.
    """

    def __init__(self, rows: sp.csr_matrix, batch_size: int, shuffle: bool, seed: int | None,
                 epochs: int, first_epoch: int = 0) -> None:
        super().__init__()
        self.rows, self.batch_size, self.shuffle = rows, batch_size, shuffle
        self.per_epoch = math.ceil(rows.shape[0] / batch_size)
        self.epochs, self.first_epoch = epochs, first_epoch
        self.base_seed = int(np.random.default_rng(seed).integers(2**62))

    def __len__(self) -> int:
        return self.per_epoch * max(self.epochs - self.first_epoch, 0)

    def order(self, epoch: int) -> np.ndarray:
        """The order of the rows in `epoch` (a seeded permutation, or as they are)."""
        if not self.shuffle:
            return np.arange(self.rows.shape[0])
        return np.random.default_rng([self.base_seed, epoch]).permutation(self.rows.shape[0])

    def __getitem__(self, index: int) -> np.ndarray:
        epoch, batch = divmod(index, self.per_epoch)
        picked = self.order(self.first_epoch + epoch)[batch * self.batch_size:(batch + 1) * self.batch_size]
        return self.rows[picked].toarray().astype(np.float32)


class _HeldOutRMSE(keras.callbacks.Callback):
    """Logs `val_rmse` and `val_mae` of held-out ratings at the end of each epoch."""

    def __init__(self, data: RatingsData) -> None:
        super().__init__()
        self.data = data

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            scores = rating_metrics(self.model, self.data)
            logs.update(val_rmse=scores["rmse"], val_mae=scores["mae"])


class RatingsModel(keras.Model):
    """What the recommenders share: sizes, the known ratings, fitting on `RatingsData`,
    rating prediction and top-k recommendation by ids, and saving the known ratings.

    A subclass sets `example_axis` ("users": one training example per user, "items": one
    per item) and implements `_scores(users)`, the (len(users), num_items) predicted
    ratings or preference scores of user indices.
    """

    example_axis = "users"
    #: Whether the model predicts ratings on the data's scale (False: only ranks items).
    predicts_ratings = True

    def __init__(self, num_users: int | None = None, num_items: int | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for value, what in ((num_users, "num_users"), (num_items, "num_items")):
            if value is None:
                raise ValueError(
                    f"{what} is required: build recommenders for their data with "
                    "create_recommender(name, train_ratings), or pass num_users and num_items."
                )
        self.num_users = check_positive_int(num_users, "num_users")
        self.num_items = check_positive_int(num_items, "num_items")
        self.seed = seed
        self.seed_generator = ReplicaSeedGenerator(seed)
        self.known: RatingsData | None = None
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker]

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """The optimizer the model trains with, as a list (as every zoo model answers)."""
        return [self.optimizer] if isinstance(self.optimizer, keras.optimizers.Optimizer) else []

    def recompile_with_optimizer(self, spec: dict[str, Any], learning_rate: float | None = None) -> None:
        """Compile again with a fresh optimizer made from `spec` (`core.optimizers.optimizer_from_spec`)."""
        self.compile(optimizer=optimizer_from_spec(spec, learning_rate))

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Keras `compile`, with float16 loss scaling that stays correct under several
        replicas; the optimizer is built here, under the strategy the model was made in."""
        super().compile(*args, **kwargs)
        settle_compiled_optimizer(self)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Recompile from the saved compile config when a `.keras` file is loaded (Keras
        skips this for models that override `compile`)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    # ------------------------------------------------------------------ data

    def check_ratings(self, data: Any, what: str = "ratings") -> RatingsData:
        """`data` if it is `RatingsData` of this model's users and items, else a ValueError."""
        if not isinstance(data, RatingsData):
            raise TypeError(
                f"{self.name} trains and predicts on RatingsData (keras_genzoo.data.ratings."
                f"read_ratings or from_arrays), got {type(data).__name__} for {what}."
            )
        if (data.num_users, data.num_items) != (self.num_users, self.num_items):
            raise ValueError(
                f"{self.name} was built for {self.num_users} users and {self.num_items} items, "
                f"but the {what} have {data.num_users} users and {data.num_items} items. Split "
                "one RatingsData (split_ratings) so that every part keeps all users and items."
            )
        if not len(data):
            raise ValueError(f"The {what} are empty: {self.name} needs at least one rating.")
        return data

    def _example_rows(self, data: RatingsData) -> sp.csr_matrix:
        matrix = data.matrix()
        return matrix.T.tocsr() if self.example_axis == "items" else matrix

    def _set_known(self, data: RatingsData) -> None:
        self.known = data
        self._known_matrix = data.matrix()
        self._known_items = self._known_matrix.T.tocsr()
        self._cold_users = np.diff(self._known_matrix.indptr) == 0
        self._cold_items = np.diff(self._known_items.indptr) == 0
        self._mean = data.mean()

    def _require_known(self) -> RatingsData:
        if self.known is None:
            raise ValueError(f"{self.name} has not been fitted: call fit(train_ratings) first.")
        return self.known

    def fit(self, x: Any = None, y: Any = None, *, batch_size: int = 64, epochs: int = 1,
            validation_data: RatingsData | None = None, shuffle: bool = True, **kwargs: Any):
        """Train on the ratings `x` (a `RatingsData`) for `epochs`, in batches of `batch_size`
        rows; `validation_data` (held-out `RatingsData`) adds `val_rmse` and `val_mae` to the
        logs of models that predict ratings. Other keyword arguments go to Keras' `fit`."""
        data = self.check_ratings(x, "training ratings")
        if y is not None:
            raise ValueError(f"{self.name} trains on ratings alone; pass no targets (y).")
        batch_size = check_positive_int(batch_size, "batch_size")
        self._set_known(data)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if validation_data is not None:
            self.check_ratings(validation_data, "validation ratings")
            if not self.predicts_ratings:
                raise ValueError(f"{self.name} ranks items and predicts no ratings; measure it "
                                 "with evaluation.ratings.ranking_metrics instead of validation_data.")
            callbacks.insert(0, _HeldOutRMSE(validation_data))
        first_epoch = int(kwargs.pop("initial_epoch", 0))
        batches = _RowBatches(self._example_rows(data), batch_size, shuffle, self.seed, epochs, first_epoch)
        return super().fit(batches, epochs=epochs, initial_epoch=first_epoch, callbacks=callbacks,
                           steps_per_epoch=batches.per_epoch, shuffle=False, **kwargs)

    # ------------------------------------------------------------- prediction

    def score_users(self, users: Any, batch_size: int = 256) -> np.ndarray:
        """(len(users), num_items) scores of user indices from the known ratings: predicted
        ratings, or preferences for a model that only ranks."""
        self._require_known()
        users = np.asarray(users, np.int64).reshape(-1)
        if len(users) and (users.min() < 0 or users.max() >= self.num_users):
            raise IndexError(f"User indices must be in [0, {self.num_users}).")
        parts = [np.asarray(self._scores(users[s:s + batch_size]), np.float64)
                 for s in range(0, len(users), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.num_items))

    def predict_pairs(self, users: Any, items: Any) -> np.ndarray:
        """Predicted ratings of (user index, item index) pairs; the training mean for users or
        items without training ratings."""
        users = np.asarray(users, np.int64).reshape(-1)
        items = np.asarray(items, np.int64).reshape(-1)
        if users.shape != items.shape:
            raise ValueError(f"users and items must pair up, got {len(users)} users and {len(items)} items.")
        predicted = np.full(len(users), self._require_known().mean(), np.float64)
        warm = ~(self._cold_users[users] | self._cold_items[items])
        predicted[warm] = self._pair_scores(users[warm], items[warm])
        return np.clip(predicted, *self.known.scale)

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings of warm pairs (by default from whole rows of `_scores`)."""
        unique, inverse = np.unique(users, return_inverse=True)
        return self.score_users(unique)[inverse, items] if len(users) else np.zeros(0)

    def predict_ratings(self, users: Sequence[Any], items: Sequence[Any]) -> np.ndarray:
        """Predicted ratings of pairs given by the ids of the ratings file."""
        known = self._require_known()
        if not self.predicts_ratings:
            raise ValueError(f"{self.name} ranks items for implicit feedback and predicts no "
                             "ratings; use recommend(user, k) or score_users.")
        user_index = [known.user_index(u) for u in users]
        item_index = [known.item_index(i) for i in items]
        return self.predict_pairs(user_index, item_index)

    def recommend(self, user: Any, k: int = 10, *, exclude_known: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best items for the user with id `user`: (item ids, scores), best first;
        items the user already rated are left out unless `exclude_known` is False. A user
        without known ratings gets the most popular items (scores: their rating counts)."""
        known = self._require_known()
        k = check_positive_int(k, "k")
        index = known.user_index(user)
        if self._cold_users[index]:
            scores = np.bincount(known.items, minlength=self.num_items).astype(np.float64)
        else:
            scores = self.score_users([index])[0]
        if exclude_known:
            scores[self._known_matrix[index].indices] = -np.inf
        top = np.argsort(-scores, kind="stable")[:k]
        top = top[np.isfinite(scores[top])]
        return known.item_ids[top], scores[top]

    # ------------------------------------------------------------- saving

    def save_assets(self, dir_path: str) -> None:
        """Keep the known ratings in the saved archive (Keras calls this when saving)."""
        if self.known is None:
            return
        buffer = io.BytesIO()
        np.savez(buffer, users=self.known.users, items=self.known.items, ratings=self.known.ratings,
                 user_ids=self.known.user_ids, item_ids=self.known.item_ids, levels=self.known.levels)
        with open(os.path.join(dir_path, KNOWN_RATINGS_FILE), "wb") as handle:
            handle.write(buffer.getvalue())

    def load_assets(self, dir_path: str) -> None:
        """Read back the known ratings saved with the model."""
        path = os.path.join(dir_path, KNOWN_RATINGS_FILE)
        if os.path.exists(path):
            with np.load(path, allow_pickle=False) as saved:
                self._set_known(RatingsData(**{key: saved[key] for key in saved.files}))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(num_users=self.num_users, num_items=self.num_items, seed=self.seed)
        return config


def _rows_of(batch: Any) -> tf.Tensor:
    """The dense rows of a training batch (Keras hands a lone array over as a 1-tuple)."""
    return keras.utils.unpack_x_y_sample_weight(batch)[0]


def _dense_tensor(rows: Any) -> tf.Tensor:
    return ops.convert_to_tensor(np.asarray(rows, np.float32))


@keras.saving.register_keras_serializable(package="keras_genzoo")
class AutoRec(RatingsModel):
    """Item-based AutoRec (I-AutoRec, Sedhain et al. 2015).

    Each item's vector of ratings by all users goes through one sigmoid hidden layer of
    `hidden_units` and an identity output layer back to all users; the loss is the squared
    error on the observed ratings only, plus `l2` / 2 times the squared weights (the paper's
    lambda, per item: the minibatch loss is the mean over items of the summed squared error,
    plus l2 / (2 num_items) times the squared weights). The rating of user u for item i is
    output u of item i's reconstruction.

    `activation` is the hidden layer's (sigmoid in the paper). With `input_shrinkage` s set,
    the encoder reads each observed rating's deviation from the training mean times
    s / (n + s), n the item's number of ratings, instead of the raw ratings: the code then
    stays on one scale however many users rated the item, and items with few ratings are
    pulled towards the mean (the loss still compares raw ratings).
    """

    example_axis = "items"

    def __init__(self, num_users: int | None = None, num_items: int | None = None, *,
                 hidden_units: int = 500, l2: float = 1.0, activation: str = "sigmoid",
                 input_shrinkage: float | None = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(num_users, num_items, seed=seed, **kwargs)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        if not float(l2) >= 0:
            raise ValueError(f"l2 must be a non-negative number, got {l2!r}.")
        self.l2 = float(l2)
        if input_shrinkage is not None and not float(input_shrinkage) > 0:
            raise ValueError(f"input_shrinkage must be a positive number of ratings, or None for the "
                             f"paper's raw input, got {input_shrinkage!r}.")
        self.input_shrinkage = None if input_shrinkage is None else float(input_shrinkage)
        self.activation = activation
        init = keras.initializers.GlorotUniform(seed=seed)
        self.encoder_layer = layers.Dense(self.hidden_units, activation=activation, kernel_initializer=init,
                                          name="autorec_encoder")
        self.decoder_layer = layers.Dense(self.num_users, kernel_initializer=init, name="autorec_decoder")
        # the training mean the shrunk input is centred on, set by fit and saved with the weights
        self.rating_mean = self.add_weight(shape=(), name="rating_mean", initializer="zeros",
                                           trainable=False)
        self.build((None, self.num_users))

    def build(self, input_shape: Any) -> None:
        self.encoder_layer.build((None, self.num_users))
        self.decoder_layer.build((None, self.hidden_units))
        self.built = True

    def _set_known(self, data: RatingsData) -> None:
        super()._set_known(data)
        self.rating_mean.assign(self._mean)

    def encoder_input(self, item_vectors: Any) -> tf.Tensor:
        """What the encoder reads of each item's vector of ratings (0: not rated): the
        ratings, or with `input_shrinkage` s their deviations from the training mean
        times s / (n + s)."""
        item_vectors = ops.convert_to_tensor(item_vectors, self.compute_dtype)
        if self.input_shrinkage is None:
            return item_vectors
        mask = ops.cast(ops.not_equal(item_vectors, 0.0), item_vectors.dtype)
        counts = ops.sum(mask, axis=1, keepdims=True)
        deviations = (item_vectors - ops.cast(self.rating_mean, item_vectors.dtype)) * mask
        return deviations * (self.input_shrinkage / (counts + self.input_shrinkage))

    def call(self, item_vectors: Any, training: bool = False) -> tf.Tensor:
        """Reconstructed ratings of each item by every user (missing ratings given as 0)."""
        return self.decoder_layer(self.encoder_layer(self.encoder_input(item_vectors)))

    def _penalty(self) -> tf.Tensor:
        return ops.sum(ops.square(self.encoder_layer.kernel)) + ops.sum(ops.square(self.decoder_layer.kernel))

    def train_step(self, data: Any) -> dict[str, Any]:
        item_vectors = _rows_of(data)
        mask = ops.cast(ops.not_equal(item_vectors, 0.0), "float32")

        def objective():
            reconstruction = ops.cast(self(item_vectors, training=True), "float32")
            error = ops.sum(ops.square(reconstruction - item_vectors) * mask, axis=1)
            return ops.mean(error) + 0.5 * self.l2 / self.num_items * self._penalty()

        loss = gradient_step(self, objective, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def _scores(self, users: np.ndarray) -> np.ndarray:
        outputs = []
        for start in range(0, self.num_items, 512):
            rows = self._known_items[start:start + 512].toarray()
            outputs.append(ops.convert_to_numpy(self(_dense_tensor(rows)))[:, users])
        return np.concatenate(outputs).T

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Only the items asked for are reconstructed."""
        unique, inverse = np.unique(items, return_inverse=True)
        predicted = np.zeros(len(users))
        for start in range(0, len(unique), 512):
            chunk = unique[start:start + 512]
            out = ops.convert_to_numpy(self(_dense_tensor(self._known_items[chunk].toarray())))
            rows = (inverse >= start) & (inverse < start + len(chunk))
            predicted[rows] = out[inverse[rows] - start, users[rows]]
        return predicted

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(hidden_units=self.hidden_units, l2=self.l2, activation=self.activation,
                      input_shrinkage=self.input_shrinkage)
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class RatingsRBM(RatingsModel):
    """An RBM for collaborative filtering (Salakhutdinov, Mnih and Hinton 2007).

    One RBM per user with shared weights: each item the user rated is a softmax visible
    unit over the rating `levels`; items the user did not rate are left out of the visible
    layer (they add nothing to the hidden input and are not reconstructed). Trained by
    CD-`cd_steps` (the gradient of the free-energy difference between the data and the
    chain's sample, weight decay `l2` on the weights). The predicted rating of item q is
    the expected level under p(v_q = k | p_hat) with p_hat = p(h = 1 | V) the hidden
    probabilities given the user's known ratings.
    """

    def __init__(self, num_users: int | None = None, num_items: int | None = None, *,
                 levels: Sequence[float] = (1.0, 2.0, 3.0, 4.0, 5.0), hidden_units: int = 100,
                 cd_steps: int = 1, l2: float = 1e-3, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(num_users, num_items, seed=seed, **kwargs)
        levels = np.sort(np.asarray(levels, np.float32))
        if levels.ndim != 1 or len(levels) < 2 or levels[0] <= 0:
            raise ValueError(f"levels must list at least two positive rating values, got {list(levels)}.")
        self.levels = tuple(float(v) for v in levels)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.cd_steps = check_positive_int(cd_steps, "cd_steps")
        if not float(l2) >= 0:
            raise ValueError(f"l2 must be a non-negative number, got {l2!r}.")
        self.l2 = float(l2)
        # the training log shows how well the expected ratings reconstruct the rated items
        self.loss_tracker = keras.metrics.RootMeanSquaredError(name="reconstruction_rmse")
        k = len(self.levels)
        self.weights_ = self.add_weight(
            shape=(self.num_items * k, self.hidden_units), name="rbm_weights",
            initializer=keras.initializers.RandomNormal(stddev=0.01, seed=seed))
        self.visible_bias = self.add_weight(shape=(self.num_items, k), name="rbm_visible_bias",
                                            initializer="zeros")
        self.hidden_bias = self.add_weight(shape=(self.hidden_units,), name="rbm_hidden_bias",
                                           initializer="zeros")
        self.built = True

    def check_ratings(self, data: Any, what: str = "ratings") -> RatingsData:
        data = super().check_ratings(data, what)
        off = ~np.isclose(np.asarray(self.levels)[None, :], data.ratings[:, None], atol=1e-4).any(axis=1)
        if off.any():
            raise ValueError(
                f"{self.name} models the rating levels {list(self.levels)}, but the {what} include "
                f"{sorted(set(data.ratings[off].tolist()))[:5]}. Build it with levels=data.levels."
            )
        return data

    def _one_hot(self, ratings: tf.Tensor) -> tf.Tensor:
        """(batch, items, K) one-hot levels of the rated items, zero rows for the others."""
        levels = ops.convert_to_tensor(np.asarray(self.levels, np.float32))
        index = ops.argmin(ops.abs(ratings[..., None] - levels), axis=-1)
        mask = ops.cast(ops.not_equal(ratings, 0.0), "float32")
        return ops.one_hot(index, len(self.levels)) * mask[..., None]

    def _hidden_input(self, visible: tf.Tensor) -> tf.Tensor:
        flat = ops.reshape(visible, (-1, self.num_items * len(self.levels)))
        return ops.matmul(flat, self.weights_) + self.hidden_bias

    def _visible_logits(self, hidden: tf.Tensor) -> tf.Tensor:
        logits = ops.matmul(hidden, ops.transpose(self.weights_))
        return ops.reshape(logits, (-1, self.num_items, len(self.levels))) + self.visible_bias

    def _free_energy(self, visible: tf.Tensor) -> tf.Tensor:
        bias_term = ops.sum(visible * self.visible_bias, axis=(1, 2))
        return -bias_term - ops.sum(ops.softplus(self._hidden_input(visible)), axis=1)

    def train_step(self, batch: Any) -> dict[str, Any]:
        ratings = _rows_of(batch)
        data = self._one_hot(ratings)
        mask = ops.sum(data, axis=-1, keepdims=True)
        visible = data
        for _ in range(self.cd_steps):
            hidden_p = ops.sigmoid(self._hidden_input(visible))
            hidden = ops.cast(tf.random.stateless_uniform(ops.shape(hidden_p), self.seed_generator.next())
                              < hidden_p, "float32")
            visible = self._sample_levels(self._visible_logits(hidden)) * mask
        sample = ops.stop_gradient(visible)

        def objective():
            difference = ops.mean(self._free_energy(data) - self._free_energy(sample))
            return difference + 0.5 * self.l2 * ops.sum(ops.square(self.weights_))

        gradient_step(self, objective, self.trainable_variables)
        expected = ops.sum(ops.softmax(self._visible_logits(ops.sigmoid(self._hidden_input(data))))
                           * ops.convert_to_tensor(np.asarray(self.levels, np.float32)), axis=-1)
        self.loss_tracker.update_state(ratings, expected, sample_weight=mask[..., 0])
        return {self.loss_tracker.name: self.loss_tracker.result()}

    def _sample_levels(self, logits: tf.Tensor) -> tf.Tensor:
        """One-hot draws of each item's level from `logits` (batch, items, K), by the inverse
        of the cumulative probabilities at one uniform number per item."""
        cumulative = ops.cumsum(ops.softmax(logits), axis=-1)
        uniform = tf.random.stateless_uniform(ops.shape(logits)[:2], self.seed_generator.next())
        index = ops.sum(ops.cast(cumulative[..., :-1] < uniform[..., None], "int32"), axis=-1)
        return ops.one_hot(index, len(self.levels))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        visible = self._one_hot(_dense_tensor(self._known_matrix[users].toarray()))
        probabilities = ops.softmax(self._visible_logits(ops.sigmoid(self._hidden_input(visible))))
        expected = ops.sum(probabilities * np.asarray(self.levels, np.float32), axis=-1)
        return ops.convert_to_numpy(expected)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(levels=list(self.levels), hidden_units=self.hidden_units, cd_steps=self.cd_steps,
                      l2=self.l2)
        return config


@keras.saving.register_keras_serializable(package="keras_genzoo")
class MultVAE(RatingsModel):
    """Mult-VAE for implicit feedback (Liang et al. 2018).

    A user's items (any rating counts as a click) are L2-normalised, dropped out at rate
    `dropout` in training, and encoded by tanh layers of `units` into a Gaussian posterior
    of `latent_dim`; the decoder mirrors the encoder and gives logits over all items. The
    loss is the multinomial negative log-likelihood of the clicked items plus a KL weight
    that rises linearly from 0 to `beta` over `anneal_steps` optimizer steps (KL annealing).
    Recommendations rank items by their logits from the posterior mean.
    """

    predicts_ratings = False

    def __init__(self, num_users: int | None = None, num_items: int | None = None, *,
                 latent_dim: int = 200, units: Sequence[int] = (600,), dropout: float = 0.5,
                 beta: float = 0.2, anneal_steps: int = 20000, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(num_users, num_items, seed=seed, **kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.units = tuple(check_positive_int(u, "units") for u in units)
        if not 0 <= float(dropout) < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        if not float(beta) >= 0:
            raise ValueError(f"beta must be a non-negative number, got {beta!r}.")
        self.dropout, self.beta = float(dropout), float(beta)
        self.anneal_steps = int(anneal_steps)
        if self.anneal_steps < 0:
            raise ValueError(f"anneal_steps must be >= 0 (0: no annealing), got {anneal_steps!r}.")
        init = keras.initializers.GlorotUniform(seed=seed)
        self.encoder_layers = [layers.Dense(u, activation="tanh", kernel_initializer=init,
                                            name=f"multvae_encoder{i}") for i, u in enumerate(self.units)]
        self.posterior_layer = layers.Dense(2 * self.latent_dim, kernel_initializer=init,
                                            name="multvae_posterior")
        self.decoder_layers = [layers.Dense(u, activation="tanh", kernel_initializer=init,
                                            name=f"multvae_decoder{i}")
                               for i, u in enumerate(self.units[::-1])]
        self.logits_layer = layers.Dense(self.num_items, kernel_initializer=init, name="multvae_logits")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.build((None, self.num_items))

    def build(self, input_shape: Any) -> None:
        width = self.num_items
        for layer in self.encoder_layers:
            layer.build((None, width))
            width = layer.units
        self.posterior_layer.build((None, width))
        width = self.latent_dim
        for layer in self.decoder_layers:
            layer.build((None, width))
            width = layer.units
        self.logits_layer.build((None, width))
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.kl_tracker]

    def _posterior(self, clicks: tf.Tensor, seed: Any = None) -> tuple[tf.Tensor, tf.Tensor]:
        x = clicks / ops.maximum(ops.sqrt(ops.sum(ops.square(clicks), axis=1, keepdims=True)), 1e-12)
        if seed is not None and self.dropout:
            keep = tf.random.stateless_uniform(ops.shape(x), seed) >= self.dropout
            x = ops.where(keep, x / (1.0 - self.dropout), 0.0)
        for layer in self.encoder_layers:
            x = layer(x)
        stats = ops.cast(self.posterior_layer(x), "float32")
        return stats[:, : self.latent_dim], stats[:, self.latent_dim:]

    def _logits(self, z: tf.Tensor) -> tf.Tensor:
        for layer in self.decoder_layers:
            z = layer(z)
        return ops.cast(self.logits_layer(z), "float32")

    def call(self, clicks: Any, training: bool = False) -> tf.Tensor:
        """Item logits of each user's clicks, from the posterior mean."""
        return self._logits(self._posterior(clicks)[0])

    @property
    def kl_weight(self) -> float:
        """The KL weight of the next training step."""
        return float(ops.convert_to_numpy(self._kl_weight()))

    def _kl_weight(self) -> tf.Tensor:
        if self.anneal_steps == 0:
            return ops.convert_to_tensor(self.beta, "float32")
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.anneal_steps))

    def train_step(self, batch: Any) -> dict[str, Any]:
        clicks = ops.cast(ops.not_equal(_rows_of(batch), 0.0), "float32")

        def objective():
            mean, log_var = self._posterior(clicks, self.seed_generator.next())
            noise = tf.random.stateless_normal(ops.shape(mean), self.seed_generator.next())
            z = mean + ops.exp(0.5 * log_var) * noise
            log_probs = ops.log_softmax(self._logits(z), axis=-1)
            nll = -ops.mean(ops.sum(log_probs * clicks, axis=-1))
            kl = ops.mean(0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1))
            self.kl_tracker.update_state(kl)
            return nll + self._kl_weight() * kl

        self.loss_tracker.update_state(gradient_step(self, objective, self.trainable_variables))
        return {m.name: m.result() for m in self.metrics}

    def _scores(self, users: np.ndarray) -> np.ndarray:
        clicks = (self._known_matrix[users].toarray() != 0).astype(np.float32)
        return ops.convert_to_numpy(self(_dense_tensor(clicks)))

    def predict_pairs(self, users: Any, items: Any) -> np.ndarray:
        raise ValueError(f"{self.name} ranks items for implicit feedback and predicts no ratings; "
                         "use recommend(user, k) or score_users.")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, units=list(self.units), dropout=self.dropout,
                      beta=self.beta, anneal_steps=self.anneal_steps)
        return config
