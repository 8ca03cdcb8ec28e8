"""Smoke test: benchmarks/input_pipeline.py runs end to end on tiny settings."""

import importlib.util
import os

from conftest import REPO_ROOT


def test_input_pipeline_benchmark_runs_and_writes_its_section(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(REPO_ROOT, "benchmarks"))  # as for a script: its _common
    spec = importlib.util.spec_from_file_location(
        "input_pipeline", os.path.join(REPO_ROOT, "benchmarks", "input_pipeline.py")
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"# Benchmarks\n\n{bench.MARKER_BEGIN}\nSTALE\n{bench.MARKER_END}\n\n## Next\n")
    rows, text = bench.main([
        "--rounds", "1", "--min-images", "100", "--steps", "5", "--models", "ae_dense",
        "--sources", "npz", "PNG folder", "--options", "binarize", "--max-images", "80",
        "--mnist-dir", "", "--markdown", str(doc),
    ])
    assert [(r["source"], r["option"], r["images"]) for r in rows] == [
        ("digits (npz)", "binarize", 64), ("digits (PNG folder)", "binarize", 64)
    ]
    assert all(r["pipeline"] > 0 and r["model"] == "ae_dense" for r in rows)
    assert all(abs(r["ratio"] - r["pipeline"] / r["model_rate"]) < 1e-9 for r in rows)
    content = doc.read_text()
    assert "STALE" not in content and text in content and content.endswith("## Next\n")
    assert "| digits (PNG folder) 8x8x1 | binarize | 64 |" in content
