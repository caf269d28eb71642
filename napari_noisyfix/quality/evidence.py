"""Per-pixel probability that the given label is wrong, sharpened by spatial evidence.

This is the uncalibrated error map, in four steps; the scales they use are conventions
(``PARAMS.evidence``, :mod:`~napari_noisyfix.quality.params`). A calibrated project replaces the
map with the calibration's, which takes these values as evidence and learns from errors planted in
the project's own masks how much they count:

1. **Class calibration** (confident learning): ``q_c = (p_c / t_c) / sum_k (p_k / t_k)`` with the
   per-class thresholds ``t``; the pixel score is ``1 - q_given``. A model that is timid on the
   foreground no longer makes every background label look right.
2. **Light smoothing** (Gaussian, ``smooth_sigma`` px): label errors are spatially coherent, model
   noise less so.
3. **Image evidence**: the error regions of the image (whole missing / spurious objects and wrong
   outlines), their ``area * score`` summed (objects ``object_weight`` times) and divided by the
   foreground area, give ``mass``; every pixel is scaled by ``1 - exp(-image_gain * mass)``.
   Uncertain outlines in an image with no coherent error evidence rank below pixels of an image
   whose mask is visibly wrong.
4. **Whole-mask errors**: inside an image-scope region (the whole mask too wide, too narrow or
   misaligned: :mod:`~napari_noisyfix.quality.systematic`) of weight ``w``, a pixel scores at least
   ``w * (systematic_floor + (1 - systematic_floor) * local)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .params import PARAMS
from .region import Region

OBJECT_KINDS = ("missing", "spurious")


def median_object_area(mask: np.ndarray) -> float:
    """Median area (pixels) of the connected foreground objects of ``mask``; 0 without objects."""
    labels, n = ndi.label(np.asarray(mask) > 0)
    return float(np.median(np.bincount(labels.ravel())[1:])) if n else 0.0


def calibrated_probs(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Probabilities rescaled by the per-class thresholds and renormalised (C, H, W)."""
    q = probs / np.asarray(thresholds, dtype=np.float32)[:, None, None]
    return q / np.maximum(q.sum(axis=0, keepdims=True), 1e-12)


def pixel_error(probs: np.ndarray, given_mask: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Calibrated probability (H, W) that each given label is wrong, without spatial evidence."""
    q = calibrated_probs(probs, thresholds)
    return 1.0 - np.take_along_axis(q, given_mask[None].astype(np.intp), 0)[0]


def smoothed_pixel_error(probs, given_mask, thresholds) -> np.ndarray:
    """Steps 1-2: the calibrated pixel error, lightly smoothed (H, W)."""
    sigma = PARAMS.evidence.smooth_sigma
    return ndi.gaussian_filter(pixel_error(probs, given_mask, thresholds), sigma)


def evidence_mass(regions: list[Region], given_mask: np.ndarray, model_mask: np.ndarray) -> float:
    """Error-region mass of an image relative to its foreground area (0 = no evidence)."""
    weight = dict.fromkeys(OBJECT_KINDS, PARAMS.evidence.object_weight)
    mass = sum(r.area * r.score * weight.get(r.kind, 1.0) for r in regions if r.kind != "outlier")
    floor = PARAMS.evidence.area_floor * given_mask.size
    area = max(np.count_nonzero(given_mask), np.count_nonzero(model_mask), floor, 1.0)
    return float(mass / area)


def image_factor(mass: float) -> float:
    """Probability-like image evidence ``1 - exp(-image_gain * mass)`` in [0, 1)."""
    return float(1.0 - np.exp(-PARAMS.evidence.image_gain * mass))


def error_probability(
    probs: np.ndarray,
    given_mask: np.ndarray,
    thresholds: np.ndarray,
    regions: list[Region] | None = None,
    pix: np.ndarray | None = None,
) -> np.ndarray:
    """Probability (H, W) that each pixel's given label is wrong (steps 1-4, uncalibrated).

    Parameters
    ----------
    probs : ndarray
        Class probabilities (C, H, W).
    given_mask : ndarray
        Given labels (H, W).
    thresholds : ndarray
        Per-class thresholds (C,).
    regions : list of Region, optional
        The image's error regions (from :func:`~napari_noisyfix.quality.regions.find_regions`);
        computed here when omitted.
    pix : ndarray, optional
        :func:`smoothed_pixel_error` when the caller has it already.
    """
    from .regions import find_regions, model_labels

    if regions is None:
        regions = find_regions("image", probs, given_mask, thresholds=thresholds)
    pix = smoothed_pixel_error(probs, given_mask, thresholds) if pix is None else pix
    mass = evidence_mass(regions, given_mask, model_labels(probs, thresholds) > 0)
    return np.clip(_with_systematic(pix * image_factor(mass), regions), 0.0, 1.0)


def _with_systematic(pix: np.ndarray, regions: list[Region]) -> np.ndarray:
    """Raise the scores inside whole-mask regions to their floor (step 4), in place."""
    for reg in regions:
        if reg.scope == "image":
            window = pix[reg.slices]
            share = PARAMS.evidence.systematic_floor
            floor = reg.score * (share + (1.0 - share) * window)
            window[reg.region] = np.maximum(window, floor)[reg.region]
    return pix
