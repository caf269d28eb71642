"""The model's foreground rate against the labels': one log-odds shift per project.

A model can segment more (or less) foreground than the labels hold in almost every image: its
outlines sit a little wide, it fills the gaps in clusters, it sees faint objects the annotators
left out. The shift ``b`` is the log-odds offset that makes the model's foreground area match the
labelled area in the median image (a prior-shift correction): with the foreground log-odds
lowered by ``b``, half the images have more model foreground than labelled foreground and half
less. It is computed from a histogram of the foreground log-odds per image (int32 counts), so that
it costs one pass over the probabilities and little memory.

The whole-mask fit (:mod:`~napari_noisyfix.quality.systematic`) uses it as a robustness check: a
mask reads as drawn too wide, too narrow or misaligned only if it does so both under the model's
probabilities and under the shifted ones.
"""

from __future__ import annotations

import numpy as np

from .params import PARAMS

#: Edges of the foreground log-odds histogram (``PARAMS.scoring.logodds_edges``); values beyond
#: fall in the end bins.
_LOW, _HIGH, _BINS = PARAMS.scoring.logodds_edges
EDGES = np.linspace(_LOW, _HIGH, _BINS + 1)
_CLIP = 1e-6
#: Edges per block of :func:`foreground_shift`'s medians.
_BLOCK = 32


def foreground_logodds(probs: np.ndarray) -> np.ndarray:
    """log(P(foreground) / P(background)) per pixel (H, W) of class probabilities (C, H, W)."""
    p0 = np.clip(np.asarray(probs, dtype=np.float32)[0], _CLIP, 1.0 - _CLIP)
    return np.log1p(-p0) - np.log(p0)


def logodds_histogram(probs: np.ndarray, given_mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts of the foreground log-odds over :data:`EDGES` (end bins open) and the number of
    labelled foreground pixels of one image."""
    values = np.clip(foreground_logodds(probs), EDGES[0], EDGES[-1])
    counts, _ = np.histogram(values, bins=EDGES)
    return counts.astype(np.int32), int(np.count_nonzero(np.asarray(given_mask)))


def foreground_shift(histograms: np.ndarray, fg_counts: np.ndarray) -> float:
    """The shift ``b`` (on the :data:`EDGES` grid) at which the median, over images with labelled
    foreground, of (model foreground area / labelled area) is closest to 1 from above.

    Parameters
    ----------
    histograms : ndarray
        (N, len(EDGES) - 1) log-odds counts per image (:func:`logodds_histogram`).
    fg_counts : ndarray
        (N,) labelled foreground pixels per image.
    """
    histograms, fg_counts = np.asarray(histograms), np.asarray(fg_counts)
    rows = np.flatnonzero(fg_counts > 0)
    if not rows.size:
        return 0.0
    # ratios[k]: the median over images of (pixels whose log-odds exceed EDGES[k]) / labelled
    # area, a block of edges at a time (10,000 images x 480 edges made whole is 37 MB)
    fg = fg_counts[rows].astype(np.float64)[:, None]
    above = histograms[rows].sum(axis=1, dtype=np.int64)  # above the block's first edge
    ratios = np.empty(histograms.shape[1])
    for lo in range(0, histograms.shape[1], _BLOCK):
        block = histograms[rows, lo : lo + _BLOCK].astype(np.int64)
        before = np.cumsum(block, axis=1) - block  # the block's bins below each edge
        ratios[lo : lo + _BLOCK] = np.median((above[:, None] - before) / fg, axis=0)
        above -= block.sum(axis=1)
    k = int(np.searchsorted(-ratios, -1.0, side="right")) - 1  # last edge with median ratio >= 1
    limit = PARAMS.scoring.max_fg_shift
    return float(np.clip(EDGES[min(max(k, 0), len(EDGES) - 2)], -limit, limit))


def shift_probs(probs: np.ndarray, shift: float) -> np.ndarray:
    """``probs`` (C, H, W) with the foreground log-odds lowered by ``shift``; the foreground
    classes keep their proportions among themselves."""
    probs = np.asarray(probs, dtype=np.float32)
    if shift == 0:
        return probs
    p0 = np.clip(probs[0], _CLIP, 1.0 - _CLIP)
    new0 = 1.0 / (1.0 + (1.0 - p0) / p0 * np.float32(np.exp(-shift)))
    out = probs * ((1.0 - new0) / (1.0 - p0))[None]
    out[0] = new0
    return out
