"""Classic segmenters: mean shift finds two colour clusters itself; watershed splits two disks."""

import numpy as np
import pytest

from napari_noisyfix.refine import (
    felzenszwalb_labels,
    mean_shift_modes,
    segment,
    watershed_split,
)
from napari_noisyfix.refine._arrays import check_image
from napari_noisyfix.refine._pick import pick_segments

RNG = np.random.default_rng(0)
YY, XX = np.mgrid[:48, :48]
LEFT = XX < 24
TWO_COLOURS = np.where(LEFT[..., None], [0.9, 0.2, 0.2], [0.2, 0.3, 0.9])
TWO_COLOURS = TWO_COLOURS + RNG.normal(0, 0.04, TWO_COLOURS.shape)
D1 = np.hypot(YY - 24, XX - 14) < 10
D2 = np.hypot(YY - 24, XX - 31) < 10
TOUCHING = 0.1 + 0.8 * (D1 | D2) + RNG.normal(0, 0.03, D1.shape)


def test_mean_shift_finds_two_colour_clusters_itself():
    modes, n = mean_shift_modes(check_image(TWO_COLOURS, "test"))
    assert n == 2
    assert len(np.unique(modes[LEFT])) == 1 and len(np.unique(modes[~LEFT])) == 1
    assert modes[0, 0] != modes[0, -1]


def test_mean_shift_point_picks_the_clicked_cluster():
    out = segment("mean_shift", TWO_COLOURS, point=(10, 5))
    assert out[LEFT].mean() > 0.99 and not out[~LEFT].any()


def test_watershed_from_two_markers_separates_touching_disks():
    markers = np.zeros(D1.shape, dtype=np.int32)
    markers[24, 14], markers[24, 31] = 1, 2
    labels = watershed_split(D1 | D2, markers)
    only1, only2 = D1 & ~D2, D2 & ~D1
    assert (labels[only1] == 1).mean() > 0.97 and (labels[only2] == 2).mean() > 0.97


@pytest.mark.parametrize(("point", "disk"), [((24, 12), D1), ((24, 33), D2)])
def test_watershed_tool_finds_its_own_markers(point, disk):
    out = segment("watershed", TOUCHING, point=point)
    other = (D1 | D2) & ~disk
    assert (out & disk).sum() > 0.9 * disk.sum() and (out & other).sum() < 0.05 * other.sum()


def test_watershed_click_on_background_is_empty():
    assert not segment("watershed", TOUCHING, point=(2, 2)).any()


def test_felzenszwalb_box_picks_the_object_not_the_background():
    blob = np.hypot(YY - 20, XX - 20) < 8
    img = 0.2 + 0.6 * blob + RNG.normal(0, 0.03, blob.shape)
    assert len(np.unique(felzenszwalb_labels(check_image(img, "t")))) >= 2
    out = segment("felzenszwalb", img, box=(5, 5, 36, 36))
    assert 2 * (out & blob).sum() / (out.sum() + blob.sum()) > 0.95


def test_pick_segments_rules():
    labels = np.ones((10, 10), dtype=int)
    labels[3:6, 3:6] = 2
    labels[0:2, 8:10] = 3
    whole = (0, 0, 10, 10)
    assert pick_segments(labels, None, whole).sum() == 9
    assert pick_segments(labels, None, (2, 2, 7, 7)).sum() == 9
    assert pick_segments(labels, (0, 9), (0, 5, 10, 10)).sum() == 4
    assert not pick_segments(np.zeros((10, 10), int), (4, 4), whole).any()
