"""The label-noise protocol: each noise type changes a mask the way the protocol states."""

import hashlib
import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.synth.noise import (
    KINDS,
    add_blobs,
    affine,
    corrupt_dataset,
    corrupt_mask,
    dice,
    dilate,
    draw_kind,
    drop,
    erode,
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


def _golden_masks():
    """Twelve 256x256 masks of random ellipses (small and large objects) and one empty mask."""
    rng = np.random.default_rng(20240611)
    yy, xx = np.mgrid[:256, :256]
    masks = {}
    for i in range(11):
        mask = np.zeros((256, 256), np.uint8)
        for _ in range(1 + i % 6):
            r = rng.uniform(16, 40) if i % 3 == 0 else rng.uniform(3, 12)
            cy, cx = rng.uniform(r, 256 - r, size=2)
            aspect, tilt = rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
            u = (yy - cy) * np.cos(tilt) + (xx - cx) * np.sin(tilt)
            v = -(yy - cy) * np.sin(tilt) + (xx - cx) * np.cos(tilt)
            mask[(u / r) ** 2 + (v / (r * aspect)) ** 2 <= 1] = 1
        masks[f"g{i:02d}"] = mask * (1 if i % 2 else 255)
    masks["g11"] = np.zeros((256, 256), np.uint8)
    return masks


def _golden_digest(masks):
    digest = hashlib.sha1()

    def feed(out, kind, params):
        digest.update(out.tobytes())
        digest.update(json.dumps([kind, params], sort_keys=True).encode())

    noisy, log = corrupt_dataset(masks, 0.5, seed=0)
    for row in log:
        feed(noisy[row["name"]], row["type"], [row["params"], row["corrupted"], row["dice"]])
    for name in sorted(masks):
        for seed in range(3):
            out, info = corrupt_mask(masks[name], np.random.default_rng(seed))
            feed(out, info["type"], info["params"])
    for kind in KINDS:
        for name in ("g00", "g05"):
            out, info = corrupt_mask(masks[name], np.random.default_rng(7), kind)
            feed(out, info["type"], info["params"])
    return digest.hexdigest(), [row["type"] for row in log]


def test_protocol_noise_is_bit_identical_to_the_reference():
    # recorded from the protocol code before the noise types were refactored into pure functions
    digest, types = _golden_digest(_golden_masks())
    assert types == ["add", "none", "drop", "add", "erode", "dilate", "none", "add"] + ["none"] * 4
    assert digest == "ede182bee0a489d5aee6481a940e93543b7fb121"


def test_protocol_transforms_are_pure_functions_of_their_parameters():
    fg = SMALL.astype(bool)
    noisy, info = corrupt_mask(fg, np.random.default_rng(2), "dilate")
    assert np.array_equal(noisy.astype(bool), dilate(fg, info["params"]["radius"]))
    eroded = erode(LARGE.astype(bool), 5)
    assert np.all(eroded <= LARGE) and _count(eroded) == 1 and eroded.sum() < 0.7 * LARGE.sum()
    assert not erode(LARGE.astype(bool), 25).any()
    assert np.array_equal(affine(fg, 0.0, (0.0, 0.0)), fg)
    moved = affine(fg, 0.0, (3.0, -2.0))
    assert np.array_equal(moved[3:, :-2], fg[:-3, 2:]) and not moved[:3].any()
    kept = drop(fg, np.random.default_rng(0), 0.25)
    assert _count(kept) == 12 and np.all(kept <= fg)
    blobs = add_blobs(LARGE.astype(bool), np.random.default_rng(0), 1)
    assert _count(blobs) == 2 and np.all(blobs >= LARGE)
