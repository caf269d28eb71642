"""Image-level scores: softmin quality and the error score from region evidence."""

import numpy as np
import pytest

from napari_noisyfix.quality.image_score import image_error_score, softmin_quality
from napari_noisyfix.quality.regions import find_regions
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask


def test_softmin_follows_the_worst_pixels():
    p = np.full((8, 8), 0.99)
    assert softmin_quality(p) == pytest.approx(0.99)
    p[0, :4] = 0.01
    assert softmin_quality(p) < 0.5 < p.mean()


def test_corrupted_image_scores_above_clean_one():
    truth = disk_mask((48, 48), [(12, 12), (12, 36), (36, 12), (36, 36)], [6, 5, 6, 5])
    probs = probs_from_mask(truth, noise=0.02)
    dropped = truth.copy()
    dropped[disk_mask((48, 48), [(12, 12), (36, 36)], [6, 5]) > 0] = 0
    scores = {}
    for name, given in (("clean", truth), ("dropped", dropped)):
        regions = find_regions(name, probs, given)
        scores[name] = image_error_score(regions, given, probs.argmax(0) > 0)
    assert scores["clean"] < 0.05 and scores["dropped"] > 0.5


def _object_region(kind, area, score, scope="object"):
    from napari_noisyfix.quality.region import Region

    side = int(np.ceil(np.sqrt(area)))
    region = np.zeros((side, side), bool)
    region.flat[:area] = True
    return Region(
        "x#0", "x", kind, 1, score, score, area * score, area, (0, 0, side, side),
        region, np.zeros((side, side), np.uint8), scope=scope,
    )  # fmt: skip


def test_error_score_is_a_noisy_or_of_object_sized_evidence():
    mask = disk_mask((64, 64), [(16, 16), (16, 48), (48, 16), (48, 48)], [5, 5, 5, 5])
    unit = np.count_nonzero(mask) / 4  # the median object area
    whole = _object_region("spurious", int(unit), 0.9)
    assert image_error_score([whole], mask, mask) == pytest.approx(0.81, abs=0.01)
    two = image_error_score([whole, _object_region("missing", int(unit), 0.9)], mask, mask)
    assert two == pytest.approx(1 - 0.19**2, abs=0.01)
    fragment = image_error_score([_object_region("spurious", int(unit) // 10, 0.9)], mask, mask)
    assert fragment < 0.1
    assert image_error_score([_object_region("too_wide", 500, 0.99)], mask, mask) == 0.0
    systematic = _object_region("too_wide", 500, 0.7, scope="image")
    assert image_error_score([systematic], mask, mask) == pytest.approx(0.7)
    # an empty given mask takes the model's objects as the unit
    assert image_error_score([whole], np.zeros_like(mask), mask) == pytest.approx(0.81, abs=0.01)
