"""The refinement benchmark script on a tiny folder with given probabilities (no training)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "refine_benchmark.py"
YY, XX = np.mgrid[:32, :32]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("refine_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def folder(tmp_path):
    for sub in ("images", "masks", "probs"):
        (tmp_path / sub).mkdir()
    for k, centre in enumerate([(12, 12), (18, 20)]):
        disk = np.hypot(YY - centre[0], XX - centre[1]) < 7
        Image.fromarray((60 + 150 * disk).astype(np.uint8)).save(tmp_path / f"images/im{k}.png")
        Image.fromarray((255 * disk).astype(np.uint8)).save(tmp_path / f"masks/im{k}.png")
        grown = np.hypot(YY - centre[0], XX - centre[1]) < 9
        p = np.where(grown, 0.8, 0.2)
        np.save(tmp_path / f"probs/im{k}.npy", np.stack([1 - p, p]).astype(np.float32))
    return tmp_path


def test_benchmark_prints_dice_before_and_after_each_tool(bench, folder, capsys):
    argv = [str(folder), "--probs", str(folder / "probs"), "--tools", "opening,snap_edges"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("|")}
    before = float(rows["none (model proposals)"].split("|")[2])
    after = float(rows["snap_edges"].split("|")[2])
    assert 0.6 < before < 0.8 and after > 0.95
    assert rows["opening"].split("|")[4].strip() == "0 / 0"
    assert "2 images" in out


def test_table_counts_improved_and_worse_images(bench):
    rows = {"t": {"scores": {"a": 0.9, "b": 0.4}, "ms": 12.0}}
    text = bench.table({"a": 0.5, "b": 0.5}, rows, 0.7)
    assert "| t | 0.6500 | +0.1500 | 1 / 1 | 12.0 |" in text
    assert "| (noisy labels given to the model) | 0.7000 |" in text
