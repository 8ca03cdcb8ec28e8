"""The `keras-genzoo` command line: list, train, sample, configs and error handling."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras_genzoo
from keras_genzoo import cli, presets, tuning
from keras_genzoo.core import preset_table, registry, search_space
from keras_genzoo.core.capabilities import Encoder, Generator
from keras_genzoo.core.model import ZooModel
from keras_genzoo.data import load_arrays
from keras_genzoo.models.autoencoders import Autoencoder, DenoisingAutoencoder
from keras_genzoo.presets import catalog
from keras_genzoo.training import train as train_module

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 8x8 digits are drawn 8x larger with 2 px between tiles: a panel of 4 x 8 tiles is
# 4 * 66 + 2 = 266 px wide and 8 * 66 + 2 = 530 px high; panels are 12 px apart.
PANEL_WIDTH, PANEL_HEIGHT = 266, 530 + 16  # a panel and its 16 px caption strip


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def image_summary_tags(log_dir: str) -> dict[str, list[int]]:
    """Image summary tag -> steps, read back from the TensorBoard event files in log_dir."""
    tags: dict[str, list[int]] = {}
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    tags.setdefault(value.tag, []).append(event.step)
    return tags


def scalar_tags(log_dir: str) -> set[str]:
    tags = set()
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    return tags


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    """`keras-genzoo train ae_conv --dataset digits --epochs 2 ...`, run in-process."""
    out = tmp_path_factory.mktemp("ae_conv_digits")
    code = cli.main([
        "train", "ae_conv", "--dataset", "digits", "--epochs", "2", "--batch-size", "128",
        "--set", "latent_dim=8", "--set", "filters=[16,32]", "--out", str(out),
    ])
    assert code == 0
    return str(out)


# ------------------------------------------------------------------------------ list


def test_list_shows_name_family_and_summary(capsys):
    code, out, _ = run_cli(["list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "FAMILY", "SUMMARY"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == keras_genzoo.list_models()
    ae_conv = next(line for line in lines if line.startswith("ae_conv "))
    assert ae_conv.split()[1] == "autoencoders"
    assert registry.get_entry("ae_conv").summary in ae_conv

    code, out, _ = run_cli(["list", "dae_*"], capsys)
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["dae_conv", "dae_dense"]
    code, _, err = run_cli(["list", "nothing_like_this*"], capsys)
    assert code == 1 and "No registered model matches" in err


# ----------------------------------------------------------------------------- train


def test_train_writes_every_artifact(ae_run):
    for name in ("model.keras", "metrics.json", "config.json", "reconstructions.png",
                 os.path.join("checkpoints", "last.keras")):
        assert os.path.isfile(os.path.join(ae_run, name)), name
    assert not os.path.exists(os.path.join(ae_run, "samples.png"))

    with Image.open(os.path.join(ae_run, "reconstructions.png")) as png:
        assert png.format == "PNG" and png.mode == "L"
        assert png.size == (2 * PANEL_WIDTH + 12, PANEL_HEIGHT)
        pixels = np.asarray(png)
    left, right = pixels[:, :PANEL_WIDTH], pixels[:, -PANEL_WIDTH:]
    originals, _, _ = load_arrays("digits", "test")
    assert left[2:66, 2:66].mean() == pytest.approx(originals[0].mean() * 255, abs=1.0)
    assert right.std() > 20, "the reconstructions panel should show digits, not a flat image"

    model = keras_genzoo.load(ae_run)
    checkpoint = keras_genzoo.load(os.path.join(ae_run, "checkpoints", "last.keras"))
    assert isinstance(model, Autoencoder) and model.latent_dim == 8
    np.testing.assert_allclose(
        checkpoint.reconstruct(originals[:16]), model.reconstruct(originals[:16]), atol=1e-6
    )


def test_metrics_json_records_history_evaluation_data_and_config(ae_run):
    with open(os.path.join(ae_run, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["model"] == "ae_conv" and metrics["family"] == "autoencoders"
    assert {k: len(v) for k, v in metrics["history"].items()} == {
        "loss": 2, "mse": 2, "val_loss": 2, "val_mse": 2
    }
    assert metrics["history"]["loss"][1] < metrics["history"]["loss"][0]
    assert set(metrics["evaluation"]) == {"loss", "mse"}
    assert metrics["evaluation"]["loss"] == pytest.approx(metrics["history"]["val_loss"][-1], rel=1e-4)
    train, test = metrics["dataset"]["train"], metrics["dataset"]["test"]
    assert (train["num_examples"], test["num_examples"]) == (1438, 359)
    assert train["image_shape"] == [8, 8, 1] and train["value_range"] == [0.0, 1.0]
    config = metrics["config"]
    assert (config["epochs"], config["batch_size"], config["dataset"]["name"]) == (2, 128, "digits")
    assert config["overrides"] == {"latent_dim": 8, "filters": [16, 32]}
    assert metrics["builder_arguments"]["image_shape"] == [8, 8, 1]
    reconstruction = metrics["reconstruction"]
    assert reconstruction["num_images"] == 359
    assert reconstruction["mse"] == pytest.approx(metrics["evaluation"]["mse"], rel=1e-4)
    assert reconstruction["mean_image_mse"] == pytest.approx(0.0727, abs=1e-3)  # digits baseline
    assert reconstruction["ratio_to_mean_image"] == pytest.approx(
        reconstruction["mse"] / reconstruction["mean_image_mse"]
    )
    with open(os.path.join(ae_run, "config.json")) as f:
        assert json.load(f) == config


def test_tensorboard_logs_hold_metrics_and_image_summaries(ae_run):
    logs = os.path.join(ae_run, "logs")
    assert image_summary_tags(os.path.join(logs, "images")) == {"reconstructions": [0, 1]}
    assert {"epoch_loss", "epoch_mse"} <= scalar_tags(os.path.join(logs, "train"))
    assert {"epoch_loss", "epoch_mse"} <= scalar_tags(os.path.join(logs, "validation"))


def test_train_from_a_zoo_config_with_flags_overriding_it(tmp_path, capsys, monkeypatch):
    """The file sets the model and its noise; flags and --set win; the strategy's scope is used."""
    created_under = []
    real_create = train_module.create_model

    def spy(name, **overrides):
        created_under.append(type(tf.distribute.get_strategy()).__name__)
        return real_create(name, **overrides)

    monkeypatch.setattr(train_module, "create_model", spy)
    code, out, err = run_cli([
        "train", "--config", os.path.join(REPO_ROOT, "zoo_configs", "dae_conv_digits.json"),
        "--epochs", "1", "--batch-size", "256", "--set", "latent_dim=4", "--strategy",
        "onedevice", "--seed", "3", "--out", tmp_path,
    ], capsys)
    assert code == 0, err
    assert created_under == ["OneDeviceStrategy"]
    # progress: one line per epoch with its steps and losses
    assert "epoch 1/1  6 steps  loss=" in out and "reconstructions.png" in out
    with open(tmp_path / "metrics.json") as f:
        metrics = json.load(f)
    config = metrics["config"]
    assert (config["model"], config["epochs"], config["batch_size"]) == ("dae_conv", 1, 256)
    assert (config["strategy"], config["seed"]) == ("onedevice", 3)
    assert config["overrides"]["latent_dim"] == 4 and config["overrides"]["noise_level"] == 0.25
    denoising = metrics["reconstruction"]["denoising"]
    assert denoising["noisy_input_mse"] > 0.01
    model = keras_genzoo.load(str(tmp_path))
    assert isinstance(model, DenoisingAutoencoder) and model.noise_level == 0.25
    with Image.open(tmp_path / "reconstructions.png") as png:
        assert png.size == (3 * PANEL_WIDTH + 2 * 12, PANEL_HEIGHT)  # clean | noisy | denoised


