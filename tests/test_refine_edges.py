"""Edge snapping: a proposal 3 px off a sharp edge moves onto it; no edge, no move."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.refine import refine
from napari_noisyfix.refine._arrays import boundary
from napari_noisyfix.refine.edges import band_markers

YY, XX = np.mgrid[:64, :64]
TRUTH = np.hypot(YY - 32, XX - 31) < 16
RNG = np.random.default_rng(0)
IMAGE = 0.2 + 0.6 * TRUTH + RNG.normal(0, 0.05, TRUTH.shape)
TOOLS = ["snap_edges", "active_contour"]


def boundary_error(a, b):
    """Mean symmetric distance (px) between the boundaries of two masks."""
    ba, bb = boundary(a), boundary(b)
    to_b = ndi.distance_transform_edt(~bb)[ba]
    to_a = ndi.distance_transform_edt(~ba)[bb]
    return (to_b.mean() + to_a.mean()) / 2


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(
    "proposal",
    [
        np.hypot(YY - 32, XX - 31) < 19,
        np.hypot(YY - 32, XX - 31) < 13,
        np.hypot(YY - 35, XX - 31) < 16,
    ],
    ids=["too_big", "too_small", "shifted"],
)
def test_proposal_3px_off_snaps_onto_the_edge(tool, proposal):
    assert boundary_error(proposal, TRUTH) > 1.5
    out = refine(tool, IMAGE, proposal, band=5)
    assert boundary_error(out, TRUTH) < 1.0


@pytest.mark.parametrize("tool", TOOLS)
def test_boundary_stays_without_an_edge_in_the_band(tool):
    far = np.hypot(YY - 32, XX - 31) < 7
    out = refine(tool, IMAGE, far, band=3)
    assert (out ^ far).sum() <= 0.1 * far.sum()


@pytest.mark.parametrize("tool", TOOLS)
def test_edges_farther_than_the_band_are_not_reached(tool):
    proposal = np.hypot(YY - 32, XX - 31) < 24
    out = refine(tool, IMAGE, proposal, band=3)
    assert ndi.binary_erosion(proposal, iterations=3)[out != proposal].sum() == 0
    assert out[np.hypot(YY - 32, XX - 31) < 20].all()


def test_band_markers_keep_a_core_for_thin_objects():
    thin = np.zeros((20, 20), bool)
    thin[8:11, 2:18] = True
    inside, outside = band_markers(thin, 5)
    assert inside.any() and not (inside & ~thin).any() and not (outside & thin).any()
