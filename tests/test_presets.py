"""Presets: save_preset / load, checksum refusal, bad directories, tags, URL archives and
their cache, safe extraction, fine-tuning, shape-changing overrides, the CLI, and the
presets shipped with the package."""

from __future__ import annotations

import errno
import functools
import hashlib
import http.server
import importlib
import io
import json
import os
import re
import shutil
import tarfile
import threading
import zipfile

import keras
import numpy as np
import pytest

import keras_genzoo
from keras_genzoo import cli, presets
from keras_genzoo import training as runs
from keras_genzoo.core import preset_table
from keras_genzoo.data import load_arrays, load_dataset
from keras_genzoo.io.checksums import ChecksumError, sha256_file
from keras_genzoo.presets import catalog, store

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CONFIG = {
    "model": "vae_dense", "overrides": {"latent_dim": 4, "units": [32], "seed": 0},
    "epochs": 2, "batch_size": 128, "learning_rate": 0.01, "seed": 3,
    "optimizer": {"class_name": "Adam", "config": {"beta_1": 0.8}},
    "metrics": {"iw_nll": {"num_samples": 5, "num_images": 100}},
}


def _weights(model):
    return [np.asarray(w) for w in model.weights]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-epoch dense VAE on the digits: `keras-genzoo train --config ... --preset-out`."""
    root = tmp_path_factory.mktemp("tiny")
    config = root / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    args = ["train", "--config", str(config), "--out", str(root / "run"),
            "--preset-out", str(root / "preset")]
    assert cli.main(args) == 0
    with open(root / "run" / "metrics.json") as f:
        run = json.load(f)
    return {
        "run": run, "model": keras_genzoo.load(str(root / "run")), "dir": str(root / "preset"),
        "metadata": presets.preset_metadata(str(root / "preset")), "config": str(config),
        "command": "keras-genzoo " + " ".join(args), "root": root,
    }


@pytest.fixture
def preset_copy(tiny, tmp_path):
    target = tmp_path / "preset"
    shutil.copytree(tiny["dir"], target)
    return target


@pytest.fixture
def shipped_tiny(tiny, tmp_path, monkeypatch):
    """The tiny preset declared and shipped as vae_dense.digits_tiny (the package's
    presets hidden)."""
    root = tmp_path / "pretrained"
    shutil.copytree(tiny["dir"], root / "vae_dense" / "digits_tiny")
    monkeypatch.setattr(catalog, "PRESETS_DIR", str(root))
    monkeypatch.setattr(preset_table, "_DECLARED", {})
    presets.register_presets(presets.PresetDeclaration(
        "vae_dense", "digits_tiny", tiny["config"], "a 2-epoch dense VAE", "digits"))
    return root / "vae_dense" / "digits_tiny"


# ----------------------------------------------------------------- save and load


def test_save_preset_writes_config_weights_and_full_metadata(tiny):
    directory, metadata = tiny["dir"], tiny["metadata"]
    assert sorted(os.listdir(directory)) == [
        "checksums.json", "config.json", "metadata.json", "model.weights.h5"
    ]
    with open(os.path.join(directory, "metadata.json")) as f:
        assert json.load(f) == metadata
    weights = os.path.join(directory, "model.weights.h5")
    assert metadata["weights"] == {
        "file": "model.weights.h5", "sha256": sha256_file(weights), "bytes": os.path.getsize(weights)
    }
    assert metadata["config"] == {
        "file": "config.json", "sha256": sha256_file(os.path.join(directory, "config.json"))
    }
    with open(os.path.join(directory, "checksums.json")) as f:
        assert json.load(f) == {"metadata.json": sha256_file(os.path.join(directory, "metadata.json"))}
    model = tiny["model"]
    # 64-32-8 encoder (mean and log-variance), 4-32-64 decoder, the discretised logistic's
    # learned scale (one channel)
    assert metadata["parameters"] == (
        (64 * 32 + 32) + (32 * 8 + 8) + (4 * 32 + 32) + (32 * 64 + 64) + 1
    )
    assert metadata["parameters"] == sum(int(np.prod(w.shape)) for w in model.weights)
    assert (metadata["model"], metadata["family"]) == ("vae_dense", "vae")
    assert metadata["license"]["weights"] == "Apache-2.0" and "scikit-learn" in metadata["license"]["data"]
    assert set(metadata["versions"]) == {"keras_genzoo", "keras", "tensorflow", "numpy", "python"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", metadata["created"])
    dataset = metadata["dataset"]
    assert (dataset["train"]["num_examples"], dataset["test"]["num_examples"]) == (1438, 359)
    assert "holdout_fraction=0.2" in dataset["test"]["source"]
    assert re.fullmatch(r"[0-9a-f]{64}", dataset["held_out_sha256"])
    assert metadata["training"]["config"]["optimizer"] == TINY_CONFIG["optimizer"]
    assert metadata["training"]["command"] == tiny["command"]
    assert metadata["training"]["zoo_config"] == tiny["config"]
    assert metadata["metrics"]["scores"]["iw_nll"] == tiny["run"]["scores"]["iw_nll"]
    assert metadata["headline"] == "scores.iw_nll"
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    assert config["model"] == "vae_dense" and config["builder_arguments"]["latent_dim"] == 4


def test_load_a_preset_directory_gives_the_same_model_and_recipe(tiny):
    loaded = keras_genzoo.load(tiny["dir"])
    for a, b in zip(_weights(tiny["model"]), _weights(loaded), strict=True):
        np.testing.assert_array_equal(a, b)
    x, _, _ = load_arrays("digits", "test")
    np.testing.assert_allclose(loaded.reconstruct(x[:20]), tiny["model"].reconstruct(x[:20]), atol=1e-6)
    # the recipe's optimizer (Adam, beta_1 0.8, learning rate 0.01) is ready for fine-tuning
    assert loaded.optimizer.get_config()["beta_1"] == pytest.approx(0.8)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.01)
    # seeded evaluation recomputes the recorded metrics
    recomputed = runs.evaluate_run(tiny["dir"])
    assert recomputed["scores"]["iw_nll"] == pytest.approx(tiny["run"]["scores"]["iw_nll"], rel=1e-5)
    recorded = tiny["run"]["reconstruction"]["mse"]
    assert recomputed["reconstruction"]["mse"] == pytest.approx(recorded, rel=1e-5)
    # the preset keeps the seed state the run evaluated with: the ELBO terms agree too
    assert recomputed["evaluation"] == pytest.approx(tiny["run"]["evaluation"], rel=1e-5)


def test_fine_tuning_continues_from_the_preset(tiny):
    train_ds, _ = load_dataset("digits", batch_size=128, seed=0)
    test_ds, _ = load_dataset("digits", "test", batch_size=128, shuffle=False)
    model = keras_genzoo.load(tiny["dir"])
    fresh = keras_genzoo.create_model("vae_dense", image_shape=(8, 8, 1), latent_dim=4, units=[32],
                                      num_levels=17)  # the preset's likelihood: the digits' levels
    start = model.evaluate(test_ds, verbose=0, return_dict=True)["loss"]
    untrained = fresh.evaluate(test_ds, verbose=0, return_dict=True)["loss"]
    assert start < 0.9 * untrained, "the preset's weights should already be trained"
    before = _weights(model)
    model.fit(train_ds, epochs=1, verbose=0)
    after = model.evaluate(test_ds, verbose=0, return_dict=True)["loss"]
    assert any(not np.array_equal(a, b) for a, b in zip(before, _weights(model)))
    assert after < start, (start, after)


def test_shape_changing_overrides_fail_or_load_the_compatible_layers(tiny):
    with pytest.raises(presets.PresetError) as info:
        keras_genzoo.load(tiny["dir"], latent_dim=3)
    message = str(info.value)
    assert "decoder/layers/dense (variable 0): preset (4, 32), model (3, 32)" in message
    assert "preset (32, 8), model (32, 6)" in message and "skip_mismatch=True" in message
    with pytest.warns(UserWarning, match=r"Loaded every compatible layer.*preset \(4, 32\), model \(3, 32\)"):
        partial = keras_genzoo.load(tiny["dir"], latent_dim=3, skip_mismatch=True)
    trained = {w.path: np.asarray(w) for w in tiny["model"].weights}
    loaded = {w.path: np.asarray(w) for w in partial.weights}
    same = [p for p in loaded if p in trained and loaded[p].shape == trained[p].shape
            and np.array_equal(loaded[p], trained[p])]
    assert len(same) == 5  # hidden layers' kernels and biases, the likelihood's scale
    # overrides that keep the shapes are fine
    assert keras_genzoo.load(tiny["dir"], beta=2.0).beta == 2.0


def test_create_model_remembers_its_builder_for_save_preset(tmp_path):
    model = keras_genzoo.create_model("ae_dense", image_shape=(8, 8, 1), latent_dim=3, units=[16])
    metadata = keras_genzoo.save_preset(model, str(tmp_path / "p"))
    assert "dataset" not in metadata and metadata["headline"] is None
    loaded = keras_genzoo.load(str(tmp_path / "p"))
    assert loaded.latent_dim == 3
    with pytest.raises(presets.PresetError, match="exists and is not empty"):
        keras_genzoo.save_preset(model, str(tmp_path / "p"))
    bad = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(presets.PresetError, match="registered name and builder arguments"):
        keras_genzoo.save_preset(bad, str(tmp_path / "q"))
    model.weights[0].assign(np.full(model.weights[0].shape, np.nan))
    with pytest.raises(presets.PresetError, match="non-finite weights"):
        keras_genzoo.save_preset(model, str(tmp_path / "nan"))
    assert not os.path.exists(tmp_path / "nan")
    assert [e for e in os.listdir(tmp_path) if e.startswith(".partial")] == []


def test_a_gan_whose_auto_augmentation_became_adaptive_saves_a_preset_that_loads(tmp_path):
    """"auto" settled on the adaptive policy adds the variable p; the preset records the
    settled policy, so its weights (p included) load into the model its config builds."""
    model = keras_genzoo.create_model(
        "dcgan", image_shape=(16, 16, 3), latent_dim=4, generator_filters=[4],
        discriminator_filters=[4], ema_decay=None,
    )
    model.adapt_to_training_set(100)
    model.augment_probability.probability.assign(0.25)
    keras_genzoo.save_preset(model, str(tmp_path / "p"))
    with open(tmp_path / "p" / "config.json", encoding="utf-8") as f:
        assert json.load(f)["builder_arguments"]["augment"] == "adaptive:color,translation"
    loaded = keras_genzoo.load(str(tmp_path / "p"))
    assert float(loaded.augment_probability.probability.numpy()) == 0.25


# ---------------------------------------------------------------- bad presets


@pytest.mark.parametrize("damage", ["tampered", "truncated", "swapped"])
def test_weights_with_another_hash_are_refused_before_anything_loads(
    damage, preset_copy, tiny, monkeypatch, tmp_path
):
    weights = preset_copy / "model.weights.h5"
    expected = tiny["metadata"]["weights"]["sha256"]
    data = bytearray(weights.read_bytes())
    if damage == "tampered":
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncated":
        weights.write_bytes(bytes(data[: len(data) // 2]))
    else:  # the weights of another model under the same name
        other = keras_genzoo.create_model("vae_dense", image_shape=(8, 8, 1), latent_dim=4, units=[32])
        store.save_weights(other, str(tmp_path / "other.weights.h5"))
        shutil.copy(tmp_path / "other.weights.h5", weights)
    found = sha256_file(str(weights))
    built = []
    monkeypatch.setattr(store, "create_model", lambda *a, **k: built.append(a))
    with pytest.raises(ChecksumError) as info:
        keras_genzoo.load(str(preset_copy))
    message = str(info.value)
    assert expected in message and found in message and str(weights) in message
    assert built == [], "no model may be built from unverified weights"


def test_broken_preset_directories_say_what_is_wrong(preset_copy):
    (preset_copy / "metadata.json").write_text("{ not json")
    with pytest.raises(presets.PresetError, match="metadata.json.*does not parse as JSON"):
        keras_genzoo.load(str(preset_copy))
    (preset_copy / "metadata.json").unlink()
    with pytest.raises(FileNotFoundError, match="holds neither 'model.keras' .* nor 'metadata.json'"):
        keras_genzoo.load(str(preset_copy))
    with pytest.raises(presets.PresetError, match=r"has no 'metadata.json'"):
        presets.load_preset_dir(str(preset_copy))


def test_missing_config_or_weights_file_is_named(preset_copy):
    (preset_copy / "config.json").unlink()
    with pytest.raises(presets.PresetError, match=r"has no 'config.json' \(the model config\)"):
        keras_genzoo.load(str(preset_copy))


def test_missing_weights_file_is_named(preset_copy):
    (preset_copy / "model.weights.h5").unlink()
    with pytest.raises(presets.PresetError, match="has no weights file 'model.weights.h5'"):
        keras_genzoo.load(str(preset_copy))


def test_presets_build_models_only_through_the_registry(preset_copy):
    """No code or serialised object comes from a preset: the model name must be registered."""
    config = json.loads((preset_copy / "config.json").read_text())
    config["model"] = "keras.layers.Lambda"
    (preset_copy / "config.json").write_text(json.dumps(config))
    presets.seal_preset(str(preset_copy))
    with pytest.raises(keras_genzoo.UnknownModelError, match="Unknown model 'keras.layers.Lambda'"):
        keras_genzoo.load(str(preset_copy))


def _whole_preset(directory) -> list[np.ndarray] | None:
    """The weights of the preset in `directory` if it is whole (readable, verified)."""
    try:
        return _weights(presets.load_preset_dir(str(directory)))
    except (OSError, ValueError):
        return None


def _same(a, b) -> bool:
    return a is not None and b is not None and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_overwriting_a_preset_keeps_a_whole_preset_at_every_step(tmp_path, monkeypatch):
    """save_preset(overwrite=True) writes the new preset beside the old one and swaps them
    with renames: the folder is copied before every rename (where a crash could stop it),
    and each copy holds the old or the new preset whole; a failing swap restores the old."""
    make = functools.partial(
        keras_genzoo.create_model, "ae_dense", image_shape=(8, 8, 1), latent_dim=3, units=[16]
    )
    old_model, new_model = make(), make()
    new_model.weights[0].assign(np.asarray(new_model.weights[0]) + 1.0)
    parent = tmp_path / "presets"
    directory = parent / "p"
    keras_genzoo.save_preset(old_model, str(directory))
    old, new = _weights(old_model), _weights(new_model)
    snapshots, real_replace = [], os.replace

    def snapshot_then_replace(source, target, *args, **kwargs):
        if os.path.dirname(os.path.abspath(target)) == str(parent):
            copy = tmp_path / f"state{len(snapshots)}"
            shutil.copytree(parent, copy)
            snapshots.append(copy)
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", snapshot_then_replace)
    keras_genzoo.save_preset(new_model, str(directory), overwrite=True)
    monkeypatch.undo()
    assert snapshots, "the new preset must be renamed into place"
    for state in [*snapshots, parent]:
        names = [n for n in os.listdir(state) if n == "p" or n.startswith(".replaced-")]
        found = [_whole_preset(state / name) for name in names]
        assert any(_same(w, old) or _same(w, new) for w in found), (state, os.listdir(state))
    assert _same(_whole_preset(directory), new)
    assert os.listdir(parent) == ["p"], "no staging or replaced folder is left behind"

    def failing_swap(source, target, *args, **kwargs):
        if os.path.basename(source).startswith(".partial-") and str(target) == str(directory):
            raise OSError(errno.EIO, "Input/output error", target)
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_swap)
    with pytest.raises(OSError, match="Input/output error"):
        keras_genzoo.save_preset(old_model, str(directory), overwrite=True)
    monkeypatch.undo()
    assert _same(_whole_preset(directory), new), "a failed overwrite keeps the previous preset"
    assert os.listdir(parent) == ["p"]


def test_a_preset_records_its_data_folder_by_name_and_evaluate_asks_for_it(tmp_path, monkeypatch, capsys):
    """A preset trained with a relative data_dir keeps no path to the data: the folder's
    name (and the held-out images' SHA-256) identify it, `evaluate` asks for the folder,
    and given it from anywhere, recomputes the recorded metrics."""
    build = tmp_path / "build"
    data = build / "data" / "mnist_files"
    data.mkdir(parents=True)
    x, y, _ = load_arrays("digits", "all")
    np.savez(data / "mnist.npz", x=(x[..., 0] * 255).astype(np.uint8), y=y)
    config = build / "tiny.json"
    config.write_text(json.dumps({**TINY_CONFIG, "dataset": "mnist", "epochs": 1}))
    monkeypatch.chdir(build)
    args = ["train", "--config", "tiny.json", "--out", "run", "--preset-out", "preset",
            "--data-dir", os.path.join("data", "mnist_files")]
    assert cli.main(args) == 0
    capsys.readouterr()
    text = (build / "preset" / "metadata.json").read_text()
    metadata = json.loads(text)
    assert os.path.join("data", "mnist_files") not in text and str(build) not in text
    dataset = metadata["dataset"]
    assert dataset["data_folder"] == "mnist_files" and "data_dir" not in dataset["options"]
    assert "data_dir" not in metadata["training"]["config"]["dataset"]
    assert dataset["test"]["source"].startswith("npz archive mnist_files/mnist.npz: test split")
    assert metadata["training"]["command"].endswith("--data-dir mnist_files")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(build / "preset", elsewhere / "preset")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(presets.PresetError) as info:
        runs.evaluate_run("preset")
    assert "folder named 'mnist_files'" in str(info.value) and dataset["held_out_sha256"] in str(info.value)
    assert "data_dir= (--data-dir" in str(info.value)
    assert cli.main(["evaluate", "preset"]) == 2
    assert "Pass that folder with data_dir= (--data-dir" in capsys.readouterr().err
    recomputed = runs.evaluate_run("preset", data_dir=str(data))
    assert recomputed["scores"]["iw_nll"] == pytest.approx(metadata["metrics"]["scores"]["iw_nll"], rel=1e-5)
    # an older preset that recorded the path itself asks the same way once the path is gone
    legacy = json.loads(text)
    legacy["training"]["config"]["dataset"]["data_dir"] = os.path.join("data", "mnist_files")
    del legacy["dataset"]["data_folder"]
    with pytest.raises(presets.PresetError, match="folder named 'mnist_files'"):
        presets.preset_run_config(legacy)


# ------------------------------------------------------------- names and tags


def test_shipped_presets_load_by_tag_or_dotted_name_and_are_listed(shipped_tiny, tiny, capsys):
    assert keras_genzoo.list_presets() == ["vae_dense.digits_tiny"]
    assert keras_genzoo.list_models(pretrained=True) == ["vae_dense.digits_tiny"]
    assert keras_genzoo.list_presets("ae*") == []
    by_tag = keras_genzoo.load("vae_dense", pretrained="digits_tiny")
    dotted = keras_genzoo.load("vae_dense.digits_tiny")
    for a, b, c in zip(_weights(tiny["model"]), _weights(by_tag), _weights(dotted), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    typo = "No preset 'digits_tiyn' for 'vae_dense'. Did you mean: digits_tiny"
    with pytest.raises(presets.PresetError, match=typo):
        keras_genzoo.load("vae_dense", pretrained="digits_tiyn")
    none = "Available tags: none for this model. All presets: vae_dense.digits_tiny"
    with pytest.raises(presets.PresetError, match=none):
        keras_genzoo.load("vae_conv.mnist")
    with pytest.raises(keras_genzoo.UnknownModelError, match="Did you mean: vae_dense"):
        keras_genzoo.load("vae_dnse", pretrained="digits_tiny")

    assert cli.main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "METRIC", "VALUE", "SIZE"]
    name, metric, value = lines[1].split()[:3]
    assert (name, metric) == ("vae_dense.digits_tiny", "scores.iw_nll")
    assert float(value) == pytest.approx(tiny["run"]["scores"]["iw_nll"], rel=1e-3)
    grid = str(shipped_tiny.parent / "s.png")
    assert cli.main(["sample", "vae_dense.digits_tiny", "--n", "4", "--out", grid]) == 0
    assert cli.main(["sample", "vae_dense.digits_tyni", "--out", str(shipped_tiny.parent / "s.png")]) == 2
    assert "Did you mean: digits_tiny" in capsys.readouterr().err


def test_cli_evaluate_recomputes_a_preset_and_refuses_clobbering_one(tiny, capsys):
    assert cli.main(["evaluate", tiny["dir"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["METRIC", "RECORDED", "RECOMPUTED", "REL.", "DIFF"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    recorded, recomputed, _ = rows["scores.iw_nll"]
    assert float(recomputed) == pytest.approx(float(recorded), rel=1e-4)
    assert {"evaluation.loss", "reconstruction.mse", "reconstruction.ratio_to_mean_image"} <= set(rows)
    root = tiny["root"]
    code = cli.main(["train", "--config", tiny["config"], "--out", str(root / "r2"),
                     "--preset-out", tiny["dir"]])
    assert code == 2 and "exists and is not empty" in capsys.readouterr().err
    assert not os.path.exists(root / "r2")
    assert cli.main(["evaluate", str(root / "nothing")]) == 2
    assert "names no preset" in capsys.readouterr().err


# ------------------------------------------------------------------- URL archives


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]
    truncate: set[str] = set()

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.requests.append(self.path)
        if self.path.lstrip("/") in self.truncate:  # promise the whole file, send half, hang up
            data = open(os.path.join(self.directory, self.path.lstrip("/")), "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 (a free port) serving tmp_path/www; stopped afterwards."""
    www = tmp_path / "www"
    www.mkdir()
    handler_class = type("H", (_Handler,), {"requests": [], "truncate": set()})
    handler = functools.partial(handler_class, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.www = www
    httpd.requests = handler.func.requests
    httpd.truncate = handler.func.truncate
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(presets.CACHE_ENV, str(folder))
    return folder


def _tar_gz(source_dir: str, path, arcname: str = "vae_dense_digits_tiny") -> str:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source_dir, arcname=arcname)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_url_preset_downloads_once_then_loads_offline_from_the_cache(tiny, server, cache):
    digest = _tar_gz(tiny["dir"], server.www / "tiny.tar.gz")
    url = f"{server.url}/tiny.tar.gz"
    first = keras_genzoo.load(url, file_hash=digest)
    assert server.requests == ["/tiny.tar.gz"]
    for a, b in zip(_weights(tiny["model"]), _weights(first), strict=True):
        np.testing.assert_array_equal(a, b)
    second = keras_genzoo.load(url, file_hash=digest)
    assert server.requests == ["/tiny.tar.gz"], "the second load must come from the cache"
    server.shutdown()
    server.server_close()
    offline = keras_genzoo.load(url, file_hash=digest)  # nothing listens on the port any more
    for a, b in zip(_weights(second), _weights(offline), strict=True):
        np.testing.assert_array_equal(a, b)
    entries = os.listdir(cache / "presets")
    assert len(entries) == 1 and not entries[0].startswith(".partial")
    # the weights of the cache entry are verified on every load
    weights = cache / "presets" / entries[0] / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="Checksum mismatch"):
        keras_genzoo.load(url, file_hash=digest)


