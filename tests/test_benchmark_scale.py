"""benchmarks/scale.py: a tiny project built, scored, queued and opened, and its figures."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"


def _scale():
    spec = importlib.util.spec_from_file_location("scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measure_reports_every_figure_of_a_tiny_project(tmp_path):
    scale = _scale()
    root = tmp_path / "n6"
    scale.build(root, n=6, size=64, train_steps=1)
    figures = scale.measure(root)
    assert set(scale.KEYS) <= set(figures)
    assert all(figures[k] > 0 for k in scale.KEYS)
    assert figures["disk_mb_per_image"] * 6 * 2**20 == scale.folder_bytes(root)
    assert figures["session_regions"] >= figures["queued_regions"] >= 0
    table = scale.flatten({6: figures})
    assert {f"n6.{k}" for k in scale.KEYS} <= set(table)
    json.dumps(table)  # plain numbers only
