"""Image-level label quality before calibration: how likely the whole mask of an image is wrong.

The calibrated image score and the estimated Dice (:mod:`~napari_noisyfix.quality.calibration`)
take these as evidence.
"""

from __future__ import annotations

import numpy as np

from .evidence import OBJECT_KINDS, median_object_area
from .region import Region

#: Temperature of the softmin over pixel label quality (as cleanlab's segmentation score).
SOFTMIN_TEMPERATURE = 0.1


def softmin_quality(p_given: np.ndarray, temperature: float = SOFTMIN_TEMPERATURE) -> float:
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
    which every image has. Image AUROC at alpha = 0.5 on the same stored out-of-fold
    probabilities (``benchmarks/rescore.py``, BENCHMARKS.md) with the earlier score, outline and
    object mass over the foreground area: 0.969 (fluo) and 0.883 (histo); with this one 0.986 and
    0.943.

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
