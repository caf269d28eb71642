"""Annotator-style object noise as pure transforms: merged, skipped and unannotated objects.

Every transform takes a bool mask ``fg`` (H, W), explicit parameters and, where it needs
randomness, a :class:`numpy.random.Generator`; it returns a new bool mask of the same shape. The
protocol's draws of the parameters live in :mod:`.annotator_noise`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .annotator_shapes import components

REGION_SHAPES = ("rows", "columns", "rectangle")


def _grow(box: tuple[slice, slice], margin: int, shape: tuple[int, int]) -> tuple[slice, ...]:
    return tuple(
        slice(max(0, s.start - margin), min(size, s.stop + margin))
        for s, size in zip(box, shape, strict=True)
    )


def pair_gaps(labels: np.ndarray, n: int, reach: float) -> dict[tuple[int, int], float]:
    """Distances between the pixel centres of objects ``i < j`` that are at most ``reach`` apart."""
    gaps = {}
    margin = int(np.ceil(reach)) + 1
    for i, box in enumerate(ndi.find_objects(labels), start=1):
        sub = labels[_grow(box, margin, labels.shape)]
        dist = ndi.distance_transform_edt(sub != i)
        others = np.unique(sub[(sub > i) & (dist <= reach)])
        for j in others:
            gaps[(i, int(j))] = float(dist[sub == j].min())
    return gaps


def _bridge(labels: np.ndarray, boxes: list, pair: tuple[int, int], gap: float):
    """``(window, pixels)``: the pixels within ``gap`` of both objects of ``pair``."""
    i, j = pair
    a, b = boxes[i - 1], boxes[j - 1]
    union = tuple(
        slice(min(s.start, t.start), max(s.stop, t.stop)) for s, t in zip(a, b, strict=True)
    )
    window = _grow(union, int(np.ceil(gap)) + 1, labels.shape)
    sub = labels[window]
    near_i = ndi.distance_transform_edt(sub != i) <= gap
    return window, near_i & (ndi.distance_transform_edt(sub != j) <= gap)


def merge(fg: np.ndarray, rng: np.random.Generator, gap: float, share: float) -> np.ndarray:
    """Near objects joined into one, as when touching objects are outlined together.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    rng : numpy.random.Generator
        Picks the pairs.
    gap : float
        Pairs of objects whose pixel centres come within ``gap`` px can be joined; a joined
        pair gets the bridge of all pixels within ``gap`` px of both.
    share : float
        Share of those pairs that are joined (at least one).

    Returns
    -------
    ndarray of bool
        Unchanged when no pair is near enough.
    """
    labels, n = components(fg)
    pairs = sorted(pair_gaps(labels, n, gap))
    out = fg.copy()
    if not pairs:
        return out
    boxes = ndi.find_objects(labels)
    k = min(len(pairs), max(1, int(round(share * len(pairs)))))
    for index in np.sort(rng.choice(len(pairs), size=k, replace=False)):
        window, bridge = _bridge(labels, boxes, pairs[index], gap)
        out[window] |= bridge
    return out


def miss_small(fg: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Objects skipped by the annotator, small ones far more often than large ones.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    rng : numpy.random.Generator
        Picks the objects, with probability proportional to ``1 / area``.
    share : float
        Share of the objects removed (at least one, never all).

    Returns
    -------
    ndarray of bool
        Unchanged with fewer than two objects.
    """
    labels, n = components(fg)
    if n < 2:
        return fg.copy()
    weight = 1.0 / np.bincount(labels.ravel(), minlength=n + 1)[1:]
    k = min(n - 1, max(1, int(round(share * n))))
    removed = rng.choice(np.arange(1, n + 1), size=k, replace=False, p=weight / weight.sum())
    return fg & ~np.isin(labels, removed)


def _extent(share: float, shape: str, box: tuple[int, int], rng: np.random.Generator):
    """Height and width of a region covering ``share`` of a ``box`` (height, width)."""
    if shape == "rows":
        return max(1, int(round(share * box[0]))), box[1]
    if shape == "columns":
        return box[0], max(1, int(round(share * box[1])))
    aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    height = int(np.clip(round(np.sqrt(share * aspect) * box[0]), 1, box[0]))
    width = int(np.clip(round(share * box[0] * box[1] / height), 1, box[1]))
    return height, width


def partial_region(
    fg: np.ndarray, rng: np.random.Generator, share: float, shape: str
) -> tuple[int, int, int, int]:
    """A random region ``(row0, row1, col0, col1)`` that holds foreground.

    Parameters
    ----------
    fg : ndarray of bool
        The mask (with foreground).
    rng : numpy.random.Generator
        Places the region (and draws a rectangle's aspect, 0.5-2).
    share : float
        Share of the foreground's bounding box that the region covers.
    shape : {"rows", "columns", "rectangle"}
        A band of rows or of columns across the image, or a rectangle.

    Returns
    -------
    tuple of int
        Half-open bounds; the region holds at least one foreground pixel.
    """
    rows, cols = np.flatnonzero(fg.any(1)), np.flatnonzero(fg.any(0))
    top, left = int(rows[0]), int(cols[0])
    box = (int(rows[-1]) + 1 - top, int(cols[-1]) + 1 - left)
    height, width = _extent(share, shape, box, rng)
    table = np.pad(fg[top:, left:].cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    r, c = np.ogrid[: box[0] - height + 1, : box[1] - width + 1]
    held = table[r + height, c + width] - table[r, c + width] - table[r + height, c] + table[r, c]
    spot = np.unravel_index(int(rng.choice(np.flatnonzero(held > 0))), held.shape)
    r0, c0 = top + int(spot[0]), left + int(spot[1])
    if shape == "rows":
        return r0, r0 + height, 0, fg.shape[1]
    if shape == "columns":
        return 0, fg.shape[0], c0, c0 + width
    return r0, r0 + height, c0, c0 + width


def partial(fg: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """A part of the image left unannotated: all foreground in ``region`` removed.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    region : tuple of int
        ``(row0, row1, col0, col1)``, half-open, as from :func:`partial_region`.

    Returns
    -------
    ndarray of bool
        Identical to ``fg`` outside the region, empty inside.
    """
    r0, r1, c0, c1 = region
    out = fg.copy()
    out[r0:r1, c0:c1] = False
    return out
