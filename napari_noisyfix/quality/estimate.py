"""Estimated quality of the working labels: expected Dice against the (unknown) true masks.

For pixels nobody reviewed, the true class is taken as distributed by the model's probabilities;
reviewed pixels are trusted as labelled. The expected overlap of each foreground class then gives
an expected Dice (a ratio of expectations, summed over images before dividing).
"""

from __future__ import annotations

import numpy as np


def dice_terms(probs: np.ndarray, mask: np.ndarray, reviewed: np.ndarray) -> np.ndarray:
    """Expected Dice sums of one image, per foreground class.

    Parameters
    ----------
    probs : ndarray (C, H, W)
        Model class probabilities.
    mask : ndarray (H, W)
        Working mask (class ids).
    reviewed : ndarray (H, W) bool
        Pixels an expert confirmed.

    Returns
    -------
    ndarray (C - 1, 3)
        Per foreground class: expected true positives, mask area, expected true area.
    """
    n_classes = probs.shape[0]
    onehot = np.eye(n_classes, dtype=np.float32)[mask].transpose(2, 0, 1)
    truth = np.where(reviewed[None], onehot, probs.astype(np.float32))
    tp = (onehot * truth).sum(axis=(1, 2))
    return np.stack([tp, onehot.sum(axis=(1, 2)), truth.sum(axis=(1, 2))], axis=1)[1:]


def expected_dice(terms: list[np.ndarray]) -> float | None:
    """Dataset expected Dice (mean over foreground classes) from per-image :func:`dice_terms`."""
    if not terms:
        return None
    tp, area, true_area = np.sum(terms, axis=0).T
    denom = area + true_area
    per_class = np.where(denom > 0, 2 * tp / np.maximum(denom, 1e-9), 1.0)
    return float(per_class.mean())
