"""Strategies, the training driver, backups, loss scaling across replicas and training
in several processes.

The test process's CPU is split into two logical devices (conftest.py), so MirroredStrategy
runs two replicas here exactly as it would on two GPUs. Every model's one-epoch parity
with one device, per-replica noise and mixed precision under replicas are shared checks
of tests/test_model_contract.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models
from testing import ModelTestCase, fixed_noise
from tiny_models import TINY_MODELS

import keras_genzoo
from keras_genzoo.data import load_arrays
from keras_genzoo.models.gan.augment import AdaptiveProbability
from keras_genzoo.training.distribute import (
    LossScaleOptimizer,
    TrainingBackup,
    evaluate,
    get_strategy,
    read_cluster,
    split_cpu,
    train,
)

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_worker.py")
BATCH = 32  # global batch: 16 examples per replica under two replicas
EXAMPLES = 256

@pytest.fixture(scope="module")
def digits():
    images, labels, _ = load_arrays("digits", "train")
    return images[:EXAMPLES], labels[:EXAMPLES]


@pytest.fixture(scope="module")
def mirrored():
    strategy = get_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2, "conftest.py should give two logical CPUs"
    return strategy


def _build(name: str, strategy: tf.distribute.Strategy, seed: int = 3, **variant):
    """`name` from its row of tests/tiny_models.py, built under `strategy`."""
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        return tiny_models.build(name, **variant)


def _weights(model) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.weights]


# ---------------------------------------------------------------------- strategies


def test_get_strategy_picks_by_name_and_devices(mirrored):
    default = tf.distribute.get_strategy()
    assert get_strategy("auto") is default, "auto on a machine without GPUs is the default"
    assert get_strategy("default") is default
    one = get_strategy("onedevice")
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    assert one.extended.worker_devices == ("/job:localhost/replica:0/task:0/device:CPU:0",)
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert get_strategy("mirrored", devices=["/cpu:0"]).num_replicas_in_sync == 1
    assert split_cpu(2) == ["/device:CPU:0", "/device:CPU:1"], "an equal split is a no-op"


def test_get_strategy_rejects_bad_names_and_cluster_specs(monkeypatch):
    with pytest.raises(ValueError, match="Did you mean 'mirrored'"):
        get_strategy("mirorred")
    with pytest.raises(ValueError, match="Did you mean 'multiworker'"):
        get_strategy("multi_worker")
    with pytest.raises(ValueError, match="only applies to the 'mirrored'"):
        get_strategy("onedevice", devices=["/cpu:0"])
    with pytest.raises(RuntimeError, match="before TensorFlow initialises"):
        split_cpu(3)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        get_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}}))
    with pytest.raises(ValueError, match='needs "cluster" and "task"'):
        read_cluster()
    bad_index = {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(bad_index))
    with pytest.raises(ValueError, match="does not name a member"):
        get_strategy("multiworker")


# ------------------------------------------------------------- per-replica state


def test_persistent_rbm_keeps_separate_chains_per_replica(mirrored):
    """Persistent CD keeps one set of fantasy particles per replica; they evolve with
    each replica's own noise, while the weights stay mirrored."""
    model = _build("rbm_bernoulli", mirrored, persistent=True, num_chains=8)
    ModelTestCase().run_replica_noise_test(
        model, *tiny_models.digits("rbm_bernoulli", count=16), mirrored,
        metric="reconstruction_error", draws_noise=True,
    )
    chains = [np.asarray(c) for c in mirrored.experimental_local_results(model.chains.value)]
    assert len(chains) == 2 and chains[0].shape == (8, 64)
    assert not np.array_equal(chains[0], chains[1]), "replicas share their chains"
    kernel = [np.asarray(k) for k in mirrored.experimental_local_results(model.rbm.kernel.value)]
    np.testing.assert_array_equal(kernel[0], kernel[1])


def test_loss_scaling_skips_a_step_when_any_replica_overflows(mirrored):
    """Keras' LossScaleOptimizer checks only the first replica's gradients; the zoo's
    skips the step (and halves the scale) when any replica's gradients are not finite."""
    with mirrored.scope():
        weights = keras.Variable(np.ones(3, np.float32))
        optimizer = LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=8.0)
        optimizer.build([weights])

    def step(overflowing_replica):
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        bad = tf.equal(replica, overflowing_replica)
        gradient = tf.where(bad, np.inf, 8.0) * tf.ones(3)
        optimizer.apply_gradients([(gradient, weights)])

    run = tf.function(lambda r: mirrored.run(step, args=(r,)))
    run(tf.constant(1))
    np.testing.assert_array_equal(np.asarray(weights), np.ones(3))
    assert float(np.asarray(optimizer.dynamic_scale)) == 4.0
    run(tf.constant(-1))  # no replica overflows: 1 - 0.5 * (8 + 8) / 4 = -1
    np.testing.assert_allclose(np.asarray(weights), -np.ones(3))