def test_partial_or_wrong_downloads_never_become_cache_entries(tiny, server, cache):
    digest = _tar_gz(tiny["dir"], server.www / "tiny.tar.gz")
    url = f"{server.url}/tiny.tar.gz"
    server.truncate.add("tiny.tar.gz")
    with pytest.raises(presets.PresetError, match="Could not download the preset archive"):
        keras_genzoo.load(url)
    assert os.listdir(cache / "archives") == [] and os.listdir(cache / "presets") == []
    server.truncate.clear()
    with pytest.raises(presets.PresetError, match="hash does not match"):
        keras_genzoo.load(url, file_hash="0" * 64)
    assert os.listdir(cache / "archives") == [] and os.listdir(cache / "presets") == []
    assert keras_genzoo.load(url, file_hash=digest).latent_dim == 4
    with pytest.raises(presets.PresetError, match="plain http"):
        keras_genzoo.load("http://example.com/tiny.tar.gz")
    with pytest.raises(presets.PresetError, match="must name an archive"):
        keras_genzoo.load(f"{server.url}/tiny.h5")


def test_a_url_archive_that_changed_is_loaded_for_its_new_hash(tiny, server, cache, tmp_path):
    """The cache entry is named by the archive's content: a new archive at the same URL,
    asked for by its own file_hash, gives the new preset, not the cached old one."""
    first = _tar_gz(tiny["dir"], server.www / "tiny.tar.gz")
    url = f"{server.url}/tiny.tar.gz"
    assert _same(_weights(keras_genzoo.load(url, file_hash=first)), _weights(tiny["model"]))
    other = keras_genzoo.create_model("vae_dense", image_shape=(8, 8, 1), latent_dim=4, units=[32])
    keras_genzoo.save_preset(other, str(tmp_path / "other"))
    second = _tar_gz(str(tmp_path / "other"), server.www / "tiny.tar.gz")
    assert second != first
    loaded = keras_genzoo.load(url, file_hash=second)
    assert _same(_weights(loaded), _weights(other)), "the archive's new content must be loaded"
    assert server.requests == ["/tiny.tar.gz", "/tiny.tar.gz"]
    assert sorted(os.listdir(cache / "presets")) == sorted([first, second])


