"""Annotator-style label noise (our extension): each type changes a mask in its own way."""

import json

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.measure import approximate_polygon, find_contours

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.synth import annotator_noise as an
from napari_noisyfix.synth.noise import (
    ALL_KINDS,
    CATEGORIES,
    KINDS,
    REALISTIC_KINDS,
    corrupt_dataset,
    corrupt_mask,
    dice,
    draw_kind,
    parse_kinds,
)

EIGHT = np.ones((3, 3))


def _discs(spec, size=96):
    """A bool mask of discs given as ``(row, col, radius)``."""
    yy, xx = np.mgrid[:size, :size]
    mask = np.zeros((size, size), bool)
    for r, c, radius in spec:
        mask |= (yy - r) ** 2 + (xx - c) ** 2 <= radius**2
    return mask


def _count(mask):
    return ndi.label(mask, EIGHT)[1]


DISC = _discs([(32, 32, 14)], size=64)
FOUR = _discs([(20, 20, 10), (20, 70, 8), (70, 24, 12), (72, 72, 9)])
PAIR = _discs([(30, 30, 10), (30, 54, 10), (80, 80, 6)])  # a 4 px gap, and one far away
GENERIC = _discs([(30, 30, 10), (30, 54, 10), (80, 80, 6), (75, 30, 3)])  # every type applies
MIXED = _discs([(16, 16, 10), (16, 56, 10), (56, 16, 10), (80, 80, 3), (56, 56, 3), (84, 40, 3)])


def _markov_reference(fg, rng, steps, theta1, theta2, theta3):
    """The process with distance transforms and a pixel loop, as Yao et al. describe it."""
    m = fg.copy()
    for _ in range(steps):
        outer = rng.random() < theta1
        edge = ndi.distance_transform_edt(~m if outer else m) == 1
        where = np.flatnonzero(edge)
        for index, flip in zip(where, rng.random(where.size) < theta2, strict=True):
            if flip:
                m.flat[index] = not m.flat[index]
    m ^= rng.random(m.shape) < theta3
    return ndi.gaussian_filter(m.astype(float), 2.0, mode="mirror", truncate=1.0) > 0.5


def test_markov_matches_the_pixel_by_pixel_process():
    fg = _discs([(16, 14, 7), (4, 28, 3)], size=32)
    for seed in range(3):
        fast = an.markov(fg, np.random.default_rng(seed), 40, 0.8, 0.05, 0.2)
        slow = _markov_reference(fg, np.random.default_rng(seed), 40, 0.8, 0.05, 0.2)
        assert np.array_equal(fast, slow)


def test_markov_grows_the_mask_with_theta1_high_and_shrinks_it_with_theta1_low():
    grown = [an.markov(DISC, np.random.default_rng(s), theta3=0.0) for s in range(4)]
    shrunk = [an.markov(DISC, np.random.default_rng(s), theta1=0.2, theta3=0.0) for s in range(4)]
    assert np.mean([g.sum() for g in grown]) > 1.2 * DISC.sum()
    assert np.mean([s.sum() for s in shrunk]) < 0.9 * DISC.sum()
    assert all(dice(g, DISC) < 0.95 for g in grown)
    # without flips, the blur only softens the outline
    still = an.markov(DISC, np.random.default_rng(0), theta2=0.0, theta3=0.0)
    assert dice(still, DISC) > 0.98


def test_markov_protocol_setting_is_the_isic_one():
    noisy, info = corrupt_mask(DISC, np.random.default_rng(0), "markov")
    p = info["params"]
    assert (p["steps"], p["theta1"], p["theta2"], p["theta3"], p["sigma"]) == (
        200,
        0.8,
        0.05,
        0.2,
        2,
    )
    assert noisy.sum() > DISC.sum() and info["dice"] < 0.95


@pytest.mark.parametrize("vertices", [5, 6, 8])
def test_polygon_is_a_polygon_of_the_given_vertex_count(vertices):
    fg = _discs([(32, 32, 20)], size=64)
    out = an.polygon(fg, np.random.default_rng(vertices), vertices)
    assert _count(out) == 1 and np.all(out <= ndi.binary_dilation(fg))
    contour = max(find_contours(np.pad(out, 1).astype(float), 0.5), key=len)
    assert len(approximate_polygon(contour, 1.5)) - 1 <= vertices + 1
    # a polygon inscribed at even arc length has the area of the regular n-gon
    inscribed = vertices / 2 * 20.5**2 * np.sin(2 * np.pi / vertices)
    assert out.sum() == pytest.approx(inscribed, rel=0.06)


