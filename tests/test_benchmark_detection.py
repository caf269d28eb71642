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
