"""Contour smoothing: fit each object's contours, smooth them, fill them back.

Contours come from :func:`skimage.measure.find_contours` at level 0.5 on the zero-padded mask, so
every contour is closed; outer boundaries and hole boundaries are both contours. Each is smoothed
with a periodic smoothing spline (:func:`scipy.interpolate.splprep`, ``per=True``) or a Fourier
low-pass, and the polygons are filled back with :func:`skimage.draw.polygon` under the even-odd
rule (a hole's polygon inside an outer polygon cancels it). With ``keep_topology`` an object whose
smoothed shape would split, merge with another or gain or lose a hole keeps its original pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import interpolate
from skimage import draw, measure

from .registry import Param, register

MIN_POINTS = 8


def smooth_closed_curve(points: np.ndarray, method: str, strength: float) -> np.ndarray:
    """Smooth a closed (N, 2) curve whose last point repeats the first.

    Parameters
    ----------
    points : ndarray
        (N, 2) row/column coordinates.
    method : {"spline", "fourier"}
        Periodic smoothing spline with ``s = strength * N`` (``strength`` is the mean squared
        residual allowed, in px^2), or a Fourier low-pass dropping every harmonic whose
        wavelength along the contour is shorter than ``8 * strength`` px.
    strength : float
        0 returns the curve unchanged.

    The smoothed curve is scaled about its centroid to enclose the same area as the input, which
    undoes the shrinkage of smoothing on curved outlines.
    """
    pts = points[:-1] if np.allclose(points[0], points[-1]) else points
    if strength <= 0 or len(pts) < MIN_POINTS:
        return points
    if method == "fourier":
        out = _fourier_lowpass(pts, strength)
    else:
        out = _periodic_spline(pts, strength)
    out = _match_area(out, _area(pts))
    return np.vstack([out, out[:1]])


def _area(pts: np.ndarray) -> float:
    """Unsigned area of a closed polygon (shoelace formula)."""
    r, c = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(r, np.roll(c, 1)) - np.dot(c, np.roll(r, 1))))


def _match_area(pts: np.ndarray, target: float) -> np.ndarray:
    """Scale a polygon about its centroid so that it encloses ``target`` area."""
    area = _area(pts)
    if area <= 0 or target <= 0:
        return pts
    centre = pts.mean(axis=0)
    return centre + (pts - centre) * np.sqrt(target / area)


def _periodic_spline(pts: np.ndarray, strength: float) -> np.ndarray:
    keep = np.r_[True, np.any(np.diff(pts, axis=0) != 0, axis=1)]
    pts = pts[keep]
    closed = np.vstack([pts, pts[:1]])
    tck, _ = interpolate.splprep(closed.T, s=strength * len(pts), per=True, quiet=2)
    u = np.linspace(0, 1, 2 * len(pts), endpoint=False)
    return np.column_stack(interpolate.splev(u, tck))


def _fourier_lowpass(pts: np.ndarray, strength: float) -> np.ndarray:
    z = pts[:, 0] + 1j * pts[:, 1]
    spec = np.fft.fft(z)
    freq = np.abs(np.fft.fftfreq(len(z), d=1.0 / len(z)))
    length = float(np.sum(np.abs(np.diff(np.r_[z, z[:1]]))))
    spec[freq > max(2.0, length / (8.0 * strength))] = 0
    out = np.fft.ifft(spec)
    return np.column_stack([out.real, out.imag])


def fill_contours(contours: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Fill closed polygons with the even-odd rule (nested polygons make holes)."""
    out = np.zeros(shape, dtype=bool)
    for c in contours:
        rr, cc = draw.polygon(c[:, 0], c[:, 1], shape)
        part = np.zeros(shape, dtype=bool)
        part[rr, cc] = True
        out ^= part
    return out


def smooth_object(obj: np.ndarray, method: str, strength: float) -> np.ndarray:
    """Smooth every contour of one binary object and fill it back (same shape as ``obj``)."""
    padded = np.pad(obj.astype(np.float32), 1)
    contours = measure.find_contours(padded, 0.5)
    smoothed = [smooth_closed_curve(c, method, strength) - 1.0 for c in contours]
    return fill_contours(smoothed, obj.shape)


def _topology(mask: np.ndarray) -> tuple[int, int]:
    """(objects, holes) of a binary mask: 8-connected objects, 4-connected holes."""
    n_obj = int(measure.label(mask, connectivity=2).max())
    background = measure.label(np.pad(~mask, 1), connectivity=1).max()
    return n_obj, int(background) - 1


def smooth_contours(
    mask: np.ndarray, method: str = "spline", strength: float = 2.0, keep_topology: bool = True
) -> np.ndarray:
    """Smooth the contours of every object in a binary mask.

    Parameters
    ----------
    mask : ndarray
        (H, W) bool.
    method : {"spline", "fourier"}
        See :func:`smooth_closed_curve`.
    strength : float
        Smoothing strength (mean squared residual in px^2 for the spline).
    keep_topology : bool
        Keep an object's original pixels when smoothing would change the object count or holes.
    """
    labels = measure.label(mask, connectivity=2)
    out = np.zeros(mask.shape, dtype=bool)
    for prop in measure.regionprops(labels):
        out |= _smooth_one(labels == prop.label, prop.bbox, method, strength, keep_topology)
    if keep_topology and _topology(out)[0] != _topology(mask)[0]:
        return _resolve_merges(mask, out, labels)
    return out


def _smooth_one(obj, bbox, method, strength, keep_topology) -> np.ndarray:
    """Smooth one object inside a margin around its bbox; fall back to it if topology changes."""
    margin = int(np.ceil(3 * np.sqrt(strength))) + 2
    r0, c0 = max(bbox[0] - margin, 0), max(bbox[1] - margin, 0)
    r1, c1 = min(bbox[2] + margin, obj.shape[0]), min(bbox[3] + margin, obj.shape[1])
    crop = obj[r0:r1, c0:c1]
    new = smooth_object(crop, method, strength)
    if keep_topology and (_topology(new) != _topology(crop)):
        new = crop
    out = np.zeros(obj.shape, dtype=bool)
    out[r0:r1, c0:c1] = new
    return out


def _resolve_merges(mask, smoothed, labels) -> np.ndarray:
    """Where smoothed objects merged, give the merged objects back their original pixels."""
    merged = measure.label(smoothed, connectivity=2)
    out = smoothed.copy()
    for comp in range(1, merged.max() + 1):
        part = merged == comp
        if len(np.unique(labels[part & mask])) > 1:
            out[part] = mask[part]
    return out


@register(
    "smooth_contours",
    "refine",
    [
        Param(
            "method",
            str,
            "spline",
            help="periodic smoothing spline or Fourier low-pass",
            choices=("spline", "fourier"),
        ),  # fmt: skip
        Param("strength", float, 2.0, 0.0, 100.0, "smoothing strength (px^2 of residual)"),
        Param("keep_topology", bool, True, help="keep object count and holes unchanged"),
    ],
)
def _smooth_tool(image, mask, probs, method, strength, keep_topology):
    """Smooth contours: fit, smooth (spline or Fourier) and fill back each object's outline."""
    return smooth_contours(mask, method, strength, keep_topology)