def test_adaptive_augmentation_moves_p_alike_on_every_replica_from_the_global_batch(mirrored):
    """Replica 0's real scores are all positive, replica 1's only 10 of 16 (r = 1 and
    r = 0.25 against the target 0.6, each replica alone moving p its own way): p follows
    the global batch (r = 0.625) and rises on both by 32 / speed_images."""
    with mirrored.scope():
        adaptive = AdaptiveProbability(speed_images=320)

    def step():
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        mixed = tf.concat([tf.ones(10), -tf.ones(6)], axis=0)
        adaptive.update(tf.where(tf.equal(replica, 0), tf.ones(16), mixed))

    tf.function(lambda: mirrored.run(step))()
    values = [float(v) for v in mirrored.experimental_local_results(adaptive.probability.value)]
    np.testing.assert_allclose(values, [0.1, 0.1], rtol=1e-6)


# ------------------------------------------------------- training driver, backups


def test_train_matches_fit_and_resumes_exactly_from_a_backup(digits, tmp_path):
    """`train` runs the model's own train_step: on one device it ends where `fit` ends.
    Stopped after 2 of 3 epochs and started again on a fresh model, it restores the
    weights, optimizer, noise stream and history, runs only the last epoch and ends
    with the same weights as an uninterrupted run."""
    default = tf.distribute.get_strategy()
    x, _ = digits
    fitted = _build("dae_dense", default)
    history = fitted.fit(x, batch_size=BATCH, epochs=3, shuffle=False, verbose=0).history

    driven = _build("dae_dense", default)
    log = train(driven, x, batch_size=BATCH, epochs=3, verbose=0)
    for a, b in zip(_weights(fitted), _weights(driven)):
        np.testing.assert_allclose(b, a, atol=1e-6)
    np.testing.assert_allclose(log.history["loss"], history["loss"], rtol=1e-5)
    expected = fitted.evaluate(x, batch_size=BATCH, verbose=0, return_dict=True)
    assert evaluate(driven, x, batch_size=BATCH) == pytest.approx(expected, rel=1e-5)

    backup_dir = str(tmp_path / "backup")
    first = _build("dae_dense", default)
    train(first, x, batch_size=BATCH, epochs=2, backup_dir=backup_dir, keep_backup=True, verbose=0)
    assert json.load(open(os.path.join(backup_dir, "backup.json")))["epoch"] == 2
    resumed = _build("dae_dense", default, seed=99)  # different initial weights
    log = train(resumed, x, batch_size=BATCH, epochs=3, backup_dir=backup_dir, verbose=0)
    assert (log.resumed_from, log.epochs_run, len(log.history["loss"])) == (2, 1, 3)
    np.testing.assert_allclose(log.history["loss"], history["loss"], rtol=1e-5)
    for a, b in zip(_weights(fitted), _weights(resumed)):
        np.testing.assert_allclose(b, a, atol=1e-6)
    assert not os.path.exists(backup_dir), "the backup is deleted once training finished"


def test_train_under_mirrored_matches_one_device(mirrored, monkeypatch):
    """The driver splits each global batch over the replicas like `fit` does: a
    conditional VAE trained by it under two replicas ends like `fit` on one device."""
    sgd = {"class_name": "SGD", "config": {"learning_rate": 0.05}}
    models = []
    for strategy in (tf.distribute.get_strategy(), mirrored):
        model = _build("cvae_dense", strategy)
        with strategy.scope():
            model.recompile_with_optimizer(sgd)
        models.append(model)
    single, replicated = models
    x, y = tiny_models.digits("cvae_dense", count=EXAMPLES)
    fixed_noise(monkeypatch, BATCH)
    single.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    log = train(replicated, dataset, epochs=2, verbose=0)
    assert log.history["loss"][1] < log.history["loss"][0]
    for variable, a, b in zip(single.weights, _weights(single), _weights(replicated)):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0, err_msg=variable.path)