def test_a_local_archive_loads_like_its_url_with_the_same_checks(tiny, cache, tmp_path):
    tarball = tmp_path / "tiny.tar.gz"
    digest = _tar_gz(tiny["dir"], tarball)
    with zipfile.ZipFile(tmp_path / "tiny.zip", "w") as zf:
        for name in os.listdir(tiny["dir"]):
            zf.write(os.path.join(tiny["dir"], name), f"tiny/{name}")
    expected = _weights(tiny["model"])
    assert _same(_weights(keras_genzoo.load(str(tarball), file_hash=digest)), expected)
    assert _same(_weights(keras_genzoo.load(str(tmp_path / "tiny.zip"))), expected)
    assert presets.preset_metadata(str(tarball))["metrics"] == tiny["metadata"]["metrics"]
    assert sorted(os.listdir(cache / "presets")) == sorted([digest, sha256_file(str(tmp_path / "tiny.zip"))])
    with pytest.raises(ChecksumError, match=f"expected sha256 {'0' * 64}, got {digest}"):
        keras_genzoo.load(str(tarball), file_hash="0" * 64)
    evil = tmp_path / "evil.tar.gz"
    _evil_tar(evil, "parent")
    with pytest.raises(presets.PresetError, match="Refusing to unpack"):
        keras_genzoo.load(str(evil))
    assert evil.exists(), "a local archive is never deleted"
    assert len(os.listdir(cache / "presets")) == 2 and not (cache / "escaped.txt").exists()
    with pytest.raises(presets.PresetError, match="No preset archive at"):
        keras_genzoo.load(str(tmp_path / "missing.zip"))
    with pytest.raises(presets.PresetError, match="file_hash is the SHA-256 of a preset archive"):
        keras_genzoo.load(tiny["dir"], file_hash=digest)
    with pytest.raises(presets.PresetError, match="file_hash is the SHA-256 of a preset archive"):
        presets.load_preset("vae_dense", "digits", file_hash=digest)


