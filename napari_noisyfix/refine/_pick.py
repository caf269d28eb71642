"""Turn a segmentation into one proposal: the segment under a clicked point or inside a box."""

from __future__ import annotations

import numpy as np


def box_slices(box: tuple[int, int, int, int]) -> tuple[slice, slice]:
    """Slices of a half-open ``(r0, c0, r1, c1)`` box."""
    return slice(box[0], box[2]), slice(box[1], box[3])


def pick_segments(
    labels: np.ndarray,
    point: tuple[int, int] | None,
    box: tuple[int, int, int, int],
    min_inside: float = 0.5,
) -> np.ndarray:
    """Bool mask of the segment(s) a user meant.

    Parameters
    ----------
    labels : ndarray
        (H, W) int segment ids; 0 is background that is never picked.
    point : (row, col) or None
        With a point: the segment holding it, clipped to the box.
    box : (r0, c0, r1, c1)
        Without a point: every segment with at least ``min_inside`` of its area inside the box,
        except the one covering most of the box's border (the background around the object).
    """
    inside = np.zeros(labels.shape, dtype=bool)
    inside[box_slices(box)] = True
    if point is not None:
        lab = labels[point]
        return (labels == lab) & inside if lab else np.zeros(labels.shape, dtype=bool)
    return np.isin(labels, _segments_in_box(labels, inside, min_inside)) & inside


def _segments_in_box(labels: np.ndarray, inside: np.ndarray, min_inside: float) -> np.ndarray:
    """Ids of segments mostly inside the box, without the box border's dominant segment."""
    ring = inside & ~_shrink(inside)
    border_ids, counts = np.unique(labels[ring], return_counts=True)
    background = border_ids[np.argmax(counts)]
    ids = np.unique(labels[inside])
    total = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)
    within = np.bincount(labels[inside], minlength=len(total))
    keep = (ids != 0) & (ids != background) & (within[ids] >= min_inside * total[ids])
    return ids[keep]


def _shrink(inside: np.ndarray) -> np.ndarray:
    """The box without its one-pixel outer ring."""
    rows, cols = np.nonzero(inside)
    out = np.zeros_like(inside)
    out[rows.min() + 1 : rows.max(), cols.min() + 1 : cols.max()] = True
    return out