def test_polygon_gives_tiny_objects_fewer_vertices_and_leaves_specks_alone():
    fg = _discs([(10, 10, 2), (30, 30, 1)], size=40)
    out = an.polygon(fg, np.random.default_rng(0), 8)
    speck = _discs([(30, 30, 1)], size=40)
    assert np.array_equal(out & speck, speck) and (out & ~speck).sum() < (fg & ~speck).sum()
    noisy, info = corrupt_mask(FOUR, np.random.default_rng(3), "polygon")
    assert 5 <= info["params"]["vertices"] <= 8 and _count(noisy) == 4 and info["dice"] > 0.8


def test_jitter_moves_outlines_in_and_out_but_keeps_the_objects():
    for seed in range(5):
        out = an.jitter(FOUR, np.random.default_rng(seed), amplitude=2.0, correlation=4.0)
        assert _count(out) == 4 and 0.75 < dice(out, FOUR) < 0.99
        assert (out & ~FOUR).any() and (FOUR & ~out).any()
        far = ndi.distance_transform_edt(~FOUR) > 4.5
        assert not (out & far).any()
    noisy, info = corrupt_mask(FOUR, np.random.default_rng(0), "jitter")
    assert info["params"]["amplitude"] >= 1.5 and info["params"]["correlation"] >= 2.0
    assert _count(noisy) == 4


def test_holes_leave_rings_that_fill_back_to_the_objects():
    for seed in range(4):
        out = an.holes(FOUR, np.random.default_rng(seed), share=0.5, width_ratio=0.25)
        filled = ndi.binary_fill_holes(out)
        assert np.array_equal(filled, FOUR) and out.sum() < FOUR.sum()
        hollowed = _count(filled & ~out)
        assert hollowed == 2 and _count(out) == 4
    noisy, info = corrupt_mask(FOUR, np.random.default_rng(1), "holes")
    assert ndi.binary_fill_holes(noisy).sum() > noisy.sum()
    assert not an.applies("holes", _discs([(10, 10, 1)], size=20))


def test_merge_joins_near_objects_only():
    out = an.merge(PAIR, np.random.default_rng(0), gap=5.0, share=0.5)
    assert _count(out) == 2 and np.all(out >= PAIR)
    far = _discs([(80, 80, 6)])
    assert np.array_equal(out & ndi.binary_dilation(far, iterations=6), far)
    assert np.array_equal(an.merge(PAIR, np.random.default_rng(0), 2.0, 0.5), PAIR)
    noisy, info = corrupt_mask(PAIR, np.random.default_rng(0), "merge")
    assert info["params"]["gap"] >= 3 and info["params"]["objects"] == [3, 2]
    assert _count(noisy) == 2
    assert not an.applies("merge", DISC)
    assert not an.applies("merge", _discs([(10, 10, 4), (80, 80, 4)]))


def test_merge_widens_its_gap_to_reach_the_closest_pair():
    fg = _discs([(30, 20, 10), (30, 46, 10)])  # 6 px apart, more than the 3 px least gap
    noisy, info = corrupt_mask(fg, np.random.default_rng(0), "merge")
    assert _count(noisy) == 1 and info["params"]["gap"] >= 6


def test_miss_small_prefers_small_objects():
    removed = {"small": 0, "large": 0}
    for seed in range(30):
        out = an.miss_small(MIXED, np.random.default_rng(seed), share=0.3)
        assert np.all(out <= MIXED) and _count(out) == 4
        lost = ndi.label(MIXED & ~out, EIGHT)[0]
        areas = np.bincount(lost.ravel())[1:]
        removed["small"] += int((areas < 50).sum())
        removed["large"] += int((areas >= 50).sum())
    assert removed["small"] > 5 * removed["large"]
    assert np.array_equal(an.miss_small(DISC, np.random.default_rng(0), 0.5), DISC)
    noisy, info = corrupt_mask(MIXED, np.random.default_rng(0), "miss_small")
    assert 0.2 <= info["params"]["share"] <= 0.4 and _count(noisy) in (4, 5)


@pytest.mark.parametrize("shape", ["rows", "columns", "rectangle"])
def test_partial_empties_one_region_and_keeps_the_rest(shape):
    rows, cols = np.flatnonzero(FOUR.any(1)), np.flatnonzero(FOUR.any(0))
    height, width = rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]
    for seed in range(5):
        rng = np.random.default_rng(seed)
        r0, r1, c0, c1 = region = an.partial_region(FOUR, rng, 0.4, shape)
        assert FOUR[r0:r1, c0:c1].any()
        out = an.partial(FOUR, region)
        inside = np.zeros_like(FOUR)
        inside[r0:r1, c0:c1] = True
        assert not out[inside].any() and np.array_equal(out[~inside], FOUR[~inside])
        if shape == "rows":
            assert (c0, c1) == (0, 96) and r1 - r0 == round(0.4 * height)
        if shape == "columns":
            assert (r0, r1) == (0, 96) and c1 - c0 == round(0.4 * width)
        if shape == "rectangle":
            assert (r1 - r0) * (c1 - c0) == pytest.approx(0.4 * height * width, rel=0.1)
    noisy, info = corrupt_mask(FOUR, np.random.default_rng(0), "partial")
    assert 0.25 <= info["params"]["share"] <= 0.5 and noisy.sum() < FOUR.sum()