def _evil_tar(path, kind: str) -> None:
    with tarfile.open(path, "w:gz") as tar:
        if kind == "symlink":
            info = tarfile.TarInfo("preset/model.weights.h5")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
            return
        if kind == "hardlink":
            info = tarfile.TarInfo("preset/model.weights.h5")
            info.type, info.linkname = tarfile.LNKTYPE, "preset/metadata.json"
            tar.addfile(info)
            return
        name = {"parent": "../escaped.txt", "nested": "preset/../../escaped.txt",
                "absolute": "/tmp/escaped_preset.txt"}[kind]
        data = b"not yours"
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("kind", ["parent", "nested", "absolute", "symlink", "hardlink"])
def test_archive_members_escaping_the_folder_or_links_are_refused(kind, tmp_path):
    archive = tmp_path / "evil.tar.gz"
    _evil_tar(archive, kind)
    target = tmp_path / "a" / "target"
    target.mkdir(parents=True)
    with pytest.raises(presets.PresetError, match="Refusing to unpack"):
        presets.safe_extract(str(archive), str(target))
    assert os.listdir(target) == [] and not (tmp_path / "a" / "escaped.txt").exists()
    assert not os.path.exists("/tmp/escaped_preset.txt")


def test_zip_members_escaping_the_folder_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escaped.txt", "not yours")
    with pytest.raises(presets.PresetError, match="outside the preset folder"):
        presets.safe_extract(str(archive), str(tmp_path / "target"))
    assert not (tmp_path / "escaped.txt").exists()


