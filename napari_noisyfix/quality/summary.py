"""The text a scoring pass ends with (``noisyfix score``, the GUI's status): what was done, in
plain words, and the verdict."""

from __future__ import annotations

import numpy as np

from .prior_shift import EDGES
from .verdict import Verdict


def model_area_ratio(histograms: np.ndarray, fg_counts: np.ndarray) -> float:
    """Model foreground area over labelled area in the median image with labelled foreground.

    The model's foreground is where its foreground probability is at least one half (foreground
    log-odds >= 0); NaN when no image has labelled foreground.

    Parameters
    ----------
    histograms, fg_counts : ndarray
        Foreground log-odds counts and labelled foreground pixels per image
        (:func:`~napari_noisyfix.quality.prior_shift.logodds_histogram`).
    """
    histograms, fg_counts = np.asarray(histograms), np.asarray(fg_counts)
    keep = fg_counts > 0
    if not keep.any():
        return float("nan")
    first = int(np.searchsorted(EDGES[:-1], 0.0))  # the first bin at log-odds >= 0
    model = histograms[:, first:].sum(axis=1, dtype=np.int64)[keep]
    return float(np.median(model / fg_counts[keep]))


def area_text(ratio: float) -> str:
    """``the model draws 23% more foreground than the labels`` (or less, or as much)."""
    if np.isnan(ratio):
        return "no image has labelled foreground"
    change = round((ratio - 1.0) * 100)
    if change == 0:
        return "the model draws as much foreground as the labels"
    more = "more" if change > 0 else "less"
    return f"the model draws {abs(change)}% {more} foreground than the labels"


def score_summary(
    version: int, redone: int, n_images: int, n_outliers: int, area_ratio: float, verdict: Verdict
) -> str:
    """What a scoring pass did and what it found, then the verdict (and its warning).

    Parameters
    ----------
    version : int
        The model version scored.
    redone, n_images : int
        Images rescored (the others came from the cache), and all images.
    n_outliers : int
        Feature-clustering outliers found.
    area_ratio : float
        The model's foreground area over the labelled area in the median image
        (:func:`model_area_ratio`).
    verdict : Verdict
        The calibration's verdict.
    """
    head = (
        f"v{version:04d}: rescored {redone} of {n_images} images, {n_outliers} outliers; "
        f"{area_text(area_ratio)} (median image)"
    )
    text = f"{head}\n{verdict.text()}"
    return text + (f"\n{verdict.warning}" if verdict.warning else "")
