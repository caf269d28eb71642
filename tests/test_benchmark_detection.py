"""benchmark.detection: pixel AP, image AUROC and issue masks for the tool and for cleanlab."""

import numpy as np
import pytest

from napari_noisyfix.benchmark import detection


def test_detection_scores_perfect_and_inverted():
    errors = np.zeros((4, 8, 8), bool)
    errors[0, :2] = errors[2, 3:5, 3:5] = True
    corrupted = np.array([True, False, True, False])
    good = detection.Scores(errors.astype(float), corrupted.astype(float), errors.copy(), 2.0)
    out = detection.detection_results(
        "noisyfix", good, errors, corrupted, ["drop", "none", "add", "none"]
    )
    assert out["detection.pixel_ap.noisyfix"] == pytest.approx(1.0)
    assert out["detection.image_auroc.noisyfix"] == 1.0
    assert out["detection.image_auroc_by_type.noisyfix.drop"] == 1.0
    assert out["detection.issues_f1.noisyfix"] == 1.0
    assert out["detection.seconds_per_image.noisyfix"] == 0.5
    bad = detection.Scores(1.0 - good.pixel, 1.0 - good.image, ~errors, 0.0)
    out |= detection.detection_results(
        "cleanlab", bad, errors, corrupted, ["drop", "none", "add", "none"]
    )
    assert out["detection.image_auroc.cleanlab"] == 0.0
    assert out["detection.issues_precision.cleanlab"] == 0.0
    assert detection.ratios(out)["detection.pixel_ap_ratio"] > 1.0


def test_cleanlab_peer_flags_the_flipped_pixels():
    labels = np.zeros((2, 16, 16), np.int64)
    labels[0, 4:8, 4:8] = 1  # a label the model disagrees with
    labels[1, 2:6, 2:6] = 1
    p1 = np.zeros((2, 16, 16))
    p1[1, 2:6, 2:6] = 0.97
    p1 += 0.02
    probs = np.stack([1 - p1, p1], axis=1)
    scores = detection.cleanlab_scores(labels, probs)
    assert scores.issues[0, 4:8, 4:8].all() and not scores.issues[1].any()
    assert scores.image[0] > scores.image[1]
    assert scores.pixel[0, 5, 5] == pytest.approx(0.98)
    assert scores.quality == pytest.approx(1.0 - scores.image)  # softmin label quality


def test_image_dice_r_correlates_estimated_and_true_mask_dice():
    truth = np.zeros((3, 8, 8), np.uint8)
    truth[:, 2:6, 2:6] = 1
    given = truth.copy()
    given[1, 2:6, 2:4] = 0  # Dice 2/3
    given[2, 2:6, 2:5] = 0  # Dice 2/5
    zeros = np.zeros((3, 8, 8))
    ours = detection.Scores(zeros, zeros[:, 0, 0], zeros > 0, 0.0, np.array([0.9, 0.6, 0.4]))
    peer = detection.Scores(zeros, zeros[:, 0, 0], zeros > 0, 0.0, np.full(3, 0.5))
    out = detection.image_dice_results(ours, peer, given, truth)
    true = np.array([1.0, 2 / 3, 2 / 5])
    assert out["detection.image_dice_r"] == pytest.approx(np.corrcoef(true, ours.quality)[0, 1])
    assert out["detection.image_dice_r"] > 0.99
    assert np.isnan(out["detection.image_dice_r.cleanlab"])  # a constant estimate


def test_the_tools_estimate_is_est_dice_else_quality():
    assert detection.estimated_dice({"est_dice": 0.8, "quality": 0.3}) == 0.8
    assert detection.estimated_dice({"quality": 0.3, "error_score": 0.7}) == 0.3
