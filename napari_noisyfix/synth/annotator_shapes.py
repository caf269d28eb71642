"""Annotator-style outline noise as pure transforms: Markov boundary, polygon, jitter, holes.

Every transform takes a bool mask ``fg`` (H, W), explicit parameters and, where it needs
randomness, a :class:`numpy.random.Generator`; it returns a new bool mask of the same shape. The
protocol's draws of the parameters live in :mod:`.annotator_noise`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import polygon as raster_polygon
from skimage.measure import find_contours

EIGHT = np.ones((3, 3), dtype=bool)


def components(fg: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected labels of a bool mask and their number."""
    labels, n = ndi.label(fg, structure=EIGHT)
    return labels, int(n)


def equivalent_radii(labels: np.ndarray, n: int) -> np.ndarray:
    """Radius of the disk of the same area, per label 1..n."""
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return np.sqrt(areas / np.pi)


def median_radius(fg: np.ndarray) -> float:
    """Median equivalent radius of the objects of a bool mask (0.0 without objects)."""
    labels, n = components(fg)
    return float(np.median(equivalent_radii(labels, n))) if n else 0.0


def _cross_dilate(m: np.ndarray) -> np.ndarray:
    """Dilation by the 4-neighbourhood cross (outside the image counts as background)."""
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    out[:, 1:] |= m[:, :-1]
    out[:, :-1] |= m[:, 1:]
    return out


def markov(
    fg: np.ndarray,
    rng: np.random.Generator,
    steps: int = 200,
    theta1: float = 0.8,
    theta2: float = 0.05,
    theta3: float = 0.2,
    sigma: float = 2.0,
) -> np.ndarray:
    """The boundary Markov process of Yao et al. (ICLR 2023), vectorised.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    rng : numpy.random.Generator
        Source of randomness.
    steps : int
        Number of boundary steps ``T``.
    theta1 : float
        Probability that a step works on the outer boundary (background pixels 4-adjacent to
        the foreground) rather than the inner one (foreground pixels 4-adjacent to background;
        the image edge is not a boundary).
    theta2 : float
        Probability of flipping each pixel of the chosen boundary.
    theta3 : float
        Probability of flipping each pixel of the image after the steps.
    sigma : float
        Gaussian blur (5x5 kernel at ``sigma = 2``) applied before thresholding at 0.5.

    Returns
    -------
    ndarray of bool
    """
    m = fg.copy()
    flat = m.reshape(-1)
    for _ in range(steps):
        outer = rng.random() < theta1
        boundary = (_cross_dilate(m) & ~m) if outer else (m & _cross_dilate(~m))
        where = np.flatnonzero(boundary)
        flat[where[rng.random(where.size) < theta2]] = outer
    m ^= rng.random(m.shape) < theta3
    blurred = ndi.gaussian_filter(m.astype(np.float64), sigma, mode="mirror", truncate=1.0)
    return blurred > 0.5


def _outline(obj: np.ndarray) -> np.ndarray:
    """The longest closed contour (row, col) of a bool crop, padded so that it closes."""
    contours = find_contours(np.pad(obj, 1).astype(np.float64), 0.5)
    return max(contours, key=len) - 1.0


