"""Reliability: bad inputs are refused clearly, runs survive crashes, divergence and a
second run, and no corrupted or tampered model file loads.

`BAD_INPUTS` is the catalogue of docs/RELIABILITY.md: one case per row, each with the
error a user sees; `test_reliability_catalogue_names_only_existing_tests` keeps the
document and the tests in step.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import PACKAGE_PARENT

import keras_genzoo
from keras_genzoo import cli
from keras_genzoo import training as runs
from keras_genzoo.core.model import ZooModel
from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import fid, kid
from keras_genzoo.io.atomic import TEMPORARY_PREFIX, replacing, write_bytes
from keras_genzoo.io.checksums import MANIFEST_FILE, ChecksumError, sha256_file
from keras_genzoo.training import distribute
from keras_genzoo.training import train as train_module
from keras_genzoo.training.divergence import TrainingDiverged

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPE = (8, 8, 1)
TINY_RUN = {"model": "ae_dense", "epochs": 1, "batch_size": 128, "overrides": {"latent_dim": 4}}


@pytest.fixture(scope="module")
def images():
    x, _, _ = load_arrays("digits", "train")
    return x[:200]


@pytest.fixture(scope="module")
def labels():
    _, y, _ = load_arrays("digits", "train")
    return y[:200]


@pytest.fixture(scope="module")
def models():
    """One small model per family, built once (they are only asked to refuse inputs)."""
    built = {}

    def get(name):
        if name not in built:
            built[name] = keras_genzoo.create_model(name, image_shape=SHAPE)
        return built[name]

    return get


def _with(images, value, index=150):
    bad = np.array(images, copy=True)
    bad[index, 3, 4, 0] = value
    return bad


def _batched(x, y=None, batch=32):
    data = x if y is None else (x, y)
    return tf.data.Dataset.from_tensor_slices(data).batch(batch)


def _run_dir(tmp_path_factory, name="run"):
    out = str(tmp_path_factory.mktemp(name))
    runs.train_run(TINY_RUN, out, verbose=0)
    return out


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A complete run directory of `ae_dense` trained for one epoch on digits."""
    return _run_dir(tmp_path_factory)