# ------------------------------------------- another family: conditional, [-1, 1], generate


@keras.saving.register_keras_serializable(package="keras_genzoo_tests")
class ClassMeans(Generator, Encoder, ZooModel):
    """Learns one mean image per class; generates it from labels and encodes an image as
    its one-hot label (so it "reconstructs" the class mean)."""

    is_conditional = True

    def __init__(self, num_classes: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.means = keras.layers.Embedding(num_classes, int(np.prod(self.image_shape)))
        self.to_image = keras.layers.Reshape(self.image_shape)

    def call(self, labels):
        return self.to_image(self.means(labels))

    def train_step(self, data):
        images, labels = data
        return super().train_step((labels, images))

    def test_step(self, data):
        images, labels = data
        return super().test_step((labels, images))

    def _generate(self, n, labels, seed, batch_size):
        noise = np.random.default_rng(seed).normal(0.0, 0.05, (n, *self.image_shape))
        return np.clip(np.asarray(self(labels)) + noise, *self.value_range)

    @property
    def code_shape(self):
        return (self.num_classes,)

    def _encode_batch(self, images, one_hot):
        return one_hot

    def _decode_batch(self, codes, one_hot):
        return self.to_image(keras.ops.matmul(codes, self.means.embeddings))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@pytest.fixture
def class_means_registered(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @keras_genzoo.register_model("test_class_means", family="test")
    def test_class_means(*, image_shape=(28, 28, 1), num_classes: int = 10,
                         learning_rate: float = 0.05) -> ClassMeans:
        """Per-class mean images in [-1, 1] (a test model with generate)."""
        model = ClassMeans(num_classes, image_shape=image_shape, value_range=(-1.0, 1.0))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
        return model


def test_train_and_sample_a_conditional_symmetric_generator(class_means_registered, tmp_path, capsys):
    """The trainer passes image_shape and num_classes, feeds [-1, 1] images with labels."""
    run_dir = tmp_path / "run"
    code, _, err = run_cli(
        ["train", "test_class_means", "--epochs", "3", "--learning-rate", "0.1", "--out", run_dir],
        capsys,
    )
    assert code == 0, err
    with open(run_dir / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["builder_arguments"] == {
        "image_shape": [8, 8, 1], "num_classes": 10, "learning_rate": 0.1
    }
    assert metrics["dataset"]["train"]["value_range"] == [-1.0, 1.0]
    # reconstructions got the held-out labels: class means beat the overall mean image
    assert metrics["reconstruction"]["ratio_to_mean_image"] < 0.9  # measured 0.59-0.60
    with Image.open(run_dir / "samples.png") as png:  # 10 classes as columns, 6 rows
        assert png.size == (10 * 66 + 2, 6 * 66 + 2)
    with Image.open(run_dir / "reconstructions.png") as png:
        assert png.size == (2 * PANEL_WIDTH + 12, PANEL_HEIGHT)
    assert image_summary_tags(str(run_dir / "logs" / "images")) == {
        "reconstructions": [0, 1, 2], "samples": [0, 1, 2]
    }

    model = keras_genzoo.load(str(run_dir))
    x, y, _ = load_arrays("digits", "train", scale="symmetric")
    learned_zero = model.generate(1, labels=[0], seed=0)[0]
    assert np.abs(learned_zero - x[y == 0].mean(axis=0)).mean() < 0.5 * np.abs(
        learned_zero - x[y == 1].mean(axis=0)
    ).mean(), "the class-0 sample should look like the mean 0, not the mean 1"

    grid = tmp_path / "grids" / "threes.png"
    code, out, err = run_cli(
        ["sample", run_dir, "--n", "20", "--labels", "3", "--seed", "1", "--out", grid], capsys
    )
    assert code == 0, err
    with Image.open(grid) as png:
        assert png.size == (5 * 66 + 2, 4 * 66 + 2)

    fresh = tmp_path / "fresh.png"
    code, _, err = run_cli(
        ["sample", "test_class_means", "--untrained", "--n", "10", "--set", "image_shape=[8,8,1]",
         "--out", fresh],
        capsys,
    )
    assert code == 0, err
    with Image.open(fresh) as png:
        assert png.size == (10 * 66 + 2, 66 + 2)

    code, _, err = run_cli(["sample", run_dir, "--labels", "12", "--out", fresh], capsys)
    assert code == 2 and "labels must lie in [0, 9]" in err


# ---------------------------------------------------------------------------- errors


@pytest.fixture
def bad_config(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"model": "ae_conv", "epoch": 3}))
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "ae_cnov", "--out", "{out}"], "Did you mean: ae_conv"),
        (["train", "--out", "{out}"], "No model given"),
        (["train", "ae_conv", "--dataset", "no_such_set", "--out", "{out}"], "Unknown dataset 'no_such_set'"),
        (["train", "ae_conv", "--dataset", "mnist", "--data-dir", "{out}/nowhere", "--out", "{out}"],
         "does not exist"),
        (["train", "ae_conv", "--set", "latent_dim", "--out", "{out}"], "--set expects KEY=VALUE"),
        (["train", "ae_conv", "--set", "latent_dims=3", "--out", "{out}"], "did you mean 'latent_dim'"),
        (["train", "ae_conv", "--set", "latent_dim=-1", "--out", "{out}"],
         "latent_dim must be a positive integer, got -1"),
        (["train", "ae_conv", "--set", "image_shape=[28,28,1]", "--out", "{out}"],
         "image_shape=\\(28, 28, 1\\) was asked for, but scikit-learn's bundled digits holds "
         "\\(8, 8, 1\\) images"),
        (["train", "--config", "{out}/missing.json", "--out", "{out}"], "does not exist"),
        (["train", "--config", "{bad_config}", "--out", "{out}"], "'epoch' \\(did you mean 'epochs'\\?\\)"),
        (["train", "ae_conv", "--epochs", "0", "--out", "{out}"], "expected a positive integer"),
        (["train", "ae_conv", "--strategy", "tpu", "--out", "{out}"], "invalid choice: 'tpu'"),
        (["train", "ae_conv"], "the following arguments are required: --out"),
        (["fit", "ae_conv"], "invalid choice: 'fit'"),
        (["sample", "{out}/no_run", "--out", "{out}/g.png"], "No saved model at"),
        (["sample", "ae_conv", "--out", "{out}/g.png"], "has no generate\\(\\) and cannot sample"),
        (["sample", "ae_conv", "--n", "-3"], "expected a positive integer"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message, tmp_path, bad_config, capsys):
    args = [a.format(out=tmp_path, bad_config=bad_config) for a in args]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert "error:" in err and "Traceback" not in err
    assert re.search(message, err), err
    assert not os.path.exists(tmp_path / "model.keras")


