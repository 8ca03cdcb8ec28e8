"""What a new user sees: a quiet import, one `--verbose`, messages that say what to fix,
`sample` refusing an untrained model, `save_images`, captioned reconstructions, the
`evaluate` verdict and git-ignored output folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from conftest import PACKAGE_PARENT, REPO_ROOT
from PIL import Image

import keras_genzoo
from keras_genzoo import cli
from keras_genzoo.cli.main import build_parser, counted_verbose_flags
from keras_genzoo.core.notices import ZooWarning
from keras_genzoo.core.quiet import verbosity_from_arguments

CAPTION_HEIGHT = 16


def run_cli(args: list, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    """A one-epoch `keras-genzoo train ae_dense` run on the digits."""
    out = tmp_path_factory.mktemp("ae_dense_digits")
    assert cli.main(["train", "ae_dense", "--epochs", "1", "--batch-size", "256",
                     "--set", "latent_dim=8", "--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------ quiet Python


PYTHON_USER = textwrap.dedent("""
    import keras_genzoo
    from keras_genzoo.data import load_dataset
    from keras_genzoo.models.rbm.likelihood import ais_log_partition

    data, info = load_dataset("digits", batch_size=64, binarize=True)
    model = keras_genzoo.create_model("vae_dense", image_shape=info.image_shape, seed=0)
    model.fit(data, epochs=1, verbose=1)
    rbm = keras_genzoo.create_model("rbm_bernoulli", image_shape=info.image_shape,
                                    hidden_units=16, seed=0)
    rbm.fit(data, epochs=1, verbose=0)
    ais_log_partition(rbm.rbm, num_chains=10, num_betas=50)
    print("batches", int(data.cardinality()))
