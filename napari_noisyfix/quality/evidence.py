"""Per-pixel probability that the given label is wrong, sharpened by spatial evidence."""

from __future__ import annotations

import numpy as np


def error_probability(
    probs: np.ndarray, given_mask: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Probability (H, W) that each pixel's given label is wrong."""
    p_given = np.take_along_axis(probs, given_mask[None].astype(np.intp), 0)[0]
    return 1.0 - p_given