def test_a_malicious_url_archive_leaves_no_cache_entry(server, cache):
    _evil_tar(server.www / "evil.tar.gz", "parent")
    with pytest.raises(presets.PresetError, match="Refusing to unpack"):
        keras_genzoo.load(f"{server.url}/evil.tar.gz")
    assert os.listdir(cache / "archives") == [] and os.listdir(cache / "presets") == []
    assert not (cache / "escaped.txt").exists() and not (cache / "presets" / "escaped.txt").exists()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(presets.CACHE_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert presets.cache_dir() == str(tmp_path / "kh" / "keras_genzoo")
    monkeypatch.setenv(presets.CACHE_ENV, str(tmp_path / "mine"))
    assert presets.cache_dir() == str(tmp_path / "mine")


# -------------------------------------------------------------- shipped presets

SHIPPED = presets.list_presets()
REQUIRED_PRESETS = {
    "ae_conv.digits", "dae_conv.digits", "vae_conv.mnist_t10k", "cvae_conv.digits",
    "dcgan.digits", "cgan.digits", "wgan_gp.digits", "rbm_bernoulli.digits",
    "pixelcnn_conditional.digits", "stylegan.digits", "ddpm.mnist_t10k", "ddpm_conditional.digits",
    "super_resolution.digits", "srgan.digits", "pix2pix.digits", "unet_translator.digits",
    "autorec.synthetic", "rbm_cf.synthetic", "multvae.synthetic", "cyclegan.mnist_t10k_digits",
    "pixelrnn.mnist_t10k",
}
# Every recorded number (evaluation.*, reconstruction.*, scores.*) is recomputed from the
# same weights, data and seeds (test steps draw stateless noise), so it agrees up to float32
# summation order (~1e-6 relative over thousands of images). 1e-5 stays above that and
# below the smallest real change seen: a new importance-sampling stream moved an iw_nll by
# 9e-5 relative.
RECORDED_REL, RECORDED_ABS = 1e-5, 1e-9


def test_every_family_ships_a_preset_with_complete_metadata():
    assert REQUIRED_PRESETS <= set(SHIPPED)
    total = 0
    for name in SHIPPED:
        model, tag = name.split(".")
        directory = catalog.shipped_preset(model, tag)
        config, metadata = presets.read_preset(directory)
        weights = os.path.join(directory, metadata["weights"]["file"])
        assert sha256_file(weights) == metadata["weights"]["sha256"], name
        assert os.path.getsize(weights) == metadata["weights"]["bytes"], name
        total += metadata["weights"]["bytes"]
        training = metadata["training"]
        with open(os.path.join(REPO_ROOT, training["zoo_config"])) as f:
            recipe = runs.RunConfig.from_dict(json.load(f)).to_dict()
        assert {k: v for k, v in training["config"].items() if k != "dataset"} == {
            k: v for k, v in recipe.items() if k != "dataset"
        }, name
        assert training["command"].startswith(f"keras-genzoo train --config {training['zoo_config']}")
        assert metadata["dataset"]["name"] == recipe["dataset"]["name"]
        assert ("mnist" in metadata["dataset"]["name"]) == tag.startswith("mnist_t10k"), name
        assert metadata["license"]["weights"] == "Apache-2.0"
        read = [recipe["dataset"]["name"], recipe["dataset"].get("unpaired")]
        for dataset in filter(None, read):  # the licence of every dataset it trained on
            assert store.DATA_LICENSES[dataset] in metadata["license"]["data"], (name, dataset)
        assert metadata["headline"] and presets.headline_value(metadata) is not None
        assert config["model"] == model and metadata["parameters"] > 0
    # 40.0 MB measured; the two diffusion U-Nets (5.2 and 5.7 MB) and AutoRec (4.0 MB, one
    # weight per item and hidden unit) are the largest.
    assert total < 42_000_000, f"shipped weights total {total} bytes"


def test_each_family_declares_its_presets_beside_it_and_every_one_is_built():
    assert presets.missing_presets() == [] and presets.undeclared_presets() == []
    assert list(presets.declared_presets()) == SHIPPED
    models_dir = os.path.join(REPO_ROOT, "keras_genzoo", "models")
    declared_in_folders = []
    for folder in sorted(os.listdir(models_dir)):
        if not os.path.isfile(os.path.join(models_dir, folder, "presets.py")):
            continue
        for declaration in importlib.import_module(f"keras_genzoo.models.{folder}.presets").PRESETS:
            declared_in_folders.append(declaration.name)
            builder = keras_genzoo.core.registry.get_entry(declaration.model).builder
            assert builder.__module__.startswith(f"keras_genzoo.models.{folder}."), declaration
            recipe = runs.load_run_config(os.path.join(REPO_ROOT, declaration.zoo_config))
            assert (recipe.model, recipe.dataset.name) == (declaration.model, declaration.data)
            training = presets.preset_metadata(declaration.name)["training"]
            assert training["zoo_config"] == declaration.zoo_config
            assert presets.preset_summary(declaration.name)["description"] == declaration.description
    assert sorted(declared_in_folders) == SHIPPED


def test_the_build_plan_reproduces_each_recorded_command():
    """`build_presets` trains what each digits preset's metadata says trained it."""
    builds = runs.plan_builds("*.digits", presets_dir="pretrained",
                              source_dir=REPO_ROOT, overwrite=True)
    assert [b.declaration.name for b in builds] == [n for n in SHIPPED if n.endswith(".digits")]
    for build in builds:
        metadata = presets.preset_metadata(build.declaration.name)
        assert build.command == metadata["training"]["command"]
        assert build.config.to_dict() == metadata["training"]["config"]
    with pytest.raises(runs.RunError, match="No declared preset matches 'nothing.*'"):
        runs.plan_builds("nothing.*")


def _compare(recorded: dict, recomputed: dict) -> None:
    flat_old, flat_new = presets.flat_metrics(recorded), presets.flat_metrics(recomputed)
    assert set(flat_new) == set(flat_old)
    for key, value in flat_new.items():
        assert value == pytest.approx(flat_old[key], rel=RECORDED_REL, abs=RECORDED_ABS), key


def _shipped_needs_mnist(name: str) -> bool:
    return presets.preset_metadata(name)["dataset"]["name"] == "mnist"


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.split(".")[0] in ("ae_conv", "dae_conv")])
def test_shipped_autoencoder_presets_reproduce_their_metrics(name):
    _compare(runs.recorded_metrics(name), runs.evaluate_run(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_preset_reproduces_its_recorded_metrics(name, request):
    data_dir = request.getfixturevalue("mnist_dir") if _shipped_needs_mnist(name) else None
    _compare(runs.recorded_metrics(name), runs.evaluate_run(name, data_dir=data_dir))


# ------------------------------------------------- every preset file is verified


def _shipped_copy(tmp_path, name="ae_conv/digits"):
    target = tmp_path / "preset"
    shutil.copytree(os.path.join(catalog.PRESETS_DIR, name), target)
    return target


def _edit_one_byte(path, pattern: bytes, replacement: bytes) -> None:
    """Replace the first match of `pattern` (one byte changes; the JSON stays valid)."""
    data = path.read_bytes()
    edited = re.sub(pattern, replacement, data, count=1)
    assert edited != data and len(edited) == len(data)
    assert sum(a != b for a, b in zip(data, edited)) == 1
    path.write_bytes(edited)
    json.loads(edited)  # still a JSON object: only the checksum can tell


@pytest.mark.parametrize("name, file, pattern, replacement", [
    ("ae_conv/digits", "config.json", rb'("latent_dim": 1)6', rb"\g<1>7"),
    ("pixelcnn_conditional/digits", "config.json", rb'"likelihood": "c', rb'"likelihood": "C'),
    ("ae_conv/digits", "metadata.json", rb'("value_range": \[\s*)0', rb"\g<1>1"),
    ("ae_conv/digits", "metadata.json", rb'("bytes": )3', rb"\g<1>4"),
])
def test_an_edited_config_or_metadata_of_a_shipped_preset_is_refused(
    tmp_path, name, file, pattern, replacement
):
    """One byte changed in config.json (builder arguments) or metadata.json of a copied
    shipped preset is refused by load, preset_metadata and load_preset_dir, naming the file."""
    preset = _shipped_copy(tmp_path, name)
    _edit_one_byte(preset / file, pattern, replacement)
    for load in (keras_genzoo.load, presets.preset_metadata, presets.load_preset_dir):
        with pytest.raises(ChecksumError, match=re.escape(str(preset / file))) as info:
            load(str(preset))
        assert "changed after it was saved" in str(info.value)


def test_an_unedited_shipped_preset_copy_loads_and_a_missing_checksum_is_refused(tmp_path):
    preset = _shipped_copy(tmp_path)
    loaded = keras_genzoo.load(str(preset))
    shipped = keras_genzoo.load("ae_conv.digits")
    for a, b in zip(_weights(loaded), _weights(shipped), strict=True):
        np.testing.assert_array_equal(a, b)
    for name in presets.list_presets():
        model, tag = name.split(".")
        _, metadata = presets.read_preset(catalog.shipped_preset(model, tag))  # every one verifies
        # a recommender keeps the ratings it predicts from beside its weights
        extra = [metadata["known_ratings"]["file"]] if "known_ratings" in metadata else []
        assert sorted(os.listdir(catalog.shipped_preset(model, tag))) == sorted([
            "checksums.json", "config.json", "metadata.json", "model.weights.h5", *extra
        ]), name
    (preset / "checksums.json").unlink()
    with pytest.raises(presets.PresetError, match="records no SHA-256 of its metadata.json"):
        keras_genzoo.load(str(preset))
    metadata = json.loads((preset / "metadata.json").read_text())
    del metadata["config"]
    store.write_json(metadata, str(preset / "metadata.json"))
    store.record_checksum(str(preset), str(preset / "metadata.json"))
    with pytest.raises(presets.PresetError, match="or of its config.json"):
        keras_genzoo.load(str(preset))
    presets.seal_preset(str(preset))  # the way out for a preset saved without the records
    for a, b in zip(_weights(keras_genzoo.load(str(preset))), _weights(shipped), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_edited_config_in_a_preset_archive_is_refused(tmp_path, cache):
    """A local archive is checked like a directory: its edited config.json never becomes
    a cache entry."""
    preset = _shipped_copy(tmp_path)
    _edit_one_byte(preset / "config.json", rb'("latent_dim": 1)6', rb"\g<1>7")
    archive = tmp_path / "edited.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(preset, arcname="preset")
    with pytest.raises(ChecksumError, match=r"preset[/\\]config\.json"):
        keras_genzoo.load(str(archive))
    assert os.listdir(cache / "presets") == []