@pytest.mark.parametrize("kind", REALISTIC_KINDS)
def test_every_type_gives_a_reproducible_uint8_mask(kind):
    mask = GENERIC.astype(np.uint8) * 255
    noisy, info = corrupt_mask(mask, np.random.default_rng(5), kind)
    again, info2 = corrupt_mask(mask, np.random.default_rng(5), kind)
    assert noisy.dtype == np.uint8 and noisy.shape == mask.shape and set(np.unique(noisy)) <= {0, 1}
    assert np.array_equal(noisy, again) and info == info2 and json.loads(json.dumps(info)) == info
    assert (
        info["type"] == kind
        and info["changed"]
        and info["dice"] == pytest.approx(dice(noisy, GENERIC))
    )
    empty, info = corrupt_mask(np.zeros((20, 30), np.uint8), np.random.default_rng(0), kind)
    assert not empty.any() and info["type"] == "none" and not info["changed"]


def test_parse_kinds():
    assert parse_kinds("protocol") == CATEGORIES
    assert parse_kinds("realistic") == tuple((k,) for k in REALISTIC_KINDS)
    assert len(parse_kinds("all")) == 11 and ALL_KINDS == KINDS + REALISTIC_KINDS
    assert parse_kinds(" Markov, holes ,markov") == (("markov",), ("holes",))
    assert parse_kinds(["drop", "realistic"])[:2] == (("drop",), ("markov",))
    with pytest.raises(NoisyFixError, match=r"'blur'.*protocol, realistic, all, dilate.*partial"):
        parse_kinds("markov,blur")
    with pytest.raises(NoisyFixError, match="no noise type"):
        parse_kinds(" , ")
    with pytest.raises(NoisyFixError, match="unknown noise type"):
        corrupt_dataset({"a": DISC}, 0.5, kinds="nope")


def test_selections_draw_from_their_families():
    realistic = {
        corrupt_mask(FOUR, np.random.default_rng(s), kinds="realistic")[1]["type"]
        for s in range(40)
    }
    assert realistic <= set(REALISTIC_KINDS) and len(realistic) >= 5
    both = {draw_kind(np.random.default_rng(s), "all") for s in range(60)}
    assert both & set(KINDS) and both & set(REALISTIC_KINDS)
    rng = np.random.default_rng(0)
    draws = [draw_kind(rng, "all") for _ in range(4400)]
    assert draws.count("markov") / len(draws) == pytest.approx(1 / 11, abs=0.02)
    assert (draws.count("dilate") + draws.count("erode")) / len(draws) == pytest.approx(
        1 / 11, abs=0.02
    )


def test_a_type_that_does_not_apply_is_replaced_by_one_that_does():
    for seed in range(10):
        noisy, info = corrupt_mask(
            DISC, np.random.default_rng(seed), kinds="merge,miss_small,holes"
        )
        assert info["type"] == "holes" and info["changed"]
    noisy, info = corrupt_mask(DISC, np.random.default_rng(0), kinds="merge,miss_small")
    assert info["type"] == "none" and np.array_equal(noisy, DISC)
    noisy, info = corrupt_mask(DISC, np.random.default_rng(0), "merge")
    assert info["type"] == "none" and "does not apply" in info["params"]["reason"]


def test_corrupt_dataset_with_realistic_noise():
    masks = {f"m{i}": m for i, m in enumerate([FOUR, PAIR, MIXED, DISC, FOUR, MIXED])}
    noisy, log = corrupt_dataset(masks, 0.5, seed=3, kinds="realistic")
    again, log2 = corrupt_dataset(masks, 0.5, seed=3, kinds="realistic")
    assert log == log2 and all(np.array_equal(noisy[k], again[k]) for k in masks)
    typed = [row for row in log if row["type"] != "none"]
    assert len(typed) == 3 and all(row["type"] in REALISTIC_KINDS for row in typed)
    for row in log:
        assert row["dice"] == pytest.approx(dice(noisy[row["name"]], masks[row["name"]]))
