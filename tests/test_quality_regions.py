"""Planted label errors are found, typed and fixed by their proposals."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.regions import Region, find_regions, model_labels
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask

CENTRES = [(14, 14), (14, 46), (46, 14), (46, 46)]
RADII = [7, 6, 8, 7]


def _truth():
    return disk_mask((64, 64), CENTRES, RADII)


def _dice(a, b):
    a, b = a > 0, b > 0
    return 2 * np.count_nonzero(a & b) / (a.sum() + b.sum())


def _only(regions, kind):
    found = [r for r in regions if r.kind == kind]
    assert found, f"no {kind} region among {[r.kind for r in regions]}"
    return found[0]


def _fixed(given, region):
    truth = _truth()
    after = region.apply(given)
    assert _dice(after, truth) > _dice(given, truth) + 0.02
    return after


def test_dropped_object_is_missing_and_restored():
    truth = _truth()
    given = truth.copy()
    given[disk_mask((64, 64), [CENTRES[0]], [RADII[0]]) > 0] = 0
    regions = find_regions("img", probs_from_mask(truth), given)
    reg = _only(regions, "missing")
    assert reg.id == "img#0" and reg.cls == 1 and reg.kind == "missing"
    r0, c0, r1, c1 = reg.bbox
    assert r0 <= 14 < r1 and c0 <= 14 < c1
    after = _fixed(given, reg)
    assert np.count_nonzero(after != truth) < 10
    assert reg.score > 0.5 and reg.prob_correct > 0.5 and reg.gain > 0.5 * reg.area


def test_added_blob_is_spurious():
    truth = _truth()
    given = truth | disk_mask((64, 64), [(30, 30)], [4])
    reg = _only(find_regions("img", probs_from_mask(truth), given), "spurious")
    assert reg.bbox[0] <= 30 < reg.bbox[2]
    after = _fixed(given, reg)
    assert after[30, 30] == 0


def test_dilated_mask_is_too_wide_and_eroded_too_narrow():
    truth = _truth()
    probs = probs_from_mask(truth)
    wide = ndi.binary_dilation(truth, iterations=3).astype(np.uint8)
    narrow = ndi.binary_erosion(truth, iterations=3).astype(np.uint8)
    kinds_wide = {r.kind for r in find_regions("w", probs, wide)}
    kinds_narrow = {r.kind for r in find_regions("n", probs, narrow)}
    assert kinds_wide == {"too_wide"} and kinds_narrow == {"too_narrow"}
    for given in (wide, narrow):
        fixed = given
        for reg in find_regions("x", probs, given):
            fixed = reg.apply(fixed)
        assert _dice(fixed, truth) > _dice(given, truth) + 0.1


def test_shifted_object():
    truth = _truth()
    given = truth.copy()
    obj = disk_mask((64, 64), [CENTRES[3]], [RADII[3]]) > 0
    given[obj] = 0
    given[np.roll(obj, 4, axis=1)] = 1
    reg = _only(find_regions("s", probs_from_mask(truth), given), "shifted")
    _fixed(given, reg)


def test_clean_mask_has_no_regions():
    truth = _truth()
    assert find_regions("c", probs_from_mask(truth, noise=0.02), truth) == []


def test_regions_sorted_by_gain_and_overridable_min_area():
    truth = _truth()
    given = truth.copy()
    given[disk_mask((64, 64), CENTRES[:2], RADII[:2]) > 0] = 0
    regions = find_regions("g", probs_from_mask(truth), given)
    assert [r.gain for r in regions] == sorted((r.gain for r in regions), reverse=True)
    assert find_regions("g", probs_from_mask(truth), given, min_area=500) == []


def test_thresholds_override_changes_model_labels():
    probs = np.stack([np.full((4, 4), 0.7), np.full((4, 4), 0.3)]).astype(np.float32)
    assert model_labels(probs, np.array([0.5, 0.5])).max() == 0
    assert model_labels(probs, np.array([0.9, 0.2])).min() == 1


def test_multiclass_wrong_class_is_flagged_for_both_classes():
    truth = disk_mask((64, 64), [(20, 20)], [8]) + disk_mask((64, 64), [(44, 44)], [8], cls=2)
    given = truth.copy()
    given[given == 2] = 1
    regions = find_regions("m", probs_from_mask(truth, n_classes=3), given)
    assert {(r.kind, r.cls) for r in regions} >= {("missing", 2), ("spurious", 1)}
    reg = _only(regions, "missing")
    assert np.all(reg.proposal[reg.region] == 2)


def test_image_reason_and_bad_input():
    truth = _truth()
    given = truth | disk_mask((64, 64), [(30, 30)], [4])
    image = truth.astype(np.float32) * 100
    reg = find_regions("r", probs_from_mask(truth), given, image=image)[0]
    assert "intensity" in reg.reason and "sd" in reg.reason
    with pytest.raises(NoisyFixError, match="bad"):
        find_regions("bad", probs_from_mask(truth), given[:10])
    with pytest.raises(NoisyFixError, match="outside"):
        find_regions("bad", probs_from_mask(truth), given * 3)


def test_region_apply_and_row():
    reg = Region(
        id="a#0",
        image="a",
        kind="missing",
        cls=1,
        score=0.9,
        prob_correct=0.8,
        gain=1.6,
        area=2,
        bbox=(1, 1, 2, 3),
        region=np.array([[True, True]]),
        proposal=np.array([[1, 1]], dtype=np.uint8),
    )
    out = reg.apply(np.zeros((4, 4), np.uint8))
    assert out.sum() == 2 and out[1, 1] == 1 and out[1, 2] == 1
    assert reg.to_row()["r1"] == 2 and reg.changed_pixels(np.zeros((4, 4), np.uint8)) == 2
    with pytest.raises(NoisyFixError, match="bbox"):
        reg.apply(np.zeros((1, 1), np.uint8))
    with pytest.raises(NoisyFixError, match="kind"):
        Region(
            "b#0",
            "b",
            "odd",
            1,
            0,
            0,
            0,
            0,
            (0, 0, 1, 1),
            np.ones((1, 1), bool),
            np.ones((1, 1), np.uint8),
        )


def test_one_pixel_slivers_along_an_outline_are_not_flagged():
    truth = _truth()
    probs = probs_from_mask(truth, sigma=0.5)
    obj = disk_mask((64, 64), [CENTRES[2]], [RADII[2]]) > 0
    for grow, flagged in ((1, False), (3, True)):
        given = truth.copy()
        given[ndi.binary_dilation(obj, iterations=grow)] = 1
        kinds = [r.kind for r in find_regions("s", probs, given, min_area=3)]
        assert ("too_wide" in kinds) is flagged, (grow, kinds)


def test_a_reason_says_when_the_image_speaks_against_the_model():
    """A correct mask whose object the model misses: the object's colours fit the mask as
    drawn, and the reason says that the model may be the one that is wrong."""
    truth = disk_mask((64, 64), [(18, 18), (44, 44)], [7, 7])
    seen = disk_mask((64, 64), [(18, 18)], [7])  # the model misses the second object
    image = truth.astype(np.float32) * 100 + 10
    regions = find_regions("r", probs_from_mask(seen), truth, image=image)
    missed = [r for r in regions if r.kind == "spurious" and r.region.sum() > 50]
    assert missed, [(r.kind, r.area) for r in regions]
    assert "fit the mask as drawn better" in missed[0].reason
    assert "the model may be the one that is wrong here" in missed[0].reason
    # and where the colours back the proposal, the reason says that instead
    wide = truth | disk_mask((64, 64), [(44, 44)], [11])
    grown = find_regions("w", probs_from_mask(truth), wide, image=image)
    assert any("fit the proposal better" in r.reason for r in grown)
