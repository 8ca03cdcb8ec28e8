"""RBMs through the Python API, end to end, on the bundled 8x8 digits.

Trains a Bernoulli RBM by CD-1 on the binarised digits, reports its held-out
pseudo-likelihood and its log-likelihood (log Z by annealed importance sampling), uses
the hidden units of an RBM trained on shifted digits as features for logistic
regression, as scikit-learn's RBM example does, writes a grid of sampled digits,
saves and reloads the model, and trains a Gaussian RBM on the grey levels. About a
minute and a half of CPU time:

    python examples/rbm_digits.py --out runs/example_rbm
"""

from __future__ import annotations

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from scipy.ndimage import shift
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import keras_genzoo
from keras_genzoo import save_images
from keras_genzoo.data import load_arrays


def nudge(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image and its four one-pixel shifts (zero fill)."""
    shifts = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    moved = [shift(images, (0, dy, dx, 0), order=0, mode="constant") for dy, dx in shifts]
    return np.concatenate(moved), np.concatenate([labels] * len(shifts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "example_rbm"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden-units", type=int, default=100)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # 300 lbfgs steps suffice

    # 1. Data: the digits in [0, 1], thresholded so the visible units are truly binary.
    x_train, y_train, info = load_arrays("digits", "train")
    x_test, y_test, _ = load_arrays("digits", "test")
    b_train, b_test = (x_train > 0.5).astype("float32"), (x_test > 0.5).astype("float32")

    # 2. A registered builder: CD-1, SGD with momentum; images are flattened inside.
    rbm = keras_genzoo.create_model(
        "rbm_bernoulli", image_shape=info.image_shape, hidden_units=args.hidden_units,
        learning_rate=0.06, seed=0,
    )
    rbm.fit(b_train, batch_size=10, epochs=args.epochs, verbose=2)
    print("held-out metrics:", rbm.evaluate(b_test, verbose=0, return_dict=True))

    # 3. Likelihoods: pseudo-likelihood (scikit-learn's definition) and AIS log-likelihood.
    print(f"held-out pseudo-likelihood {rbm.pseudo_likelihood(b_test, seed=0).mean():.2f}")
    log_z = rbm.estimate_log_partition("ais", train_images=b_train, num_betas=10000, seed=0)
    print(f"AIS log Z {log_z:.2f}; held-out log-likelihood "
          f"{rbm.log_likelihood(b_test).mean():.2f} nats per digit")  # uses that log Z

    # 4. Features, as in scikit-learn's RBM example: on digits nudged by one pixel in each
    #    direction, p(h = 1 | v) (what calling the model returns) feeds logistic regression.
    nudged_train, nudged_y = nudge(x_train, y_train)
    nudged_test, nudged_y_test = nudge(x_test, y_test)
    extractor = keras_genzoo.create_model(
        "rbm_bernoulli", image_shape=info.image_shape, hidden_units=args.hidden_units,
        learning_rate=0.06, seed=0,
    )
    extractor.fit(nudged_train, batch_size=20, epochs=args.epochs, verbose=0)
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    raw = LogisticRegression(C=100.0, max_iter=300).fit(flat(nudged_train), nudged_y)
    features = LogisticRegression(C=100.0, max_iter=300).fit(
        extractor.predict(nudged_train, verbose=0), nudged_y
    )
    print(f"logistic regression on nudged digits: raw pixels "
          f"{raw.score(flat(nudged_test), nudged_y_test):.3f}, RBM features "
          f"{features.score(extractor.predict(nudged_test, verbose=0), nudged_y_test):.3f}")

    # 5. Samples: Gibbs chains started from the visible biases, written as a PNG grid.
    samples = rbm.generate(64, seed=0, gibbs_steps=1000)
    path = save_images(samples, os.path.join(args.out, "rbm_samples.png"), value_range=rbm.value_range)
    print(f"wrote {path}")

    # 6. Save, reload (weights, random stream, optimizer state) and compare samples.
    model_path = os.path.join(args.out, "rbm.keras")
    rbm.save(model_path)
    restored = keras_genzoo.load(model_path)
    assert np.array_equal(restored.generate(8, seed=3), rbm.generate(8, seed=3))
    print(f"saved and reloaded {model_path}")

    # 7. Gaussian visible units for the grey levels; fit() standardises each pixel.
    gaussian = keras_genzoo.create_model(
        "rbm_gaussian", image_shape=info.image_shape, hidden_units=args.hidden_units, seed=0
    )
    history = gaussian.fit(x_train, batch_size=20, epochs=args.epochs, verbose=0).history
    print(f"Gaussian RBM reconstruction error {history['reconstruction_error'][0]:.3f} -> "
          f"{history['reconstruction_error'][-1]:.3f} (standardised pixels)")
    path = save_images(
        gaussian.generate(64, seed=0), os.path.join(args.out, "rbm_gaussian_samples.png"),
        value_range=gaussian.value_range,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
