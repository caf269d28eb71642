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
    image: np.ndarray | None = None,
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
        Without a point: the segments with at least ``min_inside`` of their area inside the box
        that do not touch the box's border (see :func:`_segments_in_box`); given the image, only
        those that stand out from the border's mean colour by at least a quarter as much as the most
        distinct one (background fragments inside the box are dropped).
    """
    inside = np.zeros(labels.shape, dtype=bool)
    inside[box_slices(box)] = True
    if point is not None:
        lab = labels[point]
        return (labels == lab) & inside if lab else np.zeros(labels.shape, dtype=bool)
    ids = _segments_in_box(labels, inside, min_inside)
    if image is not None and ids.size > 1:
        ids = _distinct(labels, ids, inside, image)
    return np.isin(labels, ids) & inside


def _distinct(labels, ids, inside, image) -> np.ndarray:
    """Segments whose mean colour is far from the box border's (>= a quarter of the largest)."""
    vals = image.reshape(*labels.shape, -1)
    ring = inside & ~_shrink(inside)
    background = vals[ring].mean(axis=0)
    dist = np.array([np.linalg.norm(vals[labels == i].mean(axis=0) - background) for i in ids])
    return ids[dist >= 0.25 * dist.max()]


def _segments_in_box(labels: np.ndarray, inside: np.ndarray, min_inside: float) -> np.ndarray:
    """Ids of segments mostly inside the box that do not touch its border.

    When every such segment touches the border (an object cut by the box), all segments mostly
    inside are kept except the one covering most of the border (the background around it).
    """
    ring = inside & ~_shrink(inside)
    border_ids, counts = np.unique(labels[ring], return_counts=True)
    ids = np.unique(labels[inside])
    total = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)
    within = np.bincount(labels[inside], minlength=len(total))
    mostly = ids[(ids != 0) & (within[ids] >= min_inside * total[ids])]
    clear = mostly[~np.isin(mostly, border_ids)]
    return clear if clear.size else mostly[mostly != border_ids[np.argmax(counts)]]


def _shrink(inside: np.ndarray) -> np.ndarray:
    """The box without its one-pixel outer ring."""
    rows, cols = np.nonzero(inside)
    out = np.zeros_like(inside)
    out[rows.min() + 1 : rows.max(), cols.min() + 1 : cols.max()] = True
    return out
