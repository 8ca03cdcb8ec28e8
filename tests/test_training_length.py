"""The first hour of a new user, training side: how long a run is and says it is, warnings
that stay visible in the quiet command line, Ctrl-C, value ranges, small folders."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import PACKAGE_PARENT
from image_folders import colour_digits, grey_digits, write_images
from testing import CtrlCAfterEpoch

import keras_genzoo
from keras_genzoo import cli
from keras_genzoo import training as runs
from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.data import load_dataset
from keras_genzoo.models.gan.augment import (
    ADAPTIVE_OPERATIONS,
    AdaptiveProbability,
    Policy,
    auto_policy,
    check_policy,
    diff_augment,
)
from keras_genzoo.training import distribute
from keras_genzoo.training.interrupt import TrainingInterrupted

COMMAND = [sys.executable, "-m", "keras_genzoo.cli"]


def _cli_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _history(run_dir) -> dict[str, list[float]]:
    with open(os.path.join(run_dir, runs.METRICS_FILE)) as f:
        return json.load(f)["history"]


# ------------------------------------------------------------------ training length


def test_steps_set_the_run_length_and_the_run_says_how_long_it_is(tmp_path, capsys):
    """`--steps 40` at batch 256 on the digits (1,438 training images, 6 steps an epoch)
    trains 7 whole epochs (42 steps): the start line says so, one progress line per
    epoch counts k/7, and the run's config records the steps."""
    code = cli.main(["train", "ae_dense", "--steps", "40", "--batch-size", "256",
                     "--set", "latent_dim=4", "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert ("Training ae_dense on 1438 images: 6 steps per epoch (batch 256) x 7 epochs "
            "= 42 steps.") in out
    lines = re.findall(r"^epoch (\d+)/7  6 steps  loss=\S+ .* [\d.]+ s  ~\d+ s left$", out, re.M)
    assert lines == [str(k) for k in range(1, 8)], out
    assert len(_history(tmp_path / "run")["loss"]) == 7
    config = runs.read_run_config(str(tmp_path / "run"))
    assert config.steps == 40


def test_a_bad_length_is_refused_naming_the_argument(tmp_path, capsys):
    with pytest.raises(runs.RunError, match="steps must be a positive integer, got 0"):
        runs.RunConfig("ae_dense", steps=0)
    assert runs.RunConfig("ae_dense").to_dict().get("steps") is None  # absent unless given
    code = cli.main(["train", "ae_dense", "--epochs", "3", "--steps", "30",
                     "--out", str(tmp_path / "r")])
    assert code == 2
    assert "Pass either --epochs or --steps" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_quiet_command_line_shows_a_too_short_run_and_skipped_files(tmp_path):
    """Library noise stays hidden, but the warnings that name a fix reach stderr as one
    line each: the skipped corrupt file (`--skip-bad-images`) and a run far shorter
    than its family needs (`--steps`). Without the flag, the corrupt file's error
    names the flag."""
    images, labels = grey_digits(60)
    paths = write_images(tmp_path / "folder", images)
    with open(paths[7], "wb") as f:
        f.write(b"not a png")
    base = [*COMMAND, "train", "ae_dense", "--dataset", str(tmp_path / "folder"),
            "--epochs", "1", "--set", "latent_dim=4"]
    refused = subprocess.run([*base, "--out", str(tmp_path / "a")], capture_output=True,
                             text=True, timeout=300, env=_cli_env(), cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "--skip-bad-images on the command line" in refused.stderr
    done = subprocess.run([*base, "--skip-bad-images", "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=300, env=_cli_env(),
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("keras-genzoo: warning: Skipped 1 of 60 image files in ")
    assert os.path.basename(paths[7]) in lines[0]
    assert re.fullmatch(r"keras-genzoo: warning: ae_dense trains for only 1 optimizer steps "
                        r"\(1 epochs of 1\); it needs at least 200 .*--steps 200.*", lines[1])
    assert "1 steps per epoch" in done.stdout


# ------------------------------------------------------------------ Ctrl-C


@pytest.mark.slow
def test_ctrl_c_keeps_finished_epochs_and_resume_finishes_exactly(tmp_path):
    """Ctrl-C after epoch 2 of 4 stops at the next batch end with `TrainingInterrupted`
    (2 of 4 epochs kept, no model written); `resume=True` then ends with the weights and
    history of an uninterrupted run."""
    config = {"model": "ae_dense", "overrides": {"latent_dim": 4, "units": [32]},
              "epochs": 4, "batch_size": 256, "seed": 3}
    handler_before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background
    stopped = str(tmp_path / "stopped")
    with pytest.raises(TrainingInterrupted, match="after 2 of 4 epochs") as err:
        runs.train_run(config, stopped, callbacks=[CtrlCAfterEpoch(1)], verbose=0)
    assert (err.value.completed, err.value.epochs) == (2, 4)
    assert isinstance(err.value, KeyboardInterrupt)
    assert distribute.TrainingBackup(os.path.join(stopped, runs.BACKUP_DIR)).read_state()["epoch"] == 2
    assert not os.path.exists(os.path.join(stopped, "model.keras"))
    assert signal.getsignal(signal.SIGINT) is handler_before  # handler restored

    runs.train_run(config, stopped, resume=True, verbose=0)
    reference = str(tmp_path / "reference")
    runs.train_run(config, reference, verbose=0)
    for a, b in zip(keras_genzoo.load(stopped).weights, keras_genzoo.load(reference).weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    resumed, uninterrupted = _history(stopped), _history(reference)
    for name, values in uninterrupted.items():
        np.testing.assert_allclose(resumed[name], values, rtol=1e-5, err_msg=name)


def test_ctrl_c_in_train_exits_130_with_the_resume_command(tmp_path):
    """SIGINT to `keras-genzoo train` once an epoch is backed up: it exits 130 within
    seconds, without a traceback, with one line naming the exact `--resume` command."""
    out = str(tmp_path / "run")
    process = subprocess.Popen(
        [*COMMAND, "train", "ae_dense", "--epochs", "500", "--batch-size", "256",
         "--set", "latent_dim=4", "--out", out],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_cli_env(), cwd=tmp_path,
    )
    backup = distribute.TrainingBackup(os.path.join(out, runs.BACKUP_DIR))
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        if (backup.read_state() or {}).get("epoch", 0) >= 1:
            break
        time.sleep(0.2)
    assert process.poll() is None, process.communicate()
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert time.monotonic() - sent < 15
    assert process.returncode == 130, err
    assert "Traceback" not in err
    line, = err.splitlines()
    assert re.fullmatch(
        rf"keras-genzoo train: Stopped by Ctrl-C after (\d+) of 500 epochs; '{re.escape(out)}' "
        rf"keeps them\. Continue with: keras-genzoo train ae_dense --epochs 500 --batch-size "
        rf"256 --set latent_dim=4 --out {re.escape(out)} --resume", line), line
    kept = int(re.search(r"after (\d+) of", line).group(1))
    assert kept >= 1 and backup.read_state()["epoch"] == kept


# ------------------------------------------------------------------ value ranges


def test_data_in_the_wrong_range_warns_at_fit_with_the_fix():
    """[0, 1] digits into a DCGAN built for [-1, 1]: `fit` warns and names
    scale='symmetric'; the same data loaded symmetric trains without a word."""
    unit, info = load_dataset("digits", batch_size=64)
    gan = keras_genzoo.create_model("dcgan", image_shape=info.image_shape, latent_dim=8,
                                    generator_filters=[8], discriminator_filters=[8])
    with pytest.warns(ZooWarning, match=r"\[-1, 1\].*scale='symmetric'"):
        gan.fit(unit.take(2), epochs=1, verbose=0)
    symmetric, _ = load_dataset("digits", batch_size=64, scale="symmetric")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooWarning)
        gan.fit(symmetric.take(2), epochs=1, verbose=0)


def test_create_model_builds_for_the_data_its_dataset_info_describes():
    """`create_model(name, dataset_info=info)` takes the image shape, classes and value
    range from the data; a model that cannot take the data's range is refused with the fix."""
    _, info = load_dataset("digits", labels=True, scale="symmetric")
    gan = keras_genzoo.create_model("cgan", dataset_info=info, latent_dim=8)
    assert gan.image_shape == (8, 8, 1) and gan.num_classes == 10
    assert gan.value_range == (-1.0, 1.0)
    _, unit = load_dataset("digits")
    ae = keras_genzoo.create_model("ae_dense", dataset_info=unit, latent_dim=4)
    assert ae.image_shape == (8, 8, 1) and ae.value_range == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"dcgan works on pixels in \[-1.0, 1.0\].*"
                                         r"scale='symmetric'"):
        keras_genzoo.create_model("dcgan", dataset_info=unit)


# ------------------------------------------------------------------ small folders


def test_diff_augment_is_differentiable_keeps_shapes_and_ranges():
    images = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (6, 32, 32, 3)).astype("float32"))
    seed = tf.constant([7, 1], tf.int64)
    with tf.GradientTape() as tape:
        out = diff_augment(images, ("color", "translation", "cutout"), seed)
        total = tf.reduce_sum(out * out)
    gradient = tape.gradient(total, images)
    assert out.shape == images.shape
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0
    shifted = diff_augment(images, ("translation", "cutout"), seed)
    assert shifted.shape == images.shape
    assert -1.0 <= float(tf.reduce_min(shifted)) and float(tf.reduce_max(shifted)) <= 1.0
    assert float(tf.reduce_mean(tf.cast(shifted == 0.0, tf.float32))) > 0.2  # the cutouts
    np.testing.assert_array_equal(shifted, diff_augment(images, ("translation", "cutout"), seed))
    with pytest.raises(ValueError, match="Unknown augmentation 'flip'.*translation,cutout"):
        check_policy("translation,flip")


def test_augmentation_runs_in_training_only_and_auto_turns_on_for_small_sets():
    """The same GAN with and without augmentation: `evaluate` gives the same scores
    (augmentation is off outside training), a training step differs. "auto" turns it on
    for 64 colour 32x32 images and leaves 8x8 digits alone."""
    images = (colour_digits(64)[0].astype("float32") / 127.5 - 1.0)
    small = dict(image_shape=(32, 32, 3), latent_dim=8, generator_filters=[8],
                 discriminator_filters=[8], seed=1, ema_decay=None)
    plain = keras_genzoo.create_model("dcgan", augment=None, **small)
    augmented = keras_genzoo.create_model("dcgan", augment="translation,cutout", **small)
    augmented.set_weights(plain.get_weights())
    assert plain.evaluate(images, verbose=0) == augmented.evaluate(images, verbose=0)
    first = plain.fit(images, epochs=1, batch_size=64, verbose=0).history["d_loss"]
    second = augmented.fit(images, epochs=1, batch_size=64, verbose=0).history["d_loss"]
    assert first != second

    auto = keras_genzoo.create_model("dcgan", **small)
    assert auto.augment == "auto"
    auto.fit(images, epochs=1, batch_size=64, verbose=0)
    assert auto.augment == Policy(("color", "translation"), adaptive=True)
    assert auto.augment_probability is not None
    assert keras_genzoo.create_model("dcgan", **small).get_config()["augment"] == "auto"
    digits = keras_genzoo.create_model("dcgan", image_shape=(8, 8, 1), latent_dim=8,
                                       generator_filters=[8], discriminator_filters=[8])
    digits.fit(np.zeros((64, 8, 8, 1), "float32") - 1.0, epochs=1, batch_size=64, verbose=0)
    assert digits.augment == Policy() and digits.augment_probability is None


def test_adaptive_probability_follows_the_overfitting_signal_within_zero_and_one():
    """p moves by batch / speed_images per update: up while E[sign(D(real))] is above the
    target, down while below, unchanged at it, never leaving [0, 1]."""
    adaptive = AdaptiveProbability(speed_images=100)
    p = lambda: float(adaptive.probability.numpy())  # noqa: E731
    assert p() == 0.0
    adaptive.update(-np.ones(40, "float32"))
    assert p() == 0.0  # clipped at 0
    adaptive.update(np.ones(40, "float32"))
    assert p() == pytest.approx(0.4)
    adaptive.update(np.r_[np.ones(40), -np.ones(10)].astype("float32"))  # r = 0.6: no change
    assert p() == pytest.approx(0.4)
    adaptive.update(np.full(40, 0.7, "float32"), threshold=0.5)  # least squares: above 0.5
    assert p() == pytest.approx(0.8)
    adaptive.update(np.ones(40, "float32"))
    assert p() == 1.0  # clipped at 1
    adaptive.update(np.full(30, -2.0, "float32"))
    assert p() == pytest.approx(0.7)
    with pytest.raises(ValueError, match="speed_images must be > 0"):
        AdaptiveProbability(speed_images=0)


def test_augmentation_probability_zero_is_the_identity_and_one_is_every_image():
    images = np.random.default_rng(1).uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    seed = tf.constant([3, 4], tf.int64)
    ops_ = ("color", "translation", "cutout")
    np.testing.assert_array_equal(diff_augment(images, ops_, seed, probability=0.0), images)
    np.testing.assert_array_equal(
        diff_augment(images, ops_, seed, probability=1.0), diff_augment(images, ops_, seed)
    )
    half = np.asarray(diff_augment(images, ("translation",), seed, probability=tf.constant(0.5)))
    unchanged = [np.array_equal(a, b) for a, b in zip(half, images)]
    assert 0 < sum(unchanged) < len(images)


def test_adaptive_policies_parse_and_bad_ones_say_how_to_write_them():
    assert check_policy("adaptive") == Policy(ADAPTIVE_OPERATIONS, adaptive=True)
    assert check_policy(" adaptive : translation ") == Policy(("translation",), adaptive=True)
    assert check_policy("adaptive:translation,color").spec() == "adaptive:color,translation"
    assert check_policy("translation,cutout") == Policy(("translation", "cutout"))
    assert check_policy(None).spec() is None and check_policy("auto") == "auto"
    assert auto_policy(200, (32, 32, 3)) == Policy(("color", "translation"), adaptive=True)
    assert auto_policy(200, (32, 32, 1)) == Policy(("translation",), adaptive=True)
    assert auto_policy(1000, (32, 32, 3)) == Policy() and auto_policy(200, (8, 8, 1)) == Policy()
    with pytest.raises(ValueError, match="'adaptive:' names no operation after 'adaptive:'"):
        check_policy("adaptive:")
    with pytest.raises(ValueError, match="Unknown augmentation 'flip'.*'adaptive:' followed by"):
        check_policy("adaptive:translation,flip")
    with pytest.raises(ValueError, match="Unknown augmentation 'adaptive'"):
        check_policy(["adaptive", "translation"])
    with pytest.raises(ValueError, match="a string or a sequence of strings, got 3"):
        check_policy(3)


def _set_discriminator_verdict(model, value: float) -> None:
    """Make the discriminator output `value` on every input (zero kernel, bias `value`)."""
    last = [layer for layer in model.discriminator.layers if layer.weights][-1]
    kernel, bias = last.get_weights()
    last.set_weights([np.zeros_like(kernel), np.full_like(bias, value)])


def test_an_adaptive_gan_raises_p_while_its_discriminator_overfits_and_saves_it(tmp_path):
    """Real scores all positive raise p in training (logged as augment_p), all negative
    lower it; evaluate neither augments nor moves p; p and the policy survive `.keras`
    and get_config/from_config."""
    images = (colour_digits(64)[0].astype("float32") / 127.5 - 1.0)
    small = dict(image_shape=(32, 32, 3), latent_dim=8, generator_filters=[8],
                 discriminator_filters=[8], seed=1, ema_decay=None)
    model = keras_genzoo.create_model("dcgan", augment="adaptive", **small)
    plain = keras_genzoo.create_model("dcgan", augment=None, **small)
    plain.set_weights([w for w in model.get_weights() if w.shape != ()])
    assert model.evaluate(images, verbose=0) == plain.evaluate(images, verbose=0)
    model.augment_probability.speed_images = 128.0  # a batch of 32 moves p by 0.25
    _set_discriminator_verdict(model, 30.0)
    history = model.fit(images, epochs=1, batch_size=32, verbose=0).history
    assert history["augment_p"] == [pytest.approx(0.5)]  # two steps
    p = lambda m: float(m.augment_probability.probability.numpy())  # noqa: E731
    model.evaluate(images, verbose=0)
    assert p(model) == pytest.approx(0.5)

    path = str(tmp_path / "adaptive.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.augment == Policy(ADAPTIVE_OPERATIONS, adaptive=True) and p(loaded) == pytest.approx(0.5)
    rebuilt = type(model).from_config(model.get_config())
    assert rebuilt.get_config()["augment"] == "adaptive:color,translation"
    assert rebuilt.augment_probability is not None and p(rebuilt) == 0.0

    _set_discriminator_verdict(model, -30.0)
    history = model.fit(images, epochs=1, batch_size=32, verbose=0).history
    assert history["augment_p"] == [pytest.approx(0.0)]
    assert "augment_p" not in plain.fit(images, epochs=1, batch_size=32, verbose=0).history


def test_shipped_gan_presets_load_their_weights_without_an_augmentation_probability():
    """Only adaptive policies add a variable: every shipped GAN preset loads unchanged."""
    for name in ("dcgan.digits", "cgan.digits", "wgan_gp.digits"):
        model = keras_genzoo.load(name)
        assert model.augment == "auto" and model.augment_probability is None
        assert not [w.path for w in model.weights if "augment" in w.path]


def test_previews_take_a_bounded_share_of_training_time(tmp_path):
    """Preview grids that cost far more than an epoch are drawn after the first and the
    last epoch only (they once added seconds to every 3-step GAN epoch); with no share
    set, after every epoch."""
    def slow_grids():
        time.sleep(0.3)
        return {"samples": np.zeros((4, 4, 1), np.uint8)}

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((8, 2), "float32")
    bounded = runs.ImageSummaries(str(tmp_path / "a"), slow_grids, time_share=0.1)
    every = runs.ImageSummaries(str(tmp_path / "b"), slow_grids)
    model.fit(x, x[:, :1], epochs=6, verbose=0, callbacks=[bounded])
    model.fit(x, x[:, :1], epochs=6, verbose=0, callbacks=[every])
    assert bounded.written_epochs == [0, 5]
    assert every.written_epochs == [0, 1, 2, 3, 4, 5]