def test_train_rejects_bad_setups_with_clear_errors(digits, mirrored, tmp_path):
    x, _ = digits
    default = tf.distribute.get_strategy()
    model = _build("ae_conv", default)
    with pytest.raises(ValueError, match="was not created under the strategy passed here"):
        train(model, x, batch_size=BATCH, strategy=mirrored)
    with pytest.raises(ValueError, match="Pass batch_size="):
        train(model, x)
    with pytest.raises(ValueError, match="batch_size applies to arrays"):
        train(model, tf.data.Dataset.from_tensor_slices(x).batch(8), batch_size=8)
    with pytest.raises(ValueError, match="is empty"):
        train(model, tf.data.Dataset.from_tensor_slices(x[:0]).batch(8))
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        train(model, x, batch_size=BATCH, epochs=0)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        train(model, x[:, :4], batch_size=BATCH)
    replicated = _build("ae_conv", mirrored)
    with pytest.raises(ValueError, match="does not split evenly over 2 replicas"):
        train(replicated, x, batch_size=BATCH + 1)
    with mirrored.scope():
        uncompiled = keras_genzoo.models.autoencoders.Autoencoder(
            replicated.encoder, replicated.bottleneck, replicated.decoder, image_shape=(8, 8, 1)
        )
    with pytest.raises(ValueError, match="Compile"):
        train(uncompiled, x, batch_size=BATCH)
    backup_dir = str(tmp_path / "backup")
    train(model, x[:64], batch_size=BATCH, backup_dir=backup_dir, keep_backup=True, verbose=0)
    other = _build("ae_conv", default, filters=(4,), latent_dim=2)
    with pytest.raises(RuntimeError, match="only fits the model and optimizers it was made from"):
        train(other, x, batch_size=BATCH, epochs=2, backup_dir=backup_dir)
    assert TrainingBackup(backup_dir).exists(), "a failed restore must leave the backup alone"


