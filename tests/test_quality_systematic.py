"""Whole-mask errors: a mask dilated, eroded or misaligned as a whole is found as one image-scope
region whose proposal restores the truth, and its pixels and image score rise with it."""

import re

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.evidence import error_probability
from napari_noisyfix.quality.image_score import image_error_score
from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.region import Region
from napari_noisyfix.quality.regions import find_regions
from napari_noisyfix.quality.storage import regions_arrays, regions_from_arrays
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask
from napari_noisyfix.quality.systematic import fit_systematic, separation_lines

SHAPE = (96, 96)
CENTRES = [(16, 18), (20, 60), (48, 34), (70, 74), (78, 20), (50, 80)]
RADII = [7, 6, 8, 7, 6, 5]
THRESHOLDS = np.array([0.9, 0.9], np.float32)


def _truth(cls=1):
    return disk_mask(SHAPE, CENTRES, RADII, cls=cls)


def _dice(a, b):
    a, b = a > 0, b > 0
    return 2 * np.count_nonzero(a & b) / (a.sum() + b.sum())


def _whole(regions):
    found = [r for r in regions if r.scope == "image"]
    assert len(found) == 1, [(r.kind, r.scope) for r in regions]
    return found[0]


@pytest.mark.parametrize(
    ("given", "kind", "word"),
    [
        (lambda t: ndi.distance_transform_edt(t == 0) <= 3, "too_wide", "erode"),
        (lambda t: ndi.distance_transform_edt(t > 0) > 3, "too_narrow", "dilate"),
    ],
)
def test_dilated_or_eroded_mask_is_one_region_that_restores_it(given, kind, word):
    truth = _truth()
    mask = given(truth).astype(np.uint8)
    regions = find_regions("img", probs_from_mask(truth), mask, thresholds=THRESHOLDS)
    whole = _whole(regions)
    assert whole.kind == kind and whole.label == f"whole mask drawn {kind.replace('_', ' ')}"
    radius = float(re.search(rf"{word} by ([0-9.]+) px", whole.reason).group(1))
    assert abs(radius - 3.0) <= 0.5 and whole.score > 0.9
    assert whole.bbox[2] - whole.bbox[0] > 60 and whole.bbox[3] - whole.bbox[1] > 60
    # the per-object outline regions it explains are merged into it
    assert not [r for r in regions if r.scope == "object" and r.kind == kind]
    restored = whole.apply(mask)
    assert _dice(mask, truth) < 0.85 and _dice(restored, truth) > 0.95
    assert regions[0] is whole  # the largest expected gain comes first


def test_misaligned_mask_is_found_as_shifted_with_rotation_and_translation():
    truth = _truth()
    moved = ndi.shift(ndi.rotate(truth, 9, reshape=False, order=0), (4, -3), order=0)
    fit = fit_systematic(probs_from_mask(truth), moved)
    assert fit is not None and fit.kind == "shifted" and fit.weight > 0.9
    assert "rotate by" in fit.detail and "+0 deg" not in fit.detail
    assert _dice(moved, truth) < 0.6 and _dice(fit.restored, truth) > 0.9
    assert np.array_equal(fit.changed, fit.restored != moved)


def test_clean_mask_and_object_errors_get_no_whole_mask_region():
    truth = _truth()
    noisy = probs_from_mask(truth, noise=0.05, seed=3)
    fit = fit_systematic(noisy, truth)
    assert fit is None or fit.weight < 0.5
    # a dropped and an added object are errors of their own, not a whole-mask transform
    given = truth.copy()
    given[disk_mask(SHAPE, CENTRES[:2], RADII[:2]) > 0] = 0
    given |= disk_mask(SHAPE, [(86, 50)], [5])
    regions = find_regions("obj", probs_from_mask(truth), given)
    assert {r.kind for r in regions} == {"missing", "spurious"}
    assert all(r.scope == "object" for r in regions)


def test_empty_or_full_mask_has_no_fit():
    probs = probs_from_mask(_truth())
    assert fit_systematic(probs, np.zeros(SHAPE, np.uint8)) is None
    assert fit_systematic(probs, np.ones(SHAPE, np.uint8)) is None


