"""Metrics of napari_noisyfix.evaluate against hand-computed values, including empty masks."""

import numpy as np
import pytest

from napari_noisyfix import evaluate as ev
from napari_noisyfix.errors import NoisyFixError

# truth: 4 foreground pixels; pred: 3 of them plus 2 wrong ones -> tp 3, fp 2, fn 1, tn 10
TRUTH = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], np.uint8)
PRED = np.array([[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], np.uint8)


def test_confusion_counts_by_hand():
    assert ev.confusion(PRED, TRUTH, 1) == (3, 2, 1, 10)
    assert ev.confusion(PRED, TRUTH, 0) == (10, 1, 2, 3)


def test_metrics_match_hand_computed_values():
    assert ev.dice(PRED, TRUTH) == pytest.approx(6 / 9)
    assert ev.iou(PRED, TRUTH) == pytest.approx(3 / 6)
    assert ev.precision(PRED, TRUTH) == pytest.approx(3 / 5)
    assert ev.recall(PRED, TRUTH) == pytest.approx(3 / 4)
    assert ev.f1(PRED, TRUTH) == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert ev.f1(PRED, TRUTH) == pytest.approx(ev.dice(PRED, TRUTH))
    assert ev.accuracy(PRED, TRUTH) == pytest.approx(13 / 16)


def test_both_empty_is_perfect():
    empty = np.zeros((5, 5), np.uint8)
    values = ev.class_metrics(*ev.confusion(empty, empty, 1))
    assert values == dict.fromkeys(ev.METRICS, 1.0)


def test_prediction_on_empty_truth_scores_zero():
    empty = np.zeros((4, 4), np.uint8)
    values = ev.class_metrics(*ev.confusion(PRED, empty, 1))
    for metric in ("dice", "iou", "f1", "precision", "recall"):
        assert values[metric] == 0.0, metric
    assert values["accuracy"] == pytest.approx(11 / 16)


def test_empty_prediction_on_nonempty_truth_scores_zero():
    empty = np.zeros((4, 4), np.uint8)
    values = ev.class_metrics(*ev.confusion(empty, TRUTH, 1))
    for metric in ("dice", "iou", "f1", "precision", "recall"):
        assert values[metric] == 0.0, metric
    assert values["accuracy"] == pytest.approx(12 / 16)


def test_image_metrics_average_foreground_classes_and_name_them():
    truth = np.array([[0, 1, 2, 2]], np.uint8)
    pred = np.array([[0, 1, 1, 2]], np.uint8)
    out = ev.image_metrics(pred, truth, 3, ["bg", "a", "b"])
    assert out["dice/a"] == pytest.approx(2 / 3)
    assert out["dice/b"] == pytest.approx(2 / 3)
    assert out["dice"] == pytest.approx(2 / 3)
    assert out["precision/a"] == pytest.approx(0.5)
    assert out["recall/b"] == pytest.approx(0.5)
    assert out["accuracy"] == pytest.approx(0.75)
    assert "dice/bg" not in out


def test_image_metrics_absent_class_counts_as_perfect_when_not_predicted():
    truth = np.array([[0, 1, 1, 0]], np.uint8)
    out = ev.image_metrics(truth, truth, 3)
    assert out["dice/class2"] == 1.0 and out["dice"] == 1.0


def test_summarize_mean_and_sd():
    rows = [{"dice": 0.5, "image": "a"}, {"dice": 1.0, "image": "b"}, {"dice": 0.0}]
    s = ev.summarize(rows)
    assert set(s) == {"dice"}
    assert s["dice"]["mean"] == pytest.approx(0.5)
    assert s["dice"]["sd"] == pytest.approx(np.std([0.5, 1.0, 0.0]))
    assert s["dice"]["n"] == 3
    assert "dice 0.500 ± 0.408" in ev.format_summary(s)


def test_shape_mismatch_raises():
    with pytest.raises(NoisyFixError, match="shape"):
        ev.dice(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(NoisyFixError, match="2 classes"):
        ev.image_metrics(TRUTH, TRUTH, 1)
