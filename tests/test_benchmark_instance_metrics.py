"""benchmark.instance_metrics: AJI and object F1 on hand-made id images."""

import numpy as np
import pytest
from instance_samples import merged_ids, split_ids, truth_ids

from napari_noisyfix.benchmark.instance_metrics import aji, mean_over, object_f1, overlaps


def _squares() -> np.ndarray:
    """Two separate 2x2 objects (ids 3 and 9) and a 2x4 object (id 5) on a 6x8 image."""
    ids = np.zeros((6, 8), np.uint16)
    ids[0:2, 0:2] = 3
    ids[0:2, 4:6] = 9
    ids[4:6, 0:4] = 5
    return ids


def test_a_perfect_match_scores_one_whatever_the_ids():
    truth = _squares()
    renumbered = np.select([truth == 3, truth == 9, truth == 5], [40, 2, 7], 0)
    assert aji(renumbered, truth) == 1.0 and object_f1(renumbered, truth) == 1.0


def test_one_merge():
    truth = _squares()
    merged = truth.copy()
    merged[merged == 9] = 3  # the two 2x2 objects drawn as one (8 px, no bridge)
    # both true squares pair with the merged object: C = 4 + 4 + 8, U = 8 + 8 + 8
    assert aji(merged, truth) == pytest.approx(16 / 24)
    # IoU of each square with the merged object is 0.5, not above: only the 2x4 object matches
    assert object_f1(merged, truth) == pytest.approx(2 * 1 / (2 + 3))


def test_one_split():
    truth = _squares()
    split = truth.copy()
    split[4:6, 2:4] = 8  # the 2x4 object drawn as two 2x2 halves
    # the 2x4 object pairs with one half (C 4, U 8); the other half adds 4 to U
    assert aji(split, truth) == pytest.approx((4 + 4 + 4) / (4 + 4 + 8 + 4))
    assert object_f1(split, truth) == pytest.approx(2 * 2 / (4 + 3))


def test_missing_and_spurious_objects():
    truth = _squares()
    missing = np.where(truth == 9, 0, truth)
    assert aji(missing, truth) == pytest.approx(12 / 16)  # the missed square adds 4 to U
    assert object_f1(missing, truth) == pytest.approx(2 * 2 / (2 + 3))
    spurious = truth.copy()
    spurious[3, 6:8] = 11
    assert aji(spurious, truth) == pytest.approx(16 / 18)
    assert object_f1(spurious, truth) == pytest.approx(2 * 3 / (4 + 3))


def test_empty_cases():
    empty = np.zeros((6, 8), np.uint16)
    assert aji(empty, empty) == 1.0 and object_f1(empty, empty) == 1.0
    assert aji(_squares(), empty) == 0.0 and object_f1(_squares(), empty) == 0.0
    assert aji(empty, _squares()) == 0.0 and object_f1(empty, _squares()) == 0.0


def test_overlaps_and_the_mean_over_images():
    truth = truth_ids()
    inter, a_pred, a_true = overlaps(merged_ids(), truth)
    assert inter.shape == (5, 6) and a_pred.sum() == a_true.sum() == np.count_nonzero(truth)
    assert inter[4, 4] == a_true[4] and inter[4, 5] == a_true[5]  # object 5 holds both
    given = {"a": truth, "b": merged_ids(), "c": split_ids()}
    truths = dict.fromkeys(given, truth)
    expected = np.mean([1.0, object_f1(given["b"], truth), object_f1(given["c"], truth)])
    assert mean_over(object_f1, given, truths) == pytest.approx(expected)
    assert 0.0 < mean_over(aji, given, truths) < 1.0
