"""benchmarks/gpu_check.py: its default models cover every registered family and can all
be fed, and a quick run on the CPU measures, reports and writes its section."""

import importlib.util
import math
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from conftest import REPO_ROOT

import keras_genzoo
from keras_genzoo.core.registry import get_entry
from keras_genzoo.data.ratings import RatingsData


@pytest.fixture(scope="module")
def bench():
    path = os.path.join(REPO_ROOT, "benchmarks", "gpu_check.py")
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(os.path.join(REPO_ROOT, "benchmarks"))  # as for a script: its _common
        patch.setitem(sys.modules, "gpu_check", module)  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return module


def test_default_models_cover_every_family_and_each_can_be_fed(bench, monkeypatch):
    families = {get_entry(name).family for name in keras_genzoo.list_models()}
    chosen = bench.default_models()
    assert sorted(get_entry(name).family for name in chosen) == sorted(families)
    for family, name in bench.FAMILY_CHOICES.items():  # a misspelt choice would fall back silently
        assert get_entry(name).family == family
    args = bench.parse_args(["--quick"])
    assert args.models == chosen
    for name in keras_genzoo.list_models():  # --models takes any of them
        assert bench.feed(name) in bench.FEEDS
        config = bench.run_config(name, args, 16)  # RunConfig refuses data the model cannot train on
        assert config.model == name and config.batch_size == 16
    assert {bench.feed(name) for name in keras_genzoo.list_models()} == set(bench.FEEDS)
    assert [bench.generates(name) for name in ("vae_dense", "ddpm", "ae_conv", "pix2pix", "autorec")] == [
        True, True, False, False, False
    ]  # fmt: skip
    monkeypatch.delitem(bench.FAMILY_CHOICES, "gan")
    gans = [name for name in keras_genzoo.list_models() if get_entry(name).family == "gan"]
    assert gans[0] in bench.default_models() and "dcgan" not in bench.default_models()


@pytest.mark.slow
def test_every_kind_of_data_is_read_and_accepted_by_its_model(bench):
    """No training: the run layer builds each default model (and one model of each other
    kind of data) and checks the first batch of the data the script feeds it."""
    args = bench.parse_args(["--quick"])
    names = [*args.models, "cvae_dense", "cyclegan"]
    assert {bench.feed(name) for name in names} == set(bench.FEEDS)
    for name in names:
        model, data = bench.prepare(name, args, 4, tf.distribute.get_strategy())
        if bench.feed(name) == "ratings":
            assert isinstance(data, RatingsData) and data.num_users == args.users, name
        else:
            batch = next(iter(data))
            assert all(part.shape[0] == 4 for part in tf.nest.flatten(batch)), name
            assert isinstance(batch, tuple) == (bench.feed(name) != "images"), name


def test_a_spent_budget_lists_every_configuration_as_skipped(bench):
    trainings, samplings, text = bench.main(
        ["--quick", "--models", "vae_dense", "autorec", "--budget-seconds", "0"]
    )
    assert len(trainings) == 2 * 3 * 2 and [s.model for s in samplings] == ["vae_dense"]
    assert all(job.result == bench.SKIPPED for job in [*trainings, *samplings])
    assert text.count(bench.SKIPPED) == len(trainings) + len(samplings)


def test_quick_run_measures_and_writes_its_section(bench, tmp_path):
    """In a fresh process, as a user runs it: MirroredStrategy's collective ops clash with
    those of a strategy made earlier in the same process (tensorflow#62790)."""
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"# Benchmarks\n\n{bench.MARKER_BEGIN}\nSTALE\n{bench.MARKER_END}\n\n## Next\n")
    script = os.path.join(REPO_ROOT, "benchmarks", "gpu_check.py")
    result = subprocess.run(
        [sys.executable, script, "--quick", "--models", "vae_dense", "autorec", "--precisions", "float32",
         "--xla", "off", "--split-cpu", "2", "--write", str(doc)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    content = doc.read_text()
    assert "STALE" not in content and content.endswith("## Next\n")
    assert content.count(bench.MARKER_BEGIN) == content.count(bench.MARKER_END) == 1
    assert "--write" not in content and "gpu_check.py --quick --models vae_dense autorec" in content
    rows = {
        "| vae_dense | vae | images | one device | float32 | off | 16 |": False,
        "| vae_dense | vae | images | mirrored x2 | float32 | off | 32 |": True,
        "| autorec | ratings | ratings | one device | float32 | off | 16 |": False,
        "| autorec | ratings | ratings | mirrored x2 | float32 | off | 32 |": True,
    }
    lines = content.splitlines()
    for prefix, mirrored in rows.items():
        cells = next(line for line in lines if line.startswith(prefix))[len(prefix):].split("|")
        rate = float(cells[0].strip().replace(",", ""))  # a failure's message would not parse
        assert math.isfinite(rate) and rate > 0, prefix
        assert cells[1].strip().endswith("%") == mirrored, prefix
    sampling = [line for line in lines if line.startswith("| vae_dense | 8 |")]  # images per call
    assert len(sampling) == 1 and float(sampling[0].split("|")[3].replace(",", "")) > 0, sampling