def _fresh_copy(run_dir, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(run_dir, copy)
    return copy


# ------------------------------------------------------------------ the bad-input table
# id -> (what the user does, the error type, a regex of the message they see)

def _config_file(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text)
    return str(path)


BAD_INPUTS = {
    # names
    "unknown-model-name": (lambda m, x, y, t: keras_genzoo.create_model("ae_dnese"),
                           keras_genzoo.UnknownModelError,
                           r"Unknown model 'ae_dnese'\. Did you mean: ae_dense"),
    "unknown-builder-argument": (lambda m, x, y, t: keras_genzoo.create_model("ae_dense", latent_dimm=4),
                                 TypeError, r"latent_dimm"),
    "missing-model-file": (lambda m, x, y, t: keras_genzoo.load(str(t / "nothing.keras")),
                           FileNotFoundError, r"No saved model at"),
    # shapes
    "missing-channel-axis": (lambda m, x, y, t: m("ae_dense").encode(x[..., 0]),
                             ValueError, r"Add a channel axis: images\[\.\.\., None\]"),
    "flat-rows": (lambda m, x, y, t: m("ae_dense").fit(x.reshape(len(x), -1), verbose=0),
                  ValueError, r"Reshape flat rows with images\.reshape\(-1, 8, 8, 1\)"),
    "wrong-image-size": (lambda m, x, y, t: m("vae_dense").encode(np.zeros((4, 28, 28, 1), "float32")),
                         ValueError, r"expects images of shape \(batch, 8, 8, 1\), got \(4, 28, 28, 1\)"),
    "wrong-latent-shape": (lambda m, x, y, t: m("vae_dense").decode(np.zeros((4, 3))),
                           ValueError, r"decode expects latent codes of shape \(n, \d+\), got \(4, 3\)"),
    "classifier-image-shape": (lambda m, x, y, t: fid(np.zeros((4, 28, 28, 1)), x, "digits"),
                               ValueError, r"digits feature classifier takes images of shape \(n, 8, 8, 1\)"),
    # ranges
    "pixels-0-255-as-float": (lambda m, x, y, t: m("ae_dense").fit(x * 255, verbose=0),
                              ValueError, r"expects inputs in \[0, 1\], got values in \[0, 255\]"),
    "unit-pixels-for-symmetric-gan": (lambda m, x, y, t: m("dcgan").fit(x + 1.5, verbose=0),
                                      ValueError, r"expects inputs in \[-1, 1\]"),
    # dtypes
    "uint8-pixels": (lambda m, x, y, t: m("ae_dense").fit((x * 255).astype("uint8"), verbose=0),
                     ValueError, r"expects floating-point inputs, got dtype uint8"),
    # non-finite values
    "nan-in-array-fit": (lambda m, x, y, t: m("ae_dense").fit(_with(x, np.nan), verbose=0),
                         ValueError, r"expects finite inputs, got 1 NaN or infinite pixel value\."),
    "inf-in-array-fit": (lambda m, x, y, t: m("ae_dense").fit(_with(x, np.inf, 3), verbose=0),
                         ValueError, r"expects finite inputs"),
    "nan-in-tensor-fit": (lambda m, x, y, t: m("ae_dense").fit(tf.constant(_with(x, np.nan)), verbose=0),
                          ValueError, r"expects finite inputs, got 1 NaN"),
    "nan-in-targets": (lambda m, x, y, t: m("ae_dense").fit(x, _with(x, np.nan), verbose=0),
                       ValueError, r"expects finite targets"),
    "nan-in-dataset-fit": (lambda m, x, y, t: m("ae_dense").fit(_batched(_with(x, np.nan)), verbose=0),
                           ValueError, r"expects finite inputs \(in a batch fit\(\) read\)"),
    "nan-in-validation-data": (lambda m, x, y, t: m("ae_dense").fit(
        _batched(x), validation_data=_batched(_with(x, np.nan)), verbose=0),
                               ValueError, r"expects finite validation data"),
    "nan-in-dataset-evaluate": (lambda m, x, y, t: m("ae_dense").evaluate(
        _batched(_with(x, np.nan)), verbose=0),
                                ValueError, r"expects finite inputs \(in a batch evaluate\(\) read\)"),
    "nan-in-predict": (lambda m, x, y, t: m("rbm_bernoulli").predict(_with(x, np.nan), verbose=0),
                       ValueError, r"expects finite inputs"),
    "nan-in-encode": (lambda m, x, y, t: m("ae_dense").encode(_with(x, np.nan)),
                      ValueError, r"expects finite images"),
    "inf-in-reconstruct": (lambda m, x, y, t: m("vae_dense").reconstruct(_with(x, -np.inf)),
                           ValueError, r"expects finite images"),
    "nan-in-anomaly-score": (lambda m, x, y, t: m("vae_dense").anomaly_score(_with(x, np.nan)),
                             ValueError, r"expects finite images"),
    "nan-in-log-likelihood": (lambda m, x, y, t: m("vae_dense").log_likelihood(
        _with(x, np.nan), num_samples=2),
                              ValueError, r"expects finite images"),
    "nan-in-pseudo-likelihood": (lambda m, x, y, t: m("rbm_bernoulli").pseudo_likelihood(_with(x, np.nan)),
                                 ValueError, r"expects finite inputs"),
    "nan-in-gan-images": (lambda m, x, y, t: m("dcgan").fit(_with(x * 2 - 1, np.nan), verbose=0),
                          ValueError, r"dcgan expects finite inputs, got 1 NaN"),
    "nan-in-driver-dataset": (lambda m, x, y, t: distribute.train(
        m("ae_dense"), _batched(_with(x, np.nan)), verbose=0),
                              ValueError, r"expects finite inputs \(in a batch the training driver read\)"),
    "nan-in-fid-images": (lambda m, x, y, t: fid(x, _with(x, np.nan), "digits"),
                          ValueError, r"digits feature classifier expects finite images, got 1 NaN"),
    "inf-in-kid-images": (lambda m, x, y, t: kid(_with(x, np.inf), x, "digits", subset_size=50),
                          ValueError, r"digits feature classifier expects finite images"),
    # empty data
    "empty-array-fit": (lambda m, x, y, t: m("ae_dense").fit(x[:0], verbose=0),
                        ValueError, r"ae_dense got no inputs: the data is empty \(0 images\)"),
    "empty-dataset-fit": (lambda m, x, y, t: m("vae_dense").fit(_batched(x).take(0), verbose=0),
                          ValueError, r"The dataset passed to the model is empty: it yields no batches"),
    "empty-dataset-evaluate": (lambda m, x, y, t: m("ae_dense").evaluate(_batched(x[:0]), verbose=0),
                               ValueError, r"empty"),
    "empty-encode": (lambda m, x, y, t: m("vae_dense").encode(x[:0]),
                     ValueError, r"got no images: the data is empty"),
    "empty-fid-images": (lambda m, x, y, t: fid(x, x[:0], "digits"),
                         ValueError, r"classifier got no images"),
    # labels
    "conditional-without-labels": (lambda m, x, y, t: m("cgan").fit(_batched(x * 2 - 1), verbose=0),
                                   ValueError, r"trains on \(images, labels\) batches; got images only"),
    "label-out-of-range": (lambda m, x, y, t: m("cgan").generate(2, labels=[3, 12]),
                           ValueError, r"must lie in \[0, 9\]"),
    "one-hot-labels": (lambda m, x, y, t: m("cgan").fit(x * 2 - 1, np.eye(10)[y], verbose=0),
                       ValueError, r"Pass class ids, not one-hot vectors"),
    "labels-for-unconditional-model": (lambda m, x, y, t: m("dcgan").generate(2, labels=[1, 2]),
                                       ValueError, r"is unconditional and takes no labels"),
    "labels-for-rbm": (lambda m, x, y, t: m("rbm_bernoulli").fit(x, y, verbose=0),
                       ValueError, r"unconditional model and trains on images alone"),
    # configs
    "config-bad-epochs": (lambda m, x, y, t: runs.RunConfig.from_dict({"model": "ae_dense", "epochs": 0}),
                          runs.RunError, r"epochs must be a positive integer, got 0"),
    "config-unknown-key": (lambda m, x, y, t: runs.RunConfig.from_dict({"model": "ae_dense", "epoch": 3}),
                           runs.RunError, r"Unknown run config key 'epoch' \(did you mean 'epochs'\?\)"),
    "config-unknown-dataset-option": (lambda m, x, y, t: runs.RunConfig.from_dict(
        {"model": "ae_dense", "dataset": {"name": "digits", "colour": 1}}),
                                      runs.RunError, r"Unknown dataset option 'colour'"),
    "config-not-json": (lambda m, x, y, t: runs.load_run_config(_config_file(t, "{epochs: 3")),
                        runs.RunError, r"is not valid JSON"),
    "config-strategy-typo": (lambda m, x, y, t: runs.RunConfig.from_dict(
        {"model": "ae_dense", "strategy": "mirorred"}),
                             runs.RunError, r"did you mean 'mirrored'"),
    "config-unknown-dataset": (lambda m, x, y, t: runs.train_run(
        {**TINY_RUN, "dataset": "digts"}, str(t / "run"), verbose=0),
                               runs.RunError, r"digts"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_refused_with_a_clear_message(case, models, images, labels, tmp_path):
    action, error, message = BAD_INPUTS[case]
    with pytest.raises(error, match=message):
        action(models, images, labels, tmp_path)


def test_fitting_again_on_the_same_dataset_reads_its_first_batch_once_and_checks_every_batch(
    images, monkeypatch
):
    """The dataset passed last is remembered: a second `fit` on it skips the first-batch
    read (a fixed cost per call) but still checks every batch it reads; another dataset is
    checked afresh and replaces it, so only one is held."""
    model = keras_genzoo.create_model("ae_dense", image_shape=SHAPE, latent_dim=4)
    reads = []
    check = model.check_training_data
    monkeypatch.setattr(model, "check_training_data", lambda x, y=None: reads.append(x) or check(x, y))
    source = [images]
    data = tf.data.Dataset.from_generator(
        lambda: iter(source[0].reshape(-1, 20, *SHAPE)),
        output_signature=tf.TensorSpec((20, *SHAPE), tf.float32),
    )
    model.fit(data, verbose=0)
    model.fit(data, verbose=0)
    assert reads == [data]
    source[0] = _with(images, np.nan)  # same dataset object, a NaN in batch 8 of 10
    with pytest.raises(ValueError, match=r"expects finite inputs \(in a batch fit\(\) read\)"):
        model.fit(data, verbose=0)
    assert reads == [data]
    other = _batched(images)
    model.fit(other, verbose=0)
    assert reads == [data, other]
    assert [entry[0] for entry in model.__dict__["_last_checked_datasets"].values()] == [other]


# ------------------------------------------------------------------ run directories

def test_existing_runs_are_never_silently_replaced(finished_run, tmp_path):
    """A second run into an existing run directory, `--out` naming a file, --resume of
    a complete run, of nothing, or with another config: each is refused before
    anything is written; --overwrite is accepted and changes nothing yet (the run is
    replaced by `train_run`: test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint)."""
    config = runs.RunConfig.from_dict(TINY_RUN)
    before = {name: sha256_file(os.path.join(finished_run, name)) for name in ("model.keras", "metrics.json")}
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.png").write_text("x")
    cases = [
        (finished_run, {}, r"already holds a run\. Pass --resume to continue it"),
        (str(a_file), {}, r"is a file; a run is written to a directory"),
        (str(other), {"resume": True}, r"Nothing to resume"),
        (finished_run, {"resume": True}, r"is complete; there is nothing to resume"),
        (finished_run, {"resume": True, "overwrite": True}, r"either --resume or --overwrite"),
        (str(tmp_path / "new"), {"resume": True}, r"Nothing to resume"),
    ]
    for out, flags, message in cases:
        with pytest.raises(runs.RunError, match=message):
            train_module.prepare_run_dir(out, config, **flags)
    with pytest.raises(runs.RunError, match=r"this one differs \(seed: 0 -> 5\)"):
        copy = _fresh_copy(finished_run, tmp_path)
        os.makedirs(os.path.join(copy, runs.BACKUP_DIR, "x"))  # looks interrupted
        (tmp_path / "copy" / runs.BACKUP_DIR / "backup.json").write_text("{}")
        train_module.prepare_run_dir(copy, config.replace(seed=5), resume=True)
    assert a_file.read_text() == "mine" and (other / "cat.png").exists()
    after = {name: sha256_file(os.path.join(finished_run, name)) for name in before}
    assert after == before
    code = cli.main(["train", "ae_dense", "--epochs", "1", "--out", str(a_file)])
    assert code == 2
    overwritten = _fresh_copy(finished_run, tmp_path / "o")
    (tmp_path / "o" / "copy" / "notes.txt").write_text("mine")
    listing = sorted(os.listdir(overwritten))
    assert train_module.prepare_run_dir(overwritten, config, overwrite=True) is False
    assert sorted(os.listdir(overwritten)) == listing and "notes.txt" in listing
    assert train_module.prepare_run_dir(str(other), config) is False  # a run goes beside them


def test_run_files_are_checksummed_and_tampering_is_refused(finished_run, tmp_path):
    """Every model file of a run is recorded with its SHA-256; a model whose weights were
    swapped inside a still-valid zip, a truncated model, a tampered checkpoint and a run
    without its manifest are refused with both hashes (or the missing record) named."""
    with open(os.path.join(finished_run, MANIFEST_FILE)) as f:
        manifest = json.load(f)
    assert set(manifest) == {"model.keras", "checkpoints/last.keras"}
    for name, digest in manifest.items():
        assert sha256_file(os.path.join(finished_run, name)) == digest
    assert keras_genzoo.load(finished_run).count_params() > 0

    run = _fresh_copy(finished_run, tmp_path)
    model_file = os.path.join(run, "model.keras")
    other = keras_genzoo.create_model("ae_dense", image_shape=SHAPE, latent_dim=4)
    other(np.zeros((1, *SHAPE), "float32"))
    other.save(str(tmp_path / "other.keras"))
    with zipfile.ZipFile(tmp_path / "other.keras") as z:
        swapped_weights = z.read("model.weights.h5")
    with zipfile.ZipFile(model_file) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members["model.weights.h5"] = swapped_weights
    with zipfile.ZipFile(model_file, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    assert zipfile.is_zipfile(model_file)
    actual = sha256_file(model_file)
    with pytest.raises(ChecksumError, match=rf"expected sha256 {manifest['model.keras']}, got {actual}"):
        keras_genzoo.load(run)

    with open(model_file, "wb") as f:
        f.write(members["config.json"][:10])
    with pytest.raises(ChecksumError, match=r"Checksum mismatch.*changed after keras-genzoo wrote it"):
        keras_genzoo.load(run)

    checkpoint = os.path.join(run, "checkpoints", "last.keras")
    with open(checkpoint, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ChecksumError, match=rf"expected sha256 {manifest['checkpoints/last.keras']}"):
        keras_genzoo.load(checkpoint)  # a file loaded by its own path is checked too

    os.remove(os.path.join(run, MANIFEST_FILE))
    with pytest.raises(ChecksumError, match=r"has no recorded SHA-256"):
        keras_genzoo.load(run)
    (tmp_path / "loose.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"is not a valid `.keras` archive"):
        keras_genzoo.load(str(tmp_path / "loose.keras"))


def test_a_failed_save_leaves_the_previous_model_intact(finished_run, tmp_path, monkeypatch):
    """A full disk (OSError ENOSPC) in the middle of writing model.keras: the previous
    file is untouched, still loads and verifies, and no partial file is left behind."""
    run = _fresh_copy(finished_run, tmp_path)
    model_file = os.path.join(run, "model.keras")
    before = sha256_file(model_file)
    model = keras_genzoo.load(run)

    def disk_full(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half of an archive")
        raise OSError(errno.ENOSPC, "No space left on device", filepath)

    monkeypatch.setattr(keras.Model, "save", disk_full)
    with pytest.raises(OSError) as raised:
        runs.save_model(model, model_file, run)
    assert raised.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert sha256_file(model_file) == before
    assert keras_genzoo.load(run).count_params() == model.count_params()
    assert not [n for n in os.listdir(run) if n.startswith(TEMPORARY_PREFIX)]

    with pytest.raises(RuntimeError, match="boom"):
        with replacing(str(tmp_path / "state.json")) as temporary:
            write_bytes(b"{}", str(tmp_path / "state.json"))
            with open(temporary, "w") as f:
                f.write("{half")
            raise RuntimeError("boom")
    assert (tmp_path / "state.json").read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMPORARY_PREFIX)] == []


def test_a_tampered_backup_is_refused_on_resume(tmp_path, images):
    """The backup records its weights' SHA-256: a changed weights file stops the resume
    with both hashes named instead of training on from corrupted weights."""
    model = keras_genzoo.create_model("ae_dense", image_shape=SHAPE, latent_dim=4)
    backup_dir = str(tmp_path / "backup")
    distribute.train(model, images, batch_size=50, epochs=1, backup_dir=backup_dir,
                     keep_backup=True, verbose=0)
    state = distribute.TrainingBackup(backup_dir).read_state()
    with open(os.path.join(backup_dir, state["weights"]), "ab") as f:
        f.write(b"\0")
    fresh = keras_genzoo.create_model("ae_dense", image_shape=SHAPE, latent_dim=4)
    with pytest.raises(RuntimeError, match=rf"expected sha256 {state['weights_sha256']}, got [0-9a-f]{{64}}"):
        distribute.train(fresh, images, batch_size=50, epochs=2, backup_dir=backup_dir, verbose=0)


# ------------------------------------------------------------------ divergence

class PoisonAtStep(keras.callbacks.Callback):
    """Turns one weight into NaN at a given (epoch, step), as an exploding update would."""

    def __init__(self, epoch, step):
        super().__init__()
        self.at = (epoch, step)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            weight = self.model.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, "float32"))


def test_divergence_stops_training_and_keeps_the_last_finite_checkpoint(tmp_path, monkeypatch):
    """A weight that becomes NaN in epoch 2 stops training at the next step with the
    epoch, step and learning rate named; the run's model is the finite checkpoint of
    epoch 1 (it loads and verifies), metrics.json records where training diverged,
    and the NaN model itself can never be saved. One step per execution, so the
    callbacks see every step (with several, divergence is caught at the execution's end)."""
    monkeypatch.setattr(ZooModel, "cpu_steps_per_execution", 1)
    out = str(tmp_path / "run")
    config = {**TINY_RUN, "epochs": 3}
    # Whether the loss or the weights turn non-finite first depends on the CPU's kernels
    # (seen: the loss on AMD EPYC, the weights on Intel Xeon): accept either cause, and
    # the step when the loss names it.
    with pytest.raises(TrainingDiverged) as raised:
        runs.train_run(config, out, verbose=0, callbacks=[PoisonAtStep(1, 1)])
    message = str(raised.value)
    cause = r"diverged at epoch 2(, step \d+)?: (loss=nan|\d+ weight variables? became NaN)"
    assert re.search(cause, message), message
    assert "learning rate" in message
    assert raised.value.epoch == 2 and raised.value.step in (None, 3)
    metrics = json.loads(open(os.path.join(out, runs.METRICS_FILE)).read())
    assert metrics["diverged"]["epoch"] == 2 and len(metrics["history"]["loss"]) == 1
    assert np.isfinite(metrics["history"]["loss"]).all()
    model = keras_genzoo.load(out)
    assert all(np.isfinite(np.asarray(w)).all() for w in model.weights)
    checkpoint = keras_genzoo.load(os.path.join(out, "checkpoints", "last.keras"))
    for a, b in zip(model.weights, checkpoint.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    model.trainable_weights[0].assign(np.full(model.trainable_weights[0].shape, np.inf, "float32"))
    with pytest.raises(TrainingDiverged, match=r"Refusing to save .*NaN or infinite values"):
        runs.save_model(model, str(tmp_path / "nan.keras"))
    assert not os.path.exists(tmp_path / "nan.keras")


def test_cli_exits_non_zero_when_training_diverges(tmp_path, capsys):
    """`--learning-rate 1e6` diverges in the first epoch: exit status 1, one line naming
    the epoch, the step and the learning rate, and no NaN model in the run directory."""
    out = tmp_path / "run"
    code = cli.main(["train", "ae_dense", "--steps", "200", "--learning-rate", "1e6",
                     "--batch-size", "128", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert re.fullmatch(
        r"keras-genzoo train: error: Training of ae_dense diverged at epoch 1, step \d+: "
        r"[^\n]*learning rate 1e\+06[^\n]*\n", err
    ), err
    assert not (out / "model.keras").exists()
    assert "diverged" in json.loads((out / runs.METRICS_FILE).read_text())


# ------------------------------------------------------------------ interrupted runs

def _weights(path):
    model = keras_genzoo.load(path)
    return [np.asarray(w) for w in model.weights]


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_without_losing_an_epoch(tmp_path):
    """`keras-genzoo train` killed by SIGKILL at a random step (seeded) after its first
    epoch, then `--resume`d: the run ends with the weights of an uninterrupted run
    (atol 1e-5) and every epoch in its history, noise of a denoising model included.
    The killed process wrote nothing to stderr: the command line starts quietly.
    Batches of 16 give 90 steps an epoch, several executions of the CPU's default
    steps per execution, so the kill lands inside an epoch."""
    epochs, batch = 3, 16
    steps_per_epoch = -(-1437 // batch)
    kill_at = int(np.random.default_rng(13).integers(steps_per_epoch + 1, epochs * steps_per_epoch))
    args = ["train", "dae_dense", "--epochs", str(epochs), "--batch-size", str(batch),
            "--set", "latent_dim=8"]
    killed = str(tmp_path / "killed")
    victim = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "tests", "killable_train.py"), str(kill_at),
         *args, "--out", killed],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": PACKAGE_PARENT},
    )
    assert victim.returncode == -9, victim.stdout[-2000:] + victim.stderr[-2000:]
    assert victim.stderr == "", victim.stderr
    backup = distribute.TrainingBackup(os.path.join(killed, runs.BACKUP_DIR)).read_state()
    assert backup["epoch"] == (kill_at - 1) // steps_per_epoch >= 1
    assert not os.path.exists(os.path.join(killed, "model.keras"))

    assert cli.main([*args, "--out", killed]) == 2  # refused without --resume
    assert cli.main(["train", "--resume", "--out", killed]) == 0
    reference = str(tmp_path / "reference")
    assert cli.main([*args, "--out", reference]) == 0
    for a, b in zip(_weights(killed), _weights(reference)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    resumed = json.loads(open(os.path.join(killed, runs.METRICS_FILE)).read())["history"]
    uninterrupted = json.loads(open(os.path.join(reference, runs.METRICS_FILE)).read())["history"]
    assert set(resumed) == set(uninterrupted)
    for name, values in uninterrupted.items():
        assert len(resumed[name]) == epochs
        np.testing.assert_allclose(resumed[name], values, rtol=1e-5, err_msg=name)
    assert not os.path.exists(os.path.join(killed, runs.BACKUP_DIR)), "a finished run drops its backup"


# ------------------------------------------------------------------ quiet command line

def test_the_command_line_starts_quietly_and_errors_are_one_line(tmp_path, capsys):
    """No TensorFlow start-up lines or warnings on stderr (a subprocess, as a user runs
    it); a mistake is one exact line with exit status 2."""
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "keras_genzoo.cli"]
    listing = subprocess.run([*command, "list", "vae*"], capture_output=True, text=True,
                             timeout=120, env=env, cwd=tmp_path)  # not the source tree: -m imports from cwd
    assert listing.returncode == 0 and "vae_conv" in listing.stdout
    assert listing.stderr == ""
    code = cli.main(["train", "ae_dense", "--out", str(tmp_path / "r"), "--set", "latent_dimm=3"])
    err = capsys.readouterr().err
    assert code == 2
    assert re.fullmatch(r"keras-genzoo train: error: Unknown argument of model 'ae_dense': "
                        r"'latent_dimm' \(did you mean 'latent_dim'\?\)[^\n]*\n", err), err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ the catalogue

def test_reliability_catalogue_names_only_existing_tests():
    """docs/RELIABILITY.md lists at least 40 cases, and every test it names exists."""
    text = open(os.path.join(REPO_ROOT, "docs", "RELIABILITY.md"), encoding="utf-8").read()
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) >= 40
    for row in rows:
        references = re.findall(r"`(tests/[\w/]+\.py)::(\w+)(?:\[([\w-]+)\])?`", row)
        assert references, f"no test named in: {row}"
        for path, name, case in references:
            source = open(os.path.join(REPO_ROOT, path), encoding="utf-8").read()
            assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} does not exist"
            if case:
                assert name == "test_bad_input_is_refused_with_a_clear_message" and case in BAD_INPUTS, case


# ------------------------------------------------------------------ replacing and claiming runs

# `keras-genzoo train ARGS...` that kills itself with SIGKILL at the end of its first
# training execution, before the first checkpoint.
KILLED_IN_THE_FIRST_EPOCH = """
import os, signal, sys
sys.argv[0] = "keras-genzoo"
import keras
from keras_genzoo import cli
from keras_genzoo.training import train

class Kill(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        os.kill(os.getpid(), signal.SIGKILL)

own = train.run_callbacks
train.run_callbacks = lambda *args, **kwargs: [*own(*args, **kwargs), Kill()]
sys.exit(cli.main(sys.argv[1:]))
"""

# `keras-genzoo train ARGS...` started once the file GO exists (after READY is written).
STARTED_TOGETHER = """
import os, sys, time
sys.argv[0] = "keras-genzoo"
from keras_genzoo import cli
ready, go = sys.argv[1:3]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
sys.exit(cli.main(sys.argv[3:]))
"""


def _run_files(run):
    return {name: sha256_file(os.path.join(run, name))
            for name in ("model.keras", "metrics.json", "config.json", "checkpoints/last.keras")}


class InterruptInTheFirstBatch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise KeyboardInterrupt


class WatchTheReplacedRun(keras.callbacks.Callback):
    """Records, when training starts and after each epoch, whether the replaced run is
    still kept and whether the new run has its checkpoint."""

    def __init__(self, run):
        super().__init__()
        self.run = run
        self.seen = []

    def _look(self, when):
        self.seen.append((when, os.path.isdir(os.path.join(self.run, train_module.REPLACED_RUN_DIR)),
                          os.path.isfile(os.path.join(self.run, "checkpoints", "last.keras"))))

    def on_train_begin(self, logs=None):
        self._look("begin")

    def on_epoch_end(self, epoch, logs=None):
        self._look(epoch + 1)


def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint(finished_run, tmp_path, capsys):
    """`--overwrite` with a mistake found only when the model is built or the data read,
    a new run that diverges or is interrupted in its first epoch: the old run is intact
    after each. A complete one keeps the old run aside until its first checkpoint, then
    the old run's files are gone (an output the new run does not write included) and the
    folder's other files stay."""
    run = _fresh_copy(finished_run, tmp_path)
    (tmp_path / "copy" / "notes.txt").write_text("mine")
    (tmp_path / "copy" / "samples.png").write_bytes(b"an output of the old run only")
    old, listing = _run_files(run), sorted(os.listdir(run))
    train = ["train", "ae_dense", "--epochs", "2", "--batch-size", "128", "--set", "latent_dim=4",
             "--overwrite", "--out", run]

    for flags, message in [(["--dataset", "digts"], "digts"),
                           (["--set", "latent_dim=-1"], "latent_dim must be a positive")]:
        assert cli.main([*train, *flags]) == 2
        assert message in capsys.readouterr().err
        assert _run_files(run) == old and sorted(os.listdir(run)) == listing

    assert cli.main([*train, "--learning-rate", "1e6"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"diverged at epoch 1.* keeps the run --overwrite was to replace\.\n$", err), err
    assert _run_files(run) == old and sorted(os.listdir(run)) == listing

    with pytest.raises(KeyboardInterrupt):
        runs.train_run(TINY_RUN, run, overwrite=True, verbose=0, callbacks=[InterruptInTheFirstBatch()])
    assert _run_files(run) == old and sorted(os.listdir(run)) == listing

    watch = WatchTheReplacedRun(run)
    metrics = runs.train_run({**TINY_RUN, "epochs": 2, "seed": 3}, run, overwrite=True, verbose=0,
                             callbacks=[watch])
    assert watch.seen == [("begin", True, False), (1, False, True), (2, False, True)]
    assert sorted(os.listdir(run)) == ["checkpoints", "checksums.json", "config.json", "logs",
                                       "metrics.json", "model.keras", "notes.txt", "reconstructions.png"]
    assert (tmp_path / "copy" / "notes.txt").read_text() == "mine"
    assert metrics["config"]["seed"] == 3 and _run_files(run)["model.keras"] != old["model.keras"]
    assert keras_genzoo.load(run).count_params() > 0


@pytest.mark.slow
def test_an_overwrite_killed_before_its_first_checkpoint_gives_the_old_run_back(
    finished_run, tmp_path, capsys
):
    """`train --overwrite` killed by SIGKILL in its first epoch has only moved the old run
    aside; the next command on the folder moves it back before anything else."""
    run = _fresh_copy(finished_run, tmp_path)
    old = _run_files(run)
    args = ["train", "ae_dense", "--epochs", "2", "--batch-size", "128", "--set", "latent_dim=4",
            "--seed", "3", "--out", run]
    victim = subprocess.run(
        [sys.executable, "-c", KILLED_IN_THE_FIRST_EPOCH, *args, "--overwrite"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": PACKAGE_PARENT},
    )
    assert victim.returncode == -9, victim.stdout[-2000:] + victim.stderr[-2000:]
    replaced = os.path.join(run, train_module.REPLACED_RUN_DIR)
    assert os.path.isfile(os.path.join(replaced, "model.keras"))
    assert not os.path.exists(os.path.join(run, "model.keras"))

    assert cli.main(args) == 2  # the old run is back, so a plain train is refused
    captured = capsys.readouterr()
    assert "had no checkpoint yet: the run it was replacing is back" in captured.out
    assert "already holds a run" in captured.err
    assert _run_files(run) == old and not os.path.exists(replaced)
    assert keras_genzoo.load(run).count_params() > 0


@pytest.mark.slow
def test_two_trainings_started_at_once_into_one_folder_one_runs_the_other_is_refused(tmp_path):
    """A run holds its folder (an exclusive lock on a claim file) for as long as it
    runs: a second `train` into it, in this process or started at the same instant in
    another, is refused with the holder's pid; the winner's run is whole and the claim
    is gone after it."""
    out = str(tmp_path / "run")
    with train_module.claimed_run_dir(out):
        holder = rf"is being written by another process \(pid {os.getpid()}\)"
        with pytest.raises(runs.RunError, match=holder):
            runs.train_run(TINY_RUN, out, verbose=0)
    assert not os.path.exists(out)  # released: the claim file and the folder it made are gone

    go = tmp_path / "go"
    started = {}
    for seed in (1, 2):
        ready = tmp_path / f"ready-{seed}"
        command = [sys.executable, "-c", STARTED_TOGETHER, str(ready), str(go), "train", "ae_dense",
                   "--epochs", "3", "--batch-size", "128", "--seed", str(seed), "--out", out]
        started[seed] = (ready, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": PACKAGE_PARENT},
        ))
    for ready, process in started.values():  # both have imported TensorFlow
        for _ in range(2400):
            if ready.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert ready.exists(), process.communicate()
    go.touch()
    finished = {seed: (process.pid, *process.communicate(timeout=300), process.returncode)
                for seed, (_, process) in started.items()}
    assert sorted(code for *_, code in finished.values()) == [0, 2], finished
    winner = next(seed for seed, (*_, code) in finished.items() if code == 0)
    winner_pid = finished[winner][0]
    refused = next(err for _, _, err, code in finished.values() if code == 2)
    assert re.search(
        rf"keras-genzoo train: error: '{re.escape(out)}' (is being written by another process "
        rf"\(pid {winner_pid}\)\. Wait for it to finish, or choose another --out\.|already holds a run\.)",
        refused,
    ), refused
    metrics = json.loads(open(os.path.join(out, runs.METRICS_FILE)).read())
    assert metrics["config"]["seed"] == winner and len(metrics["history"]["loss"]) == 3
    assert not os.path.exists(os.path.join(out, train_module.CLAIM_FILE))
    assert keras_genzoo.load(out).count_params() > 0