""")


def test_a_python_user_sees_no_tensorflow_lines_no_fit_warnings_and_true_step_counts(tmp_path):
    """Import, `fit` on a `load_dataset` pipeline and the RBM's float64 AIS write nothing
    to stderr (no start-up lines, no "shuffle=True ... ignored", no DT_DOUBLE lines), and
    the progress bar counts the 23 batches the epoch really has (not 32/23)."""
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    for name in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_GENZOO_VERBOSE"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-c", PYTHON_USER], capture_output=True,
                            text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == "", result.stderr[-3000:]
    batches = int(result.stdout.split("batches")[-1])
    assert batches == 23
    assert f"{batches}/{batches}" in result.stdout
    assert f"32/{batches}" not in result.stdout


# -------------------------------------------------------------------- --verbose


@pytest.mark.parametrize(
    "argv, level",
    [
        (["list"], 0),
        (["list", "-v"], 1),
        (["train", "ae_dense", "-vv", "--out", "r"], 2),
        (["train", "ae_dense", "--verbose", "-v", "--out", "r"], 2),
        (["tune", "vae_conv", "--verbose", "2"], 2),
        (["sample", "dcgan.digits", "--verbose=1"], 1),
        (["evaluate", "dcgan.digits", "--verbose"], 1),
    ],
)
def test_verbose_is_one_counted_flag_on_every_command(argv, level):
    """`-v`/`--verbose` repeats on every command; `--verbose N` still means N; the level
    the package starts TensorFlow with is the level the command runs at."""
    args = build_parser().parse_args(counted_verbose_flags(argv))
    assert args.verbose == level
    assert verbosity_from_arguments(argv) == level


def test_the_quiet_command_line_keeps_our_warnings_and_hides_library_ones(capsys):
    with warnings.catch_warnings():
        assert cli.main(["list", "vae*"]) == 0
        warnings.warn("a library's deprecation notice", UserWarning, stacklevel=1)
        warnings.warn("Skipped 2 of 40 image files", ZooWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert "keras-genzoo: warning: Skipped 2 of 40 image files" in err
    assert "deprecation notice" not in err
    with warnings.catch_warnings():
        assert cli.main(["list", "vae*", "-v"]) == 0
        warnings.warn("a library's deprecation notice", UserWarning, stacklevel=1)
    assert "deprecation notice" in capsys.readouterr().err


def test_version(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"keras-genzoo {keras_genzoo.__version__}"


# ------------------------------------------------------------ sample refuses a name


def test_sample_refuses_a_bare_model_name_unless_untrained_is_asked_for(tmp_path, capsys):
    grid = tmp_path / "grid.png"
    code, _, err = run_cli(["sample", "vae_conv", "--out", grid], capsys)
    assert code == 2
    assert "'vae_conv' names a model, not trained weights" in err
    assert "vae_conv.mnist_t10k" in err and "--untrained" in err
    assert not grid.exists()
    code, _, err = run_cli(["sample", "vae_conv", "--untrained", "--n", "4", "--out", grid], capsys)
    assert code == 0, err
    assert grid.is_file()
    assert "untrained model with random weights" in " ".join(keras_genzoo.load.__doc__.split())


# ------------------------------------------------------------ messages that say the fix


def test_a_wrongly_typed_set_names_the_argument_type_and_an_example(tmp_path, capsys):
    code, _, err = run_cli(
        ["train", "vae_conv", "--set", "latent_dim=eight", "--out", tmp_path / "r"], capsys
    )
    assert code == 2
    assert "latent_dim takes an integer, e.g. latent_dim=16; got 'eight'" in err
    assert "--set latent_dim=16" in err
    assert "invalid literal" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"beta": "two"}, "vae_conv(): beta takes a number, e.g. beta=1.0; got 'two' (a str)"),
        ({"filters": 32}, "filters takes a list of integers, e.g. filters=[32, 64]; got 32"),
        ({"latent_dim": 2.5}, "latent_dim takes an integer, e.g. latent_dim=16; got 2.5"),
    ],
)
def test_create_model_with_a_wrongly_typed_argument_says_what_it_takes(overrides, message):
    with pytest.raises(TypeError) as err:
        keras_genzoo.create_model("vae_conv", **overrides)
    assert isinstance(err.value, ValueError)  # callers catching bad values see it too
    assert message in str(err.value)


def test_resume_of_a_run_that_never_existed_says_how_to_start_one(tmp_path, capsys):
    code, _, err = run_cli(["train", "--resume", "--out", tmp_path / "never"], capsys)
    assert code == 2
    assert "--resume: there is no run in" in err and "to continue" in err
    assert "keras-genzoo train MODEL --out" in err
    assert "No model given" not in err


def test_an_optimizer_argument_typo_gets_did_you_mean(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({
        "model": "ae_dense", "optimizer": {"class_name": "Adam", "config": {"beta1": 0.5}},
    }))
    code, _, err = run_cli(["train", "--config", config, "--out", tmp_path / "r"], capsys)
    assert code == 2
    assert "optimizer 'Adam' has no argument 'beta1' (did you mean 'beta_1'?)" in err


def test_missing_mnist_files_point_the_command_line_user_at_data_dir(tmp_path, capsys, monkeypatch):
    from tensorflow_datasets.core import constants

    monkeypatch.setattr(constants, "DATA_DIR", str(tmp_path / "tfds"))  # nothing prepared
    monkeypatch.chdir(tmp_path)  # not the source tree: the preset's data folder is not here
    code, _, err = run_cli(["evaluate", "vae_conv.mnist_t10k"], capsys)
    assert code == 2
    assert "--data-dir" in err and "download=True" not in err
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model": "ae_dense", "dataset": {"name": "mnist", "download": False}}))
    code, _, err = run_cli(["train", "--config", config, "--out", tmp_path / "r"], capsys)
    assert code == 2
    assert "(on the command line: --data-dir DIR)" in err
    assert 'the dataset option "download": true' in err


# ------------------------------------------------------------------- images


def test_save_images_writes_a_grid_png_in_the_images_range(tmp_path):
    images = np.full((8, 8, 8, 1), -1.0, np.float32)
    images[1] = 1.0
    path = keras_genzoo.save_images(images, str(tmp_path / "grid.png"), columns=4)
    assert path == str(tmp_path / "grid.png")
    with Image.open(path) as png:
        assert png.size == (4 * 66 + 2, 2 * 66 + 2)  # 8x8 tiles drawn 8x larger, 2 px apart
        pixels = np.asarray(png)
    assert pixels[2:66, 2:66].max() == 0  # -1 is black in the inferred (-1, 1) range
    assert pixels[2:66, 68:132].min() == 255
    assert not [name for name in os.listdir(tmp_path) if name != "grid.png"]  # atomic write


def test_reconstructions_have_a_caption_under_each_panel(ae_run):
    with Image.open(ae_run / "reconstructions.png") as png:
        pixels = np.asarray(png)
    width = (pixels.shape[1] - 12) // 2
    for panel in (pixels[:, :width], pixels[:, -width:]):
        caption = panel[-CAPTION_HEIGHT:]
        assert caption.min() < 100, "the caption strip holds dark text"
        assert caption.mean() > 200, "on a white strip"
    left, right = pixels[-CAPTION_HEIGHT:, :width], pixels[-CAPTION_HEIGHT:, -width:]
    assert (left < 100).sum() < (right < 100).sum()  # "input" is shorter than "reconstruction"


# -------------------------------------------------------------------- evaluate


def test_evaluate_prints_a_verdict_and_fails_when_a_metric_does_not_reproduce(ae_run, capsys):
    code, out, err = run_cli(["evaluate", ae_run], capsys)
    assert code == 0, err
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("Reproduced: all ") and "recorded metrics agree within" in verdict
    metrics_file = ae_run / "metrics.json"
    original = metrics_file.read_text()
    metrics = json.loads(original)
    metrics["reconstruction"]["mse"] *= 1.5
    metrics_file.write_text(json.dumps(metrics))
    try:
        code, out, _ = run_cli(["evaluate", ae_run], capsys)
    finally:
        metrics_file.write_text(original)
    assert code == 1
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("Not reproduced: 1 of ") and verdict.endswith(": reconstruction.mse.")


# ------------------------------------------------------------ git-ignored outputs


def test_the_default_output_folders_are_git_ignored():
    """What the commands write by default and the README's examples write are ignored."""
    ignored = open(os.path.join(REPO_ROOT, ".gitignore"), encoding="utf-8").read().splitlines()
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    defaults = {
        commands["tune"].get_default("directory"),
        commands["build-presets"].get_default("runs_dir").split(os.sep)[0],
        commands["sample"].get_default("out"),
        "runs", "my_presets",  # the README's --out runs/... and --preset-out my_presets/...
    }
    for default in defaults:
        assert f"/{default}/" in ignored or f"/{default}" in ignored, default
