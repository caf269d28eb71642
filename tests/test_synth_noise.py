"""The label-noise protocol: each noise type changes a mask the way the protocol states."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.synth.noise import (
    KINDS,
    corrupt_dataset,
    corrupt_mask,
    dice,
    draw_kind,
    object_size,
)

EIGHT = np.ones((3, 3))


def _discs(radius, centres, size=64):
    yy, xx = np.mgrid[:size, :size]
    mask = np.zeros((size, size), np.uint8)
    for r, c in centres:
        mask[(yy - r) ** 2 + (xx - c) ** 2 <= radius**2] = 1
    return mask


SMALL = _discs(4, [(r, c) for r in (8, 24, 40, 56) for c in (8, 24, 40, 56)])
LARGE = _discs(20, [(32, 32)], size=96)


def _count(mask):
    return ndi.label(mask, EIGHT)[1]


def test_dilation_radius_follows_object_size():
    for mask, lo, hi in ((SMALL, 3, 5), (LARGE, 7, 9)):
        for seed in range(6):
            noisy, info = corrupt_mask(mask, np.random.default_rng(seed), "dilate")
            r = info["params"]["radius"]
            assert lo <= r <= hi
            assert noisy.sum() > mask.sum() and np.all(noisy >= mask)
            expect = ndi.distance_transform_edt(mask == 0) <= r
            assert np.array_equal(noisy.astype(bool), expect)
    assert object_size(SMALL.astype(bool))[0] == "small"
    assert object_size(LARGE.astype(bool))[0] == "large"


def test_erosion_shrinks_inside_the_mask():
    noisy, info = corrupt_mask(LARGE, np.random.default_rng(0), "erode")
    assert info["params"]["size"] == "large" and 7 <= info["params"]["radius"] <= 9
    assert noisy.sum() < LARGE.sum() and np.all(noisy <= LARGE)


def test_drop_removes_30_to_50_percent_of_components():
    for seed in range(10):
        noisy, info = corrupt_mask(SMALL, np.random.default_rng(seed), "drop")
        kept = _count(noisy)
        assert info["params"]["n_objects"] == 16
        assert 0.3 * 16 - 0.5 <= 16 - kept <= 0.5 * 16 + 0.5
        assert 16 - kept == info["params"]["dropped"]
        assert np.all(noisy <= SMALL)


def test_add_puts_1_to_3_separate_blobs_of_plausible_size():
    for seed in range(10):
        noisy, info = corrupt_mask(LARGE, np.random.default_rng(seed), "add")
        k = info["params"]["n_blobs"]
        assert 1 <= k <= 3 and _count(noisy) == 1 + k
        assert np.all(noisy >= LARGE)
        extra = noisy.astype(bool) & ~LARGE.astype(bool)
        areas = np.bincount(ndi.label(extra, EIGHT)[0].ravel())[1:]
        assert np.all(areas > 0.3 * LARGE.sum()) and np.all(areas < 3 * LARGE.sum())


def test_affine_moves_the_mask_by_a_bounded_rotation_and_shift():
    for seed in range(8):
        noisy, info = corrupt_mask(LARGE, np.random.default_rng(seed), "affine")
        p = info["params"]
        assert abs(p["angle"]) <= 15 and all(abs(s) <= 0.05 * 96 for s in p["shift"])
        assert abs(int(noisy.sum()) - int(LARGE.sum())) < 0.1 * LARGE.sum()
        shift = np.array(ndi.center_of_mass(noisy)) - np.array(ndi.center_of_mass(LARGE))
        rot = np.deg2rad(p["angle"])
        # the disc sits at (32, 32); the image centre is (47.5, 47.5)
        offset = np.array([32 - 47.5, 32 - 47.5])
        moved = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]]) @ offset
        np.testing.assert_allclose(shift, moved - offset + p["shift"], atol=1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_recorded_dice_matches_recomputation(kind):
    noisy, info = corrupt_mask(SMALL * 255, np.random.default_rng(1), kind)
    assert info["type"] == kind and info["changed"]
    assert noisy.dtype == np.uint8 and set(np.unique(noisy)) <= {0, 1}
    assert info["dice"] == pytest.approx(dice(noisy, SMALL)) and info["dice"] < 1


def test_empty_mask_is_left_unchanged():
    empty = np.zeros((20, 30), bool)
    noisy, info = corrupt_mask(empty, np.random.default_rng(0), "add")
    assert not noisy.any() and info["type"] == "none" and not info["changed"]
    assert info["dice"] == 1.0


def test_bad_inputs():
    with pytest.raises(NoisyFixError, match="unknown noise type"):
        corrupt_mask(SMALL, np.random.default_rng(0), "blur")
    with pytest.raises(NoisyFixError, match="2D mask"):
        corrupt_mask(np.zeros((2, 3, 4)), np.random.default_rng(0))
    with pytest.raises(NoisyFixError, match="outside"):
        corrupt_dataset({"a": SMALL}, 1.5)


def test_kinds_are_uniform_over_the_four_categories():
    rng = np.random.default_rng(0)
    draws = [draw_kind(rng) for _ in range(8000)]
    share = {k: draws.count(k) / len(draws) for k in KINDS}
    for k in ("affine", "drop", "add"):
        assert share[k] == pytest.approx(0.25, abs=0.02)
    assert share["dilate"] + share["erode"] == pytest.approx(0.25, abs=0.02)


def test_corrupt_dataset_fraction_protection_and_determinism():
    masks = {f"m{i:02d}": SMALL for i in range(20)}
    masks["empty"] = np.zeros_like(SMALL)
    protect = {"m00", "m01", "m02"}
    noisy, log = corrupt_dataset(masks, 0.5, seed=7, protect=protect)
    again, log2 = corrupt_dataset(masks, 0.5, seed=7, protect=protect)
    assert log == log2 and all(np.array_equal(noisy[k], again[k]) for k in masks)
    # round(0.5 * 21) = 10 images are drawn; an empty mask drawn stays unchanged (type "none")
    typed = [r for r in log if r["type"] != "none"]
    assert 9 <= len(typed) <= 10 and all(r["corrupted"] for r in typed)
    for row in log:
        assert row["dice"] == pytest.approx(dice(noisy[row["name"]], masks[row["name"]]))
        assert row["corrupted"] == (not np.array_equal(noisy[row["name"]], masks[row["name"]]))
        if row["name"] in protect:
            assert not row["corrupted"]
    other, _ = corrupt_dataset(masks, 0.5, seed=8, protect=protect)
    assert any(not np.array_equal(noisy[k], other[k]) for k in masks)