def test_multiclass_dilation_keeps_each_objects_class():
    truth = _truth()
    truth[disk_mask(SHAPE, CENTRES[3:], RADII[3:]) > 0] = 2
    wide = truth.copy()
    dist, (ri, ci) = ndi.distance_transform_edt(truth == 0, return_indices=True)
    grow = (dist > 0) & (dist <= 3)
    wide[grow] = truth[ri, ci][grow]
    fit = fit_systematic(probs_from_mask(truth, n_classes=3), wide)
    assert fit is not None and fit.kind == "too_wide"
    assert np.mean(fit.restored == truth) > 0.99
    narrow = np.where(ndi.distance_transform_edt(truth > 0) > 2, truth, 0).astype(np.uint8)
    fit = fit_systematic(probs_from_mask(truth, n_classes=3), narrow)
    assert fit.kind == "too_narrow" and set(np.unique(fit.restored)) == {0, 1, 2}
    assert np.mean(fit.restored == truth) > 0.99


def test_whole_mask_region_raises_pixel_and_image_scores():
    truth = _truth()
    wide = (ndi.distance_transform_edt(truth == 0) <= 3).astype(np.uint8)
    probs = probs_from_mask(truth, sigma=1.5)
    regions = find_regions("w", probs, wide, thresholds=THRESHOLDS)
    whole = _whole(regions)
    with_fit = error_probability(probs, wide, THRESHOLDS, regions)
    without = error_probability(probs, wide, THRESHOLDS, [r for r in regions if r is not whole])
    band = whole.full_region(SHAPE)
    assert np.all(with_fit[band] >= PARAMS.evidence.systematic_floor * whole.score - 1e-6)
    assert with_fit[band].mean() > without[band].mean()
    # outside it only the image evidence moves, and only upwards
    assert np.all(with_fit[~band] >= without[~band] - 1e-6)
    assert image_error_score(regions, wide, truth) > 0.5


def test_outline_regions_alone_do_not_raise_the_image_score():
    mask = _truth()
    outline = Region(
        "x#0", "x", "too_wide", 1, 0.9, 0.9, 90.0, 100, (0, 0, 10, 10),
        np.ones((10, 10), bool), np.zeros((10, 10), np.uint8),
    )  # fmt: skip
    missing = Region(**{**outline.__dict__, "kind": "missing"})
    assert image_error_score([outline], mask, mask) == 0.0
    assert image_error_score([missing], mask, mask) > 0.3


def test_scope_survives_storage_and_is_checked():
    truth = _truth()
    wide = (ndi.distance_transform_edt(truth == 0) <= 3).astype(np.uint8)
    regions = find_regions("w", probs_from_mask(truth), wide)
    back = regions_from_arrays(regions_arrays(regions), "test")
    assert [(r.kind, r.scope) for r in back] == [(r.kind, r.scope) for r in regions]
    assert back[0].to_row()["scope"] == "image"
    with pytest.raises(NoisyFixError, match="unknown region scope 'slice'"):
        Region(**{**regions[0].__dict__, "scope": "slice"})


def test_lines_between_touching_objects_are_not_filled():
    """A clean mask of touching objects split by one-pixel lines, with a model that fills the lines
    (as a semantic model does) and is a little wide, is not taken for a mask drawn too narrow."""
    truth = np.zeros((48, 60), np.uint8)
    for c0 in (6, 20, 34):
        truth[12:36, c0 : c0 + 13] = 1  # three blocks, one-pixel lines at columns 19 and 33
    lines = separation_lines(truth > 0)
    assert lines[12:36, 19].all() and lines[12:36, 33].all()
    assert lines.sum() == 2 * 24 + 4  # the lines and the pixels beside their ends
    ring = ndi.binary_dilation(truth > 0) & (truth == 0) & ~lines
    p_fg = np.where(truth > 0, 0.97, 0.03)
    p_fg[lines], p_fg[ring] = 0.97, 0.6
    probs = np.stack([1 - p_fg, p_fg]).astype(np.float32)
    fit = fit_systematic(probs, truth)
    assert fit is None or fit.weight < PARAMS.whole_mask.min_weight


def test_class_thresholds_do_not_move_the_outlines():
    """Where the model leans slightly to the background just outside a clean outline, a low
    foreground threshold (a timid model) must not turn that ring into 'drawn too narrow'."""
    truth = disk_mask(SHAPE, CENTRES, RADII)
    ring = ndi.binary_dilation(truth > 0, iterations=2) & (truth == 0)
    p_fg = np.where(truth > 0, 0.95, 0.02)
    p_fg[ring] = 0.48
    probs = np.stack([1 - p_fg, p_fg]).astype(np.float32)
    timid = np.array([0.98, 0.3], np.float32)  # calibrated, the ring would read 0.75 foreground
    regions = find_regions("t", probs, truth, thresholds=timid)
    assert not [r for r in regions if r.scope == "image"]
    assert fit_systematic(probs, truth) is None
