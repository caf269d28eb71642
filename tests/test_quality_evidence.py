"""The error probability: class calibration, image evidence, bounds."""

import numpy as np
import pytest

from napari_noisyfix.quality.evidence import (
    calibrated_probs,
    error_probability,
    evidence_mass,
    image_factor,
    pixel_error,
)
from napari_noisyfix.quality.region import Region
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask


def test_calibration_lifts_a_timid_class():
    probs = np.stack([np.full((2, 2), 0.6), np.full((2, 2), 0.4)]).astype(np.float32)
    q = calibrated_probs(probs, np.array([0.9, 0.4]))
    assert q.sum(axis=0) == pytest.approx(np.ones((2, 2)))
    assert q[1, 0, 0] == pytest.approx((0.4 / 0.4) / (0.6 / 0.9 + 0.4 / 0.4))
    labelled_bg = np.zeros((2, 2), np.uint8)
    assert pixel_error(probs, labelled_bg, np.array([0.9, 0.4]))[0, 0] > 0.5
    assert pixel_error(probs, labelled_bg, np.array([0.5, 0.5]))[0, 0] == pytest.approx(0.4)


def _region(kind, area, score):
    return Region(
        f"a#{kind}",
        "a",
        kind,
        1,
        score,
        0.9,
        area * 0.9,
        area,
        (0, 0, 1, area),
        np.ones((1, area), bool),
        np.ones((1, area), np.uint8),
    )


def test_evidence_mass_weighs_objects_double_and_ignores_outliers():
    given = np.zeros((10, 10), np.uint8)
    given[:5, :4] = 1
    model = np.zeros((10, 10), bool)
    assert evidence_mass([_region("too_wide", 10, 0.5)], given, model) == pytest.approx(0.25)
    assert evidence_mass([_region("missing", 10, 0.5)], given, model) == pytest.approx(0.5)
    assert evidence_mass([_region("outlier", 10, 0.5)], given, model) == 0
    assert image_factor(0) == 0 and 0.99 < image_factor(5) < 1


def test_clean_image_scores_low_everywhere_and_errors_high():
    truth = disk_mask((48, 48), [(12, 12), (34, 34)], [6, 7])
    probs = probs_from_mask(truth, noise=0.02)
    thr = np.array([0.9, 0.8], np.float32)
    assert error_probability(probs, truth, thr).max() < 0.1
    given = truth.copy()
    given[truth == 1] = 0
    given[disk_mask((48, 48), [(34, 34)], [7]) > 0] = 1
    score = error_probability(probs, given, thr)
    assert score.min() >= 0 and score.max() <= 1
    assert score[12, 12] > 0.5
