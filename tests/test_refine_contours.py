"""Contour smoothing: jagged outlines become smooth, area and topology are kept."""

import numpy as np
import pytest
from skimage import measure

from napari_noisyfix.refine import refine, smooth_contours
from napari_noisyfix.refine.contours import smooth_closed_curve

YY, XX = np.mgrid[:64, :64]
R = np.hypot(YY - 32, XX - 32)
ANGLE = np.arctan2(YY - 32, XX - 32)
RADIUS = 18 + 1.5 * np.sign(np.sin(24 * ANGLE))
JAGGED = R < RADIUS
AREA_TOLERANCE = 0.03
IMAGE = np.zeros((64, 64))


@pytest.mark.parametrize("method", ["spline", "fourier"])
def test_jagged_contour_becomes_smooth_without_losing_area(method):
    out = refine("smooth_contours", IMAGE, JAGGED, method=method, strength=2.0)
    assert measure.perimeter(out) < 0.7 * measure.perimeter(JAGGED)
    assert abs(int(out.sum()) - int(JAGGED.sum())) <= AREA_TOLERANCE * JAGGED.sum()


def test_holes_and_object_count_are_kept():
    ring = (R < 20) & (R > 8)
    blobs = ring | (np.hypot(YY - 5, XX - 5) < 3)
    out = smooth_contours(blobs, strength=4.0)
    assert measure.label(out).max() == 2
    assert out[32, 32] == 0 and out[32, 18]
    assert abs(int(out.sum()) - int(blobs.sum())) <= AREA_TOLERANCE * blobs.sum()


def test_close_objects_do_not_merge_unless_allowed():
    two = (np.hypot(YY - 32, XX - 20) < 9) | (np.hypot(YY - 32, XX - 41) < 9)
    two[30:35, 29:33] = False
    kept = smooth_contours(two, strength=30.0)
    assert measure.label(kept, connectivity=2).max() == 2


def test_zero_strength_and_tiny_curves_are_unchanged():
    assert (refine("smooth_contours", IMAGE, JAGGED, strength=0.0) == JAGGED).all()
    tiny = np.array([[0, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    np.testing.assert_array_equal(smooth_closed_curve(tiny, "spline", 5.0), tiny)


def test_empty_mask_stays_empty():
    assert not refine("smooth_contours", IMAGE, np.zeros((64, 64), bool)).any()
