"""The model registry and `keras_genzoo.load`: names, patterns, errors, saved models."""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_genzoo
from keras_genzoo.core import registry
from keras_genzoo.core.variants import Argument, BuilderTable
from keras_genzoo.models.autoencoders import Autoencoder


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry, so models registered by a test vanish afterwards."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return registry._REGISTRY


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A run directory holding a briefly trained ae_dense on real digits."""
    from keras_genzoo.data import load_arrays

    x, _, info = load_arrays("digits", "train")
    model = keras_genzoo.create_model("ae_dense", image_shape=info.image_shape, latent_dim=4)
    model.fit(x[:256], batch_size=64, epochs=1, verbose=0)
    run_dir = tmp_path_factory.mktemp("run")
    model.save(os.path.join(run_dir, "model.keras"))
    return str(run_dir), model, x[:16]


def test_user_builders_load_by_name(scratch_registry):
    @keras_genzoo.register_model("tiny_user_ae", family="mine")
    def tiny_user_ae(*, image_shape=(8, 8, 1), latent_dim: int = 3) -> keras.Model:
        """A user's tiny dense autoencoder."""
        return keras_genzoo.create_model(
            "ae_dense", image_shape=image_shape, latent_dim=latent_dim, units=[8]
        )

    assert "tiny_user_ae" in keras_genzoo.list_models()
    entry = registry.get_entry("tiny_user_ae")
    assert (entry.family, entry.summary) == ("mine", "A user's tiny dense autoencoder.")
    model = keras_genzoo.create_model("tiny_user_ae", latent_dim=5)
    assert isinstance(model, Autoencoder) and model.latent_dim == 5
    loaded = keras_genzoo.load("tiny_user_ae", image_shape=(6, 5, 1))
    assert loaded.image_shape == (6, 5, 1) and loaded.latent_dim == 3


def test_registering_a_taken_name_needs_overwrite(scratch_registry):
    def first() -> keras.Model:
        """First."""

    def second() -> keras.Model:
        """Second."""

    keras_genzoo.register_model("taken")(first)
    keras_genzoo.register_model("taken")(first)  # the same builder again is fine
    with pytest.raises(ValueError, match="already registered.*overwrite=True"):
        keras_genzoo.register_model("taken")(second)
    keras_genzoo.register_model("taken", overwrite=True)(second)
    assert registry.get_entry("taken").summary == "Second."

    def define_again() -> registry.Builder:
        def redefined() -> keras.Model:
            """Defined again, e.g. by re-running a notebook cell."""

        return redefined

    keras_genzoo.register_model("redefined")(define_again())
    keras_genzoo.register_model("redefined")(define_again())
    assert registry.get_entry("redefined").builder.__qualname__.endswith("redefined")
    with pytest.raises(ValueError, match="non-empty strings"):
        keras_genzoo.register_model("  ")
    with pytest.raises(TypeError, match="decorates a callable"):
        keras_genzoo.register_model("not_callable")(42)


def test_a_variant_table_makes_one_keyword_only_builder_per_row(scratch_registry):
    calls = []

    def build(**arguments):
        calls.append(arguments)
        return arguments

    table = BuilderTable(
        "toys",
        [Argument("size", int, 4), Argument("labels", int, 10, only={"conditional": True}),
         Argument("rate", float, 0.1)],
        build, module=__name__, returns=dict,
    )
    plain = table.variant("toy_plain", """A plain toy.\n\n    Longer text.\n    """, conditional=False)
    labelled = table.variant("toy_labelled", "A labelled toy.", conditional=True, defaults={"rate": 0.5})
    assert str(inspect.signature(plain)) == "(*, size: int = 4, rate: float = 0.1) -> dict"
    assert list(registry.builder_parameters("toy_labelled")) == ["size", "labels", "rate"]
    assert registry.builder_parameters("toy_labelled")["rate"].default == 0.5
    assert registry.get_entry("toy_labelled").builder is labelled
    entry = registry.get_entry("toy_plain")
    assert (entry.builder, entry.family, entry.summary) == (plain, "toys", "A plain toy.")
    assert inspect.getdoc(plain) == "A plain toy.\n\nLonger text."
    assert (plain.__name__, plain.__qualname__, plain.__module__) == ("toy_plain", "toy_plain", __name__)
    assert keras_genzoo.create_model("toy_labelled", labels=3) == {
        "conditional": True, "name": "toy_labelled", "size": 4, "labels": 3, "rate": 0.5}
    with pytest.raises(TypeError, match="toy_plain\\(\\) got an unexpected keyword argument 'labels'"):
        plain(labels=3)
    with pytest.raises(TypeError, match="toy_plain\\(\\) takes 0 positional arguments"):
        plain(4)
    with pytest.raises(TypeError, match="Accepted overrides: size, rate"):
        keras_genzoo.create_model("toy_plain", labels=3)
    assert len(calls) == 1
    # The same row again (a reloaded module) re-registers; a bad row fails at import.
    assert table.variant("toy_plain", "Again.", conditional=False) is registry.get_entry("toy_plain").builder
    with pytest.raises(ValueError, match="must set \\['conditional'\\]"):
        table.variant("toy_unset", "No settings.")
    with pytest.raises(ValueError, match="does not take: \\['labels'\\]"):
        table.variant("toy_bad_default", "Bad.", conditional=False, defaults={"labels": 3})
    with pytest.raises(ValueError, match="settings \\['size'\\] are also arguments"):
        table.variant("toy_clash", "Clash.", conditional=False, size=2)
    with pytest.raises(ValueError, match="repeat a name"):
        BuilderTable("toys", [Argument("size", int, 1), Argument("size", int, 2)], build,
                     module=__name__, returns=dict)
    unnamed = BuilderTable("toys", [Argument("size", int, 4)], build, module=__name__, returns=dict,
                           passes_name=False)
    assert unnamed.variant("toy_unnamed", "Unnamed.", kind="a")() == {"kind": "a", "size": 4}