def _vertices(contour: np.ndarray, count: int, start: float) -> np.ndarray:
    """``count`` points at even arc length along a closed contour, from ``start`` (in px)."""
    steps = np.hypot(*np.diff(contour, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    at = start + np.arange(count) * arc[-1] / count
    return np.stack([np.interp(at, arc, contour[:, 0]), np.interp(at, arc, contour[:, 1])], 1)


def polygon(
    fg: np.ndarray, rng: np.random.Generator, vertices: int, min_edge: float = 4.0
) -> np.ndarray:
    """Every object outlined by a coarse polygon, as with click annotation.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    rng : numpy.random.Generator
        Draws each object's first vertex along its contour.
    vertices : int
        Vertices per object, placed at even arc length along its outer contour; objects whose
        contour is shorter than ``vertices * min_edge`` get fewer (at least 3).
    min_edge : float
        Shortest polygon edge in px; objects with a contour shorter than ``3 * min_edge`` stay
        as they are.

    Returns
    -------
    ndarray of bool
    """
    labels, _ = components(fg)
    out = np.zeros_like(fg)
    for i, box in enumerate(ndi.find_objects(labels), start=1):
        obj = labels[box] == i
        contour = _outline(obj)
        length = float(np.hypot(*np.diff(contour, axis=0).T).sum())
        count = min(int(vertices), int(length // min_edge))
        rr = np.empty(0, dtype=int)
        if count >= 3:
            corners = _vertices(contour, count, float(rng.uniform(0, length / count)))
            corners += [box[0].start, box[1].start]
            rr, cc = raster_polygon(corners[:, 0], corners[:, 1], shape=fg.shape)
        if rr.size:
            out[rr, cc] = True
        else:
            out[box] |= obj
    return out


def _signed_distance(fg: np.ndarray) -> np.ndarray:
    """Signed distance to the outline, positive inside, zero half-way between pixels."""
    inside = ndi.distance_transform_edt(fg) - 0.5
    outside = 0.5 - ndi.distance_transform_edt(~fg)
    return np.where(fg, inside, outside)


def _tidy(out: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Drop pieces of ``out`` away from ``fg`` and fill holes that ``fg`` does not have."""
    labels, _ = components(out)
    keep = np.unique(labels[fg & out])
    out = np.isin(labels, keep[keep > 0])
    new_holes = ndi.binary_fill_holes(out) & ~out
    return out | (new_holes & ~ndi.binary_fill_holes(fg))


def jitter(
    fg: np.ndarray, rng: np.random.Generator, amplitude: float, correlation: float
) -> np.ndarray:
    """Smooth random displacement of the outlines, as with freehand tracing.

    The mask is re-thresholded from its signed distance plus a smooth random field
    (Gaussian-filtered white noise scaled to unit deviation, clipped to +-2). Pieces that
    end up detached from the objects are dropped and new holes filled, so objects stay
    where they are.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    rng : numpy.random.Generator
        Draws the white noise.
    amplitude : float
        Deviation of the outline displacement in px (at most twice this).
    correlation : float
        Sigma of the Gaussian filter in px: the length over which the displacement varies.

    Returns
    -------
    ndarray of bool
    """
    field = ndi.gaussian_filter(rng.standard_normal(fg.shape), correlation)
    field = np.clip(field / max(float(field.std()), 1e-12), -2.0, 2.0)
    return _tidy(_signed_distance(fg) + amplitude * field > 0, fg)


def holes(
    fg: np.ndarray,
    rng: np.random.Generator,
    share: float,
    width_ratio: float,
    min_width: float = 1.5,
) -> np.ndarray:
    """Objects whose interior is left unfilled: only a ring along their outline remains.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    rng : numpy.random.Generator
        Picks the objects.
    share : float
        Share of the objects that can hold a hole that get one (at least one).
    width_ratio : float
        Ring width relative to the object's equivalent radius.
    min_width : float
        Narrowest ring in px; an object holds a hole when its deepest pixel lies more than
        ``min_width + 1`` px inside.

    Returns
    -------
    ndarray of bool
        ``ndi.binary_fill_holes`` of it equals that of ``fg``.
    """
    labels, n = components(fg)
    depth = ndi.distance_transform_edt(fg)
    index = np.arange(1, n + 1)
    deepest = np.asarray(ndi.maximum(depth, labels, index), dtype=float)
    width = np.clip(width_ratio * equivalent_radii(labels, n), min_width, deepest - 1.0)
    able = index[deepest >= min_width + 1.0]
    if able.size == 0:
        return fg.copy()
    k = min(able.size, max(1, int(round(share * able.size))))
    chosen = rng.choice(able, size=k, replace=False)
    limit = np.concatenate([[np.inf], width])
    hollow = np.isin(labels, chosen) & (depth > limit[labels])
    return fg & ~hollow
