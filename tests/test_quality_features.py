"""Region and image evidence: the numbers the calibration learns from."""

import numpy as np
import pytest

from napari_noisyfix.quality.features import (
    FEATURE_INDEX,
    IMAGE_FEATURES,
    REGION_FEATURES,
    ImageStats,
    dice_change,
    image_raw_features,
)
from napari_noisyfix.quality.regions import find_regions
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask

GRID = [(12, 12), (12, 36), (36, 12), (36, 36)]


def test_every_region_carries_one_row_of_evidence():
    truth = disk_mask((48, 48), GRID, [6, 6, 6, 6])
    mask = truth.copy()
    mask[truth > 0] = 0
    mask[disk_mask((48, 48), GRID[:3], [6, 6, 6]) > 0] = 1  # one object left out
    regions = find_regions("a", probs_from_mask(truth), mask, image=truth * 200.0)
    missing = next(r for r in regions if r.kind == "missing")
    assert missing.features.shape == (len(REGION_FEATURES),)
    assert missing.features[FEATURE_INDEX["kind_missing"]] == 1
    assert missing.features[FEATURE_INDEX["dice_change"]] == pytest.approx(
        dice_change(missing, mask)
    )
    # its colour is that of the labelled objects, far from the background's
    assert missing.features[FEATURE_INDEX["colour_to_own"]] < 1.0
    assert missing.features[FEATURE_INDEX["colour_to_background"]] > 3.0
    assert missing.features[FEATURE_INDEX["enclosed"]] == 0.0
    # every pixel it adds looks like the labelled objects: the image votes for the fix
    assert missing.features[FEATURE_INDEX["colour_vote"]] == 1.0


def test_the_image_votes_against_a_fix_that_adds_background_looking_pixels():
    truth = disk_mask((48, 48), GRID, [6, 6, 6, 6])
    # the model sees every object two pixels wider than drawn; the mask is right
    wide = disk_mask((48, 48), GRID, [8, 8, 8, 8])
    regions = find_regions("a", probs_from_mask(wide), truth, image=truth * 200.0)
    grow = [r for r in regions if r.kind == "too_narrow"]
    assert grow
    assert all(r.features[FEATURE_INDEX["colour_vote"]] == 0.0 for r in grow)
    # without an image there is no vote
    plain = find_regions("a", probs_from_mask(wide), truth)
    assert all(r.features[FEATURE_INDEX["colour_vote"]] == 0.5 for r in plain)


def test_dice_change_of_a_missing_object_is_exact():
    truth = disk_mask((48, 48), GRID, [6, 6, 6, 6])
    mask = disk_mask((48, 48), GRID[:3], [6, 6, 6])
    region = next(r for r in find_regions("a", probs_from_mask(truth), mask) if r.kind == "missing")
    a, b = int(mask.sum()), int(region.region.sum())
    assert dice_change(region, mask) == pytest.approx(1 - 2 * a / (2 * a + b))


def test_a_hole_is_enclosed_by_the_mask():
    truth = disk_mask((48, 48), [(24, 24)], [14])
    mask = truth.copy()
    mask[disk_mask((48, 48), [(24, 24)], [5]) > 0] = 0
    hole = next(r for r in find_regions("a", probs_from_mask(truth), mask) if r.scope == "object")
    assert hole.kind == "too_narrow" and hole.features[FEATURE_INDEX["enclosed"]] == 1.0


def test_image_evidence_of_agreeing_and_jittered_outlines():
    truth = disk_mask((64, 64), [(20, 20), (44, 44)], [10, 12])
    same = ImageStats(truth, truth)
    rough = truth.copy()
    rough[::3, :] = np.roll(truth, 2, axis=1)[::3, :]
    moved = ImageStats(rough, truth)
    p_given = np.full(truth.shape, 0.9, np.float32)
    a, b = image_raw_features(0.0, p_given, same), image_raw_features(0.0, p_given, moved)
    assert set(a) <= set(IMAGE_FEATURES)
    assert a["outline_distance"] == 0.0 and a["log_perimeter_ratio"] == 0.0
    assert b["outline_distance"] > 0.3 and b["log_perimeter_ratio"] > 0.1
    assert a["model_dice"] == 1.0 and b["model_dice"] < 1.0