def _built_in_models() -> list[str]:
    """The models the package registers itself, listed by a fresh process (this one
    also holds models that tests registered)."""
    listing = subprocess.run(
        [sys.executable, "-c", "import keras_genzoo; print(*keras_genzoo.list_models())"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return listing.stdout.split()


def test_built_in_builders_are_module_functions_that_pickle_by_reference():
    names = _built_in_models()
    assert {"ae_conv", "vae_conv", "dcgan", "rbm_bernoulli", "pixelcnn"} <= set(names)
    for name in names:
        builder = registry.get_entry(name).builder
        module = importlib.import_module(builder.__module__)
        assert getattr(module, builder.__qualname__) is builder, name
        assert pickle.loads(pickle.dumps(builder)) is builder, name
        params = registry.builder_parameters(name).values()
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), name
        assert builder.__module__ == f"keras_genzoo.models.{registry.get_entry(name).family}.builders"


def test_list_models_patterns_are_sorted():
    names = keras_genzoo.list_models()
    assert names == sorted(names)
    assert {"ae_conv", "ae_dense", "dae_conv", "dae_dense"} <= set(names)
    assert keras_genzoo.list_models("dae_*") == ["dae_conv", "dae_dense"]
    assert keras_genzoo.list_models("*_conv") == sorted(n for n in names if n.endswith("_conv"))
    assert keras_genzoo.list_models("ae_[cd]*") == ["ae_conv", "ae_dense"]
    assert keras_genzoo.list_models("no_such_*") == []


def test_unknown_names_list_close_matches():
    with pytest.raises(keras_genzoo.UnknownModelError, match="Did you mean: ae_conv") as err:
        keras_genzoo.create_model("ae_cnov")
    assert "Registered models:" in str(err.value) and "dae_dense" in str(err.value)
    with pytest.raises(keras_genzoo.UnknownModelError, match="Did you mean: dae_dense"):
        keras_genzoo.load("dae_dens")
    with pytest.raises(keras_genzoo.UnknownModelError) as err:
        keras_genzoo.create_model("zzzzzz")
    assert "Did you mean" not in str(err.value)


def test_bad_overrides_name_the_accepted_ones():
    with pytest.raises(TypeError, match="'latent_dims' \\(did you mean 'latent_dim'\\?\\)") as err:
        keras_genzoo.create_model("ae_conv", latent_dims=8)
    assert "Accepted overrides: image_shape, latent_dim" in str(err.value)
    with pytest.raises(ValueError, match="latent_dim takes an integer, e.g. latent_dim=16; got 'big'"):
        keras_genzoo.create_model("ae_conv", latent_dim="big")
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        keras_genzoo.create_model("ae_conv", latent_dim=0)


def test_load_a_keras_file_and_a_run_directory(saved_run):
    from keras_genzoo.io.checksums import ChecksumError, record_checksum

    run_dir, model, images = saved_run
    expected = model.reconstruct(images)
    model_file = os.path.join(run_dir, "model.keras")
    from_file = keras_genzoo.load(model_file)
    # A folder loads only with the SHA-256 keras-genzoo records for it.
    with pytest.raises(ChecksumError, match="cannot be verified"):
        keras_genzoo.load(run_dir)
    record_checksum(run_dir, model_file)
    from_dir = keras_genzoo.load(run_dir)
    for loaded in (from_file, from_dir):
        assert isinstance(loaded, Autoencoder)
        np.testing.assert_allclose(loaded.reconstruct(images), expected, atol=1e-6)
        assert int(loaded.optimizer.iterations.numpy()) == 4


def test_load_explains_bad_paths(saved_run, tmp_path):
    run_dir, _, _ = saved_run
    with pytest.raises(FileNotFoundError, match="No saved model at"):
        keras_genzoo.load(str(tmp_path / "missing" / "model.keras"))
    with pytest.raises(FileNotFoundError, match="holds neither 'model.keras'"):
        keras_genzoo.load(str(tmp_path))
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="not a `.keras` archive"):
        keras_genzoo.load(str(text))
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="not a valid `.keras` archive"):
        keras_genzoo.load(str(broken))
    with pytest.raises(ValueError, match="apply to registry names"):
        keras_genzoo.load(run_dir, latent_dim=3)
    with pytest.raises(ValueError, match="No preset 'imagenet' for 'ae_conv'"):
        keras_genzoo.load("ae_conv", pretrained="imagenet")