def test_fit_with_backup_and_restore_resumes_a_gan(tmp_path):
    """`fit` with keras.callbacks.BackupAndRestore: a GAN (two optimizers, EMA weights,
    noise state) interrupted after 2 epochs resumes and ends like an uninterrupted run."""
    default = tf.distribute.get_strategy()
    x, _ = tiny_models.digits("dcgan", count=128)
    reference = _build("dcgan", default)
    reference.fit(x, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt("simulated crash")

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    crashed = _build("dcgan", default)
    with pytest.raises(KeyboardInterrupt):
        crashed.fit(x, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                    callbacks=[backup, Interrupt()])
    resumed = _build("dcgan", default, seed=99)
    history = resumed.fit(x, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                          callbacks=[backup]).history
    assert len(history["d_loss"]) == 1, "only the epoch that was lost runs again"
    for variable, a, b in zip(reference.weights, _weights(reference), _weights(resumed)):
        np.testing.assert_allclose(b, a, atol=1e-5, err_msg=variable.path)


# ------------------------------------------------------------ separate processes


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _worker_command(out, models: dict, *extra: str) -> list[str]:
    command = [sys.executable, WORKER, "--out", str(out), "--examples", str(EXAMPLES),
               "--batch-size", str(BATCH), *extra]
    for name, overrides in models.items():
        command += ["--model", name, "--overrides", json.dumps(overrides)]
    return command


def _saved(out, task: str, name: str) -> tuple[dict[str, np.ndarray], dict]:
    weights = dict(np.load(os.path.join(out, f"{task}-{name}.npz")))
    with open(os.path.join(out, f"{task}-{name}.json")) as f:
        return weights, json.load(f)


def _reference_run(name: str, overrides: dict, digits, epochs: int) -> list[np.ndarray]:
    """What tests/distributed_worker.py computes, in this process on one device."""
    keras.utils.set_random_seed(7)
    model = keras_genzoo.create_model(name, image_shape=(8, 8, 1), **overrides)
    train(model, digits[0], batch_size=BATCH, epochs=epochs, verbose=0)
    return _weights(model)


MULTI_WORKER_MODELS = {
    "ae_conv": TINY_MODELS["ae_conv"].overrides,
    "vae_dense": TINY_MODELS["vae_dense"].overrides,
    "dcgan": TINY_MODELS["dcgan"].overrides,
    "rbm_bernoulli": {
        **TINY_MODELS["rbm_bernoulli"].overrides, "persistent": True, "num_chains": 8
    },
}


@pytest.mark.slow
def test_two_workers_on_loopback_train_zoo_models(tmp_path, digits):
    """Two processes with TF_CONFIG on 127.0.0.1 train four zoo models (standard, VAE,
    GAN and persistent-CD train steps) with MultiWorkerMirroredStrategy and `train`.
    Both end with identical weights (persistent chains are per replica by design) and
    identical metrics from `evaluate`; the losses fall; and the noise-free autoencoder
    matches one device (atol 1e-5), which shows each worker took its half of every
    global batch."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            _worker_command(tmp_path, MULTI_WORKER_MODELS, "--strategy", "multiworker",
                            "--epochs", "3"),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    try:
        outputs = [p.communicate(timeout=400)[0] for p in procs]
    finally:
        for p in procs:  # a worker left waiting for its peer must not outlive the test
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, output in zip(procs, outputs):
        assert p.returncode == 0, output[-3000:]
    for name in MULTI_WORKER_MODELS:
        (first, log), (second, _) = (_saved(tmp_path, f"worker-{i}", name) for i in range(2))
        for key in first:
            if "persistent_chains" not in key:
                np.testing.assert_array_equal(first[key], second[key], err_msg=f"{name} {key}")
        for values in log["history"].values():
            assert len(values) == 3 and np.all(np.isfinite(values))
        assert log["evaluation"] == _saved(tmp_path, "worker-1", name)[1]["evaluation"]
    falls = {"ae_conv": "loss", "vae_dense": "loss", "rbm_bernoulli": "reconstruction_error"}
    for name, key in falls.items():
        values = _saved(tmp_path, "worker-0", name)[1]["history"][key]
        assert values[-1] < 0.99 * values[0], f"{name} {key} did not fall: {values}"
    reference = _reference_run("ae_conv", MULTI_WORKER_MODELS["ae_conv"], digits, epochs=3)
    weights = _saved(tmp_path, "worker-0", "ae_conv")[0]
    for expected, key in zip(reference, weights):
        np.testing.assert_allclose(weights[key], expected, atol=1e-5, err_msg=key)


@pytest.mark.slow
def test_killed_training_restarts_from_its_backup(tmp_path, digits):
    """A training process killed with SIGKILL after at least two backed-up epochs is
    started again with the same command: it resumes after the last completed epoch,
    finishes all 8, and ends with the weights of an uninterrupted run (atol 1e-5),
    noise stream included (a denoising autoencoder)."""
    models = {"dae_dense": TINY_MODELS["dae_dense"].overrides}
    epochs = 8
    backup_dir = tmp_path / "backup"
    command = _worker_command(tmp_path / "out", models, "--epochs", str(epochs),
                              "--backup-dir", str(backup_dir))
    state_file = backup_dir / "dae_dense" / "backup.json"
    victim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    completed = 0
    while completed < 2 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        if state_file.exists():
            completed = json.loads(state_file.read_text())["epoch"]
    victim.send_signal(signal.SIGKILL)
    output = victim.communicate()[0].decode()
    assert victim.returncode == -signal.SIGKILL, f"not killed mid-run:\n{output[-3000:]}"
    killed_after = json.loads(state_file.read_text())["epoch"]
    assert 2 <= killed_after < epochs

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert f"{killed_after}/{epochs} epochs done" in rerun.stdout
    weights, log = _saved(tmp_path / "out", "worker-0", "dae_dense")
    assert log["resumed_from"] == killed_after
    assert len(log["history"]["loss"]) == epochs
    reference = _reference_run("dae_dense", models["dae_dense"], digits, epochs=epochs)
    for expected, key in zip(reference, weights):
        np.testing.assert_allclose(weights[key], expected, atol=1e-5, err_msg=key)
    assert not state_file.exists(), "the finished run removes its backup"


def test_the_driver_lets_a_gaussian_rbm_measure_its_pixels_before_training():
    """The multi-worker driver prepares a model as `fit` does: a Gaussian RBM measures
    the per-pixel mean of its training data before its first step."""
    images, _, _ = load_arrays("digits", "train")
    model = keras_genzoo.create_model("rbm_gaussian", image_shape=(8, 8, 1), hidden_units=8, seed=0)
    assert float(model.adapted.numpy()) == 0.0
    dataset = tf.data.Dataset.from_tensor_slices(images[:256]).batch(64)
    train(model, dataset, epochs=1, verbose=0)
    assert float(model.adapted.numpy()) == 1.0
    np.testing.assert_allclose(
        np.asarray(model.data_mean).reshape(-1), images[:256].reshape(256, -1).mean(axis=0), atol=1e-5
    )
