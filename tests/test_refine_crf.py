"""Dense CRF: it sharpens a blurred, shifted probability map onto the intensity edge."""

import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.refine import dense_crf, refine
from napari_noisyfix.refine.crf import BilateralGrid, colour_axes

YY, XX = np.mgrid[:64, :64]
TRUTH = np.hypot(YY - 32, XX - 32) < 18
RNG = np.random.default_rng(0)
IMAGE = 0.3 + 0.4 * TRUTH + RNG.normal(0, 0.05, TRUTH.shape)
SHIFTED = np.hypot(YY - 34, XX - 35) < 18
BLURRED = np.clip(ndi.gaussian_filter(SHIFTED.astype(float), 5), 0.02, 0.98)
PROBS = np.stack([1 - BLURRED, BLURRED])


def test_crf_moves_a_blurred_map_onto_the_intensity_edge():
    before = ((BLURRED > 0.5) ^ TRUTH).sum()
    out = refine("crf", IMAGE, BLURRED > 0.5, probs=PROBS)
    assert (out ^ TRUTH).sum() < 0.2 * before


def test_crf_sharpens_the_marginals():
    q = dense_crf(IMAGE.astype(np.float32), PROBS.astype(np.float32))
    assert q.shape == PROBS.shape and np.allclose(q.sum(axis=0), 1, atol=1e-5)
    soft_before = np.abs(PROBS[1] - TRUTH).mean()
    assert np.abs(q[1] - TRUTH).mean() < 0.5 * soft_before


def test_crf_without_probs_trusts_the_mask_and_follows_colour_edges():
    rgb = np.stack([IMAGE, 1 - IMAGE, 0.5 * IMAGE], axis=2)
    out = refine("crf", rgb, SHIFTED)
    assert (out ^ TRUTH).sum() < 0.2 * (SHIFTED ^ TRUTH).sum()


def test_zero_weights_return_the_argmax_of_the_probs():
    out = refine("crf", IMAGE, BLURRED > 0.5, probs=PROBS, w_app=0.0, w_smooth=0.0)
    np.testing.assert_array_equal(out, BLURRED > 0.5)


def test_bilateral_grid_averages_only_similar_pixels():
    vals = np.r_[np.zeros(50), np.ones(50)]
    feats = np.column_stack([np.zeros(100), vals / 0.1])
    out = BilateralGrid(feats)(vals)
    assert out[:50].max() < 1e-3 and out[50:].min() > 0.999


def test_colour_axes_drop_flat_directions():
    gray = RNG.random(500)
    colours = np.column_stack([gray, 0.5 * gray, np.full(500, 0.3)])
    assert colour_axes(colours, 0.1).shape == (500, 1)


@pytest.mark.parametrize("size", [64])
def test_crf_is_interactive_on_a_crop(size):
    img = RNG.random((size, size))
    refine("crf", img, img > 0.5)
    start = time.perf_counter()
    refine("crf", img, img > 0.5)
    assert time.perf_counter() - start < 1.0
