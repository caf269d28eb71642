"""The project-level foreground shift: measured from the probabilities, applied to the whole-mask fit."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.prior_shift import (
    foreground_logodds,
    foreground_shift,
    logodds_histogram,
    shift_probs,
)
from napari_noisyfix.quality.synthetic import disk_mask
from napari_noisyfix.quality.systematic import fit_systematic

SHAPE = (64, 64)


def _soft(mask: np.ndarray, sigma: float = 1.5, spread: float = 6.0) -> np.ndarray:
    """Two-class probabilities whose 0.5 contour follows ``mask`` with soft edges."""
    signed = ndi.distance_transform_edt(mask == 0) - ndi.distance_transform_edt(mask > 0)
    p_fg = 1.0 / (1.0 + np.exp(ndi.gaussian_filter(signed, sigma) * spread / 3.0))
    return np.stack([1 - p_fg, p_fg]).astype(np.float32)


def _masks(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = [(int(r), int(c)) for r, c in rng.integers(12, 52, size=(4, 2))]
    return disk_mask(SHAPE, centres, rng.integers(5, 8, 4))


def _shift(pairs) -> float:
    hists, counts = zip(*(logodds_histogram(p, m) for p, m in pairs), strict=True)
    return foreground_shift(np.array(hists), np.array(counts))


@pytest.mark.parametrize("grow", [1, -1])
def test_shift_matches_the_model_area_to_the_labels(grow):
    labels = [_masks(s) for s in range(7)]
    models = [
        ndi.binary_dilation(m, iterations=grow)
        if grow > 0
        else ndi.binary_erosion(m, iterations=-grow)
        for m in labels
    ]
    pairs = [(_soft(m.astype(np.uint8)), lab) for m, lab in zip(models, labels, strict=True)]
    shift = _shift(pairs)
    assert (shift > 0.5) if grow > 0 else (shift < -0.5)
    ratios = [
        np.count_nonzero(foreground_logodds(shift_probs(p, shift)) > 0) / np.count_nonzero(lab)
        for p, lab in pairs
    ]
    assert np.median(ratios) == pytest.approx(1.0, abs=0.08)
    assert _shift([(p, np.zeros_like(lab)) for p, lab in pairs]) == 0.0


def test_shift_probs_keeps_foreground_proportions():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1, 2], size=(8, 8)).transpose(2, 0, 1).astype(np.float32)
    out = shift_probs(probs, 1.0)
    assert np.allclose(out.sum(axis=0), 1.0, atol=1e-5)
    assert np.allclose(out[1] / out[2], probs[1] / probs[2], rtol=1e-4)
    assert np.allclose(foreground_logodds(out), foreground_logodds(probs) - 1.0, atol=1e-3)
    assert shift_probs(probs, 0.0) is probs or np.array_equal(shift_probs(probs, 0.0), probs)


def test_a_model_wide_on_every_image_does_not_make_clean_masks_too_narrow():
    """The model draws every object 2 px wider than its (clean) label: under its own
    probabilities every mask reads 'too narrow'; under the project's shift none does."""
    labels = [_masks(s) for s in range(7)]
    pairs = [(_soft(ndi.binary_dilation(m, iterations=2).astype(np.uint8)), m) for m in labels]
    shift = _shift(pairs)
    raw = [fit_systematic(p, m) for p, m in pairs]
    checked = [fit_systematic(p, m, shift) for p, m in pairs]
    bar = PARAMS.whole_mask.min_weight
    assert sum(f is not None and f.kind == "too_narrow" and f.weight >= bar for f in raw) >= 5
    assert all(f is None or f.weight < bar for f in checked)
    # a mask eroded by 3 px on top of that is still found
    eroded = ndi.binary_erosion(labels[0], iterations=3).astype(np.uint8)
    fit = fit_systematic(pairs[0][0], eroded, shift)
    assert fit is not None and fit.kind == "too_narrow" and fit.weight >= bar


def test_the_shift_taken_a_block_of_edges_at_a_time_is_the_direct_median():
    """The medians are taken over blocks of edges; the shift is that of the whole table."""
    from napari_noisyfix.quality.prior_shift import EDGES

    rng = np.random.default_rng(3)
    for _ in range(5):
        hists = rng.poisson(rng.uniform(0, 20, len(EDGES) - 1), (40, len(EDGES) - 1))
        counts = rng.integers(0, 3000, 40)
        counts[:3] = 0  # images without labelled foreground are left out
        keep = counts > 0
        above = np.cumsum(hists[keep][:, ::-1], axis=1)[:, ::-1]
        ratios = np.median(above / counts[keep][:, None], axis=0)
        k = int(np.searchsorted(-ratios, -1.0, side="right")) - 1
        limit = PARAMS.scoring.max_fg_shift
        direct = float(np.clip(EDGES[min(max(k, 0), len(EDGES) - 2)], -limit, limit))
        assert foreground_shift(hists.astype(np.int32), counts) == direct