def test_console_script_reports_errors_without_traceback(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "keras-genzoo")
    command = [script] if os.path.isfile(script) else [sys.executable, "-m", "keras_genzoo.cli"]
    result = subprocess.run(
        [*command, "train", "dae_conf", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 2
    assert "keras-genzoo train: error: Unknown model 'dae_conf'. Did you mean: dae_conv" in result.stderr
    assert "Traceback" not in result.stderr


# -------------------------------------------------------- a new family, its presets


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """A family declared by the test alone: a builder, its search table and one preset,
    registered without touching tuning/ or presets/ (every registry restored after)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(search_space, "_FAMILIES", dict(search_space._FAMILIES))
    monkeypatch.setattr(preset_table, "_DECLARED", dict(preset_table._DECLARED))
    monkeypatch.setattr(catalog, "PRESETS_DIR", str(tmp_path / "pretrained"))

    @keras_genzoo.register_model("toy_ae", family="toy")
    def toy_ae(image_shape=(8, 8, 1), width: int = 16, learning_rate: float = 1e-3):
        """A one-layer dense autoencoder of a family declared by a test."""
        return keras_genzoo.create_model("ae_dense", image_shape=image_shape, latent_dim=4,
                                         units=(width,), learning_rate=learning_rate)

    tuning.register_family_search(
        "toy", {"width": tuning.Int(8, 64), **search_space.COMMON},
        [tuning.Objective("val_toy_mse", "reconstruction", "reconstruction error", key="mse")],
    )
    config = tmp_path / "toy_ae_digits.json"
    config.write_text(json.dumps({"model": "toy_ae", "overrides": {"width": 8}, "epochs": 3,
                                  "batch_size": 128, "description": "A toy preset."}))
    presets.register_presets(presets.PresetDeclaration(
        "toy_ae", "digits", str(config), "a toy autoencoder", "digits"))
    return str(config)


def test_a_new_familys_space_and_preset_are_picked_up_and_built(toy_family, tmp_path, capsys):
    hypermodel = tuning.ZooHyperModel("toy_ae", (8, 8, 1))
    assert hypermodel.space.defaults() == {"width": 16, "learning_rate": 1e-3, "batch_size": 64}
    assert (hypermodel.objective.name, hypermodel.objective.direction) == ("val_toy_mse", "min")

    # Declared, not built yet: said so, not skipped in silence.
    code, _, err = run_cli(["presets"], capsys)
    assert code == 1 and "Declared but not built" in err and "toy_ae.digits" in err
    with pytest.raises(presets.PresetError, match="declared but not built.*build-presets toy_ae.digits"):
        keras_genzoo.load("toy_ae.digits")

    out_dirs = ["--presets-dir", tmp_path / "pretrained", "--runs-dir", tmp_path / "runs"]
    code, out, _ = run_cli(["build-presets", "toy_ae.*", "--quick", *out_dirs], capsys)
    assert code == 0 and "Built 1 preset(s)" in out
    assert presets.list_presets() == ["toy_ae.digits"]
    metadata = presets.preset_metadata("toy_ae.digits")
    assert metadata["training"]["command"].startswith(f"keras-genzoo train --config {toy_family} ")
    assert metadata["training"]["epochs"] == 1 and metadata["description"] == "A toy preset."
    model = keras_genzoo.load("toy_ae.digits")
    assert model.zoo_builder.name == "toy_ae" and model.zoo_builder.arguments["width"] == 8

    code, out, _ = run_cli(["presets", "toy*"], capsys)
    assert code == 0 and out.splitlines()[1].split()[:2] == ["toy_ae.digits", "reconstruction.mse"]
    code, out, _ = run_cli(["presets", "--markdown"], capsys)
    lines = out.splitlines()
    assert lines[0].startswith("| preset | data (train / held out) |") and len(lines) == 3
    assert lines[2].startswith("| `toy_ae.digits` | digits (1,438 / 359) | reconstruction.mse |")

    code, _, err = run_cli(["build-presets", "toy_ae.*", *out_dirs], capsys)
    assert code == 2 and "exists; pass overwrite" in err
    code, _, err = run_cli(["build-presets", "nothing*", *out_dirs], capsys)
    assert code == 2 and "No declared preset matches 'nothing*'" in err
    code, _, err = run_cli(["build-presets", "toy_ae.*", "--data-dir", "mnist", *out_dirs], capsys)
    assert code == 2 and "--data-dir takes DATASET=DIR" in err
