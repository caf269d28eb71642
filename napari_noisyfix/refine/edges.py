"""Edge snapping: move a proposal's boundary onto nearby image edges, within a band.

Two tools share one idea: the boundary may only move inside a band of ``band`` px on both sides
of the proposal's boundary; the proposal eroded by ``band`` is certainly inside, the outside of the
proposal dilated by ``band`` is certainly outside.

* ``snap_edges``: marker watershed (:func:`skimage.segmentation.watershed`) between those two
  markers on an elevation made of the Canny edges (:func:`skimage.feature.canny`) and the Sobel
  gradient, plus a ridge of height ``prior`` on the proposal's own boundary, so that where the band
  holds no edge stronger than ``prior`` the boundary stays where it was.
* ``active_contour``: morphological geodesic active contour
  (:func:`skimage.segmentation.morphological_geodesic_active_contour`) on the inverse Gaussian
  gradient, run outward from the inner marker and inward from the outer one; where both runs agree
  they stopped on an edge, where they disagree the band held no edge and the proposal is kept.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import feature, filters, segmentation

from ._arrays import to_gray
from .registry import Param, register

_BAND = Param("band", int, 5, 1, 50, "how far (px) the boundary may move either way")
_SIGMA = Param("sigma", float, 1.5, 0.0, 20.0, "Gaussian smoothing of the image before edges (px)")


def band_markers(mask: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (inside, outside): pixels farther than ``band`` px inside / outside the boundary.

    An object thinner than ``2 * band`` keeps its innermost pixels as its inside marker.
    """
    dist_in = ndi.distance_transform_edt(mask)
    inside = dist_in > band
    labels, n = ndi.label(mask)
    if n:
        peaks = ndi.maximum(dist_in, labels, np.arange(1, n + 1))
        inside |= mask & (dist_in >= np.asarray([0, *peaks])[labels])
    outside = ndi.distance_transform_edt(~mask) > band
    return inside, outside


def edge_strength(
    gray: np.ndarray, sigma: float, within: np.ndarray, min_contrast: float = 0.1
) -> np.ndarray:
    """Sobel gradient of the smoothed image, doubled on Canny edges, scaled to about [0, 2].

    The gradient of a step of ``min_contrast`` (fraction of the image range) maps to 0 and the
    99th percentile inside ``within`` to 1, so noise in a flat band is no edge at all.
    """
    smooth = filters.gaussian(gray, sigma) if sigma > 0 else gray
    grad = filters.sobel(smooth)
    floor = _step_response(min_contrast, sigma)
    top = max(float(np.percentile(grad[within], 99)) if within.any() else 0.0, 2 * floor)
    grad = np.clip((grad - floor) / (top - floor), 0, 1) if top > 0 else np.zeros_like(grad)
    edges = feature.canny(gray, sigma=max(sigma, 0.5))
    return grad * (1.0 + edges)


def _step_response(contrast: float, sigma: float) -> float:
    """Peak Sobel gradient of a straight step of height ``contrast`` smoothed like the image."""
    step = np.zeros((32, 32))
    step[:, 16:] = contrast
    smooth = filters.gaussian(step, sigma) if sigma > 0 else step
    return float(filters.sobel(smooth)[8:24, 8:24].max())


def snap_edges(
    gray: np.ndarray,
    mask: np.ndarray,
    band: int = 5,
    sigma: float = 1.5,
    prior: float = 0.3,
    min_contrast: float = 0.1,
) -> np.ndarray:
    """Snap the boundary of ``mask`` onto image edges within ``band`` px (marker watershed)."""
    if not mask.any() or mask.all():
        return mask.copy()
    inside, outside = band_markers(mask, band)
    elevation = edge_strength(gray, sigma, ~(inside | outside), min_contrast)
    elevation = elevation + prior * _boundary_ridge(mask, band)
    markers = inside.astype(np.int32) + 2 * outside.astype(np.int32)
    return segmentation.watershed(elevation, markers) == 1


def _boundary_ridge(mask: np.ndarray, band: int) -> np.ndarray:
    """A ridge on the mask's boundary line, falling to 0 at ``band`` px from it.

    The boundary line runs between the inner and the outer boundary pixels; the outside is raised
    by a hair so that, on an image without edges, every pixel is reached first by the flood of
    its own side and the boundary stays exactly where it was.
    """
    inner = 1.0 - (ndi.distance_transform_edt(mask) - 0.5) / band
    outer = 1.0 - (ndi.distance_transform_edt(~mask) - 0.5) / band + 1e-3
    return np.clip(np.where(mask, inner, outer), 0.0, 1.0)


def geodesic_snap(
    gray: np.ndarray,
    mask: np.ndarray,
    band: int = 5,
    sigma: float = 1.5,
    iterations: int = 0,
    smoothing: int = 1,
) -> np.ndarray:
    """Snap ``mask`` onto edges with two geodesic active contours (outward and inward runs)."""
    if not mask.any() or mask.all():
        return mask.copy()
    inside, outside = band_markers(mask, band)
    gimage = segmentation.inverse_gaussian_gradient(gray, alpha=100.0, sigma=max(sigma, 0.5))
    n_iter = iterations or 2 * band + 10
    grown = _mgac(gimage, inside, n_iter, smoothing, +1) & ~outside | inside
    shrunk = _mgac(gimage, ~outside, n_iter, smoothing, -1) & ~outside | inside
    return np.where(grown == shrunk, grown, mask)


def _mgac(gimage, start, n_iter, smoothing, balloon) -> np.ndarray:
    threshold = float(np.percentile(gimage, 40))
    out = segmentation.morphological_geodesic_active_contour(
        gimage,
        n_iter,
        init_level_set=start.astype(np.int8),
        smoothing=smoothing,
        threshold=threshold,
        balloon=balloon,
    )
    return out.astype(bool)


@register(
    "snap_edges",
    "refine",
    [
        _BAND,
        _SIGMA,
        Param("prior", float, 0.3, 0.0, 2.0, "how strongly the boundary stays put"),
        Param("min_contrast", float, 0.1, 0.0, 1.0, "weakest step (image range) taken as an edge"),
    ],
)
def _snap_tool(image, mask, probs, band, sigma, prior, min_contrast):
    """Snap to edges: move the boundary onto Canny/Sobel edges within a band (watershed)."""
    return snap_edges(to_gray(image), mask, band, sigma, prior, min_contrast)


@register(
    "active_contour",
    "refine",
    [
        _BAND,
        _SIGMA,
        Param("iterations", int, 0, 0, 500, "contour iterations (0: 2 * band + 10)"),
        Param("smoothing", int, 1, 0, 4, "smoothing steps per iteration"),
    ],
)
def _active_contour_tool(image, mask, probs, band, sigma, iterations, smoothing):
    """Active contour: geodesic active contour pulled onto edges within a band."""
    return geodesic_snap(to_gray(image), mask, band, sigma, iterations, smoothing)


__all__ = ["band_markers", "edge_strength", "snap_edges", "geodesic_snap"]
