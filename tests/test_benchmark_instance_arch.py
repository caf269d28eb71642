"""benchmarks/instance_arch.py: the object F1 behind its U-Net / Mask R-CNN figures (the benchmark's
own, :mod:`napari_noisyfix.benchmark.instance_metrics`)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def instance_arch(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))  # it reuses instance_finder.py's helpers
    spec = importlib.util.spec_from_file_location("instance_arch", SCRIPTS / "instance_arch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_object_f1_counts_one_to_one_matches_above_half_iou(instance_arch):
    truth = np.zeros((20, 20), np.int64)
    truth[2:8, 2:8], truth[12:18, 12:18] = 5, 9  # ids need not be 1..n
    pred = np.zeros_like(truth)
    pred[2:8, 2:7] = 1  # IoU 30/36 with object 5: a match
    pred[12:18, 12:14] = 2  # IoU 12/36 with object 9: no match
    pred[0:2, 15:20] = 3  # nothing there
    assert instance_arch.object_f1(pred, truth) == pytest.approx(2 * 1 / (3 + 2))
    assert instance_arch.object_f1(truth, truth) == 1.0
    assert instance_arch.object_f1(np.zeros_like(truth), truth) == 0.0
