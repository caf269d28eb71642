"""Image-level label quality before calibration: how likely the whole mask of an image is wrong.

The calibrated image score and the estimated Dice (:mod:`~napari_noisyfix.quality.calibration`)
take these as evidence.
"""

from __future__ import annotations

import numpy as np

from .evidence import OBJECT_KINDS, median_object_area
from .params import PARAMS
from .region import Region


def softmin_quality(
    p_given: np.ndarray, temperature: float = PARAMS.evidence.softmin_temperature
) -> float:
    """Softmin-weighted mean of the given-label probability (low when some pixels are very doubtful)."""
    p = np.asarray(p_given, dtype=np.float64).ravel()
    w = np.exp(-(p - p.min()) / temperature)
    return float((p * w).sum() / w.sum())


def image_error_score(
    regions: list[Region], given_mask: np.ndarray, model_mask: np.ndarray
) -> float:
    """Probability-like score (0..1) that the image's mask holds label errors.

    A noisy-or over independent pieces of evidence: each image-scope (whole-mask) region counts
    with its weight, each whole-object region (missing, spurious) with ``score ** 2`` times its
    area in median objects (capped at one object), so that a confident, object-sized error
    counts fully and doubtful fragments little. Per-object outline regions are left out: what is
    left of them once whole-mask errors are absorbed is mostly the model's own boundary noise,
    which every image has. This is the order before calibration; the calibration takes the score
    as evidence and learns how much it counts.

    Parameters
    ----------
    regions : list of Region
        The image's error regions (outliers are ignored).
    given_mask, model_mask : ndarray
        The given labels and the model's (H, W); their objects set the median object area.
    """
    unit = median_object_area(given_mask) or median_object_area(model_mask)
    keep = 1.0
    for reg in regions:
        if reg.scope == "image":
            keep *= 1.0 - reg.score
        elif reg.kind in OBJECT_KINDS:
            size = min(reg.area / unit, 1.0) if unit else 1.0
            keep *= 1.0 - reg.score**2 * size
    return float(1.0 - keep)
